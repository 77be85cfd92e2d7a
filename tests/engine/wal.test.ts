import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FRAME_HEADER_BYTES, WAL_HEADER_BYTES, parseWalHeader, readWalHeader, scanWal, walChecksum, type WalHeader } from "../../src/engine/wal.ts";

const dir = mkdtempSync(join(tmpdir(), "bakelite-wal-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Makes a real WAL with `commits` transactions (the last one left uncommitted when `openTail`). */
function makeWal(name: string, commits: number, pageSize = 4096): { wal: Uint8Array; header: WalHeader } {
  const path = join(dir, `${name}.db`);
  const db = new Database(path);
  db.exec(`PRAGMA page_size = ${pageSize}; PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0`);
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
  for (let i = 1; i < commits; i++) db.run("INSERT INTO t (v) VALUES (randomblob(?))", [100 + i * 37]);
  copyFileSync(`${path}-wal`, join(dir, `${name}.wal`));
  db.close();
  const wal = new Uint8Array(readFileSync(join(dir, `${name}.wal`)));
  return { wal, header: parseWalHeader(wal)! };
}

function scanBytes(name: string, bytes: Uint8Array, header: WalHeader) {
  const path = join(dir, `${name}.scan`);
  writeFileSync(path, bytes);
  return scanWal(path, header, { offset: WAL_HEADER_BYTES, checksum1: header.checksum1, checksum2: header.checksum2 })!;
}

describe("WAL reader", () => {
  test("a valid WAL yields one commit point per transaction and the newest frame of each page", () => {
    const { wal, header } = makeWal("valid", 10);
    expect(header.pageSize).toBe(4096);
    const scan = scanBytes("valid", wal, header);
    expect(scan.commits.length).toBe(10);
    expect(scan.commits.at(-1)!.endOffset).toBe(wal.byteLength);
    for (const offset of scan.pages.values()) expect(offset).toBeLessThan(wal.byteLength);
    // independently: walk every frame header and keep the last offset per page
    const expected = new Map<number, number>();
    const view = new DataView(wal.buffer);
    for (let at = WAL_HEADER_BYTES; at < wal.byteLength; at += FRAME_HEADER_BYTES + header.pageSize) expected.set(view.getUint32(at), at);
    expect([...scan.pages.entries()].sort((a, b) => a[0] - b[0])).toEqual([...expected.entries()].sort((a, b) => a[0] - b[0]));
  });

  test("page sizes from 512 to 65536 are read", () => {
    for (const size of [512, 65536]) {
      const { wal, header } = makeWal(`ps${size}`, 4, size);
      expect(header.pageSize).toBe(size);
      expect(scanBytes(`ps${size}`, wal, header).commits.length).toBe(4);
    }
  });

  test("a frame whose salts do not match the header ends the valid part", () => {
    const { wal, header } = makeWal("salt", 6);
    const full = scanBytes("salt-full", wal, header);
    const bad = wal.slice();
    const third = full.commits[2].endOffset; // first frame of the 4th transaction
    new DataView(bad.buffer).setUint32(third + 8, header.salt1 ^ 1);
    expect(scanBytes("salt", bad, header).commits.length).toBe(3);
  });

  test("a checksum mismatch anywhere in a frame ends the valid part at the previous commit", () => {
    const { wal, header } = makeWal("cksum", 6);
    const full = scanBytes("cksum-full", wal, header);
    const bad = wal.slice();
    bad[full.commits[3].endOffset + FRAME_HEADER_BYTES + 100] ^= 0x40; // a page byte in the 5th transaction
    expect(scanBytes("cksum", bad, header).commits.length).toBe(4);
  });

  test("a truncated last frame is not committed", () => {
    const { wal, header } = makeWal("trunc", 5);
    const cut = wal.subarray(0, wal.byteLength - 10);
    expect(scanBytes("trunc", cut, header).commits.length).toBe(4);
  });

  test("frames after the last commit frame (a transaction in progress) are not committed", () => {
    const { wal, header } = makeWal("tail", 5);
    const full = scanBytes("tail-full", wal, header);
    // drop the commit flag of the last frame: the last transaction becomes "in progress"
    const last = wal.slice();
    const lastFrame = full.commits[4].endOffset - FRAME_HEADER_BYTES - header.pageSize;
    const view = new DataView(last.buffer);
    view.setUint32(lastFrame + 4, 0);
    // re-seal the frame checksum so only the commit flag differs
    const prev = full.commits[3];
    let s1 = prev.checksum1;
    let s2 = prev.checksum2;
    for (let at = prev.endOffset; at <= lastFrame; at += FRAME_HEADER_BYTES + header.pageSize) {
      [s1, s2] = walChecksum(last.subarray(at, at + 8), header.bigEndian, s1, s2);
      [s1, s2] = walChecksum(last.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + header.pageSize), header.bigEndian, s1, s2);
      view.setUint32(at + 16, s1);
      view.setUint32(at + 20, s2);
    }
    const scan = scanBytes("tail", last, header);
    expect(scan.commits.length).toBe(4);
    expect(scan.commits.at(-1)!.endOffset).toBe(prev.endOffset);
  });

  test("a damaged header is not a WAL header", () => {
    const { wal } = makeWal("hdr", 2);
    const bad = wal.slice(0, WAL_HEADER_BYTES);
    bad[17] ^= 1;
    expect(parseWalHeader(bad)).toBeNull();
    expect(parseWalHeader(wal.subarray(0, 31))).toBeNull();
    const path = join(dir, "missing-wal");
    expect(readWalHeader(path)).toBeNull();
  });

  test("big-endian checksums (WAL written on a big-endian host) are validated too", () => {
    const { wal, header } = makeWal("be", 4);
    const be = wal.slice();
    const view = new DataView(be.buffer);
    view.setUint32(0, 0x377f0683);
    let [s1, s2] = walChecksum(be.subarray(0, 24), true, 0, 0);
    view.setUint32(24, s1);
    view.setUint32(28, s2);
    const frame = FRAME_HEADER_BYTES + header.pageSize;
    for (let at = WAL_HEADER_BYTES; at + frame <= be.byteLength; at += frame) {
      [s1, s2] = walChecksum(be.subarray(at, at + 8), true, s1, s2);
      [s1, s2] = walChecksum(be.subarray(at + FRAME_HEADER_BYTES, at + frame), true, s1, s2);
      view.setUint32(at + 16, s1);
      view.setUint32(at + 20, s2);
    }
    const beHeader = parseWalHeader(be)!;
    expect(beHeader.bigEndian).toBe(true);
    expect(scanBytes("be", be, beHeader).commits.length).toBe(4);
    // and a little-endian reading of the same bytes must fail
    expect(scanBytes("be-as-le", be, { ...beHeader, bigEndian: false }).commits.length).toBe(0);
  });

  test("a scan resumes from a commit point with the running checksum", () => {
    const { wal, header } = makeWal("resume", 8);
    const full = scanBytes("resume", wal, header);
    const path = join(dir, "resume.scan");
    const mid = full.commits[4];
    const rest = scanWal(path, header, { offset: mid.endOffset, checksum1: mid.checksum1, checksum2: mid.checksum2 })!;
    expect(rest.commits.map((c) => c.endOffset)).toEqual(full.commits.slice(5).map((c) => c.endOffset));
    // a wrong running checksum finds nothing
    const wrong = scanWal(path, header, { offset: mid.endOffset, checksum1: mid.checksum1 ^ 1, checksum2: mid.checksum2 })!;
    expect(wrong.commits.length).toBe(0);
  });
});

describe("walChecksum", () => {
  /** SQLite's definition (walChecksumBytes) spelled with BigInt, for words of either byte order. */
  function reference(data: Uint8Array, bigEndian: boolean, s1: number, s2: number): [number, number] {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const mask = 0xffffffffn;
    let a = BigInt(s1);
    let b = BigInt(s2);
    for (let i = 0; i < data.byteLength; i += 8) {
      a = (a + BigInt(view.getUint32(i, !bigEndian)) + b) & mask;
      b = (b + BigInt(view.getUint32(i + 4, !bigEndian)) + a) & mask;
    }
    return [Number(a), Number(b)];
  }

  test("matches the u32 definition on words with the top bit set, from any running state, in both byte orders", () => {
    let x = 0x9e3779b9;
    const data = new Uint8Array(4096 + 8);
    for (let i = 0; i < data.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      data[i] = x >>> 24;
    }
    data.fill(0xff, 0, 64); // sums that overflow 2^32 on the first words
    for (const bigEndian of [false, true]) {
      for (const [s1, s2] of [[0, 0], [0xffffffff, 0x80000000], [123456789, 0xfffffff0]]) {
        expect(walChecksum(data.subarray(0, 4096), bigEndian, s1, s2)).toEqual(reference(data.subarray(0, 4096), bigEndian, s1, s2));
        // An unaligned view takes the copying path.
        expect(walChecksum(data.subarray(4, 4100), bigEndian, s1, s2)).toEqual(reference(data.subarray(4, 4100), bigEndian, s1, s2));
      }
    }
  });
});

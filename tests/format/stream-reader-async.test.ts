/**
 * ObjectStreamReader.pushAsync() against push(): blocks decompress several at
 * a time and finish in any order, yet the pages come out in block order, and
 * every kind of damage is reported with the same error as the one-at-a-time
 * reader gives (an authentication failure only at end() unless the CRC shows
 * rot, a bad frame only after the blocks before it).
 */
import { describe, expect, test } from "bun:test";
import { crc32 } from "../../src/format/crc.ts";
import type { ObjectKeys } from "../../src/format/keyring.ts";
import { ObjectStreamReader, decodeObject, readHeader } from "../../src/format/object-reader.ts";
import { encodeObject } from "../../src/format/object-writer.ts";
import type { Compression, PageEntry } from "../../src/format/types.ts";
import { keySource, keyring, sealedObject } from "./crypto-fixtures.ts";
import { changesetHeader, makePage, makePages, range, rng, snapshotHeader } from "./fixtures.ts";

interface Outcome {
  pages: PageEntry[];
  /** "ok" or `${code}: ${message}` of the first error. */
  result: string;
}

function describeError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return `${e.code ?? "non-bakelite"}: ${e.message}`;
}

function keep(into: PageEntry[], pages: PageEntry[]): void {
  for (const p of pages) into.push({ pgno: p.pgno, data: p.data.slice() });
}

function syncOutcome(bytes: Uint8Array, chunk: number, keys?: ObjectKeys): Outcome {
  const reader = new ObjectStreamReader(undefined, keys);
  const pages: PageEntry[] = [];
  try {
    for (let at = 0; at < bytes.byteLength; at += chunk) keep(pages, reader.push(bytes.subarray(at, at + chunk)));
    reader.end();
    return { pages, result: "ok" };
  } catch (err) {
    return { pages, result: describeError(err) };
  }
}

async function asyncOutcome(bytes: Uint8Array, chunk: number, depth: number, keys?: ObjectKeys): Promise<Outcome> {
  const reader = new ObjectStreamReader(undefined, keys, depth);
  const pages: PageEntry[] = [];
  try {
    for (let at = 0; at < bytes.byteLength; at += chunk) keep(pages, await reader.pushAsync(bytes.subarray(at, at + chunk)));
    keep(pages, await reader.flush());
    reader.end();
    return { pages, result: "ok" };
  } catch (err) {
    return { pages, result: describeError(err) };
  }
}

/** Fixes the CRC after a deliberate edit, as an attacker with write access would. */
function recrc(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const end = out.byteLength - 4;
  new DataView(out.buffer).setUint32(end, crc32(out.subarray(0, end)), true);
  return out;
}

/**
 * Same error as push(), and the pages handed out before it are a prefix of
 * those push() hands out fed byte by byte (each block as soon as it is whole).
 */
async function expectSameAsSync(bytes: Uint8Array, label: string, keys?: ObjectKeys): Promise<void> {
  const eager = syncOutcome(bytes, 1, keys);
  for (const chunk of [61, 1 << 20]) {
    const want = syncOutcome(bytes, chunk, keys);
    expect(`${label}, chunk ${chunk}: ${want.result}`).toBe(`${label}, chunk ${chunk}: ${eager.result}`);
    for (const depth of [1, 3]) {
      const got = await asyncOutcome(bytes, chunk, depth, keys);
      const where = `${label}, chunk ${chunk}, depth ${depth}`;
      expect(`${where}: ${got.result}`).toBe(`${where}: ${want.result}`);
      expect(got.pages).toEqual(eager.pages.slice(0, got.pages.length));
      if (want.result === "ok") expect(got.pages.length).toBe(eager.pages.length);
    }
  }
}

describe("ObjectStreamReader.pushAsync", () => {
  test("blocks that finish out of order still hand out their pages in block order", async () => {
    // Text-like blocks take far longer to decompress than all-zero ones, so with
    // several in flight the zero blocks behind a text block finish first.
    const zero = new Uint8Array(4096);
    const pgnos = range(1, 2000);
    const pages = pgnos.map((pgno) => ({ pgno, data: Math.floor((pgno - 1) / 100) % 4 === 0 ? makePage(pgno, 4096) : zero }));
    const { bytes } = encodeObject(snapshotHeader({ dbPages: 2000 }), pages, { dbChecksum: 5n, blockBytes: 100 * 4100 });
    const whole = decodeObject(bytes);
    for (const depth of [2, 3, 4, 8]) {
      for (const chunk of [4096, 300_000, 1 << 20]) {
        const got = await asyncOutcome(bytes, chunk, depth);
        expect(`${depth}/${chunk}: ${got.result}`).toBe(`${depth}/${chunk}: ok`);
        expect(got.pages.map((p) => p.pgno)).toEqual(pgnos);
        expect(got.pages).toEqual(whole.pages);
      }
    }
  });

  for (const compression of ["zstd", "lz4", "none"] as Compression[]) {
    test(`${compression}: random chunk sizes and depths give exactly what push() gives`, async () => {
      const { bytes } = encodeObject(changesetHeader({ pageSize: 512, dbPages: 90, compression }), makePages(range(3, 90), 512), {
        dbChecksum: 9n,
        blockBytes: 5 * 516,
      });
      const whole = decodeObject(bytes);
      for (let seed = 1; seed <= 10; seed++) {
        const next = rng(seed);
        const reader = new ObjectStreamReader(undefined, undefined, 1 + (seed % 5));
        const pages: PageEntry[] = [];
        for (let at = 0; at < bytes.byteLength; ) {
          const n = 1 + (next() % 3000);
          keep(pages, await reader.pushAsync(bytes.subarray(at, at + n)));
          at += n;
        }
        keep(pages, await reader.flush());
        expect(reader.end()).toEqual(whole.footer);
        expect(pages).toEqual(whole.pages);
      }
    });
  }

  test("a damaged byte anywhere in a plaintext object is reported as push() reports it, with or without the CRC fixed", async () => {
    const { bytes } = encodeObject(changesetHeader({ pageSize: 512, dbPages: 24 }), makePages(range(1, 24), 512), {
      dbChecksum: 3n,
      blockBytes: 3 * 516,
    });
    for (let at = 0; at < bytes.byteLength - 4; at += 19) {
      const bad = bytes.slice();
      bad[at] ^= 0x10;
      await expectSameAsSync(bad, `rot at ${at}`);
      await expectSameAsSync(recrc(bad), `edit at ${at}`);
    }
  });

  test("a block that fails to authenticate is reported at end() as push() reports it, and no page after it is handed out", async () => {
    const keys = keyring(keySource());
    const { bytes } = sealedObject(keys, {}, 12, 1100);
    for (let at = 0; at < bytes.byteLength - 4; at += 17) {
      const bad = bytes.slice();
      bad[at] ^= 0x01;
      await expectSameAsSync(bad, `rot at ${at}`, keys);
      await expectSameAsSync(recrc(bad), `edit at ${at}`, keys);
    }
  });

  test("a bad frame behind a block that fails to decode is reported after that block, as push() reports it", async () => {
    const { bytes } = encodeObject(changesetHeader({ pageSize: 512, dbPages: 24 }), makePages(range(1, 24), 512), {
      dbChecksum: 3n,
      blockBytes: 3 * 516,
    });
    const dv = new DataView(bytes.buffer);
    const starts = [readHeader(bytes).headerBytes];
    while (starts.length < 4) starts.push(starts[starts.length - 1] + 8 + dv.getUint32(starts[starts.length - 1] + 4, true));
    const bad = bytes.slice();
    bad[starts[1] + 8 + 2] ^= 0xff; // block 1's zstd frame
    new DataView(bad.buffer).setUint32(starts[3], 7, true); // block 3 declares an impossible raw length
    const forged = recrc(bad);
    expect(syncOutcome(forged, 1 << 20).result).toContain("(block 1)");
    await expectSameAsSync(forged, "decode error before a bad frame");
  });

  test("push(), or another pushAsync(), while a pushAsync() is still running is a programming error", async () => {
    const { bytes } = encodeObject(snapshotHeader({ dbPages: 40 }), makePages(range(1, 40), 4096), { dbChecksum: 0n, blockBytes: 4 * 4100 });
    const reader = new ObjectStreamReader(undefined, undefined, 2);
    const running = reader.pushAsync(bytes); // ten blocks, two at a time: it waits for the first
    expect(() => reader.push(new Uint8Array(1))).toThrow(TypeError);
    await expect(reader.pushAsync(new Uint8Array(1))).rejects.toBeInstanceOf(TypeError); // and the byte is not taken
    await expect(reader.flush()).rejects.toBeInstanceOf(TypeError);
    const pages = [...(await running), ...(await reader.flush())];
    expect(pages.map((p) => p.pgno)).toEqual(range(1, 40));
    expect(reader.end().pageCount).toBe(40);
  });
});

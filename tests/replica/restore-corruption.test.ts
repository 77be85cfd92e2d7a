/**
 * Every damaged, missing, misplaced or forged object is refused before it can
 * shape the output, the error names the object's key, and no output or temp
 * file is left behind.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { BakeliteError, type ErrorCode } from "../../src/errors.ts";
import { crc32 } from "../../src/format/crc.ts";
import { ObjectStreamReader, readHeader } from "../../src/format/object-reader.ts";
import { restoreDatabase } from "../../src/replica/restore.ts";
import { changesetKey, newBackupId } from "../../src/replica/names.ts";
import type { RestoreSummary, RestoreTarget } from "../../src/replica/types.ts";
import { errorOf } from "../format/fixtures.ts";
import { ReplicaBuilder, SourceDb, buildWorkload, diffImages, dump, imageChecksum, tempDir, type DbImage } from "./helpers.ts";
import { tempBackend, type TempBackend } from "./temp-backend.ts";

const T0 = Date.UTC(2026, 4, 30, 12, 0, 0);
const ID = newBackupId(T0, 1);

let backend: TempBackend;
let work: string;
let builder: ReplicaBuilder;
let dumps: Map<number, string>;

beforeEach(async () => {
  backend = tempBackend();
  work = tempDir();
  fs.mkdirSync(path.join(work, "out"));
  fs.mkdirSync(path.join(work, "src"));
  ({ builder, dumps } = await buildWorkload(backend, path.join(work, "src"), "app", ID, T0));
});
afterEach(() => {
  backend.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

const output = () => path.join(work, "out", "restored.db");
const keyAt = (txid: number) => builder.stateAt(txid).key;
const read = (key: string) => new Uint8Array(fs.readFileSync(path.join(backend.root, key)));
const write = (key: string, bytes: Uint8Array) => backend.put(key, bytes);

function restore(target: RestoreTarget = { kind: "latest" }): Promise<RestoreSummary> {
  return restoreDatabase({ backend, db: "app", output: output(), target });
}

/** Restores, expects `code`, a message naming `key`, and an empty output directory. */
async function expectRefused(code: ErrorCode, key: string, detail?: string): Promise<BakeliteError> {
  const err = await restore().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BakeliteError);
  const e = err as BakeliteError;
  expect({ code: e.code, keyNamed: e.message.startsWith(`${key}: `) }).toEqual({ code, keyNamed: true });
  if (detail) expect(e.message).toContain(detail);
  expect(fs.readdirSync(path.join(work, "out"))).toEqual([]);
  return e;
}

function flipByte(key: string, at: (length: number) => number): Promise<void> {
  const bytes = read(key);
  bytes[at(bytes.length)] ^= 0x40;
  return write(key, bytes);
}

/** Re-seals the CRC trailer after a deliberate edit, as an attacker with write access would. */
function recrc(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

/** Rewrites the format version and re-seals the CRC trailer, so only the version is "wrong". */
function withVersion(bytes: Uint8Array, version: number): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint16(4, version, true);
  return recrc(out);
}

describe("restore refuses damaged objects", () => {
  test("a flipped byte in the snapshot", async () => {
    await flipByte(keyAt(1), (n) => Math.floor(n / 2));
    await expectRefused("CORRUPT_OBJECT", keyAt(1));
  });

  test("a flipped byte in a change-set", async () => {
    await flipByte(keyAt(4), (n) => n - 20);
    await expectRefused("CORRUPT_OBJECT", keyAt(4));
  });

  test("a truncated change-set", async () => {
    await write(keyAt(5), read(keyAt(5)).subarray(0, 150));
    await expectRefused("CORRUPT_OBJECT", keyAt(5));
  });

  test("an unknown format version, in the streamed snapshot and in a change-set", async () => {
    const original = read(keyAt(1));
    await write(keyAt(1), withVersion(original, 2));
    const e = await expectRefused("UNSUPPORTED_FORMAT", keyAt(1), "format version 2");
    expect(e.hint).toContain("Upgrade");
    await write(keyAt(1), original);
    await write(keyAt(3), withVersion(read(keyAt(3)), 7));
    await expectRefused("UNSUPPORTED_FORMAT", keyAt(3), "format version 7");
  });
});

describe("restore refuses misplaced objects", () => {
  test("two change-sets with their contents swapped (reordered)", async () => {
    const a = read(keyAt(3));
    await write(keyAt(3), read(keyAt(4)));
    await write(keyAt(4), a);
    await expectRefused("CORRUPT_OBJECT", keyAt(3), "txid start 4, expected 3");
  });

  test("an object renamed to another commit time", async () => {
    const key = keyAt(6);
    await write(changesetKey("app", ID, 0, 6, 6, T0 + 6001), read(key));
    await backend.delete(key);
    await expectRefused("CORRUPT_OBJECT", changesetKey("app", ID, 0, 6, 6, T0 + 6001), "timestamp");
  });

  test("a raw change-set renamed to a compaction level", async () => {
    const key = changesetKey("app", ID, 1, 2, 2, T0 + 2000);
    await write(key, read(keyAt(2)));
    await backend.delete(keyAt(2));
    await expectRefused("CORRUPT_OBJECT", key, "level 0, expected 1");
  });

  test("an object copied in from another backup id", async () => {
    const otherId = newBackupId(T0 - 1000, 2);
    const other = await buildWorkload(backend, tempSub("other"), "app", otherId, T0 - 1000);
    await write(keyAt(4), read(other.builder.stateAt(4).key));
    await expectRefused("CORRUPT_OBJECT", keyAt(4), `backup ${otherId}`);
  });

  test("an object with the right identity from another history (substituted) breaks the lineage", async () => {
    const alien = tempBackend();
    try {
      // Same database name and backup id, different data: only the lineage can tell.
      const other = await buildWorkload(alien, tempSub("alien"), "app", ID, T0, { variant: "!" });
      await write(keyAt(4), new Uint8Array(fs.readFileSync(path.join(alien.root, other.builder.stateAt(4).key))));
      await expectRefused("LINEAGE_BROKEN", keyAt(4), "does not follow the previous object");
    } finally {
      alien.cleanup();
    }
  });
});

function tempSub(name: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  return dir;
}

describe("restore refuses forged objects with valid envelopes", () => {
  /** Re-encodes the change-set at `txid` with other pages but the original's identity, link in and checksum. */
  async function forgeChangeset(txid: number, mutate: (image: DbImage) => DbImage, level = 0): Promise<void> {
    const prev = builder.stateAt(txid - 1);
    const real = builder.stateAt(txid);
    const image = mutate({ pageSize: real.image.pageSize, pages: real.image.pages.map((p) => p.slice()) });
    const header = builder.header("changeset", level, txid, txid, real.timestampMs, image, prev.lineage);
    const { bytes } = builder.encode(header, diffImages(prev.image, image), imageChecksum(real.image));
    await write(real.key, bytes);
  }

  test("a change-set whose pages differ from what its database checksum promises", async () => {
    await forgeChangeset(6, (image) => {
      image.pages[1][100] ^= 0xff;
      return image;
    });
    await expectRefused("CHECKSUM_MISMATCH", keyAt(6), "after txid 6");
  });

  test("a snapshot whose pages differ from what its database checksum promises", async () => {
    const real = builder.stateAt(1);
    const pages = real.image.pages.map((data, i) => ({ pgno: i + 1, data: i === 0 ? data : new Uint8Array(data.length) }));
    const header = builder.header("snapshot", 0, 1, 1, T0, real.image, new Uint8Array(32));
    const { bytes } = builder.encode(header, pages, imageChecksum(real.image) ^ 1n);
    await write(real.key, bytes);
    await expectRefused("CHECKSUM_MISMATCH", real.key, "after txid 1");
  });

  test("a change-set that changes the page size", async () => {
    await forgeChangeset(3, () => ({ pageSize: 8192, pages: [new Uint8Array(8192)] }));
    await expectRefused("CORRUPT_OBJECT", keyAt(3), "page size 8192 differs from the chain's 4096");
  });

  test("a snapshot whose lineage does not belong to its backup", async () => {
    const real = builder.stateAt(1);
    const pages = real.image.pages.map((data, i) => ({ pgno: i + 1, data }));
    const header = builder.header("snapshot", 0, 1, 1, T0, real.image, new Uint8Array(32));
    const { bytes } = builder.encode(header, pages, imageChecksum(real.image), new Uint8Array(32).fill(7));
    await write(real.key, bytes);
    await expectRefused("LINEAGE_BROKEN", real.key, `backup ${ID}`);
  });

  test("a compacted object that does not link to the state before it", async () => {
    const key = await builder.compact(1, 3, 6);
    const before = builder.stateAt(2); // link in from 2 is right; forge one from 1 instead
    const after = builder.stateAt(6);
    const header = builder.header("changeset", 1, 3, 6, after.timestampMs, after.image, builder.stateAt(1).lineage);
    const { bytes } = builder.encode(header, diffImages(before.image, after.image), imageChecksum(after.image), after.lineage);
    await write(key, bytes);
    await expectRefused("LINEAGE_BROKEN", key);
  });

  test("pages that hash right but are not a database fail integrity_check", async () => {
    const real = builder.stateAt(1);
    const garbage: DbImage = { pageSize: 4096, pages: real.image.pages.map(() => new Uint8Array(4096).fill(0x5a)) };
    const header = builder.header("snapshot", 0, 1, 1, T0, garbage, new Uint8Array(32));
    const pages = garbage.pages.map((data, i) => ({ pgno: i + 1, data }));
    await write(real.key, builder.encode(header, pages, imageChecksum(garbage)).bytes);
    const plan = await restore({ kind: "txid", txid: 1 }).catch((e: BakeliteError) => e);
    expect(plan).toBeInstanceOf(BakeliteError);
    expect((plan as BakeliteError).code).toBe("INTEGRITY_CHECK_FAILED");
    expect((plan as BakeliteError).message.startsWith(`${real.key}: `)).toBe(true);
    expect(fs.readdirSync(path.join(work, "out"))).toEqual([]);
  });
});

describe("restore never skips a missing object", () => {
  test("a change-set missing in the middle: latest stops before the gap and says what lies beyond", async () => {
    await backend.delete(keyAt(4));
    const summary = await restore();
    expect(summary.plan.landedTxid).toBe(3);
    expect(summary.unreachable).toEqual({ objects: 2, fromTxid: 4 });
    expect(summary.plan.unreachable).toEqual({ objects: 2, fromTxid: 4 });
    expect(dump(output())).toBe(dumps.get(3)!);
  });

  test("a missing snapshot leaves nothing to restore", async () => {
    await backend.delete(keyAt(1));
    const err = await restore().catch((e: BakeliteError) => e);
    expect((err as BakeliteError).code).toBe("NO_BACKUP");
    expect((err as BakeliteError).message).toBe(`no backup of app on ${backend.describe}`);
    expect(fs.readdirSync(path.join(work, "out"))).toEqual([]);
  });
});

describe("restore of a snapshot decoded several blocks at a time", () => {
  const ID2 = newBackupId(T0 + 3_600_000, 2);

  /** A second backup whose snapshot spans about 60 blocks; returns its key. */
  async function manyBlockSnapshot(): Promise<string> {
    const dir = path.join(work, "many");
    fs.mkdirSync(dir);
    const src = new SourceDb(dir);
    src.exec("CREATE TABLE t(x TEXT)");
    src.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120) INSERT INTO t SELECT printf('%.*c', 3000, char(65 + i % 26)) FROM n");
    const many = new ReplicaBuilder(backend, "app", ID2, { blockBytes: 2 * 4100 });
    const { key } = await many.snapshot(src.file, 1, T0 + 3_600_000);
    src.close();
    return key;
  }

  /** Byte offset of each block frame in an object. */
  function blockStarts(bytes: Uint8Array): number[] {
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    const starts = [readHeader(bytes).headerBytes];
    while (starts.length < 40) starts.push(starts.at(-1)! + 8 + dv.getUint32(starts.at(-1)! + 4, true));
    return starts;
  }

  test("it restores byte for byte", async () => {
    await manyBlockSnapshot();
    await restoreDatabase({ backend, db: "app", output: output(), target: { kind: "latest" }, backupId: ID2 });
    expect(Buffer.from(fs.readFileSync(output())).equals(Buffer.from(fs.readFileSync(path.join(work, "many", "source.db"))))).toBe(true);
  });

  test("a block in the middle that does not decompress (CRC intact) fails with the error the one-at-a-time reader gives, naming that block", async () => {
    const key = await manyBlockSnapshot();
    const bytes = read(key);
    expect(readHeader(bytes).header.dbPages).toBeGreaterThan(100);
    bytes[blockStarts(bytes)[30] + 8] ^= 0xff; // block 30's zstd magic
    const damaged = recrc(bytes);
    await write(key, damaged);
    const reader = new ObjectStreamReader();
    const expected = errorOf(() => {
      reader.push(damaged);
      reader.end();
    });
    expect(expected.message).toBe("corrupt zstd block (block 30)");
    const err = await restoreDatabase({ backend, db: "app", output: output(), target: { kind: "latest" }, backupId: ID2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BakeliteError);
    expect(`${(err as BakeliteError).code}: ${(err as BakeliteError).message}`).toBe(`CORRUPT_OBJECT: ${key}: ${expected.message}`);
    expect(fs.readdirSync(path.join(work, "out"))).toEqual([]);
  });
});

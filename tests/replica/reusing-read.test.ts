/**
 * Restore and shallow verify read a snapshot through the backend's optional
 * getStreamReusing when it has one (the file backend), and through getStream
 * when it does not. Both paths must give the same bytes, the same report and
 * the same errors. The snapshot spans several 1 MiB read chunks, so the file
 * backend's two read buffers are each reused more than once.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { FaultyBackend, faultKindOf } from "../../src/backends/faulty.ts";
import type { Backend } from "../../src/backends/types.ts";
import { BakeliteError } from "../../src/errors.ts";
import { writeCurrent } from "../../src/replica/manifest.ts";
import { newBackupId } from "../../src/replica/names.ts";
import { restoreDatabase } from "../../src/replica/restore.ts";
import { verifyDatabase } from "../../src/replica/verify.ts";
import { ReplicaBuilder, SourceDb, tempDir } from "./helpers.ts";
import { tempBackend, type TempBackend } from "./temp-backend.ts";

const T0 = Date.UTC(2026, 4, 30, 12, 0, 0);
const ID = newBackupId(T0, 1);

let backend: TempBackend;
let work: string;
let builder: ReplicaBuilder;

/** A snapshot of about 5 MiB of random (incompressible) rows at txid 1, then two change-sets. */
async function bigReplica(): Promise<void> {
  const src = new SourceDb(path.join(work, "src"));
  builder = new ReplicaBuilder(backend, "app", ID);
  try {
    src.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
    src.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) INSERT INTO t(b) SELECT randomblob(131072) FROM n");
    await builder.snapshot(src.file, 1, T0);
    src.exec("UPDATE t SET b = randomblob(1000) WHERE id % 3 = 0");
    await builder.changeset(src.file, 2, T0 + 2000);
    src.exec("DELETE FROM t WHERE id > 30");
    await builder.changeset(src.file, 3, T0 + 3000);
  } finally {
    src.close();
  }
  await writeCurrent(backend, "app", ID);
}

/** Delegates the reads to `inner` and offers nothing else: no getStreamReusing. */
function plainReader(inner: Backend): Backend {
  const readOnly = () => Promise.reject(new Error("plainReader is read-only"));
  return {
    type: "plain",
    describe: `plain(${inner.describe})`,
    capabilities: inner.capabilities,
    get: (key, range) => inner.get(key, range),
    getStream: (key, range) => inner.getStream(key, range),
    stat: (key) => inner.stat(key),
    list: (prefix) => inner.list(prefix),
    put: readOnly,
    delete: readOnly,
    close: async () => {},
  };
}

/** Like plainReader, plus the inner getStreamReusing; records which read each key went through. */
function spyingReader(inner: Backend, reads: string[]): Backend {
  const plain = plainReader(inner);
  return {
    ...plain,
    getStream: (key, range) => (reads.push(`getStream ${key}`), inner.getStream(key, range)),
    getStreamReusing: (key, range) => (reads.push(`getStreamReusing ${key}`), inner.getStreamReusing!(key, range)),
  };
}

const restoreWith = (reader: Backend, name: string) =>
  restoreDatabase({ backend: reader, db: "app", output: path.join(work, "out", name), target: { kind: "latest" } });

beforeEach(async () => {
  backend = tempBackend();
  work = tempDir();
  fs.mkdirSync(path.join(work, "src"));
  fs.mkdirSync(path.join(work, "out"));
  await bigReplica();
});
afterEach(() => {
  backend.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

describe("reading a snapshot with or without getStreamReusing", () => {
  test("a backend without getStreamReusing restores the same bytes as the file backend it delegates to", async () => {
    expect(fs.statSync(path.join(backend.root, builder.stateAt(1).key)).size).toBeGreaterThan(4 << 20); // the buffers turn over
    const direct = await restoreWith(backend, "direct.db");
    const plain = await restoreWith(plainReader(backend), "plain.db");
    const want = Buffer.concat(builder.last.image.pages);
    expect(fs.readFileSync(path.join(work, "out", "direct.db")).equals(want)).toBe(true);
    expect(fs.readFileSync(path.join(work, "out", "plain.db")).equals(want)).toBe(true);
    expect(plain.downloaded).toBe(direct.downloaded);
    expect(plain.plan.landedTxid).toBe(3);
  });

  test("restore reads the snapshot through getStreamReusing when the backend offers it, and only the snapshot", async () => {
    const reads: string[] = [];
    await restoreWith(spyingReader(backend, reads), "spied.db");
    expect(reads).toEqual([`getStreamReusing ${builder.stateAt(1).key}`]);
    expect(fs.readFileSync(path.join(work, "out", "spied.db")).equals(Buffer.concat(builder.last.image.pages))).toBe(true);
  });

  test("shallow verify reads every object through getStreamReusing when offered, getStream otherwise, with the same report", async () => {
    const reads: string[] = [];
    const verify = (reader: Backend) => verifyDatabase({ backend: reader, db: "app", mode: "shallow", tempDir: work });
    const spied = await verify(spyingReader(backend, reads));
    const plain = await verify(plainReader(backend));
    expect(reads).toEqual(builder.states.map((s) => `getStreamReusing ${s.key}`));
    expect(spied).toMatchObject({ ok: true, objects: 3, problems: [] });
    const { timeMs: _t1, elapsedMs: _e1, ...a } = spied;
    const { timeMs: _t2, elapsedMs: _e2, ...b } = plain;
    expect(a).toEqual(b);
  });

  test("a fault injected mid-way through the reusing snapshot read fails the restore, retryable, with no output; the next attempt restores", async () => {
    const reads: string[] = [];
    const faulty = new FaultyBackend(spyingReader(backend, reads), { seed: 1 });
    await backend.delete("app/CURRENT"); // restore needs none; without it the snapshot is the first read of op "get"
    faulty.failNext("get", 1, "errorAfter");
    const err = await restoreWith(faulty, "faulty.db").then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(BakeliteError);
    expect(faultKindOf(err)).toBe("errorAfter");
    expect((err as BakeliteError).retryable).toBe(true);
    expect((err as BakeliteError).message).toContain(builder.stateAt(1).key);
    expect(reads).toEqual([`getStreamReusing ${builder.stateAt(1).key}`]);
    expect(fs.readdirSync(path.join(work, "out"))).toEqual([]);

    await restoreWith(faulty, "faulty.db");
    expect(fs.readFileSync(path.join(work, "out", "faulty.db")).equals(Buffer.concat(builder.last.image.pages))).toBe(true);
  });

  test("a flipped byte deep in the snapshot reads as the same error on both paths, for restore and for verify", async () => {
    const file = path.join(backend.root, builder.stateAt(1).key);
    const bytes = fs.readFileSync(file);
    bytes[3 * (1 << 20) + 777] ^= 0x10;
    fs.writeFileSync(file, bytes);

    const failure = (run: Promise<unknown>) => run.then(() => { throw new Error("expected a failure"); }, (e: Error & { code?: string }) => `${e.code}: ${e.message}`);
    const direct = await failure(restoreWith(backend, "direct.db"));
    expect(direct).toStartWith("CORRUPT_OBJECT: ");
    expect(direct).toContain(builder.stateAt(1).key);
    expect(await failure(restoreWith(plainReader(backend), "plain.db"))).toBe(direct);
    expect(fs.readdirSync(path.join(work, "out"))).toEqual([]);

    const verify = (reader: Backend) => verifyDatabase({ backend: reader, db: "app", mode: "shallow", tempDir: work });
    const viaReusing = await verify(backend);
    expect(viaReusing.problems.map((p) => `${p.kind} ${p.code} ${p.key}`)).toEqual([`corrupt CORRUPT_OBJECT ${builder.stateAt(1).key}`]);
    expect((await verify(plainReader(backend))).problems).toEqual(viaReusing.problems);
  });
});

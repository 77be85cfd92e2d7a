import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import fs from "node:fs";
import path from "node:path";
import { restoreDatabase, type RestoreProgress } from "../../src/replica/restore.ts";
import { newBackupId } from "../../src/replica/names.ts";
import type { RestoreTarget } from "../../src/replica/types.ts";
import { ReplicaBuilder, SourceDb, buildWorkload, dump, tempDir, type WorkloadOptions } from "./helpers.ts";
import { tempBackend, type TempBackend } from "./temp-backend.ts";

const T0 = Date.UTC(2026, 4, 30, 12, 0, 0);
const ID = newBackupId(T0, 1);

let backend: TempBackend;
let work: string;
beforeEach(() => {
  backend = tempBackend();
  work = tempDir();
});
afterEach(() => {
  backend.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

const replicate = (options: WorkloadOptions = {}) => buildWorkload(backend, work, "app", ID, T0, options);

function outputPath(): string {
  return path.join(work, "out", "restored.db");
}

async function restore(target: RestoreTarget, extra: { onProgress?: (p: RestoreProgress) => void; signal?: AbortSignal } = {}) {
  fs.mkdirSync(path.join(work, "out"), { recursive: true });
  return restoreDatabase({ backend, db: "app", output: outputPath(), target, ...extra });
}

function outDirEntries(): string[] {
  return fs.readdirSync(path.join(work, "out")).sort();
}

describe("restoreDatabase", () => {
  test("latest equals the source's last commit and reports what it did", async () => {
    const { builder, dumps } = await replicate();
    const summary = await restore({ kind: "latest" });
    expect(dump(outputPath())).toBe(dumps.get(6)!);
    expect(summary.plan.landedTxid).toBe(6);
    expect(summary.lineageVerified).toBe(5);
    expect(summary.integrity).toBe("ok");
    expect(summary.pageSize).toBe(4096);
    expect(summary.pages).toBe(builder.last.image.pages.length);
    expect(fs.statSync(outputPath()).size).toBe(summary.pages * 4096);
    const stored = [...fs.readdirSync(path.join(backend.root, "app", ID, "L0"))].length;
    expect(stored).toBe(5);
    expect(summary.downloaded).toBeGreaterThan(0);
    expect(summary.unreachable).toBeUndefined();
  });

  test("the restored file is byte-for-byte the source file at that txid", async () => {
    const { builder } = await replicate();
    await restore({ kind: "txid", txid: 4 });
    const want = Buffer.concat(builder.stateAt(4).image.pages);
    expect(Buffer.from(fs.readFileSync(outputPath())).equals(want)).toBe(true);
  });

  test("a timestamp lands on the last commit at or before it", async () => {
    const { dumps } = await replicate();
    const summary = await restore({ kind: "timestamp", timestampMs: T0 + 3500 });
    expect(summary.plan.landedTxid).toBe(3);
    expect(summary.plan.landedTimestampMs).toBe(T0 + 3000);
    expect(dump(outputPath())).toBe(dumps.get(3)!);
  });

  test("a txid restores exactly that commit, the snapshot alone included", async () => {
    const { dumps } = await replicate();
    await restore({ kind: "txid", txid: 1 });
    expect(dump(outputPath())).toBe(dumps.get(1)!);
  });

  test("compacted objects are used when they make the chain shorter and give the same state", async () => {
    const { builder, dumps } = await replicate();
    await builder.compact(1, 2, 5);
    const summary = await restore({ kind: "latest" });
    expect(summary.plan.changesets.map((c) => c.level)).toEqual([1, 0]);
    expect(summary.lineageVerified).toBe(2);
    expect(dump(outputPath())).toBe(dumps.get(6)!);
  });

  test("a WAL-mode database keeps its WAL header bytes and restore leaves no -wal/-shm", async () => {
    const { dumps } = await replicate({ wal: true });
    await restore({ kind: "latest" });
    const header = fs.readFileSync(outputPath()).subarray(18, 20);
    expect([...header]).toEqual([2, 2]);
    expect(outDirEntries()).toEqual(["restored.db"]);
    const db = new Database(outputPath(), { readonly: true });
    expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(db.query("SELECT count(*) AS n FROM t").get()).toEqual({ n: 5 });
    db.close();
    expect(dump(outputPath())).toBe(dumps.get(6)!);
    const cli = Bun.spawnSync(["sqlite3", outputPath(), "PRAGMA integrity_check; PRAGMA journal_mode;"]);
    expect(cli.stdout.toString()).toBe("ok\nwal\n");
  });

  test("reports progress for download, apply, verify and the integrity check, ending at their totals", async () => {
    await replicate();
    const seen = new Map<string, RestoreProgress>();
    const order: string[] = [];
    const summary = await restore({ kind: "latest" }, {
      onProgress: (p) => {
        seen.set(p.phase, p);
        if (order.at(-1) !== p.phase) order.push(p.phase);
      },
    });
    expect(seen.get("download")).toEqual({ phase: "download", done: summary.downloaded, total: summary.downloaded });
    expect(seen.get("apply")).toEqual({ phase: "apply", done: 6, total: 6 });
    expect(seen.get("verify")).toEqual({ phase: "verify", done: summary.pages, total: summary.pages });
    expect(seen.get("integrity")).toEqual({ phase: "integrity", done: 1, total: 1 });
    expect(order.at(-2)).toBe("verify");
    expect(order.at(-1)).toBe("integrity");
  });

  test("an aborted restore stops and leaves nothing behind", async () => {
    await replicate();
    const controller = new AbortController();
    const run = restore(
      { kind: "latest" },
      { signal: controller.signal, onProgress: (p) => p.phase === "apply" && p.done === 2 && controller.abort() },
    );
    const err = await run.then(() => null, (e) => e);
    expect(err?.message).toBe("restore of app was cancelled");
    expect(outDirEntries()).toEqual([]);
  });
});

describe("restoreDatabase: database shapes", () => {
  test("a database that shrinks (VACUUM) is restored at its smaller size", async () => {
    const src = new SourceDb(work);
    const builder = new ReplicaBuilder(backend, "app", ID);
    src.exec("CREATE TABLE t(x BLOB)");
    for (let i = 0; i < 50; i++) src.exec("INSERT INTO t VALUES (randomblob(3000))");
    await builder.snapshot(src.file, 1, T0);
    src.exec("DELETE FROM t WHERE rowid > 5");
    await builder.changeset(src.file, 2, T0 + 1);
    src.exec("VACUUM");
    const shrunk = await builder.changeset(src.file, 3, T0 + 2);
    src.close();
    expect(shrunk.image.pages.length).toBeLessThan(builder.states[0].image.pages.length);
    const summary = await restore({ kind: "latest" });
    expect(summary.pages).toBe(shrunk.image.pages.length);
    expect(fs.statSync(outputPath()).size).toBe(fs.statSync(src.file).size);
    expect(dump(outputPath())).toBe(dump(src.file));
  });

  for (const pageSize of [512, 65536]) {
    test(`page size ${pageSize} with overflow pages round-trips through many blocks`, async () => {
      const src = new SourceDb(work, { pageSize });
      const builder = new ReplicaBuilder(backend, "app", ID, { blockBytes: 3 * (pageSize + 4), compression: "lz4" });
      src.exec("CREATE TABLE t(x BLOB)");
      src.exec("INSERT INTO t VALUES (randomblob(200000))");
      await builder.snapshot(src.file, 10, T0);
      src.exec("INSERT INTO t VALUES (randomblob(150000))");
      src.exec("UPDATE t SET x = randomblob(1000) WHERE rowid = 1");
      await builder.changeset(src.file, 12, T0 + 5);
      src.close();
      const summary = await restore({ kind: "latest" });
      expect(summary.pageSize).toBe(pageSize);
      expect(Buffer.from(fs.readFileSync(outputPath())).equals(Buffer.from(fs.readFileSync(src.file)))).toBe(true);
      expect(dump(outputPath())).toBe(dump(src.file));
    });
  }

  test("uncompressed objects restore the same as compressed ones", async () => {
    const { dumps } = await replicate({ compression: "none", blockBytes: 5000 });
    await restore({ kind: "latest" });
    expect(dump(outputPath())).toBe(dumps.get(6)!);
  });
});

/**
 * restore --txid takes the largest boundary at or below the target over every
 * backup, so a new backup's snapshot must take a txid above every txid already
 * on the replica, not only above the cursor's: objects can land without the
 * cursor knowing (a crash before the cursor's fsync, an upload that reported
 * failure). Otherwise a later target restores an older state.
 */
import type { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileBackend } from "../../src/backends/file.ts";
import type { Body, PutOptions } from "../../src/backends/types.ts";
import { cursorPath, readCursor, type Cursor } from "../../src/engine/cursor.ts";
import { Replicator } from "../../src/engine/replicator.ts";
import { parseKey } from "../../src/replica/names.ts";
import { restoreTo, spawnDaemon } from "../helpers/daemon.ts";
import { openAppDb, python, sqlite3, tempDir, waitFor, writeConfig } from "../helpers/fixtures.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** One row per commit, ids in commit order: the row count names the state. */
function commit(db: Database, commits: number): void {
  for (let i = 0; i < commits; i++) db.run("INSERT INTO t (b) VALUES (randomblob(3000))");
}

function appDb(path: string): Database {
  const db = openAppDb(path);
  cleanups.push(() => db.close());
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
  return db;
}

/**
 * Restores every txid from the first snapshot to the highest txid on the
 * replica and returns the targets whose state has fewer rows than the one
 * before: empty when restore --txid is monotone.
 */
async function fallingTargets(replica: string, dir: string): Promise<string[]> {
  let first = Infinity;
  let last = 0;
  for await (const { key } of new FileBackend(replica).list("app/")) {
    const parsed = parseKey(key);
    if (parsed?.kind === "snapshot") first = Math.min(first, parsed.txid);
    if (parsed?.kind === "snapshot" || parsed?.kind === "changeset") last = Math.max(last, parsed.kind === "snapshot" ? parsed.txid : parsed.txidEnd);
  }
  expect(last).toBeGreaterThan(first);
  const falls: string[] = [];
  let previous = { txid: 0, rows: 0 };
  for (let txid = first; txid <= last; txid++) {
    const out = join(dir, `at-${txid}.db`);
    await restoreTo(replica, out, { kind: "txid", txid });
    const rows = Number(sqlite3(out, "SELECT count(*) FROM t"));
    rmSync(out);
    if (rows < previous.rows) falls.push(`txid ${txid} restores ${rows} rows, txid ${previous.txid} ${previous.rows}`);
    previous = { txid, rows };
  }
  return falls;
}

/**
 * Runs the daemon as its own process (as in production: POSIX locks are per
 * process, and an in-process daemon closing its descriptor would drop the
 * application connection's locks) until `shipped` holds, then stops it.
 */
async function runDaemonUntil(configPath: string, dbPath: string, shipped: (cursor: Cursor) => boolean, what: string): Promise<Cursor> {
  const daemon = spawnDaemon(configPath);
  cleanups.push(() => daemon.kill(9));
  await waitFor(() => {
    const cursor = readCursor(dbPath, "app");
    return cursor !== null && shipped(cursor);
  }, 20_000, 10, what);
  daemon.kill("SIGTERM");
  expect(await daemon.exited).toBe(0);
  return readCursor(dbPath, "app")!;
}

test("after a crash left change-sets past the cursor, the new backup's snapshot goes above them and restore --txid stays monotone", async () => {
  const t = tempDir("txid");
  cleanups.push(t.cleanup);
  const cfg = writeConfig(t.dir, `debounce = "10ms"\nmax_batch_delay = "50ms"`);
  const db = appDb(cfg.dbPath);
  commit(db, 2);
  const first = await runDaemonUntil(cfg.path, cfg.dbPath, () => true, "backup 1's snapshot");
  const beforeCrash = readFileSync(cursorPath(cfg.dbPath, "app"));
  commit(db, 10);
  const shipped = await runDaemonUntil(cfg.path, cfg.dbPath, (c) => c.txid >= first.txid + 10, "backup 1's change-sets");
  expect(shipped.backupId).toBe(first.backupId);

  // The crash came before the cursor's fsync: the change-sets landed, the cursor still says `first`.
  writeFileSync(cursorPath(cfg.dbPath, "app"), beforeCrash);
  // Another tool checkpoints the WAL away while the daemon is down: the restarted daemon must start a new backup.
  python(cfg.dbPath, "con.execute('PRAGMA wal_checkpoint(TRUNCATE)')");
  commit(db, 2);
  const second = await runDaemonUntil(cfg.path, cfg.dbPath, (c) => c.backupId !== first.backupId, "backup 2's snapshot");
  expect(second.snapshotTxid).toBeGreaterThan(shipped.txid);
  commit(db, 3);
  await runDaemonUntil(cfg.path, cfg.dbPath, (c) => c.txid >= second.txid + 3, "backup 2's change-sets");

  expect(await fallingTargets(cfg.replica, t.dir)).toEqual([]);
}, 60_000);

/** The mxFrame and nBackfill fields of the WAL index (SQLite's -shm): every committed frame is in the database file. */
function walFullyBackfilled(dbPath: string): boolean {
  const shm = readFileSync(`${dbPath}-shm`);
  const mxFrame = shm.readUInt32LE(16);
  return mxFrame > 0 && shm.readUInt32LE(96) === mxFrame;
}

/**
 * A file backend beside an application that commits while change-sets upload.
 * The change-set uploaded after a complete checkpoint (the captured tail) lands
 * but reports failure, and the application's next commit restarts the WAL.
 */
class CommitsDuringUploads extends FileBackend {
  commitsPerUpload = 0;
  /** The key of the tail that landed but reported failure. */
  failedTail: string | null = null;

  constructor(
    root: string,
    private readonly app: Database,
    private readonly dbPath: string,
  ) {
    super(root);
  }

  override async put(key: string, body: Body, options?: PutOptions): Promise<void> {
    await super.put(key, body, options);
    if (this.commitsPerUpload === 0 || parseKey(key)?.kind !== "changeset") return;
    if (walFullyBackfilled(this.dbPath)) {
      this.commitsPerUpload = 0;
      this.failedTail = key;
      commit(this.app, 1);
      throw new Error("connection reset after the object landed");
    }
    commit(this.app, this.commitsPerUpload);
  }
}

test("a checkpoint's tail that landed but reported failure: the new backup started in the same run goes above its txids", async () => {
  const t = tempDir("txid");
  cleanups.push(t.cleanup);
  const cfg = writeConfig(t.dir, `max_wal_size = "32KiB"`);
  const db = appDb(cfg.dbPath);
  commit(db, 2);
  const backend = new CommitsDuringUploads(cfg.replica, db, cfg.dbPath);
  const replicator = new Replicator(cfg.config.databases[0], backend, { acquire: async () => () => {}, workers: 1 });
  await replicator.open();
  cleanups.push(() => replicator.close());
  await replicator.sync(); // backup 1: its snapshot
  const first = replicator.backupId;

  // Three commits land during every change-set upload, so the checkpoint's last round captures a tail of three.
  backend.commitsPerUpload = 3;
  commit(db, 10);
  await expect(replicator.sync()).rejects.toThrow("connection reset after the object landed");
  const tail = parseKey(backend.failedTail ?? "");
  expect(tail?.kind).toBe("changeset");
  if (tail?.kind !== "changeset") return;
  expect(tail.txidEnd - tail.txidStart).toBe(2);
  expect(replicator.currentTxid).toBe(tail.txidStart - 1);

  await replicator.sync(); // the failed tail's pages are only in the database file now: new backup
  expect(replicator.backupId).not.toBe(first);
  expect(readCursor(cfg.dbPath, "app")!.snapshotTxid).toBeGreaterThan(tail.txidEnd);
  replicator.close();
  expect(await fallingTargets(cfg.replica, t.dir)).toEqual([]);
}, 30_000);

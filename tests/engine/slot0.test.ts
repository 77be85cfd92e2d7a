/**
 * Frames the daemon's read transaction does not protect. A reader that begins
 * on a fully backfilled WAL sits on read slot 0: that blocks backfill but not
 * a WAL restart, so the application's next commit may write a new generation
 * over frames the daemon scanned and has yet to read. Every frame is checked
 * against its generation when it is read (wal.ts readFramePage); these tests
 * build exactly that moment with the real engine and a real SQLite writer, and
 * check that no torn state ever lands on the replica.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { FileBackend } from "../../src/backends/file.ts";
import type { Backend } from "../../src/backends/types.ts";
import { readCursor } from "../../src/engine/cursor.ts";
import { stateDir } from "../../src/ops/state-paths.ts";
import { listDatabase } from "../../src/replica/listing.ts";
import { restoreTo, shippedTxid, startDaemon } from "../helpers/daemon.ts";
import { openAppDb, tempDir, waitFor, writeConfig } from "../helpers/fixtures.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

const ROW = 300;
const fill = (c: string) => c.repeat(ROW);

/** The file backend, with `before` called on each put before the body is read. */
function hooked(root: string, before: (key: string) => void): Backend {
  const file = new FileBackend(root);
  return new Proxy(file, {
    get(target, prop, receiver) {
      if (prop === "put") {
        return (key: string, ...rest: Parameters<FileBackend["put"]> extends [string, ...infer R] ? R : never) => {
          before(key);
          return target.put(key, ...rest);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The two rows the application always changes together. */
function pair(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.query("SELECT id, substr(v, 1, 1) AS c FROM t WHERE id IN (1, 40) ORDER BY id").all() as Array<{ c: string }>;
    return rows.map((r) => r.c).join("");
  } finally {
    db.close();
  }
}

/** A config and an application database of 40 rows of 300 bytes ("x"), removed after the test. */
function fortyRows() {
  const t = tempDir("slot0");
  cleanups.push(t.cleanup);
  const cfg = writeConfig(t.dir);
  const db = openAppDb(cfg.dbPath);
  cleanups.push(() => db.close());
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  for (let id = 1; id <= 40; id++) db.run("INSERT INTO t (id, v) VALUES (?, ?)", [id, fill("x")]);
  return { cfg, db };
}

/**
 * A database whose WAL is one generation, fully backfilled and not restarted:
 * its first frame holds row 1's page and its last row 40's, so a restart that
 * rewrites the first frames leaves the last one as it was.
 */
async function backfilledWal() {
  const { cfg, db } = fortyRows();
  // A first run creates bakelite's own table (a write, which would restart the WAL); then forget that backup.
  const first = startDaemon(cfg.config);
  await waitFor(() => shippedTxid(cfg.dbPath) !== null, 10_000, 20, "the first snapshot");
  await first.stop();
  rmSync(cfg.replica, { recursive: true, force: true });
  rmSync(stateDir(cfg.dbPath), { recursive: true, force: true });
  mkdirSync(cfg.replica, { recursive: true });

  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.run("UPDATE t SET v = ? WHERE id = 1", [fill("A")]);
  for (let i = 0; i < 5; i++) db.run("UPDATE t SET v = ? WHERE id = 20", [fill(String(i))]);
  db.run("UPDATE t SET v = ? WHERE id = 40", [fill("A")]);
  const ck = db.query("PRAGMA wal_checkpoint(PASSIVE)").get() as Record<string, number>;
  const [busy, log, checkpointed] = Object.values(ck);
  expect(busy).toBe(0);
  expect(log).toBeGreaterThan(2);
  expect(checkpointed).toBe(log);
  return { cfg, db };
}

/** Every snapshot on the replica, restored: each must hold the two rows equal. */
async function snapshotStates(replica: string, dir: string): Promise<string[]> {
  const listing = await listDatabase(new FileBackend(replica), "app");
  const states: string[] = [];
  for (const backup of listing.backups) {
    if (!backup.snapshot) continue;
    const out = join(dir, `check-${backup.backupId}.db`);
    await restoreTo(replica, out, { kind: "timestamp", timestampMs: backup.snapshot.timestampMs });
    states.push(pair(out));
  }
  return states;
}

/** A put hook: once, before the first upload whose key has `match`, the application changes both rows to "F". */
function commitDuringFirstUpload(db: Database, match: string): (key: string) => void {
  let fired = false;
  return (key: string) => {
    if (fired || !key.includes(match)) return;
    fired = true;
    // R sits on slot 0 over the backfilled WAL: this commit restarts it and writes its frames from the start.
    db.run("UPDATE t SET v = ? WHERE id IN (1, 40)", [fill("F")]);
  };
}

describe("frames rewritten under a reader on read slot 0", () => {
  test("a snapshot whose overlay frames are rewritten mid-upload never lands torn", async () => {
    const { cfg, db } = await backfilledWal();
    const before = commitDuringFirstUpload(db, "snapshot");
    const daemon = startDaemon(cfg.config, async () => hooked(cfg.replica, before));
    try {
      await waitFor(() => shippedTxid(cfg.dbPath) !== null, 15_000, 20, "a snapshot to land");
    } finally {
      await daemon.stop();
    }
    const states = await snapshotStates(cfg.replica, join(cfg.dbPath, ".."));
    expect(states.length).toBeGreaterThan(0);
    // "FA" (row 1 from the new generation, row 40 from the old) is a state that never existed.
    for (const state of states) expect(["AA", "FF"]).toContain(state);
    const latest = join(cfg.dbPath, "..", "latest.db");
    await restoreTo(cfg.replica, latest);
    expect(pair(latest)).toBe("FF");
  });

  test("a change-set of commits made while the daemon was down, rewritten mid-upload, never lands torn", async () => {
    const { cfg, db } = fortyRows();
    // The backup's cursor ends early in a WAL generation that then goes on without a restart.
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const first = startDaemon(cfg.config);
    await waitFor(() => shippedTxid(cfg.dbPath) !== null, 10_000, 20, "the snapshot");
    db.run("UPDATE t SET v = ? WHERE id = 5", [fill("y")]);
    await waitFor(() => (readCursor(cfg.dbPath, "app")?.wal ?? null) !== null, 10_000, 20, "the first change-set");
    await first.stop();
    const shipped = readCursor(cfg.dbPath, "app")!;

    // Commits made while the daemon is down, then a checkpoint by the application: all backfilled, no restart.
    db.run("UPDATE t SET v = ? WHERE id = 1", [fill("B")]);
    for (let i = 0; i < 5; i++) db.run("UPDATE t SET v = ? WHERE id = 20", [fill(String(i))]);
    db.run("UPDATE t SET v = ? WHERE id = 40", [fill("B")]);
    const [, log, checkpointed] = Object.values(db.query("PRAGMA wal_checkpoint(PASSIVE)").get() as Record<string, number>);
    expect(checkpointed).toBe(log);

    // Resumed on the same generation, the daemon ships those commits from their frames. A large
    // commit during that upload restarts the WAL and writes well past where they lie.
    let fired = false;
    const before = (key: string) => {
      if (fired || !key.includes("/L0/")) return;
      fired = true;
      db.transaction(() => {
        db.run("UPDATE t SET v = ? WHERE id IN (1, 40)", [fill("F")]);
        for (let id = 41; id <= 240; id++) db.run("INSERT INTO t (id, v) VALUES (?, ?)", [id, fill("z")]);
      })();
    };
    const second = startDaemon(cfg.config, async () => hooked(cfg.replica, before));
    try {
      await waitFor(() => readCursor(cfg.dbPath, "app")?.backupId !== shipped.backupId, 15_000, 20, "the daemon to move on");
    } finally {
      await second.stop();
    }
    expect(fired).toBe(true);
    // Every restorable point passes restore's checks (integrity_check included) and holds the two rows equal.
    const listing = await listDatabase(new FileBackend(cfg.replica), "app");
    const dir = join(cfg.dbPath, "..");
    let n = 0;
    for (const backup of listing.backups) {
      for (const o of [backup.snapshot, ...backup.changesets]) {
        if (!o) continue;
        const out = join(dir, `point-${n++}.db`);
        await restoreTo(cfg.replica, out, { kind: "timestamp", timestampMs: o.timestampMs });
        expect(["xx", "BB", "FF"]).toContain(pair(out));
      }
    }
    const latest = join(dir, "latest.db");
    await restoreTo(cfg.replica, latest);
    expect(pair(latest)).toBe("FF");
  });
});

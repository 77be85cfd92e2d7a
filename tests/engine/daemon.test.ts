import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { FaultyBackend } from "../../src/backends/faulty.ts";
import { FileBackend } from "../../src/backends/file.ts";
import { readCursor } from "../../src/engine/cursor.ts";
import { readWalHeader } from "../../src/engine/wal.ts";
import { readStatus } from "../../src/ops/status-file.ts";
import { listDatabase } from "../../src/replica/listing.ts";
import { restoreTo, shippedTxid, spawnDaemon, startDaemon } from "../helpers/daemon.ts";
import { dump, integrity, openAppDb, python, sqlite3, tempDir, waitFor, writeConfig } from "../helpers/fixtures.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function setup(extra = "", pageSize = 4096) {
  const t = tempDir("daemon");
  cleanups.push(t.cleanup);
  const cfg = writeConfig(t.dir, `debounce = "20ms"\nmax_batch_delay = "100ms"\n${extra}`);
  const db = openAppDb(cfg.dbPath, pageSize);
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)");
  cleanups.push(() => db.close());
  return { ...cfg, dir: t.dir, db };
}

async function expectExactRestore(replica: string, dbPath: string, dir: string, name = "out.db") {
  const out = join(dir, name);
  const summary = await restoreTo(replica, out);
  expect(integrity(out)).toBe("ok");
  expect(dump(out)).toBe(dump(dbPath));
  return summary;
}

describe("daemon replication", () => {
  for (const pageSize of [512, 4096, 65536]) {
    test(`every commit is shipped and a restore after a clean stop equals the source (page size ${pageSize})`, async () => {
      const s = setup("", pageSize);
      const daemon = startDaemon(s.config);
      for (let i = 0; i < 300; i++) {
        s.db.run("INSERT INTO t (v, b) VALUES (?, randomblob(?))", [`row ${i}`, (i * 97) % 3000]);
        if (i % 50 === 0) await Bun.sleep(30);
      }
      await daemon.stop();
      await expectExactRestore(s.replica, s.dbPath, s.dir);
    });
  }

  test("the daemon's own checkpoint keeps the WAL small and shipping continues across WAL generations", async () => {
    const s = setup('max_wal_size = "64KiB"');
    const daemon = startDaemon(s.config);
    // The writer is another process: an in-process writer would block the daemon's event loop while it waits for the lock.
    const writer = Bun.spawn(["bun", join(import.meta.dir, "..", "helpers", "writer.ts"), s.dbPath, "400", "2000", "20", "10"], { stdout: "pipe", stderr: "inherit" });
    let maxWal = 0;
    while (writer.exitCode === null) {
      if (existsSync(`${s.dbPath}-wal`)) maxWal = Math.max(maxWal, statSync(`${s.dbPath}-wal`).size);
      await Bun.sleep(10);
    }
    expect(await writer.exited).toBe(0);
    await daemon.stop();
    // 400 rows of 2 KB write ~3 MB of frames. When the application's writer wins the race to restart the WAL
    // (it usually does: it is waiting on the lock), SQLite reuses the file without truncating it, so the file's
    // high-water mark is bounded but not exactly max_wal_size.
    expect(maxWal).toBeLessThan(2 * 1024 * 1024);
    expect(readCursor(s.dbPath, "app")!.wal!.ckptSeq).toBeGreaterThan(2);
    await expectExactRestore(s.replica, s.dbPath, s.dir);
  });

  test("under a writer that never pauses, the daemon's checkpoints capture the last commits under the writer lock and upload them after it; the restore is exact", async () => {
    const s = setup('max_wal_size = "256KiB"\nbusy_timeout = "30s"');
    // The daemon as its own process with debug logging, so its log says how each change-set was made.
    const daemon = spawnDaemon(s.path, { BAKELITE_LOG: "debug" });
    const log = new Response(daemon.stderr).text();
    await waitFor(() => (shippedTxid(s.dbPath) ?? 0) > 0, 20_000, 10, "first snapshot");
    const writer = Bun.spawn(["bun", join(import.meta.dir, "..", "helpers", "writer.ts"), s.dbPath, "20000", "300", "1000000000", "0"], { stdout: "pipe", stderr: "inherit" });
    expect(await writer.exited).toBe(0);
    daemon.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
    const text = await log;
    expect(text).toContain("checkpointed and restarted the WAL");
    expect(text).toContain("captured under the writer lock");
    await expectExactRestore(s.replica, s.dbPath, s.dir);
  }, 60_000);

  test("a drain that ends in the daemon's own checkpoint also ships the daemon's _bakelite_seq commit (exact, that row included)", async () => {
    const s = setup('max_wal_size = "64KiB"');
    const daemon = startDaemon(s.config);
    await waitFor(() => (shippedTxid(s.dbPath) ?? 0) > 0, 10_000, 10, "first snapshot");
    // One synchronous burst past max_wal_size, then stop at once: the drain's sync is the one that checkpoints.
    for (let i = 0; i < 60; i++) s.db.run("INSERT INTO t (v, b) VALUES (?, randomblob(2000))", [`burst ${i}`]);
    await daemon.stop();
    const out = join(s.dir, "drained.db");
    await restoreTo(s.replica, out);
    expect(sqlite3(out, "SELECT seq FROM _bakelite_seq")).toBe(sqlite3(s.dbPath, "SELECT seq FROM _bakelite_seq"));
    expect(Number(sqlite3(s.dbPath, "SELECT seq FROM _bakelite_seq"))).toBeGreaterThan(0);
    expect(dump(out)).toBe(dump(s.dbPath));
  });

  test("after its own checkpoint the daemon's read transaction leaves read slot 0, so application checkpoints can backfill again", async () => {
    const s = setup('max_wal_size = "64KiB"');
    const daemon = startDaemon(s.config);
    await waitFor(() => (shippedTxid(s.dbPath) ?? 0) > 0, 10_000, 10, "first snapshot");
    const first = readWalHeader(`${s.dbPath}-wal`)!;
    for (let i = 0; i < 60; i++) s.db.run("INSERT INTO t (v, b) VALUES (?, randomblob(2000))", [`burst ${i}`]);
    await waitFor(() => readWalHeader(`${s.dbPath}-wal`)?.salt2 !== first.salt2, 10_000, 10, "the daemon's checkpoint to restart the WAL");
    s.db.run("INSERT INTO t (v) VALUES ('next generation')");
    // R on slot 0 blocks every backfill (an application PASSIVE checkpoint copies nothing); R on a read mark
    // lets it copy up to the mark (which may lag the newest commit, so "some", not "all").
    const passive = () => python(s.dbPath, "print(*con.execute('PRAGMA wal_checkpoint(PASSIVE)').fetchone())").trim().split(" ").map(Number);
    await waitFor(() => {
      const [busy, log, done] = passive();
      return busy === 0 && log > 0 && done > 0;
    }, 30_000, 200, "an application checkpoint to backfill part of the new generation");
    await daemon.stop();
    await expectExactRestore(s.replica, s.dbPath, s.dir);
  });

  test("VACUUM, a shrinking database and overflow pages restore exactly", async () => {
    const s = setup();
    const daemon = startDaemon(s.config);
    for (let i = 0; i < 100; i++) s.db.run("INSERT INTO t (v, b) VALUES (?, randomblob(9000))", [`big ${i}`]);
    await Bun.sleep(100);
    s.db.run("DELETE FROM t WHERE id % 4 != 0");
    s.db.exec("VACUUM");
    s.db.run("UPDATE t SET b = randomblob(5000) WHERE id % 8 = 0");
    await daemon.stop();
    const summary = await expectExactRestore(s.replica, s.dbPath, s.dir);
    expect(summary.pages).toBeLessThan(100 * 3);
  });

  test("a restart resumes the same backup without a new snapshot", async () => {
    const s = setup();
    let daemon = startDaemon(s.config);
    for (let i = 0; i < 50; i++) s.db.run("INSERT INTO t (v) VALUES (?)", [`a${i}`]);
    await daemon.stop();
    const first = readCursor(s.dbPath, "app")!;
    daemon = startDaemon(s.config);
    for (let i = 0; i < 50; i++) s.db.run("INSERT INTO t (v) VALUES (?)", [`b${i}`]);
    await daemon.stop();
    const second = readCursor(s.dbPath, "app")!;
    expect(second.backupId).toBe(first.backupId);
    expect(second.txid).toBeGreaterThan(first.txid);
    const listing = await listDatabase(new FileBackend(s.replica), "app");
    expect(listing.backups.length).toBe(1);
    await expectExactRestore(s.replica, s.dbPath, s.dir);
  });

  test("a TRUNCATE checkpoint by another tool while the daemon is down starts a new backup", async () => {
    const s = setup();
    let daemon = startDaemon(s.config);
    for (let i = 0; i < 30; i++) s.db.run("INSERT INTO t (v) VALUES (?)", [`a${i}`]);
    await daemon.stop();
    for (let i = 0; i < 30; i++) s.db.run("INSERT INTO t (v) VALUES (?)", [`unseen ${i}`]);
    python(s.dbPath, "print(con.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchone())");
    s.db.run("INSERT INTO t (v) VALUES ('after truncate')");
    daemon = startDaemon(s.config);
    await waitFor(() => (listDatabaseSync(s.replica) ?? 0) >= 2, 10_000, 20, "a second backup");
    await daemon.stop();
    await expectExactRestore(s.replica, s.dbPath, s.dir);
  });

  test("a foreign writer's PASSIVE, FULL, RESTART and TRUNCATE checkpoints while the daemon runs lose nothing", async () => {
    const s = setup();
    const daemon = startDaemon(s.config);
    for (const mode of ["PASSIVE", "FULL", "RESTART", "TRUNCATE"]) {
      python(
        s.dbPath,
        `con.execute('PRAGMA busy_timeout=200')\nfor i in range(40):\n    con.execute("INSERT INTO t (v) VALUES (?)", ('py ${mode} %d' % i,))\ntry:\n    print(con.execute('PRAGMA wal_checkpoint(${mode})').fetchone())\nexcept Exception as e:\n    print('checkpoint', e)`,
      );
      s.db.run("INSERT INTO t (v) VALUES (?)", [`bun after ${mode}`]);
      await Bun.sleep(60);
    }
    await daemon.stop();
    await expectExactRestore(s.replica, s.dbPath, s.dir);
  });

  test("a database file replaced under the running daemon is detected and backed up anew", async () => {
    const s = setup();
    const daemon = startDaemon(s.config);
    for (let i = 0; i < 20; i++) s.db.run("INSERT INTO t (v) VALUES (?)", [`old ${i}`]);
    await waitFor(() => (shippedTxid(s.dbPath) ?? 0) > 20, 10_000, 20, "first rows shipped");
    s.db.close();
    const other = join(s.dir, "other.db");
    const o = openAppDb(other);
    o.exec("CREATE TABLE replaced (x TEXT); INSERT INTO replaced VALUES ('new file')");
    o.close();
    rmSync(`${s.dbPath}-wal`, { force: true });
    rmSync(`${s.dbPath}-shm`, { force: true });
    renameSync(other, s.dbPath);
    await waitFor(() => (listDatabaseSync(s.replica) ?? 0) >= 2, 15_000, 50, "a new backup after the replacement");
    await daemon.stop();
    await expectExactRestore(s.replica, s.dbPath, s.dir);
  });

  test("a backend outage backs off, is reported, and catches up by itself", async () => {
    const s = setup();
    let faulty: FaultyBackend | null = null;
    const daemon = startDaemon(s.config, async () => {
      faulty = new FaultyBackend(new FileBackend(s.replica), { seed: 7 });
      return faulty;
    });
    s.db.run("INSERT INTO t (v) VALUES ('before outage')");
    await waitFor(() => faulty !== null && (shippedTxid(s.dbPath) ?? 0) > 0, 10_000, 20, "first snapshot");
    faulty!.setOutage(true);
    for (let i = 0; i < 40; i++) s.db.run("INSERT INTO t (v) VALUES (?)", [`during ${i}`]);
    await waitFor(() => readStatus(s.dbPath, "app")?.state === "backing-off", 10_000, 20, "backing-off status");
    expect(readStatus(s.dbPath, "app")!.lastError).toBeTruthy();
    faulty!.setOutage(false);
    await waitFor(() => readStatus(s.dbPath, "app")?.state === "replicating", 15_000, 50, "recovery");
    await daemon.stop();
    await expectExactRestore(s.replica, s.dbPath, s.dir);
  });
});

describe("daemon lifecycle", () => {
  test("a second daemon for the same database is refused while the first runs", async () => {
    const s = setup();
    const first = startDaemon(s.config);
    await waitFor(() => (shippedTxid(s.dbPath) ?? 0) > 0, 10_000, 20, "first daemon running");
    const second = startDaemon(s.config);
    await expect(second.done).rejects.toThrow(/locked by another bakelite process/);
    await first.stop();
  });

  test("max_segments_per_snapshot starts a new backup after that many change-sets", async () => {
    const s = setup("max_segments_per_snapshot = 3");
    const daemon = startDaemon(s.config);
    for (let i = 0; i < 12; i++) {
      s.db.run("INSERT INTO t (v) VALUES (?)", [`r${i}`]);
      const before = shippedTxid(s.dbPath) ?? 0;
      await waitFor(() => (shippedTxid(s.dbPath) ?? 0) > before, 10_000, 5, `commit ${i} shipped`);
    }
    await daemon.stop();
    const listing = await listDatabase(new FileBackend(s.replica), "app");
    expect(listing.backups.length).toBeGreaterThanOrEqual(3);
    for (const b of listing.backups.slice(0, -1)) expect(b.changesets.length).toBeLessThanOrEqual(3);
    await expectExactRestore(s.replica, s.dbPath, s.dir);
  });

  test("the sqlite3 command-line shell as a foreign writer, with its own checkpoints, loses nothing", async () => {
    const s = setup();
    const daemon = startDaemon(s.config);
    for (const mode of ["PASSIVE", "TRUNCATE", "FULL"]) {
      const sql = Array.from({ length: 30 }, (_, i) => `INSERT INTO t (v) VALUES ('cli ${mode} ${i}');`).join("");
      Bun.spawnSync(["sqlite3", "-cmd", ".timeout 300", s.dbPath, `${sql} PRAGMA wal_checkpoint(${mode});`], { stdout: "pipe", stderr: "pipe" });
      await Bun.sleep(50);
    }
    await daemon.stop();
    await expectExactRestore(s.replica, s.dbPath, s.dir);
  });
});

/** Number of backups in the replica (synchronously, from the directory layout). */
function listDatabaseSync(replica: string): number | null {
  try {
    const { readdirSync } = require("node:fs") as typeof import("node:fs");
    return readdirSync(join(replica, "app")).filter((n: string) => n !== "CURRENT").length;
  } catch {
    return null;
  }
}

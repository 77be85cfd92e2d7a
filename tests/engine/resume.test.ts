import { afterEach, describe, expect, test } from "bun:test";
import { closeSync, openSync } from "node:fs";
import { FaultyBackend } from "../../src/backends/faulty.ts";
import { FileBackend } from "../../src/backends/file.ts";
import { readCursor, type Cursor } from "../../src/engine/cursor.ts";
import { decideResume } from "../../src/engine/resume.ts";
import { startDaemon } from "../helpers/daemon.ts";
import { openAppDb, python, tempDir, writeConfig } from "../helpers/fixtures.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/**
 * A database with a shipped cursor, the daemon stopped, and the app connection
 * closed only by the caller. `faulty` wraps the replica's backend when given.
 */
async function shipped(faulty?: (file: FileBackend) => FaultyBackend) {
  const t = tempDir("resume");
  cleanups.push(t.cleanup);
  const cfg = writeConfig(t.dir);
  const db = openAppDb(cfg.dbPath);
  cleanups.push(() => db.close());
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  for (let i = 0; i < 20; i++) db.run("INSERT INTO t (v) VALUES (?)", [`r${i}`]);
  const backend = faulty?.(new FileBackend(cfg.replica));
  const backendFor = backend ? async () => backend : undefined;
  const daemon = startDaemon(cfg.config, backendFor);
  await daemon.stop();
  const cursor = readCursor(cfg.dbPath, "app")!;
  expect(cursor.wal).not.toBeNull();
  const decide = (c: Cursor = readCursor(cfg.dbPath, "app")!) => {
    const fd = openSync(cfg.dbPath, "r");
    try {
      return decideResume(fd, `${cfg.dbPath}-wal`, c);
    } finally {
      closeSync(fd);
    }
  };
  return { cfg, db, cursor, decide };
}

describe("resume decisions", () => {
  test("same WAL generation holding the cursor's commit: continue after it", async () => {
    const { db, decide } = await shipped();
    db.run("INSERT INTO t (v) VALUES ('more')");
    const d = decide();
    expect(d.action).toBe("continue");
    if (d.action === "continue") {
      expect(d.how).toBe("same WAL generation");
      expect(d.gen!.pending.length).toBe(1);
    }
  });

  test("a cursor offset that is not a commit boundary of this WAL is not trusted", async () => {
    const { cursor, decide } = await shipped();
    const forged = { ...cursor, wal: { ...cursor.wal!, offset: cursor.wal!.offset - 4096 - 24 } };
    const d = decide(forged);
    // falls through to the continuity proof, which the database file (not yet backfilled) fails
    expect(d.action).toBe("new-backup");
  });

  test("a new WAL generation is accepted only through the continuity proof (the checkpoint sequence is per-connection state)", async () => {
    const { cfg, db, decide } = await shipped();
    python(cfg.dbPath, "con.execute('PRAGMA wal_checkpoint(TRUNCATE)')");
    db.run("INSERT INTO t (v) VALUES ('new generation')");
    // the database file equals the shipped state (TRUNCATE backfilled exactly what was shipped)
    const d = decide();
    expect(d.action).toBe("continue");
    if (d.action === "continue") expect(d.how).toContain("database file matches");
  });

  test("commits checkpointed away while the daemon was down force a new backup", async () => {
    const { cfg, db, decide } = await shipped();
    db.run("INSERT INTO t (v) VALUES ('never shipped')");
    python(cfg.dbPath, "con.execute('PRAGMA wal_checkpoint(TRUNCATE)')");
    db.run("INSERT INTO t (v) VALUES ('after')");
    const d = decide();
    expect(d.action).toBe("new-backup");
  });

  test("frames written after the shipped state and checkpointed away before a restart force a new backup", async () => {
    const { cfg, db, decide } = await shipped();
    db.run("INSERT INTO t (v) VALUES ('appended to the shipped generation, never shipped')");
    python(cfg.dbPath, "con.execute('PRAGMA wal_checkpoint(TRUNCATE)')");
    db.run("INSERT INTO t (v) VALUES ('next generation')");
    expect(decide().action).toBe("new-backup");
  });
});

describe("reads at open", () => {
  test("a transient failure reading the snapshot's key header at open is retried, not taken for a new key (which would start a new backup)", async () => {
    let faulty: FaultyBackend | null = null;
    const { cfg, db, cursor: before } = await shipped((file) => (faulty = new FaultyBackend(file, { seed: 7 })));
    db.run("INSERT INTO t (v) VALUES ('after the restart')");
    // The open lists the backup (retried already) and then reads the snapshot's header: fail those reads twice.
    faulty!.failNext("get", 2, "errorBefore");
    await startDaemon(cfg.config, async () => faulty!).stop();
    const after = readCursor(cfg.dbPath, "app")!;
    expect(faulty!.stats().errorBefore).toBe(2);
    expect(after.backupId).toBe(before.backupId);
    expect(after.txid).toBeGreaterThan(before.txid);
  });
});

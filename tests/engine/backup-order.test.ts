/**
 * Restore takes the backup with the newest id as latest, and ids start with
 * their creation time. A new backup must therefore sort after every backup
 * already on the replica even when the clock is behind them (stepped back,
 * a restored VM image), or "latest" would restore the older data.
 */
import { afterEach, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { readCursor } from "../../src/engine/cursor.ts";
import { stateDir } from "../../src/ops/state-paths.ts";
import { restoreTo, startDaemon } from "../helpers/daemon.ts";
import { dump, openAppDb, sqlite3, tempDir, writeConfig } from "../helpers/fixtures.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

test("a new backup sorts after a backup stamped in the future, with or without a cursor; latest restores the new data", async () => {
  const t = tempDir("order");
  cleanups.push(t.cleanup);
  const cfg = writeConfig(t.dir);
  const db = openAppDb(cfg.dbPath);
  cleanups.push(() => db.close());
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  db.run("INSERT INTO t (v) VALUES ('made while the clock said 2099')");

  const realNow = Date.now;
  const future = Date.UTC(2099, 0, 1);
  Date.now = () => future + (realNow() % 100_000);
  try {
    await startDaemon(cfg.config).stop();
  } finally {
    Date.now = realNow;
  }
  const futureBackup = readCursor(cfg.dbPath, "app")!.backupId;
  expect(futureBackup.startsWith("2099")).toBe(true);

  // The clock is back in the present. First with the local state lost (no cursor to go by).
  rmSync(stateDir(cfg.dbPath), { recursive: true, force: true });
  db.run("INSERT INTO t (v) VALUES ('after the clock went back')");
  await startDaemon(cfg.config).stop();
  const second = readCursor(cfg.dbPath, "app")!.backupId;
  expect(second > futureBackup).toBe(true);

  // Then with a cursor, when a new backup is due (its backup's snapshot went missing).
  db.run("INSERT INTO t (v) VALUES ('third backup')");
  rmSync(join(cfg.replica, "app", second), { recursive: true, force: true });
  await startDaemon(cfg.config).stop();
  const third = readCursor(cfg.dbPath, "app")!.backupId;
  expect(third > second).toBe(true);

  const out = join(t.dir, "latest.db");
  await restoreTo(cfg.replica, out);
  expect(dump(out)).toBe(dump(cfg.dbPath));
  expect(sqlite3(out, "SELECT count(*) FROM t")).toBe("3");
});

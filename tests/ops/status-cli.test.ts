import { afterEach, describe, expect, test } from "bun:test";
import { utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readDatabaseStatus } from "../../src/ops/status-view.ts";
import { writeVerifyMarker } from "../../src/ops/verify-marker.ts";
import { spawnDaemon, startDaemon } from "../helpers/daemon.ts";
import { openAppDb, tempDir, waitFor } from "../helpers/fixtures.ts";
import { parseConfig } from "../../src/config/load.ts";
import { deadPid, runCli, writeStatusFixture } from "./cli.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** A config with the named databases under one temp dir; each database file exists, untouched for a minute. */
function fleet(names: string[], defaults = "", touch = true) {
  const t = tempDir("status");
  cleanups.push(t.cleanup);
  const blocks = names.map((n) => `[[database]]\nname = "${n}"\npath = "${join(t.dir, `${n}.db`)}"\n`).join("\n");
  const text = `[defaults]\n${defaults}\n\n[[backends]]\ntype = "file"\npath = "${join(t.dir, "replica")}"\n\n${blocks}`;
  const configPath = join(t.dir, "bakelite.toml");
  writeFileSync(configPath, text);
  const old = new Date(Date.now() - 60_000);
  for (const n of touch ? names : []) {
    for (const f of [`${n}.db`, `${n}.db-wal`]) {
      writeFileSync(join(t.dir, f), "");
      utimesSync(join(t.dir, f), old, old);
    }
  }
  return { dir: t.dir, configPath, dbPath: (n: string) => join(t.dir, `${n}.db`), config: parseConfig(text, configPath, {}) };
}

describe("status from hand-written status files", () => {
  test("shows one row per database with its derived state and the detail lines of the unhealthy ones", async () => {
    const f = fleet(["good", "flaky", "dead", "quiet", "new"]);
    const now = Date.now();
    writeStatusFixture(f.dbPath("good"), "good");
    writeVerifyMarker(f.dbPath("good"), "good", { timeMs: now - 3 * 3_600_000, mode: "deep", ok: true, problems: 0 });
    writeStatusFixture(f.dbPath("flaky"), "flaky", { state: "backing-off", backoff: { streak: 5, sinceMs: now - 125_000 }, lastError: "backend file:/x: permission denied" });
    writeStatusFixture(f.dbPath("dead"), "dead", { pid: await deadPid(), updatedMs: now - 300_000 });
    writeStatusFixture(f.dbPath("quiet"), "quiet", { updatedMs: now - 120_000, lastSyncedMs: now - 120_000 });
    writeVerifyMarker(f.dbPath("quiet"), "quiet", { timeMs: now - 7_200_000, mode: "shallow", ok: false, problems: ["x", "y"] });

    const r = await runCli(["status", "--config", f.configPath]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^DATABASE\s+STATE\s+FRESH\s+SYNCED\s+CHANGES\s+SHIPPED$/);
    expect(r.stdout).toMatch(/^good\s+replicating\s+live\s+0s ago\s+7\s+3\.00 MiB$/m);
    expect(r.stdout).toMatch(/^ {2}verified: clean \(deep\) 3h ago$/m);
    expect(r.stdout).toMatch(/^flaky\s+backing off\s/m);
    expect(r.stdout).toMatch(/^ {2}stuck for 2m5s \(5 failed attempts\)$/m);
    expect(r.stdout).toMatch(/^ {2}last error: backend file:\/x: permission denied$/m);
    expect(r.stdout).toMatch(/^dead\s+not running\s/m);
    expect(r.stdout).toMatch(/^ {2}daemon gone: pid \d+ is not running; last heard from 5m ago$/m);
    expect(r.stdout).toMatch(/^quiet\s+stale\s/m);
    expect(r.stdout).toMatch(/^ {2}verify: PROBLEMS \(2 problems, shallow\) 2h ago$/m);
    expect(r.stdout).toMatch(/^new\s+never started\s+-\s+never\s+0\s+0 B$/m);
  });

  test("a clean stop says stopped, not stuck; a daemon that died says how long nothing was shipped", async () => {
    const f = fleet(["halted", "dead"]);
    const now = Date.now();
    writeStatusFixture(f.dbPath("halted"), "halted", { state: "stopped", updatedMs: now - 2_000, lastSyncedMs: now - 2_000 });
    writeStatusFixture(f.dbPath("dead"), "dead", { pid: await deadPid(), updatedMs: now - 300_000, lastSyncedMs: now - 310_000 });
    const r = await runCli(["status", "--config", f.configPath]);
    expect(r.stdout).toMatch(/^halted\s+stopped\s/m);
    expect(r.stdout).toMatch(/^ {2}stopped 2s ago$/m);
    expect(r.stdout).toMatch(/^ {2}nothing shipped for 5m10s$/m);
    expect(r.stdout).not.toContain("stuck for");
  });

  test("--check is silent with exit 0 when every selected database is healthy", async () => {
    const f = fleet(["good", "dead"]);
    writeStatusFixture(f.dbPath("good"), "good");
    const r = await runCli(["status", "--check", "--db", "good", "--config", f.configPath]);
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  test("--check prints each failing database and reason and exits 1", async () => {
    const f = fleet(["good", "dead", "flaky"]);
    writeStatusFixture(f.dbPath("good"), "good");
    writeStatusFixture(f.dbPath("dead"), "dead", { pid: await deadPid() });
    writeStatusFixture(f.dbPath("flaky"), "flaky", { backoff: { streak: 2, sinceMs: Date.now() - 10_000 }, lastError: "timeout" });
    const r = await runCli(["status", "--check", "--config", f.configPath]);
    expect(r.code).toBe(1);
    const out = r.stdout.trimEnd().split("\n");
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^dead: daemon not running \(pid \d+ is gone; last heard from 0s ago\)$/);
    expect(out[1]).toBe("flaky: backing off for 10s (2 failed attempt(s)): timeout");
  });

  test("--check --max-lag and --max-verify-age gate a running daemon on freshness", async () => {
    const f = fleet(["app"]);
    const now = Date.now();
    writeStatusFixture(f.dbPath("app"), "app", { lastSyncedMs: now - 15 * 60_000 });
    utimesSync(f.dbPath("app") + "-wal", new Date(now), new Date(now));
    writeVerifyMarker(f.dbPath("app"), "app", { timeMs: now - 40 * 3_600_000, mode: "shallow", ok: true, problems: 0 });
    const plain = await runCli(["status", "--check", "--config", f.configPath]);
    expect(plain.code).toBe(0);
    const gated = await runCli(["status", "--check", "--max-lag", "10m", "--max-verify-age", "36h", "--config", f.configPath]);
    expect(gated.code).toBe(1);
    expect(gated.stdout).toContain("app: replica is 15m behind (max-lag 10m)");
    expect(gated.stdout).toContain("app: last clean verify was 1d16h ago (max-verify-age 1d12h)");
  });

  test("--json reports every field with its health, and --check --json still sets the exit code", async () => {
    const f = fleet(["app"]);
    const written = writeStatusFixture(f.dbPath("app"), "app", { pid: await deadPid() });
    const r = await runCli(["status", "--json", "--check", "--config", f.configPath]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.healthy).toBe(false);
    expect(doc.databases).toHaveLength(1);
    expect(doc.databases[0]).toMatchObject({
      db: "app", state: "not running", healthy: false, reportedState: "replicating", pid: written.pid, txid: 42,
      lagSeconds: 0, changesets: 7, backupChangesets: 7, bytesShipped: 3 * 1024 * 1024, lastError: null, backoff: null, verify: null,
    });
    expect(doc.databases[0].reasons[0]).toContain("daemon not running");
    expect(doc.databases[0].lastSynced).toBe(new Date(written.lastSyncedMs!).toISOString());
  });

  test("bad thresholds and unknown databases are usage errors (exit 2)", async () => {
    const f = fleet(["app"]);
    const bad = await runCli(["status", "--check", "--max-lag", "ten minutes", "--config", f.configPath]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--max-lag");
    const unknown = await runCli(["status", "--db", "nope", "--config", f.configPath]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown database "nope"');
  });
});

describe("status of a real daemon", () => {
  test("replicating and live once caught up; stopped (and failing --check) after a clean stop", async () => {
    const f = fleet(["app"], 'debounce = "5ms"\nmax_batch_delay = "50ms"\nsafety_poll = "200ms"', false);
    const db = openAppDb(f.dbPath("app"));
    cleanups.push(() => db.close());
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const daemon = startDaemon(f.config);
    try {
      await waitFor(() => readDatabaseStatus(f.config.databases[0]).lastSyncedMs !== null, 20_000, 20, "the first snapshot");
      for (let i = 0; i < 20; i++) db.run("INSERT INTO t (v) VALUES (?)", [`row ${i}`]);
      await waitFor(() => readDatabaseStatus(f.config.databases[0]).lagMs === 0, 20_000, 20, "the replica to catch up");
      const r = await runCli(["status", "--json", "--config", f.configPath]);
      const s = JSON.parse(r.stdout).databases[0];
      expect(s).toMatchObject({ state: "replicating", healthy: true, pid: process.pid, lastError: null, backoff: null });
      // Caught up: "live" (0), or under a loaded machine a sub-second reading when a file time lands inside the 1 s slack.
      expect(s.lagSeconds).toBeLessThan(1);
      expect(s.changesets).toBeGreaterThan(0);
      expect(s.bytesShipped).toBeGreaterThan(0);
      expect(s.txid).toBeGreaterThanOrEqual(21);
      expect((await runCli(["status", "--check", "--max-lag", "1m", "--config", f.configPath])).code).toBe(0);
    } finally {
      await daemon.stop();
    }
    const after = await runCli(["status", "--check", "--config", f.configPath]);
    expect(after.code).toBe(1);
    expect(after.stdout).toMatch(/^app: daemon stopped \d+s ago$/m);
  });

  test("a daemon killed with SIGKILL shows as not running", async () => {
    const f = fleet(["app"], 'debounce = "5ms"\nmax_batch_delay = "50ms"', false);
    const db = openAppDb(f.dbPath("app"));
    cleanups.push(() => db.close());
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const proc = spawnDaemon(f.configPath, { BAKELITE_LOG: "silent" });
    await waitFor(() => readDatabaseStatus(f.config.databases[0]).state === "replicating", 20_000, 20, "the daemon to report replicating");
    proc.kill("SIGKILL");
    await proc.exited;
    const r = await runCli(["status", "--config", f.configPath]);
    expect(r.stdout).toMatch(/^app\s+not running\s/m);
    expect(r.stdout).toContain(`daemon gone: pid ${proc.pid} is not running`);
  });
});

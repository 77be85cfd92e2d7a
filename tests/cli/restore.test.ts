import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, cpSync, existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createAppDb, runCli, sqliteCount, sqliteIntegrity, startDaemon, tempDir, waitShipped, writeConfig } from "./helpers.ts";
import { makeReplica, type ReplicaFixture } from "./replica-fixture.ts";

// Real daemons and child processes: more than bun's 5 s default on a loaded machine.
setDefaultTimeout(30_000);

let fx: ReplicaFixture;
beforeAll(async () => {
  fx = await makeReplica([30, 40, 50], [{ name: "other" }]);
});
afterAll(() => fx?.cleanup());

const out = (name: string) => join(fx.dir, name);
const cli = (args: string[]) => runCli([...args, "--config", fx.config]);

describe("restore to --output", () => {
  test("latest: every committed row, integrity_check ok from the sqlite3 CLI, summary on stdout", async () => {
    const r = await cli(["restore", "--db", "app", "--output", out("latest.db")]);
    expect(r.code).toBe(0);
    expect(sqliteCount(out("latest.db"))).toBe(120);
    expect(sqliteIntegrity(out("latest.db"))).toBe("ok");
    const last = fx.batches.at(-1)!;
    expect(r.stdout).toContain(`Restored "app" -> ${out("latest.db")}`);
    expect(r.stdout).toMatch(new RegExp(`target: latest -> txid ${last.txid} at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z`));
    expect(r.stdout).toMatch(/applied: full backup \+ \d+ change-set\(s\)/);
    expect(r.stdout).toMatch(/✓ lineage verified: (\d+)\/\1 change-set\(s\), hashes match/);
    expect(r.stdout).toMatch(/size: \d+ pages x 4096 bytes \(/);
    expect(r.stdout).toMatch(/\n {2}downloaded: [\d.]+ [KMG]?i?B\n/);
    expect(r.stdout).toMatch(/✓ integrity_check: ok \(\d+\.\d\ds of \d+\.\d\ds in all\)/);
  });

  test("--txid lands on that commit", async () => {
    const first = fx.batches[0];
    const r = await cli(["restore", "--db", "app", "--output", out("txid.db"), "--txid", String(first.txid)]);
    expect(r.code).toBe(0);
    expect(sqliteCount(out("txid.db"))).toBe(first.rows);
    expect(r.stdout).toContain(`target: txid ${first.txid} -> txid ${first.txid} at`);
  });

  test("--timestamp at a change-set's commit time lands on that change-set, whatever came later", async () => {
    const list = await cli(["list", "--db", "app", "--verbose", "--json"]);
    const detail = JSON.parse(list.stdout);
    const objects = detail.backupDetails.flatMap((b: { snapshot: unknown; changesets: unknown[] }) => [b.snapshot, ...b.changesets]) as Array<{ txidEnd: number; committed: string; committedMs: number }>;
    const boundary = objects.find((o) => o.txidEnd === fx.batches[1].txid)!;
    expect(boundary).toBeDefined();
    const r = await cli(["restore", "--db", "app", "--output", out("pit.db"), "--timestamp", boundary.committed, "--json"]);
    expect(r.code).toBe(0);
    expect(sqliteCount(out("pit.db"))).toBe(fx.batches[1].rows);
    const summary = JSON.parse(r.stdout);
    expect(summary.landed.txid).toBe(fx.batches[1].txid);
    expect(summary.target).toEqual({ kind: "timestamp", timestamp: boundary.committed, timestampMs: boundary.committedMs });
  });

  test('--timestamp accepts relative times: "now" is the latest state', async () => {
    const r = await cli(["restore", "--db", "app", "--output", out("now.db"), "--timestamp", "now"]);
    expect(r.code).toBe(0);
    expect(sqliteCount(out("now.db"))).toBe(120);
  });

  test("--timestamp before the first backup is TARGET_UNREACHABLE (exit 5) and writes nothing", async () => {
    const r = await cli(["restore", "--db", "app", "--output", out("early.db"), "--timestamp", "2001-01-01T00:00:00Z"]);
    expect(r.code).toBe(5);
    expect(r.stderr).toStartWith("error: no state of app at or before 2001-01-01T00:00:00Z");
    expect(existsSync(out("early.db"))).toBe(false);
  });

  test("--json prints the documented shape", async () => {
    const r = await cli(["restore", "--db", "app", "--output", out("json.db"), "--json"]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(Object.keys(s).sort()).toEqual([
      "backupId", "changesets", "db", "downloadedBytes", "elapsedMs", "inPlace", "integrityCheck", "integrityCheckMs", "landed", "lineageVerified",
      "output", "pageSize", "pages", "restored", "sizeBytes", "skippedBackups", "snapshotTxid", "target", "unreachable",
    ]);
    expect(s).toMatchObject({ restored: true, db: "app", output: out("json.db"), inPlace: false, target: { kind: "latest" }, integrityCheck: "ok", unreachable: null, skippedBackups: [], snapshotTxid: fx.snapshotTxid });
    expect(s.sizeBytes).toBe(statSync(out("json.db")).size);
    expect(s.lineageVerified).toBe(s.changesets);
    expect(s.integrityCheckMs).toBeGreaterThanOrEqual(0);
    expect(s.integrityCheckMs).toBeLessThanOrEqual(s.elapsedMs);
  });

  test("an existing --output is refused (exit 1) and left alone; --force replaces it", async () => {
    const target = out("exists.db");
    writeFileSync(target, "precious");
    const r = await cli(["restore", "--db", "app", "--output", target]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: output ${target} already exists`);
    expect(Bun.file(target).size).toBe(8);
    const forced = await cli(["restore", "--db", "app", "--output", target, "--force"]);
    expect(forced.code).toBe(0);
    expect(sqliteCount(target)).toBe(120);
  });

  test("--output naming another configured database's file is refused", async () => {
    const r = await cli(["restore", "--db", "app", "--output", join(fx.dir, "other.db")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is the live database "other"');
  });

  test("--db is needed when the config has several databases", async () => {
    const r = await cli(["restore", "--output", out("which.db")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("bakelite restore needs --db");
  });
});

describe("restore of a replica with a missing object", () => {
  test("stops before the gap, exits 0, and warns loudly on stderr that later change-sets were not applied", async () => {
    const t = tempDir();
    try {
      const replica = join(t.dir, "replica");
      cpSync(fx.replica, replica, { recursive: true });
      const config = writeConfig(t.dir, [{ name: "app", replica }]);
      const detail = JSON.parse((await runCli(["list", "--db", "app", "--verbose", "--json", "--config", config])).stdout);
      const changesets = detail.backupDetails[0].changesets as Array<{ key: string; txidStart: number; txidEnd: number }>;
      // Remove the change-set right after the first batch: everything after it is beyond the gap.
      const lost = changesets.find((c) => c.txidStart === fx.batches[0].txid + 1)!;
      rmSync(join(replica, lost.key));
      const cutOff = changesets.filter((c) => c.txidStart > lost.txidStart).length;

      const r = await runCli(["restore", "--db", "app", "--output", join(t.dir, "gap.db"), "--json", "--config", config]);
      expect(r.code).toBe(0);
      expect(sqliteCount(join(t.dir, "gap.db"))).toBe(fx.batches[0].rows);
      const summary = JSON.parse(r.stdout);
      expect(summary.landed.txid).toBe(fx.batches[0].txid);
      expect(summary.unreachable).toEqual({ objects: cutOff, fromTxid: lost.txidStart });
      expect(r.stderr).toContain(`were NOT applied`);
      expect(r.stderr).toContain(`this restore stops at txid ${fx.batches[0].txid}`);
      const row = await runCli(["list", "--config", config]);
      expect(row.stdout).toMatch(new RegExp(`gap: ${cutOff} change-set\\(s\\) from txid ${lost.txidStart} unreachable`));
    } finally {
      t.cleanup();
    }
  });
});

describe("restore in place (no --output) and the boot-time guards", () => {
  test("refuses to replace an existing database without --force (exit 1)", async () => {
    const r = await cli(["restore", "--db", "app"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: database "app" exists at ${fx.dbPath}; not restoring over it`);
    expect(r.stderr).toContain("--if-db-not-exists");
  });

  test("--if-db-not-exists with the database present does nothing and exits 0", async () => {
    const before = statSync(fx.dbPath).mtimeMs;
    const r = await cli(["restore", "--db", "app", "--if-db-not-exists", "--if-replica-exists"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`app: ${fx.dbPath} exists; nothing to do\n`);
    expect(statSync(fx.dbPath).mtimeMs).toBe(before);
  });

  test("--if-db-not-exists with the database gone restores it in place", async () => {
    const t = tempDir();
    try {
      const dbPath = join(t.dir, "app.db");
      const config = writeConfig(t.dir, [{ name: "app", replica: fx.replica }]);
      const r = await runCli(["restore", "--db", "app", "--if-db-not-exists", "--if-replica-exists", "--config", config]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Restored "app" in place -> ${dbPath}`);
      expect(sqliteCount(dbPath)).toBe(120);
      const again = await runCli(["restore", "--db", "app", "--if-db-not-exists", "--json", "--config", config]);
      expect(JSON.parse(again.stdout)).toEqual({ restored: false, db: "app", output: dbPath, reason: "database-exists", message: `${dbPath} exists; nothing to do` });
    } finally {
      t.cleanup();
    }
  });

  test("--if-replica-exists with no backup on the backend exits 0; without it that is NO_BACKUP (exit 5)", async () => {
    const guarded = await cli(["restore", "--db", "other", "--if-replica-exists"]);
    expect(guarded.code).toBe(0);
    expect(guarded.stdout).toContain("other: no backup of other on file:");
    expect(existsSync(join(fx.dir, "other.db"))).toBe(false);
    const plain = await cli(["restore", "--db", "other"]);
    expect(plain.code).toBe(5);
    expect(plain.stderr).toStartWith("error: no backup of other");
  });

  test("--force replaces the database in place, stale -wal and -shm included", async () => {
    const t = tempDir();
    try {
      const dbPath = join(t.dir, "app.db");
      const config = writeConfig(t.dir, [{ name: "app", replica: fx.replica }]);
      copyFileSync(fx.dbPath, dbPath);
      writeFileSync(`${dbPath}-wal`, "stale wal");
      const r = await runCli(["restore", "--db", "app", "--force", "--txid", String(fx.batches[0].txid), "--config", config]);
      expect(r.code).toBe(0);
      expect(existsSync(`${dbPath}-wal`)).toBe(false);
      expect(sqliteCount(dbPath)).toBe(fx.batches[0].rows);
    } finally {
      t.cleanup();
    }
  });

  test("is refused with LOCKED (exit 4) while the daemon runs for that database", async () => {
    const t = tempDir();
    const config = writeConfig(t.dir, [{ name: "live" }]);
    const dbPath = join(t.dir, "live.db");
    const db = createAppDb(dbPath);
    const daemon = startDaemon(["--config", config]);
    try {
      await waitShipped(dbPath, "live", 0);
      const r = await runCli(["restore", "--db", "live", "--force", "--config", config]);
      expect(r.code).toBe(4);
      expect(r.stderr).toContain('error: database "live" is locked by another bakelite process (daemon, pid');
      expect(sqliteIntegrity(dbPath)).toBe("ok");
    } finally {
      expect(await daemon.stop()).toBe(0);
      db.close();
      t.cleanup();
    }
  });

  test("removing the database file first lets an unguarded in-place restore run", async () => {
    const t = tempDir();
    try {
      const config = writeConfig(t.dir, [{ name: "app", replica: fx.replica }]);
      const dbPath = join(t.dir, "app.db");
      rmSync(dbPath, { force: true });
      const r = await runCli(["restore", "--db", "app", "--config", config]);
      expect(r.code).toBe(0);
      expect(sqliteCount(dbPath)).toBe(120);
    } finally {
      t.cleanup();
    }
  });
});

/**
 * A replica whose newest backup lost its snapshot object: restore (and list)
 * fall back to the backup before it, and must say that newer data exists on
 * the replica and was not restored.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { FileBackend } from "../../src/backends/file.ts";
import { listDatabase } from "../../src/replica/listing.ts";
import type { BackupListing } from "../../src/replica/types.ts";
import { createAppDb, insertRows, runCli, shipped, sqliteCount, startDaemon, tempDir, waitFor, waitShipped, writeConfig } from "./helpers.ts";

// Real daemons and child processes: more than bun's 5 s default on a loaded machine.
setDefaultTimeout(60_000);

let t: ReturnType<typeof tempDir>;
let config: string;
let replica: string;
let rows = 0;
/** The backup restore falls back to, and the one whose snapshot was deleted. */
let older: BackupListing;
let newest: BackupListing;

beforeAll(async () => {
  t = tempDir();
  config = writeConfig(t.dir, [{ name: "app", extra: "max_segments_per_snapshot = 2" }]);
  replica = join(t.dir, "replica");
  const dbPath = join(t.dir, "app.db");
  const db = createAppDb(dbPath);
  const daemon = startDaemon(["--config", config, "--db", "app"]);
  try {
    await waitShipped(dbPath, "app", 0);
    // One commit at a time until a second backup has one change-set: below the
    // limit, so no further backup starts before or at shutdown.
    const backend = new FileBackend(replica);
    for (;;) {
      const before = shipped(dbPath, "app")!;
      insertRows(db, 1);
      rows++;
      await waitFor("commit shipped", () => (shipped(dbPath, "app") ?? 0) > before);
      const { backups } = await listDatabase(backend, "app");
      if (backups.length >= 2 && backups.at(-1)!.changesets.length === 1) break;
      if (rows > 40) throw new Error(`no second backup with change-sets after ${rows} commits: ${daemon.log()}`);
    }
    expect(await daemon.stop()).toBe(0);
    const { backups } = await listDatabase(backend, "app");
    [older, newest] = backups.slice(-2);
    expect(newest.changesets.length).toBe(1);
    rmSync(join(replica, newest.snapshot!.key));
  } catch (err) {
    daemon.proc.kill("SIGKILL");
    throw err;
  } finally {
    db.close();
  }
});
afterAll(() => t?.cleanup());

const cli = (args: string[]) => runCli([...args, "--config", config]);
const olderEnd = () => Math.max(older.snapshot!.txidEnd, ...older.changesets.map((c) => c.txidEnd));
const newestEnd = () => Math.max(...newest.changesets.map((c) => c.txidEnd));
/** The txids of the newest backup's change-sets as list and restore print them ("7" or "7-9"). */
const newestSpan = () => (newest.changesets[0].txidStart === newestEnd() ? String(newestEnd()) : `${newest.changesets[0].txidStart}-${newestEnd()}`);

describe("restore when the newest backup has change-sets but no snapshot", () => {
  test("latest lands in the older backup, exits 0 and warns on stderr that newer data was NOT restored", async () => {
    const output = join(t.dir, "latest.db");
    const r = await cli(["restore", "--db", "app", "--output", output]);
    expect(r.code).toBe(0);
    expect(sqliteCount(output)).toBeLessThan(rows);
    expect(r.stdout).toContain(`target: latest -> txid ${olderEnd()} at`);
    expect(r.stdout).toContain(`(backup ${older.backupId})`);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(
      `warning: newer data was NOT restored: backup ${newest.backupId} has ${newest.changesets.length} change-set(s) ` +
        `(txids ${newestSpan()}, last committed ${new Date(Math.max(...newest.changesets.map((c) => c.timestampMs))).toISOString()}) but no snapshot`,
    );
    expect(lines[1]).toStartWith(`warning: this restore stops at txid ${olderEnd()} (`);
    expect(lines[1]).toEndWith(`in the older backup ${older.backupId}`);
    expect(lines[2]).toStartWith("hint: a snapshot object is missing from the replica");
  });

  test("--json names the skipped backup under skippedBackups and still warns on stderr", async () => {
    const r = await cli(["restore", "--db", "app", "--output", join(t.dir, "latest-json.db"), "--json"]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ restored: true, backupId: older.backupId, landed: { txid: olderEnd() }, unreachable: null });
    expect(s.skippedBackups).toEqual([
      {
        backupId: newest.backupId,
        started: new Date(newest.startedMs).toISOString(),
        startedMs: newest.startedMs,
        changesets: newest.changesets.length,
        fromTxid: newest.changesets[0].txidStart,
        toTxid: newestEnd(),
        lastCommitted: expect.stringMatching(/Z$/),
        lastCommittedMs: Math.max(...newest.changesets.map((c) => c.timestampMs)),
      },
    ]);
    expect(r.stderr).toContain("warning: newer data was NOT restored");
  });

  test("a --txid inside the skipped backup warns; one the older backup holds does not", async () => {
    const inside = await cli(["restore", "--db", "app", "--output", join(t.dir, "inside.db"), "--txid", String(newestEnd()), "--json"]);
    expect(inside.code).toBe(0);
    expect(JSON.parse(inside.stdout).skippedBackups.map((b: { backupId: string }) => b.backupId)).toEqual([newest.backupId]);
    expect(inside.stderr).toContain("newer data was NOT restored");

    const before = await cli(["restore", "--db", "app", "--output", join(t.dir, "before.db"), "--txid", String(olderEnd()), "--json"]);
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout).skippedBackups).toEqual([]);
    expect(before.stderr).toBe("");
  });

  test('--timestamp "now" warns like latest', async () => {
    const r = await cli(["restore", "--db", "app", "--output", join(t.dir, "now.db"), "--timestamp", "now"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`newer data was NOT restored: backup ${newest.backupId}`);
  });
});

describe("list when the newest backup has change-sets but no snapshot", () => {
  test("the row's NOTE says how many change-sets are unreachable, and --json lists the backup", async () => {
    const r = await cli(["list"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^app\\s.*no snapshot in 1 newer backup\\(s\\): ${newest.changesets.length} change-set\\(s\\) to txid ${newestEnd()} unreachable$`, "m"));
    const [app] = JSON.parse((await cli(["list", "--json"])).stdout).databases;
    expect(app).toMatchObject({ latestTxid: olderEnd(), unreachable: null });
    expect(app.skippedBackups).toMatchObject([{ backupId: newest.backupId, changesets: newest.changesets.length, toTxid: newestEnd() }]);
  });

  test("--db warns under the summary that the backup cannot be restored", async () => {
    const r = await cli(["list", "--db", "app"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `  warning: backup ${newest.backupId} has ${newest.changesets.length} change-set(s) (txids ${newestSpan()}, last committed `,
    );
    expect(r.stdout).toContain(`but no snapshot: it cannot be restored and restore (latest) stops at txid ${olderEnd()}`);
  });
});

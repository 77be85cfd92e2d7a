import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, tempDir } from "./helpers.ts";
import { makeReplica, type ReplicaFixture } from "./replica-fixture.ts";

// Real daemons and child processes: more than bun's 5 s default on a loaded machine.
setDefaultTimeout(30_000);

let fx: ReplicaFixture;
beforeAll(async () => {
  fx = await makeReplica([10, 15], [{ name: "empty" }]);
});
afterAll(() => fx?.cleanup());

const cli = (args: string[]) => runCli([...args, "--config", fx.config]);
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe("list (one row per database)", () => {
  test("shows aligned columns with backups, restorable times, latest txid, size and CURRENT", async () => {
    const r = await cli(["list"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^DATABASE\s+BACKUPS\s+FIRST RESTORABLE \(UTC\)\s+LAST RESTORABLE \(UTC\)\s+LATEST TXID\s+STORED\s+CURRENT\s+NOTE$/);
    const app = lines.find((l) => l.startsWith("app "))!;
    const last = fx.batches.at(-1)!;
    expect(app).toMatch(new RegExp(`^app\\s+1\\s+\\S+Z\\s+\\S+Z\\s+${last.txid}\\s+[\\d.]+ KiB\\s+ok$`));
    expect(lines.find((l) => l.startsWith("empty"))).toMatch(/^empty\s+0\s+-\s+-\s+-\s+0 B\s+-$/);
    // Aligned: the column starts line up on every row.
    expect(app.indexOf(" ok") + 1).toBe(lines[0].indexOf("CURRENT"));
  });

  test("--json gives one object per database in config order", async () => {
    const r = await cli(["list", "--json"]);
    expect(r.code).toBe(0);
    const { databases } = JSON.parse(r.stdout);
    expect(databases.map((d: { db: string }) => d.db)).toEqual(["app", "empty"]);
    const [app, empty] = databases;
    expect(Object.keys(app).sort()).toEqual([
      "backend", "backups", "bytes", "current", "db", "firstRestorable", "firstRestorableMs", "lastRestorable", "lastRestorableMs",
      "latestTxid", "restorableBackups", "skippedBackups", "unreachable",
    ]);
    expect(app).toMatchObject({ backups: 1, restorableBackups: 1, latestTxid: fx.batches.at(-1)!.txid, unreachable: null, skippedBackups: [], backend: `file:${fx.replica}` });
    expect(app.firstRestorable).toMatch(ISO);
    expect(new Date(app.lastRestorable).getTime()).toBe(app.lastRestorableMs);
    expect(app.current.status).toBe("ok");
    expect(empty).toMatchObject({ backups: 0, firstRestorable: null, lastRestorable: null, latestTxid: null, bytes: 0, current: { backupId: null, status: "none" } });
  });

  test("--verbose --json only adds fields: every field of the plain row keeps its value and type", async () => {
    const plain = JSON.parse((await cli(["list", "--json"])).stdout).databases;
    const verbose = JSON.parse((await cli(["list", "--verbose", "--json"])).stdout).databases;
    expect(verbose).toHaveLength(plain.length);
    plain.forEach((row: Record<string, unknown>, i: number) => expect(verbose[i]).toMatchObject(row));
    expect(verbose.map((d: { backups: unknown }) => d.backups)).toEqual([1, 0]);
  });
});

describe("list with a database whose backend cannot be read", () => {
  let t: ReturnType<typeof tempDir>;
  let config: string;
  let loop: string;
  beforeAll(() => {
    t = tempDir();
    // A symlink loop fails every listing with ELOOP, even for root.
    loop = join(t.dir, "loop");
    symlinkSync(loop, loop);
    config = join(t.dir, "bakelite.toml");
    writeFileSync(config, [
      `[[database]]\nname = "app"\npath = "${fx.dbPath}"\n  [[database.backends]]\n  type = "file"\n  path = "${fx.replica}"`,
      `[[database]]\nname = "broken"\npath = "${join(t.dir, "broken.db")}"\n  [[database.backends]]\n  type = "file"\n  path = "${loop}"`,
    ].join("\n\n"));
  });
  afterAll(() => t?.cleanup());

  const brokenEntry = () => ({ db: "broken", backend: `file:${loop}`, error: { code: "BACKEND_IO", message: expect.stringContaining("ELOOP"), hint: null } });
  const noStack = (stderr: string) => {
    expect(stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/^error: .*ELOOP/)]);
  };

  test("its row shows the error, the others still list, and the exit code is non-zero", async () => {
    const r = await runCli(["list", "--config", config]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^app\s+1\s/m);
    expect(r.stdout).toMatch(/^broken\s.*error: .*ELOOP/m);
    expect(r.stderr).toStartWith("error: ");
    const json = await runCli(["list", "--json", "--config", config]);
    expect(json.code).toBe(1);
    const [app, broken] = JSON.parse(json.stdout).databases;
    expect(app.latestTxid).toBe(fx.batches.at(-1)!.txid);
    expect(broken).toEqual(brokenEntry());
  });

  test("--verbose lists the others in full and the failing one as its own entry with a one-line error, without a stack trace", async () => {
    const r = await runCli(["list", "--verbose", "--config", config]);
    expect(r.code).toBe(1);
    expect(r.stdout).toStartWith(`app  on file:${fx.replica}\n`);
    expect(r.stdout).toContain("backups: 1 (1 restorable)");
    expect(r.stdout).toMatch(/^ {2}backup \d{8}T\d{9}Z-[0-9a-f]{8}\s+started/m);
    const entry = r.stdout.slice(r.stdout.indexOf("\n\nbroken")).trim().split("\n");
    expect(entry).toEqual([`broken  on file:${loop}`, expect.stringMatching(/^ {2}error: .*ELOOP/)]);
    noStack(r.stderr);
  });

  test("--verbose --json gives the failing database the same { db, backend, error } entry as without --verbose", async () => {
    const r = await runCli(["list", "--verbose", "--json", "--config", config]);
    expect(r.code).toBe(1);
    const [app, broken] = JSON.parse(r.stdout).databases;
    expect(app).toMatchObject({ db: "app", backups: 1, latestTxid: fx.batches.at(-1)!.txid });
    expect(app.backupDetails).toHaveLength(1);
    expect(broken).toEqual(brokenEntry());
    expect(r.stderr).toBe("");
  });

  test("--db NAME --json prints the failing database's { db, backend, error } entry and exits 1", async () => {
    const r = await runCli(["list", "--db", "broken", "--json", "--config", config]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual(brokenEntry());
    expect(r.stderr).toBe("");
  });

  test("--db NAME shows the failing database's entry with its one-line error and exits 1, even with --verbose", async () => {
    for (const extra of [[], ["--verbose"]]) {
      const r = await runCli(["list", "--db", "broken", ...extra, "--config", config]);
      expect(r.code).toBe(1);
      expect(r.stdout.trimEnd().split("\n")).toEqual([`broken  on file:${loop}`, expect.stringMatching(/^ {2}error: .*ELOOP/)]);
      noStack(r.stderr);
    }
  });
});

describe("list --db", () => {
  test("shows the restorable span of each backup and the latest restore point", async () => {
    const r = await cli(["list", "--db", "app"]);
    expect(r.code).toBe(0);
    const last = fx.batches.at(-1)!;
    expect(r.stdout).toStartWith(`app  on file:${fx.replica}\n`);
    expect(r.stdout).toContain("backups: 1 (1 restorable)");
    expect(r.stdout).toMatch(new RegExp(`latest: txid ${last.txid} at \\S+Z`));
    expect(r.stdout).toMatch(/FROM \(UTC\)\s+TO \(UTC\)\s+TXIDS\s+OBJECTS\s+BACKUP/);
    expect(r.stdout).toMatch(new RegExp(`\\S+Z\\s+\\S+Z\\s+${fx.snapshotTxid}-${last.txid}\\s+\\d+\\s+\\d{8}T`));
    expect(r.stdout).not.toContain("KIND");
  });

  test("--json gives the summary plus restore points, without the object list", async () => {
    const r = await cli(["list", "--db", "app", "--json"]);
    const d = JSON.parse(r.stdout);
    expect(d.db).toBe("app");
    expect(d.backups).toBe(1);
    expect(d.restorePoints).toHaveLength(1);
    const p = d.restorePoints[0];
    expect(Object.keys(p).sort()).toEqual(["backupId", "from", "fromMs", "fromTxid", "objects", "to", "toMs", "toTxid", "unreachable"]);
    expect(p).toMatchObject({ fromTxid: fx.snapshotTxid, toTxid: fx.batches.at(-1)!.txid, unreachable: null });
    expect(p.to).toBe(d.lastRestorable);
    expect(d).not.toHaveProperty("backupDetails");
  });

  test("--verbose --json only adds backupDetails: backups stays the count and every other field keeps its value", async () => {
    const plain = JSON.parse((await cli(["list", "--db", "app", "--json"])).stdout);
    const verbose = JSON.parse((await cli(["list", "--db", "app", "--verbose", "--json"])).stdout);
    expect(verbose.backups).toBe(1);
    const { backupDetails, ...rest } = verbose;
    expect(rest).toEqual(plain);
    expect(backupDetails).toHaveLength(1);
  });

  test("--verbose adds every backup with its snapshot and change-sets", async () => {
    const r = await cli(["list", "--db", "app", "--verbose"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/backup \d{8}T\d{9}Z-[0-9a-f]{8}\s+started \S+Z\s+\S+ \S+\s+manifest: (yes|no)/);
    expect(r.stdout).toMatch(new RegExp(`snapshot\\s+-\\s+${fx.snapshotTxid}\\s+\\S+Z`));
    expect(r.stdout).toMatch(/change-set\s+L0\s+\d+-\d+\s+\S+Z/);
  });

  test("--verbose --json lists every object under backupDetails with its key, txids, commit time and size", async () => {
    const r = await cli(["list", "--db", "app", "--verbose", "--json"]);
    const d = JSON.parse(r.stdout);
    expect(d.backupDetails).toHaveLength(1);
    const b = d.backupDetails[0];
    expect(b).toMatchObject({ restorable: true, backupId: d.restorePoints[0].backupId });
    expect(b.snapshot).toMatchObject({ kind: "snapshot", level: 0, txidStart: fx.snapshotTxid, txidEnd: fx.snapshotTxid });
    const ends = b.changesets.map((c: { txidEnd: number }) => c.txidEnd);
    for (const batch of fx.batches) expect(ends).toContain(batch.txid);
    for (const c of b.changesets) {
      expect(Object.keys(c).sort()).toEqual(["committed", "committedMs", "key", "kind", "level", "size", "txidEnd", "txidStart"]);
      expect(c.key.startsWith(`app/${b.backupId}/L0/`)).toBe(true);
    }
  });

  test("a database with nothing backed up says so and exits 0", async () => {
    const r = await cli(["list", "--db", "empty"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("nothing restorable yet");
  });

  test("a CURRENT that does not name the newest backup is flagged as a mismatch", async () => {
    const t = tempDir();
    try {
      const replica = join(t.dir, "replica");
      Bun.spawnSync(["cp", "-r", fx.replica, replica]);
      mkdirSync(join(replica, "app"), { recursive: true });
      writeFileSync(join(replica, "app", "CURRENT"), "20000101T000000000Z-00000000\n");
      const config = join(t.dir, "bakelite.toml");
      writeFileSync(config, `[[database]]\nname = "app"\npath = "${join(t.dir, "app.db")}"\n  [[database.backends]]\n  type = "file"\n  path = "${replica}"\n`);
      const r = await runCli(["list", "--db", "app", "--config", config]);
      expect(r.stdout).toContain("CURRENT: mismatch");
      expect(r.stdout).toContain("warning: CURRENT does not name the newest backup");
      const row = await runCli(["list", "--config", config]);
      expect(row.stdout).toMatch(/^app\s.*\smismatch$/m);
    } finally {
      t.cleanup();
    }
  });
});

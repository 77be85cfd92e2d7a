import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FaultyBackend } from "../../src/backends/faulty.ts";
import { FileBackend } from "../../src/backends/file.ts";
import type { Backend } from "../../src/backends/types.ts";
import { parseConfig } from "../../src/config/load.ts";
import type { DatabaseConfig } from "../../src/config/types.ts";
import { Keyring } from "../../src/format/keyring.ts";
import { generateKeyString, parseKeyString } from "../../src/format/key-string.ts";
import { encodeObject } from "../../src/format/object-writer.ts";
import { ZERO_LINEAGE } from "../../src/format/lineage.ts";
import { doctorDatabase, envCheck, type CheckResult } from "../../src/ops/doctor.ts";
import { newBackupId, snapshotKey } from "../../src/replica/names.ts";
import { startDaemon } from "../helpers/daemon.ts";
import { openAppDb, tempDir, waitFor } from "../helpers/fixtures.ts";
import { shippedTxid } from "../helpers/daemon.ts";
import { runCli } from "./cli.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function setup(dbExtra = "", backendExtra = "", backendType = "file") {
  const t = tempDir("doctor");
  cleanups.push(t.cleanup);
  const dbPath = join(t.dir, "app.db");
  const replica = join(t.dir, "replica");
  const backend = backendType === "file" ? `type = "file"\npath = "${replica}"` : backendExtra;
  const text = `[[database]]\nname = "app"\npath = "${dbPath}"\n${dbExtra}\n[[database.backends]]\n${backend}\n`;
  const configPath = join(t.dir, "bakelite.toml");
  writeFileSync(configPath, text);
  const config = parseConfig(text, configPath, {});
  return { dir: t.dir, dbPath, replica, configPath, config, db: config.databases[0] };
}

function walDb(path: string) {
  const db = openAppDb(path);
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  cleanups.push(() => db.close());
  return db;
}

const find = (checks: CheckResult[], name: string) => checks.filter((c) => c.check === name);

describe("doctor on a healthy setup", () => {
  test("a real replica passes every check and doctor exits 0", async () => {
    const s = setup('debounce = "5ms"\nmax_batch_delay = "50ms"');
    const db = walDb(s.dbPath);
    const daemon = startDaemon(s.config);
    for (let i = 0; i < 5; i++) db.run("INSERT INTO t (v) VALUES (?)", [`row ${i}`]);
    await waitFor(() => (shippedTxid(s.dbPath) ?? 0) >= 6, 20_000);
    await daemon.stop();
    const r = await runCli(["doctor", "--config", s.configPath]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}ok\s+config\s+every setting is supported/m);
    expect(r.stdout).toMatch(/^ {2}ok\s+database\s+.*app\.db: SQLite, WAL mode$/m);
    expect(r.stdout).toMatch(/^ {2}ok\s+backend\s+file:.*: reachable, writable and readable/m);
    expect(r.stdout).toMatch(/^ {2}ok\s+replica\s+file:.*: 1 backup; newest object is format v1, (snapshot|changeset) txid \d+, plaintext$/m);
    expect(r.stdout).toContain("doctor: no problems found");
    // The probe is gone: only bakelite's own objects remain.
    expect(readdirSync(join(s.replica, "app")).filter((n) => n.startsWith(".doctor"))).toEqual([]);
  });

  test("--json has one entry per database with every check, and env files by name only", async () => {
    const s = setup();
    walDb(s.dbPath);
    const envFile = join(s.dir, "creds.env");
    writeFileSync(envFile, "AWS_SECRET_ACCESS_KEY=very-secret-value\nBAKELITE_TEST_TOKEN=another-secret\n");
    const r = await runCli(["doctor", "--json", "--config", s.configPath], { BAKELITE_ENV_FILE: envFile });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("very-secret-value");
    expect(r.stdout).not.toContain("another-secret");
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(true);
    expect(doc.databases.map((d: { db: string }) => d.db)).toEqual(["app"]);
    expect(doc.databases[0].checks.map((c: CheckResult) => c.check)).toEqual(["config", "database", "encryption", "backend", "replica"]);
    expect(doc.env.files[0]).toMatchObject({ path: envFile, origin: "BAKELITE_ENV_FILE", status: "loaded", set: ["AWS_SECRET_ACCESS_KEY", "BAKELITE_TEST_TOKEN"] });
    expect(doc.env.variables).toEqual(expect.arrayContaining(["AWS_SECRET_ACCESS_KEY", "BAKELITE_TEST_TOKEN"]));
  });
});

describe("doctor finds problems", () => {
  test("a database not in WAL mode fails with exit 1 and a hint", async () => {
    const s = setup();
    Bun.spawnSync(["sqlite3", s.dbPath, "CREATE TABLE t(x);"]);
    const r = await runCli(["doctor", "--config", s.configPath]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ {2}FAIL\s+database\s+.*app\.db is not in WAL mode$/m);
    expect(r.stdout).toContain("hint: Have the application run PRAGMA journal_mode=WAL once");
    expect(r.stdout).toContain("doctor: problems found for app");
  });

  test("a .bakelite beside the database that is not a directory fails the database check", async () => {
    const s = setup();
    walDb(s.dbPath);
    expect(find((await doctorDatabase(s.db)).checks, "database")[0].status).toBe("ok");
    writeFileSync(join(s.dir, ".bakelite"), "");
    const report = await doctorDatabase(s.db);
    expect(find(report.checks, "database")[0]).toMatchObject({
      status: "fail", detail: `${join(s.dir, ".bakelite")} exists but is not a directory; the daemon keeps its state in that directory and cannot create it`,
    });
    expect(report.ok).toBe(false);
  });

  test("a dangling .bakelite link fails too; a .bakelite link to a directory does not", async () => {
    const s = setup();
    walDb(s.dbPath);
    symlinkSync(join(s.dir, "state"), join(s.dir, ".bakelite"));
    expect(find((await doctorDatabase(s.db)).checks, "database")[0].status).toBe("fail");
    mkdirSync(join(s.dir, "state"));
    expect(find((await doctorDatabase(s.db)).checks, "database")[0].status).toBe("ok");
  });

  test("a missing database is only a warning (restore-on-boot creates it)", async () => {
    const s = setup();
    const report = await doctorDatabase(s.db);
    expect(find(report.checks, "database")[0]).toMatchObject({ status: "warn" });
    expect(report.ok).toBe(true);
  });

  test("settings this build would refuse fail the config check", async () => {
    const s = setup('retention = "7d"');
    walDb(s.dbPath);
    const report = await doctorDatabase(s.db);
    expect(find(report.checks, "config")[0].status).toBe("fail");
    expect(find(report.checks, "config")[0].detail).toContain("retention");
    expect(report.ok).toBe(false);
  });

  test("a backend that refuses writes, or loses what it stored, fails the backend check", async () => {
    const s = setup();
    walDb(s.dbPath);
    const refusing = await doctorDatabase(s.db, {
      open: async () => {
        const b = new FaultyBackend(new FileBackend(s.replica), { seed: 1 });
        b.failNext("put", 1);
        return b;
      },
    });
    expect(find(refusing.checks, "backend")[0]).toMatchObject({ status: "fail" });
    expect(find(refusing.checks, "backend")[0].detail).toStartWith("cannot write:");

    const forgetful = await doctorDatabase(s.db, {
      open: async () => Object.assign(new FileBackend(s.replica), { stat: async () => null }) as Backend,
    });
    expect(find(forgetful.checks, "backend")[0].detail).toBe("wrote a probe but stat saw nothing");
  });

  test("a destination that never answers times out instead of hanging doctor", async () => {
    const s = setup();
    walDb(s.dbPath);
    const hanging = Object.assign(new FileBackend(s.replica), { put: () => new Promise<void>(() => undefined) }) as Backend;
    const report = await doctorDatabase(s.db, { open: async () => hanging, timeoutMs: 100 });
    expect(find(report.checks, "backend")[0]).toMatchObject({ status: "fail", detail: "the write probe timed out after 0s" });
  });

  test("a corrupt newest object and an unknown format version fail the replica check", async () => {
    const s = setup();
    walDb(s.dbPath);
    const backend = new FileBackend(s.replica);
    const backupId = newBackupId(Date.now());
    const key = snapshotKey("app", backupId, 1, Date.now());
    await backend.put(key, new TextEncoder().encode("definitely not a bakelite object"));
    const corrupt = await doctorDatabase(s.db);
    expect(find(corrupt.checks, "replica")[0].status).toBe("fail");
    expect(find(corrupt.checks, "replica")[0].detail).toContain("bad magic");

    const good = plainSnapshot(backupId);
    new DataView(good.buffer, good.byteOffset).setUint16(4, 9, true);
    await backend.put(key, good);
    const future = await doctorDatabase(s.db);
    expect(find(future.checks, "replica")[0].detail).toContain("format version 9");
  });
});

function plainSnapshot(backupId: string, seal?: Keyring): Uint8Array {
  const header = {
    kind: "snapshot" as const, level: 0, dbName: "app", backupId, txidStart: 1, txidEnd: 1, pageSize: 512, dbPages: 1,
    timestampMs: Date.now(), compression: "none" as const, encrypted: seal !== undefined, lineageIn: ZERO_LINEAGE, wal: null,
  };
  return encodeObject(header, [{ pgno: 1, data: new Uint8Array(512) }], { dbChecksum: 1n, seal: seal?.sealer("app") ?? undefined }).bytes;
}

describe("doctor and encryption", () => {
  async function encryptedReplica(s: ReturnType<typeof setup>, keyString: string) {
    const ring = new Keyring({ kind: "key", master: parseKeyString(keyString, "test key"), label: "test key" });
    const backupId = newBackupId(Date.now());
    await new FileBackend(s.replica).put(snapshotKey("app", backupId, 1, Date.now()), plainSnapshot(backupId, ring));
  }

  function withKey(s: ReturnType<typeof setup>, keyFile?: string): DatabaseConfig {
    return { ...s.db, encryption: keyFile ? { keyFile, requireEncrypted: true } : undefined };
  }

  test("the configured key loads and opens the newest object", async () => {
    const s = setup();
    walDb(s.dbPath);
    const key = generateKeyString();
    const keyFile = join(s.dir, "key.txt");
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    await encryptedReplica(s, key);
    const report = await doctorDatabase(withKey(s, keyFile));
    expect(find(report.checks, "encryption").map((c) => c.status)).toEqual(["ok", "ok"]);
    expect(find(report.checks, "encryption")[1].detail).toBe("the configured key opens the newest object");
  });

  test("a wrong key, a missing key file, and an encrypted replica without a key all fail", async () => {
    const s = setup();
    walDb(s.dbPath);
    await encryptedReplica(s, generateKeyString());
    const other = join(s.dir, "other.txt");
    writeFileSync(other, `${generateKeyString()}\n`);
    const wrong = await doctorDatabase(withKey(s, other));
    expect(find(wrong.checks, "encryption")[1]).toMatchObject({ status: "fail" });
    const missing = await doctorDatabase(withKey(s, join(s.dir, "nope.txt")));
    expect(find(missing.checks, "encryption")[0].detail).toStartWith("key does not load:");
    const none = await doctorDatabase(withKey(s));
    expect(find(none.checks, "encryption")[1].detail).toBe("the replica is encrypted but no key is configured");
  });

  test("a plaintext replica under require_encrypted fails: restore would refuse it", async () => {
    const s = setup();
    walDb(s.dbPath);
    const backupId = newBackupId(Date.now());
    await new FileBackend(s.replica).put(snapshotKey("app", backupId, 1, Date.now()), plainSnapshot(backupId));
    const keyFile = join(s.dir, "key.txt");
    writeFileSync(keyFile, `${generateKeyString()}\n`);
    const report = await doctorDatabase(withKey(s, keyFile));
    expect(find(report.checks, "encryption")[1].detail).toContain("require_encrypted is on");
  });
});

describe("doctor and Object Lock", () => {
  const s3 = 'type = "s3"\nbucket = "b"\nendpoint = "http://127.0.0.1:9"\nchecksum = true\nexpect_object_lock = true';

  function lockBackend(dir: string, status: () => Promise<unknown>): () => Promise<Backend> {
    return async () => Object.assign(new FileBackend(join(dir, "replica")), { objectLockStatus: status }) as Backend;
  }

  test("a locked bucket passes and reports mode and retention; compaction against it is a warning", async () => {
    const s = setup("", s3, "s3");
    walDb(s.dbPath);
    const report = await doctorDatabase(s.db, { open: lockBackend(s.dir, async () => ({ enabled: true, mode: "COMPLIANCE", days: 30 })) });
    const lock = find(report.checks, "object-lock");
    expect(lock[0]).toMatchObject({ status: "ok", detail: "Object Lock on, mode COMPLIANCE, default retention 30d" });
    expect(lock[1].status).toBe("warn");
    expect(lock[1].detail).toStartWith("compaction delete objects");
  });

  test("an unlocked bucket fails; an unreadable lock configuration only warns", async () => {
    const s = setup('compaction_levels = []', s3, "s3");
    walDb(s.dbPath);
    const off = await doctorDatabase(s.db, { open: lockBackend(s.dir, async () => ({ enabled: false })) });
    expect(find(off.checks, "object-lock")).toEqual([expect.objectContaining({ status: "fail" })]);
    const denied = await doctorDatabase(s.db, { open: lockBackend(s.dir, async () => { throw new Error("AccessDenied"); }) });
    expect(find(denied.checks, "object-lock")).toEqual([expect.objectContaining({ status: "warn", detail: "cannot verify Object Lock: AccessDenied" })]);
  });

  test("the S3 backend's \"unverifiable\" answer (no static credentials) is a warning, never a failure", async () => {
    const s = setup('compaction_levels = []', s3, "s3");
    walDb(s.dbPath);
    const report = await doctorDatabase(s.db, { open: lockBackend(s.dir, async () => "unverifiable") });
    const lock = find(report.checks, "object-lock");
    expect(lock).toEqual([expect.objectContaining({ status: "warn" })]);
    expect(lock[0].detail).toStartWith("cannot verify Object Lock");
  });
});

describe("env file report", () => {
  test("an env file this user cannot read is a warning naming it", () => {
    const check = envCheck({
      files: [
        { path: "/etc/bakelite/bakelite.env", origin: "system", status: "unreadable", set: [], kept: [] },
        { path: "/home/u/.config/bakelite/bakelite.env", origin: "user", status: "loaded", set: ["AWS_REGION"], kept: ["AWS_PROFILE"] },
      ],
      set: ["AWS_REGION"],
    });
    expect(check.status).toBe("warn");
    expect(check.detail).toBe("/etc/bakelite/bakelite.env (unreadable); /home/u/.config/bakelite/bakelite.env (loaded: AWS_REGION; already set, kept: AWS_PROFILE)");
  });

});

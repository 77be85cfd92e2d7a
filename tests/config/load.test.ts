import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DEFAULT_CONFIG_PATH, loadConfig, parseConfig, resolveConfigPath, selectDatabases } from "../../src/config/load.ts";
import type { FileBackendConfig, S3BackendConfig, SftpBackendConfig } from "../../src/config/types.ts";
import { BakeliteError } from "../../src/errors.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bakelite-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const minimal = `
[[database]]
name = "app"
path = "/var/lib/app/app.db"
  [[database.backends]]
  type = "file"
  path = "/var/backups/bakelite"
`;

const parse = (text: string) => parseConfig(text, "/etc/bakelite/bakelite.toml", {});

describe("defaults", () => {
  test("a minimal config gets every documented default", () => {
    const [db] = parse(minimal).databases;
    expect(db).toEqual({
      name: "app",
      path: "/var/lib/app/app.db",
      debounceMs: 250,
      maxBatchDelayMs: 1000,
      safetyPollMs: 30_000,
      busyTimeoutMs: 5000,
      maxWalSize: 16 * 1024 * 1024,
      manifestFlushMs: 10_000,
      snapshotIntervalMs: 86_400_000,
      retentionMs: 0,
      compactionLevelsMs: [30_000, 300_000, 3_600_000],
      compactionKeepRecent: 16,
      maxSegmentsPerSnapshot: 0,
      maxTotalSize: 0,
      maxBackups: 0,
      multipartSweepIntervalMs: 3_600_000,
      multipartMinAgeMs: 3_600_000,
      mirrorIntervalMs: 60_000,
      compression: "zstd",
      validateOnRestore: true,
      onIncompleteDestination: "backfill",
      backends: [{ type: "file", mode: "sync", path: "/var/backups/bakelite" }],
    });
  });

  test("the daemon defaults to one snapshot at a time, one worker and no metrics endpoint", () => {
    expect(parse(minimal).daemon).toEqual({ maxConcurrentSnapshots: 1, snapshotWorkers: 1 });
  });

  test("0 in [daemon] means automatic, which is 1", () => {
    const cfg = parse(`[daemon]\nmax_concurrent_snapshots = 0\nsnapshot_workers = 0\n${minimal}`);
    expect(cfg.daemon).toEqual({ maxConcurrentSnapshots: 1, snapshotWorkers: 1 });
  });

  test("[daemon] values are read", () => {
    const cfg = parse(`[daemon]\nmax_concurrent_snapshots = 4\nsnapshot_workers = 2\nmetrics_addr = "[::1]:9090"\n${minimal}`);
    expect(cfg.daemon).toEqual({ maxConcurrentSnapshots: 4, snapshotWorkers: 2, metricsAddr: "[::1]:9090" });
  });

  test("[defaults] applies to every database, and a database's own value wins", () => {
    const cfg = parse(`
[defaults]
safety_poll = "10s"
compression = "lz4"
max_wal_size = "512kB"
compaction_levels = []

[[backends]]
type = "file"
path = "/srv/replicas"

[[database]]
name = "app"
path = "/data/app.db"

[[database]]
name = "analytics"
path = "/data/analytics.db"
safety_poll = "15s"
max_wal_size = 4096
compaction_levels = ["1m", "1h"]
`);
    const [app, analytics] = cfg.databases;
    expect([app.safetyPollMs, app.compression, app.maxWalSize, app.compactionLevelsMs]).toEqual([10_000, "lz4", 512_000, []]);
    expect([analytics.safetyPollMs, analytics.compression, analytics.maxWalSize, analytics.compactionLevelsMs])
      .toEqual([15_000, "lz4", 4096, [60_000, 3_600_000]]);
  });

  test("a database may raise max_batch_delay to fit a longer debounce than [defaults] allows", () => {
    const [db] = parse(minimal.replace('path = "/var/lib/app/app.db"', 'path = "/a.db"\ndebounce = "3s"\nmax_batch_delay = "5s"')).databases;
    expect([db.debounceMs, db.maxBatchDelayMs]).toEqual([3000, 5000]);
  });

  test("with debounce set nowhere, a max_batch_delay under 250ms lowers it to match", () => {
    const two = (extra: string) => `${minimal}
[[database]]
name = "other"
path = "/b.db"
${extra}
  [[database.backends]]
  type = "file"
  path = "/r"
`;
    const batching = (text: string) => parse(text).databases.map((d) => [d.debounceMs, d.maxBatchDelayMs]);
    // In [defaults]: every database inherits both; one that raises max_batch_delay gets the built-in 250ms back.
    expect(batching(`[defaults]\nmax_batch_delay = "100ms"\n${two('max_batch_delay = "5s"')}`)).toEqual([[100, 100], [250, 5000]]);
    // In one database only.
    expect(batching(two('max_batch_delay = "40ms"'))).toEqual([[250, 1000], [40, 40]]);
    // A debounce the user set is kept as written.
    expect(batching(`[defaults]\nmax_batch_delay = "100ms"\n${two('debounce = "50ms"')}`)).toEqual([[100, 100], [50, 100]]);
  });

  test("a [defaults] debounce over max_batch_delay is fine when every database raises max_batch_delay", () => {
    const text = `[defaults]\ndebounce = "2s"\n${minimal.replace('path = "/var/lib/app/app.db"', 'path = "/a.db"\nmax_batch_delay = "5s"')}`;
    const [db] = parse(text).databases;
    expect([db.debounceMs, db.maxBatchDelayMs]).toEqual([2000, 5000]);
  });

  test("durations that arm a timer go up to 24 days", () => {
    const text = `[defaults]\nbusy_timeout = "24d"\nmax_batch_delay = "24d"\ndebounce = "24d"\n${minimal}`;
    const [db] = parse(text).databases;
    expect([db.busyTimeoutMs, db.maxBatchDelayMs, db.debounceMs]).toEqual([24 * 86_400_000, 24 * 86_400_000, 24 * 86_400_000]);
    // Intervals compared with the clock have no such ceiling.
    expect(parse(`[defaults]\nsnapshot_interval = "400d"\nmultipart_sweep_interval = "30d"\n${minimal}`).databases[0].snapshotIntervalMs).toBe(400 * 86_400_000);
  });
});

describe("backends", () => {
  const shared = `
[[backends]]
type = "s3"
bucket = "my-bucket"
prefix = "/bakelite/"
endpoint = "https://s3.us-west-001.backblazeb2.com/"
region = "us-west-001"

[[database]]
name = "user1"
path = "/var/lib/rnd/users/1/data.db"

[[database]]
name = "user2"
path = "/var/lib/rnd/users/2/data.db"
  [[database.backends]]
  type = "file"
  path = "/srv/user2"
`;

  test("databases without their own backends use the shared [[backends]]; their own list replaces it", () => {
    const [user1, user2] = parse(shared).databases;
    expect(user1.backends).toEqual([{
      type: "s3", mode: "sync", bucket: "my-bucket", prefix: "bakelite", endpoint: "https://s3.us-west-001.backblazeb2.com",
      region: "us-west-001", forcePathStyle: true, checksum: false, expectObjectLock: false,
    }]);
    expect(user2.backends).toEqual([{ type: "file", mode: "sync", path: "/srv/user2" }]);
  });

  test("each database gets its own copy of a shared backend", () => {
    const cfg = parse(`[[backends]]\ntype = "file"\npath = "/r"\n[[database]]\nname = "a"\npath = "/a.db"\n[[database]]\nname = "b"\npath = "/b.db"\n`);
    expect(cfg.databases[0].backends).toEqual(cfg.databases[1].backends);
    expect(cfg.databases[0].backends[0]).not.toBe(cfg.databases[1].backends[0]);
  });

  test("expect_object_lock turns checksum on (the spec's Object Lock example loads as written)", () => {
    const s3 = (lines: string) => minimal.replace('type = "file"\n  path = "/var/backups/bakelite"', `type = "s3"\n  bucket = "my-bucket"\n  ${lines}`);
    const backend = (lines: string) => parse(s3(lines)).databases[0].backends[0] as S3BackendConfig;
    expect(backend('expect_object_lock = true').checksum).toBe(true);
    expect(backend('expect_object_lock = true\n  checksum = true').checksum).toBe(true);
    expect(backend("").checksum).toBe(false);
  });

  test("force_path_style defaults to false without an endpoint and can be set either way", () => {
    const s3 = (extra: string) =>
      parse(`[[database]]\nname = "a"\npath = "/a.db"\n[[database.backends]]\ntype = "s3"\nbucket = "b"\n${extra}`)
        .databases[0].backends[0] as S3BackendConfig;
    expect(s3("").forcePathStyle).toBe(false);
    expect(s3('endpoint = "http://localhost:9000"\nforce_path_style = false').forcePathStyle).toBe(false);
    expect(s3("force_path_style = true").forcePathStyle).toBe(true);
  });

  test("instant-retrieval storage classes are accepted and normalised to the provider's spelling", () => {
    const cls = (type: string, value: string, extra = 'bucket = "b"') =>
      (parse(`[[database]]\nname = "a"\npath = "/a.db"\n[[database.backends]]\ntype = "${type}"\n${extra}\nstorage_class = "${value}"`)
        .databases[0].backends[0] as { storageClass?: string }).storageClass;
    expect(["STANDARD", "STANDARD_IA", "onezone_ia", "INTELLIGENT_TIERING", "GLACIER_IR"].map((c) => cls("s3", c)))
      .toEqual(["STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"]);
    expect(["STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"].map((c) => cls("gcs", c))).toEqual(["STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"]);
    const azure = 'account = "a"\ncontainer = "c"';
    expect(["hot", "Cool", "COLD"].map((c) => cls("azure", c, azure))).toEqual(["Hot", "Cool", "Cold"]);
  });

  test("sftp gets its defaults and keeps the remote path as written", () => {
    const b = parse(`[[database]]\nname = "a"\npath = "/a.db"\n[[database.backends]]\ntype = "sftp"\nhost = "backup.example.com"\nuser = "bakelite"\npath = "backups/a"\nidentity_file = "keys/id_ed25519"`)
      .databases[0].backends[0] as SftpBackendConfig;
    expect(b).toEqual({
      type: "sftp", mode: "sync", host: "backup.example.com", port: 22, user: "bakelite", path: "backups/a",
      identityFile: "/etc/bakelite/keys/id_ed25519", insecureSkipHostKeyCheck: false, connectTimeoutMs: 30_000, requestTimeoutMs: 30_000,
    });
  });

  test("a sync primary with an async mirror is accepted", () => {
    const [db] = parse(`[[database]]\nname = "c"\npath = "/c.db"\n[[database.backends]]\ntype = "file"\npath = "/r"\n[[database.backends]]\ntype = "s3"\nbucket = "off"\nmode = "async"`).databases;
    expect(db.backends.map((b) => b.mode)).toEqual(["sync", "async"]);
  });
});

describe("paths", () => {
  test("relative database and file-backend paths are taken from the config file's directory", () => {
    const cfg = parseConfig(`[[database]]\nname = "app"\npath = "data/app.db"\n[[database.backends]]\ntype = "file"\npath = "../replicas"`,
      "/opt/svc/conf/bakelite.toml", {});
    expect(cfg.source).toBe("/opt/svc/conf/bakelite.toml");
    expect(cfg.databases[0].path).toBe("/opt/svc/conf/data/app.db");
    expect((cfg.databases[0].backends[0] as FileBackendConfig).path).toBe("/opt/svc/replicas");
  });

  test("absolute paths are normalised", () => {
    const cfg = parse(`[[database]]\nname = "app"\npath = "/data//x/../app.db"\n[[database.backends]]\ntype = "file"\npath = "/r/"`);
    expect(cfg.databases[0].path).toBe("/data/app.db");
  });
});

describe("loadConfig", () => {
  test("reads a file and reports it as the source", async () => {
    const file = path.join(tmp, "bakelite.toml");
    fs.writeFileSync(file, minimal);
    const cfg = await loadConfig(file, { env: {} });
    expect(cfg.source).toBe(file);
    expect(cfg.databases.map((d) => d.name)).toEqual(["app"]);
  });

  test("a missing file is CONFIG_NOT_FOUND with a hint naming --config, BAKELITE_CONFIG and init", async () => {
    const file = path.join(tmp, "nope.toml");
    const err = (await loadConfig(file).catch((e) => e)) as BakeliteError;
    expect(err).toBeInstanceOf(BakeliteError);
    expect(err.code).toBe("CONFIG_NOT_FOUND");
    expect(err.message).toBe(`config file not found: ${file}`);
    expect(err.hint).toContain("--config");
    expect(err.hint).toContain("BAKELITE_CONFIG");
    expect(err.hint).toContain("bakelite init");
  });

  test("a directory is refused clearly", async () => {
    const err = (await loadConfig(tmp).catch((e) => e)) as BakeliteError;
    expect([err.code, err.message]).toEqual(["CONFIG_INVALID", `cannot read config file ${tmp}: it is a directory`]);
  });

  test("messages name the file as it was given", async () => {
    const file = path.join(tmp, "bad.toml");
    fs.writeFileSync(file, `[defaults]\ndebounce = 250\n${minimal}`);
    const err = (await loadConfig(file, { env: {} }).catch((e) => e)) as BakeliteError;
    expect(err.message).toStartWith(`${file}: [defaults]: debounce = 250`);
  });
});

describe("resolveConfigPath", () => {
  test("--config wins over BAKELITE_CONFIG, which wins over the default", () => {
    expect(resolveConfigPath("/a.toml", { BAKELITE_CONFIG: "/b.toml" })).toBe("/a.toml");
    expect(resolveConfigPath(undefined, { BAKELITE_CONFIG: "/b.toml" })).toBe("/b.toml");
    expect(resolveConfigPath(undefined, {})).toBe("/etc/bakelite/bakelite.toml");
    expect(resolveConfigPath("", { BAKELITE_CONFIG: "" })).toBe(DEFAULT_CONFIG_PATH);
  });
});

describe("selectDatabases", () => {
  const cfg = parse(`[[backends]]\ntype = "file"\npath = "/r"\n` +
    ["app", "analytics", "auth"].map((n) => `[[database]]\nname = "${n}"\npath = "/d/${n}.db"\n`).join(""));

  test("no names means every database, in config order", () => {
    expect(selectDatabases(cfg).map((d) => d.name)).toEqual(["app", "analytics", "auth"]);
    expect(selectDatabases(cfg, []).map((d) => d.name)).toEqual(["app", "analytics", "auth"]);
  });

  test("names pick databases in the order asked, once each", () => {
    expect(selectDatabases(cfg, ["auth", "app", "auth"]).map((d) => d.name)).toEqual(["auth", "app"]);
  });

  test("an unknown name is UNKNOWN_DATABASE naming the known ones", () => {
    let err: BakeliteError | undefined;
    try {
      selectDatabases(cfg, ["app", "analytcs"]);
    } catch (e) {
      err = e as BakeliteError;
    }
    expect(err?.code).toBe("UNKNOWN_DATABASE");
    expect(err?.message).toBe('unknown database "analytcs"; /etc/bakelite/bakelite.toml defines: app, analytics, auth');
    expect(err?.hint).toBe("Did you mean --db analytics?");
  });
});

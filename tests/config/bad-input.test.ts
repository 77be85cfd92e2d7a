/**
 * The bad-input corpus: every validation rule, each with a small TOML snippet
 * and the exact one-line message a user sees. Snippets are built from a
 * minimal valid config so each case differs from a good file in one way.
 */
import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../src/config/load.ts";
import { isBakeliteError } from "../../src/errors.ts";

const FILE_BACKEND = '[[database.backends]]\ntype = "file"\npath = "/srv/replicas"\n';
/** A valid [[database]] block named `name`, with `extra` lines before its backend. */
const db = (extra = "", name = "app", path = `/data/${name}.db`) =>
  `[[database]]\nname = "${name}"\npath = "${path}"\n${extra}\n${FILE_BACKEND}`;
/** A [[database]] "app" whose only backend is `backend` (TOML lines after the header). */
const withBackend = (backend: string) => `[[database]]\nname = "app"\npath = "/data/app.db"\n[[database.backends]]\n${backend}\n`;
const s3 = (extra: string) => withBackend(`type = "s3"\nbucket = "b"\n${extra}`);
const sftp = (extra: string) => withBackend(`type = "sftp"\nhost = "h"\nuser = "u"\npath = "backups"\n${extra}`);
const encrypted = (block: string) => `${db()}\n[defaults.encryption]\n${block}\n`;

const P = "bakelite.toml: ";
const DB = `${P}[[database]] "app"`;
const BACKEND = `${DB} [[database.backends]] #1`;

type Case = [name: string, toml: string, message: string];

const corpus: Case[] = [
  // TOML syntax
  ["a syntax error names file, line and column", `${db()}\nfoo = = 3\n`, `${P.slice(0, -2)}:9:7: TOML syntax error: invalid value`],
  ["a key defined twice is a syntax error", `[defaults]\ndebounce = "1s"\ndebounce = "2s"\n${db()}`,
    `${P.slice(0, -2)}:3:1: TOML syntax error: trying to redefine an already defined table or value`],

  // top level
  ["a tunable at the top level belongs in [defaults]", `debounce = "1s"\n${db()}`,
    `${P}unknown key "debounce" (it belongs in [defaults] or a [[database]] block)`],
  ["a daemon key at the top level belongs in [daemon]", `metrics_addr = "127.0.0.1:9090"\n${db()}`,
    `${P}unknown key "metrics_addr" (it belongs in [daemon])`],
  ["a misspelt table gets a suggestion", `[defualts]\ndebounce = "1s"\n${db()}`,
    `${P}unknown table "defualts" (did you mean "defaults"?)`],
  ["a top-level [encryption] points to the two real places", `[encryption]\nkey_file = "/k"\n${db()}`,
    `${P}unknown table "encryption" (use [defaults.encryption] for every database or [database.encryption] for one)`],
  ["[[defaults]] is not a table", `[[defaults]]\ndebounce = "1s"\n${db()}`, `${P}defaults: expected a table, got array`],
  ["[database] must be a list", `[database]\nname = "app"\npath = "/a.db"\n`, `${P}database: expected a list of tables, got table`],
  ["[backends] must be a list", `[backends]\ntype = "file"\npath = "/r"\n${db()}`,
    `${P}backends: expected a list of tables, got table`],
  ["a config without databases is refused", `[defaults]\ndebounce = "1s"\n`, `${P}no [[database]] defined`],

  // [defaults]
  ["a misspelt tunable gets a suggestion", `[defaults]\ndebounc = "1s"\n${db()}`,
    `${P}[defaults]: unknown key "debounc" (did you mean "debounce"?)`],
  ["a daemon key in [defaults] belongs in [daemon]", `[defaults]\nsnapshot_workers = 2\n${db()}`,
    `${P}[defaults]: unknown key "snapshot_workers" (it belongs in [daemon])`],
  ["backends are not a default", `[defaults]\n[[defaults.backends]]\ntype = "file"\npath = "/r"\n${db()}`,
    `${P}[defaults]: unknown key "backends" (shared backends are a top-level [[backends]] list)`],
  ["a bare integer duration is refused", `[defaults]\ndebounce = 250\n${db()}`,
    `${P}[defaults]: debounce = 250: a duration needs a unit, e.g. "250ms" or "30s"`],
  ["a duration with an unknown unit is refused", `[defaults]\nsnapshot_interval = "1 fortnight"\n${db()}`,
    `${P}[defaults]: snapshot_interval = "1 fortnight": unknown unit "fortnight"; expected a number and a unit (ms, s, m, h or d), e.g. "250ms" or "30s"`],
  ["safety_poll cannot be zero (that would be a busy loop)", `[defaults]\nsafety_poll = "0s"\n${db()}`,
    `${P}[defaults]: safety_poll = "0s": must be longer than zero`],
  ["snapshot_interval cannot be zero", `[defaults]\nsnapshot_interval = "0s"\n${db()}`,
    `${P}[defaults]: snapshot_interval = "0s": must be longer than zero`],
  ["max_wal_size cannot be zero", `[defaults]\nmax_wal_size = 0\n${db()}`, `${P}[defaults]: max_wal_size = 0: must be larger than zero`],
  ["a size with an ambiguous unit is refused", `[defaults]\nmax_wal_size = "16KB"\n${db()}`,
    `${P}[defaults]: max_wal_size = "16KB": unknown size unit "KB"; use "kB" (1000 bytes) or "KiB" (1024 bytes)`],
  ["a negative size is refused", `[defaults]\nmax_total_size = -1\n${db()}`, `${P}[defaults]: max_total_size = -1: a size cannot be negative`],
  ["compression must be a known name", `[defaults]\ncompression = "gzip"\n${db()}`,
    `${P}[defaults]: compression = "gzip": expected one of "zstd" | "lz4" | "none"`],
  ["compression must be a string", `[defaults]\ncompression = 1\n${db()}`,
    `${P}[defaults]: compression: expected one of "zstd" | "lz4" | "none", got integer 1`],
  ["on_incomplete_destination must be a known policy", `[defaults]\non_incomplete_destination = "ignore"\n${db()}`,
    `${P}[defaults]: on_incomplete_destination = "ignore": expected one of "backfill" | "refuse" | "warn"`],
  ["booleans must be booleans", `[defaults]\nvalidate_on_restore = "yes"\n${db()}`,
    `${P}[defaults]: validate_on_restore: expected true or false, got string "yes"`],
  ["compaction windows must strictly increase", `[defaults]\ncompaction_levels = ["5m", "30s"]\n${db()}`,
    `${P}[defaults]: compaction_levels = ["5m", "30s"]: windows must strictly increase`],
  ["equal compaction windows are refused", `[defaults]\ncompaction_levels = ["30s", "30s"]\n${db()}`,
    `${P}[defaults]: compaction_levels = ["30s", "30s"]: windows must strictly increase`],
  ["a zero compaction window is refused", `[defaults]\ncompaction_levels = ["0s", "5m"]\n${db()}`,
    `${P}[defaults]: compaction_levels = ["0s", "5m"]: every window must be longer than zero`],
  ["compaction_levels must be a list", `[defaults]\ncompaction_levels = "30s"\n${db()}`,
    `${P}[defaults]: compaction_levels: expected a list of durations like ["30s", "5m"], got string "30s"`],
  ["each compaction window is a duration", `[defaults]\ncompaction_levels = ["30s", 300]\n${db()}`,
    `${P}[defaults]: compaction_levels[1] = 300: a duration needs a unit, e.g. "250ms" or "30s"`],
  ["counts cannot be negative", `[defaults]\ncompaction_keep_recent = -1\n${db()}`,
    `${P}[defaults]: compaction_keep_recent = -1: must not be negative`],
  ["counts must be whole numbers", `[defaults]\nmax_backups = 1.5\n${db()}`,
    `${P}[defaults]: max_backups: expected a whole number, got float 1.5`],
  ["debounce may not exceed max_batch_delay in [defaults]", `[defaults]\ndebounce = "2s"\n${db()}`,
    `${P}[defaults]: debounce ("2s") must not exceed max_batch_delay ("1s")`],
  ["a database that lowers max_batch_delay under the [defaults] debounce is named", `[defaults]\ndebounce = "50ms"\n${db('max_batch_delay = "20ms"')}`,
    `${DB}: debounce ("50ms") must not exceed max_batch_delay ("20ms")`],
  ["a duration that arms a timer is at most 24 days", `[defaults]\nbusy_timeout = "25d"\n${db()}`,
    `${P}[defaults]: busy_timeout = "25d": must be at most "24d"`],
  ["a backend timeout is at most 24 days", s3('request_timeout = "30d"'),
    `${BACKEND} (s3): request_timeout = "30d": must be at most "24d"`],

  // [daemon]
  ["a misspelt daemon key gets a suggestion", `[daemon]\nmax_concurrent_snapshot = 2\n${db()}`,
    `${P}[daemon]: unknown key "max_concurrent_snapshot" (did you mean "max_concurrent_snapshots"?)`],
  ["a tunable in [daemon] is pointed elsewhere", `[daemon]\ndebounce = "1s"\n${db()}`,
    `${P}[daemon]: unknown key "debounce" (it belongs in [defaults] or a [[database]] block)`],
  ["metrics_addr needs host and port", `[daemon]\nmetrics_addr = "9090"\n${db()}`,
    `${P}[daemon]: metrics_addr = "9090": expected "host:port", e.g. "127.0.0.1:9090"`],
  ["metrics_addr needs a valid port", `[daemon]\nmetrics_addr = "localhost:70000"\n${db()}`,
    `${P}[daemon]: metrics_addr = "localhost:70000": expected "host:port", e.g. "127.0.0.1:9090"`],
  ["daemon counts cannot be negative", `[daemon]\nsnapshot_workers = -2\n${db()}`, `${P}[daemon]: snapshot_workers = -2: must not be negative`],
  ["[[daemon]] is not a table", `[[daemon]]\nsnapshot_workers = 2\n${db()}`, `${P}daemon: expected a table, got array`],

  // [[database]]
  ["the brief's example: a misspelt key in a database", db('debounc = "1s"'),
    `${DB}: unknown key "debounc" (did you mean "debounce"?)`],
  ["a daemon key in a database belongs in [daemon]", db('metrics_addr = "127.0.0.1:1"'),
    `${DB}: unknown key "metrics_addr" (it belongs in [daemon])`],
  ["a database needs a name", `[[database]]\npath = "/a.db"\n${FILE_BACKEND}`, `${P}[[database]] #1: missing required key "name"`],
  ["a name must be a string", `[[database]]\nname = 3\npath = "/a.db"\n${FILE_BACKEND}`,
    `${P}[[database]] #1: name: expected a string, got integer`],
  ["a name cannot start with a dot", db("", ".hidden", "/a.db"),
    `${P}[[database]] #1: name = ".hidden": use 1-128 letters, digits, '.', '_' or '-', not starting with '.'`],
  ["a name cannot contain a slash", db("", "a/b", "/a.db"),
    `${P}[[database]] #1: name = "a/b": use 1-128 letters, digits, '.', '_' or '-', not starting with '.'`],
  ["a database needs a path", `[[database]]\nname = "app"\n${FILE_BACKEND}`, `${DB}: missing required key "path"`],
  ["a path cannot be empty", db("", "app", ""), `${DB}: path is empty`],
  ["names are unique", db("", "app", "/a.db") + db("", "app", "/b.db"),
    `${P}[[database]] #2: name "app" is already used by [[database]] #1`],
  ["paths are unique", db("", "one", "/data/x.db") + db("", "two", "/data/./x.db"),
    `${P}[[database]] "two": path "/data/x.db" is also the path of [[database]] "one"`],
  ["a database needs a backend", `[[database]]\nname = "app"\npath = "/a.db"\n`,
    `${DB}: no backend: add a [[database.backends]] block, or a top-level [[backends]] shared by all databases`],
  ["an explicitly empty backend list is refused", `[[database]]\nname = "app"\npath = "/a.db"\nbackends = []\n`,
    `${DB}: backends is empty; list at least one [[database.backends]]`],
  ["[database.backends] must be a list", `[[database]]\nname = "app"\npath = "/a.db"\n[database.backends]\ntype = "file"\npath = "/r"\n`,
    `${DB}: backends: expected a list of tables, got table`],
  ["at least one backend is sync", withBackend('type = "file"\npath = "/r"\nmode = "async"'),
    `${DB}: every backend is mode = "async"; at least one must be "sync" (the primary that replication waits for)`],
  ["a per-database debounce over max_batch_delay is refused there", db('debounce = "5s"'),
    `${DB}: debounce ("5s") must not exceed max_batch_delay ("1s")`],

  // backends, any type
  ["a backend needs a type", withBackend('path = "/r"'), `${BACKEND}: missing required key "type" (one of file, s3, gcs, azure, sftp)`],
  ["an unknown backend type is refused", withBackend('type = "dropbox"'),
    `${BACKEND}: type = "dropbox": unknown backend type; expected one of file, s3, gcs, azure, sftp`],
  ["a near-miss backend type gets a suggestion", withBackend('type = "ftp"'),
    `${BACKEND}: type = "ftp": unknown backend type; expected one of file, s3, gcs, azure, sftp (did you mean "sftp"?)`],
  ["backend types are lower case", withBackend('type = "S3"\nbucket = "b"'),
    `${BACKEND}: type = "S3": unknown backend type; expected one of file, s3, gcs, azure, sftp (did you mean "s3"?)`],
  ["mode is sync or async", withBackend('type = "file"\npath = "/r"\nmode = "mirror"'),
    `${BACKEND} (file): mode = "mirror": expected one of "sync" | "async"`],
  ["a database setting inside a backend is pointed out", withBackend('type = "file"\npath = "/r"\ndebounce = "1s"'),
    `${BACKEND} (file): unknown key "debounce" (it is a database setting: put it in [defaults] or the [[database]] block)`],
  ["a key of another backend type is pointed out", withBackend('type = "file"\npath = "/r"\nbucket = "b"'),
    `${BACKEND} (file): unknown key "bucket" (only s3, gcs backends take it)`],
  ["a misspelt backend key gets a suggestion", withBackend('type = "file"\npaht = "/r"'),
    `${BACKEND} (file): unknown key "paht" (did you mean "path"?)`],
  ["a file backend needs a path", withBackend('type = "file"'), `${BACKEND} (file): missing required key "path"`],
  ["a shared backend is checked the same way", `[[backends]]\ntype = "s3"\n[[database]]\nname = "app"\npath = "/a.db"\n`,
    `${P}[[backends]] #1 (s3): missing required key "bucket"`],
  ["an empty shared backend list is refused", `backends = []\n[[database]]\nname = "app"\npath = "/a.db"\n`,
    `${P}backends is empty; list at least one [[backends]]`],

  // s3
  ["s3 needs a bucket", withBackend('type = "s3"'), `${BACKEND} (s3): missing required key "bucket"`],
  ["sse must be a known mode", s3('sse = "kms"'), `${BACKEND} (s3): sse = "kms": expected one of "aes256" | "aws:kms"`],
  ["aws:kms needs a key id", s3('sse = "aws:kms"'), `${BACKEND} (s3): sse = "aws:kms" needs sse_kms_key_id (the KMS key to encrypt with)`],
  ["a KMS key id without aws:kms is refused", s3('sse_kms_key_id = "k"'), `${BACKEND} (s3): sse_kms_key_id is only used with sse = "aws:kms"`],
  ["Object Lock with checksums turned off is refused", s3("expect_object_lock = true\nchecksum = false"), `${BACKEND} (s3): expect_object_lock = true needs checksum = true`],
  ["GLACIER is refused with the reason", s3('storage_class = "GLACIER"'),
    `${BACKEND} (s3): storage_class = "GLACIER": refused: GLACIER (Flexible Retrieval) objects need a thaw of minutes to hours before they can be read, and restore must read at once`],
  ["DEEP_ARCHIVE is refused with the reason", s3('storage_class = "deep_archive"'),
    `${BACKEND} (s3): storage_class = "deep_archive": refused: DEEP_ARCHIVE objects need a thaw of hours before they can be read, and restore must read at once`],
  ["an unknown S3 class is refused with the choices", s3('storage_class = "FROZEN"'),
    `${BACKEND} (s3): storage_class = "FROZEN": unknown S3 storage class; expected one of STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR`],
  ["an endpoint is a URL", s3('endpoint = "minio:9000"'), `${BACKEND} (s3): endpoint = "minio:9000": expected an http:// or https:// URL`],
  ["request_timeout needs a unit", s3("request_timeout = 30"),
    `${BACKEND} (s3): request_timeout = 30: a duration needs a unit, e.g. "250ms" or "30s"`],
  ["max_retries cannot be negative", s3("max_retries = -1"), `${BACKEND} (s3): max_retries = -1: must not be negative`],
  ["a prefix cannot climb out with ..", s3('prefix = "a/../b"'),
    `${BACKEND} (s3): prefix = "a/../b": empty, "." and ".." path segments are not allowed`],
  ["force_path_style is a boolean", s3('force_path_style = "yes"'), `${BACKEND} (s3): force_path_style: expected true or false, got string "yes"`],

  // gcs, azure
  ["gcs needs a bucket", withBackend('type = "gcs"'), `${BACKEND} (gcs): missing required key "bucket"`],
  ["an unknown GCS class is refused", withBackend('type = "gcs"\nbucket = "b"\nstorage_class = "GLACIER"'),
    `${BACKEND} (gcs): storage_class = "GLACIER": unknown GCS storage class; expected one of STANDARD, NEARLINE, COLDLINE, ARCHIVE`],
  ["azure needs a container", withBackend('type = "azure"\naccount = "a"'), `${BACKEND} (azure): missing required key "container"`],
  ["Azure Archive is refused with the reason", withBackend('type = "azure"\naccount = "a"\ncontainer = "c"\nstorage_class = "Archive"'),
    `${BACKEND} (azure): storage_class = "Archive": refused: Archive blobs need hours of rehydration before they can be read, and restore must read at once`],

  // sftp
  ["sftp needs a host", withBackend('type = "sftp"\nuser = "u"\npath = "p"'), `${BACKEND} (sftp): missing required key "host"`],
  ["an sftp port is 1-65535", sftp("port = 0"), `${BACKEND} (sftp): port = 0: must be at least 1`],
  ["an sftp port is at most 65535", sftp("port = 70000"), `${BACKEND} (sftp): port = 70000: must be at most 65535`],
  ["password and password_env are exclusive", sftp('password = "pw"\npassword_env = "PW"'),
    `${BACKEND} (sftp): set either password or password_env, not both`],
  ["passphrase_env names a variable", sftp('passphrase_env = "my pass"'),
    `${BACKEND} (sftp): passphrase_env = "my pass": not a valid environment variable name`],
  ["connect_timeout cannot be zero", sftp('connect_timeout = "0s"'), `${BACKEND} (sftp): connect_timeout = "0s": must be longer than zero`],
  ["a wrongly typed password is not echoed", sftp("password = 123456"), `${BACKEND} (sftp): password: expected a string, got integer`],

  // encryption
  ["one key source per block", encrypted('key_file = "/k"\npassphrase = "hunter2"'),
    `${P}[defaults.encryption]: set only one of key_file, passphrase or passphrase_file (found key_file and passphrase)`],
  ["a block without a source is refused", encrypted("require_encrypted = false"),
    `${P}[defaults.encryption]: needs one of key_file, passphrase or passphrase_file`],
  ["an empty per-database block is not an opt-out", `${db()}[database.encryption]\n`,
    `${DB} [database.encryption]: needs one of key_file, passphrase or passphrase_file`],
  ["an inline key belongs in the environment", encrypted('key = "BAKELITE-KEY-V1-secret"'),
    `${P}[defaults.encryption]: unknown key "key" (an inline key belongs in the BAKELITE_KEY environment variable, not the config; or use key_file)`],
  ["require_encrypted is a boolean", encrypted('key_file = "/k"\nrequire_encrypted = "no"'),
    `${P}[defaults.encryption]: require_encrypted: expected true or false, got string "no"`],
  ["a wrongly typed passphrase is not echoed", encrypted("passphrase = 1234"),
    `${P}[defaults.encryption]: passphrase: expected a string, got integer`],
  ["a misspelt encryption key gets a suggestion", encrypted('keyfile = "/k"'),
    `${P}[defaults.encryption]: unknown key "keyfile" (did you mean "key_file"?)`],
];

function messageOf(toml: string, env: Record<string, string> = {}): { code: string; message: string } {
  try {
    parseConfig(toml, "bakelite.toml", env);
  } catch (err) {
    if (!isBakeliteError(err)) throw err;
    return { code: err.code, message: err.message };
  }
  throw new Error(`config was accepted:\n${toml}`);
}

describe("bad config input", () => {
  test.each(corpus)("%s", (_name, toml, message) => {
    const got = messageOf(toml);
    expect(got.message).toBe(message);
    expect(got.code).toBe("CONFIG_INVALID");
    expect(got.message).not.toContain("\n");
  });

  test("every case differs from a config that is accepted", () => {
    expect(() => parseConfig(db(), "bakelite.toml", {})).not.toThrow();
    expect(() => parseConfig(s3(""), "bakelite.toml", {})).not.toThrow();
    expect(() => parseConfig(sftp(""), "bakelite.toml", {})).not.toThrow();
    expect(() => parseConfig(encrypted('key_file = "/k"'), "bakelite.toml", {})).not.toThrow();
  });

  test("no message ever contains a secret value", () => {
    const secrets = ["hunter2", "BAKELITE-KEY-V1-secret", "123456", "1234"];
    for (const [, toml] of corpus) {
      const { message } = messageOf(toml);
      for (const secret of secrets) if (/passphrase|password|key/.test(toml)) expect(message).not.toContain(secret);
    }
  });

  test("two encryption variables in the environment are refused, naming only the variables", () => {
    const got = messageOf(db(), { BAKELITE_KEY: "BAKELITE-KEY-V1-abc", BAKELITE_PASSPHRASE: "hunter2" });
    expect(got.message).toBe(
      "environment: set only one of BAKELITE_KEY, BAKELITE_KEY_FILE, BAKELITE_PASSPHRASE, BAKELITE_PASSPHRASE_FILE (found BAKELITE_KEY and BAKELITE_PASSPHRASE)",
    );
  });
});

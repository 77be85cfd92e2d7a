/**
 * @module ops/doctor
 * `bakelite doctor`: the pre-flight checks that catch, before the daemon
 * runs, what would otherwise surface only mid-replication. Per database:
 * settings this build would refuse, the database file (present, WAL, state
 * directory writable), then per destination reachability and write access,
 * the replica's newest object header, whether the configured key opens it,
 * and Object Lock where the config expects it. Plus which env files were
 * considered and which variables they set (names only, never values).
 *
 * Doctor never touches the live database beyond reading its 100-byte header,
 * and its only backend write is a small probe object it deletes at once: a
 * daemon host needs write access, and only a write proves it.
 */
import { accessSync, constants, lstatSync, openSync, readSync, closeSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { openBackend, describeBackend } from "../backends/open.ts";
import type { Backend } from "../backends/types.ts";
import type { EnvFileReport } from "../config/env-file.ts";
import { notSupportedYet } from "../config/support.ts";
import type { DatabaseConfig } from "../config/types.ts";
import { toBakeliteError } from "../errors.ts";
import { keyringFor, type Keyring } from "../format/keyring.ts";
import { probeObjectLock, probeReplica, probeWritable, type CheckResult } from "./doctor-backend.ts";
import { stateDir } from "./state-paths.ts";

export type { CheckResult, CheckStatus } from "./doctor-backend.ts";

export interface DatabaseDoctor {
  db: string;
  path: string;
  ok: boolean;
  checks: CheckResult[];
}

export interface DoctorOptions {
  /** Opens a destination (tests inject faults). Default: backends/open.ts. */
  open?: typeof openBackend;
  /** Per-destination time limit, so one dead endpoint cannot hang the run. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** SQLite's header: "SQLite format 3\0", then bytes 18 and 19 are 2 in WAL mode. */
const SQLITE_MAGIC = "SQLite format 3\u0000";

function databaseFile(path: string): CheckResult {
  const bytes = new Uint8Array(100);
  let read = 0;
  try {
    const fd = openSync(path, "r");
    try {
      read = readSync(fd, bytes, 0, 100, 0);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { check: "database", status: "warn", detail: `${path} does not exist yet; the daemon retries until it does`, hint: "Fine on a fresh volume restored at boot; otherwise check path." };
    return { check: "database", status: "fail", detail: `cannot read ${path}: ${toBakeliteError(err).message}`, hint: "Run doctor as the service user, or fix the file's permissions." };
  }
  if (read === 0) return { check: "database", status: "warn", detail: `${path} is empty; nothing to back up until the application creates it` };
  if (read < 100 || new TextDecoder().decode(bytes.subarray(0, 16)) !== SQLITE_MAGIC) {
    return { check: "database", status: "fail", detail: `${path} is not a SQLite database` };
  }
  if (bytes[18] !== 2 || bytes[19] !== 2) {
    return { check: "database", status: "fail", detail: `${path} is not in WAL mode`, hint: "Have the application run PRAGMA journal_mode=WAL once; bakelite never changes it." };
  }
  try {
    accessSync(dirname(path), constants.W_OK);
  } catch {
    return { check: "database", status: "fail", detail: `${dirname(path)} is not writable by this user; the daemon keeps its state in .bakelite/ there (and SQLite needs it for -wal/-shm)`, hint: "Run as the service user, or add the directory to ReadWritePaths=." };
  }
  const problem = stateDirProblem(stateDir(path));
  if (problem) return { check: "database", status: "fail", ...problem };
  return { check: "database", status: "ok", detail: `${path}: SQLite, WAL mode` };
}

/**
 * Why the daemon could not use `dir` as its state directory, or null. Its parent
 * is writable by now, so an absent one is fine (the daemon creates it); but a file
 * or a dangling link there makes the daemon's mkdir fail with EEXIST.
 */
function stateDirProblem(dir: string): { detail: string; hint: string } | null {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    try {
      lstatSync(dir);
    } catch {
      return null;
    }
    isDir = false;
  }
  if (!isDir) {
    return { detail: `${dir} exists but is not a directory; the daemon keeps its state in that directory and cannot create it`, hint: `Move ${dir} aside; the daemon creates the directory.` };
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    return { detail: `${dir} is not writable by this user; the daemon keeps its state there`, hint: "Run as the service user, or fix the directory's owner." };
  }
  return null;
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(toBakeliteError(new Error(`${what} timed out after ${Math.round(ms / 1000)}s`), "BACKEND_TIMEOUT")), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function loadKeyring(db: DatabaseConfig): { keyring: Keyring | null; result: CheckResult } {
  if (!db.encryption) return { keyring: null, result: { check: "encryption", status: "skip", detail: "not configured (backups are plaintext)" } };
  try {
    const keyring = keyringFor(db.encryption);
    const id = keyring.encrypts && db.encryption.passphrase === undefined && db.encryption.passphraseFile === undefined ? `, key id ${keyring.writeKeyId()}` : "";
    return { keyring, result: { check: "encryption", status: "ok", detail: `key loads${id}` } };
  } catch (err) {
    const e = toBakeliteError(err, "CONFIG_INVALID");
    return { keyring: null, result: { check: "encryption", status: "fail", detail: `key does not load: ${e.message}`, hint: e.hint } };
  }
}

/** Does the configured key open the newest object (by key id; no trial decryption)? */
function keyOpensNewest(db: DatabaseConfig, keyring: Keyring | null, newest: Awaited<ReturnType<typeof probeReplica>>["newest"]): CheckResult | null {
  if (!newest) return null;
  if (newest.seal) {
    if (!keyring) return { check: "encryption", status: "fail", detail: "the replica is encrypted but no key is configured", hint: "Set key_file in [encryption] (or BAKELITE_KEY_FILE) to the key that wrote it." };
    try {
      keyring.keyFor(newest.seal, db.name);
      return { check: "encryption", status: "ok", detail: "the configured key opens the newest object" };
    } catch (err) {
      const e = toBakeliteError(err, "DECRYPT_FAILED");
      return { check: "encryption", status: "fail", detail: e.message, hint: e.hint };
    }
  }
  if (keyring?.requireEncrypted) {
    return { check: "encryption", status: "fail", detail: "the newest object is plaintext but require_encrypted is on, so restore would refuse it", hint: "Run bakelite reencrypt, or set require_encrypted = false while migrating." };
  }
  return null;
}

async function checkDestination(db: DatabaseConfig, index: number, keyring: Keyring | null, options: DoctorOptions): Promise<CheckResult[]> {
  const config = db.backends[index];
  const label = describeBackend(config);
  const tag = (r: CheckResult): CheckResult => ({ ...r, backend: label });
  let backend: Backend;
  try {
    backend = await (options.open ?? openBackend)(config);
  } catch (err) {
    const e = toBakeliteError(err, "BACKEND_IO");
    return [tag({ check: "backend", status: "fail", detail: `cannot open: ${e.message}`, hint: e.hint })];
  }
  const limit = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    const out = [tag(await withTimeout(probeWritable(backend, db.name), limit, "the write probe"))];
    const replica = await withTimeout(probeReplica(backend, db.name), limit, "reading the replica");
    out.push(tag(replica.result));
    const key = keyOpensNewest(db, keyring, replica.newest);
    if (key) out.push(tag(key));
    // Object Lock is checked against the primary destination, where the config asks for it.
    if (index === 0 && config.type === "s3" && config.expectObjectLock) {
      for (const r of await withTimeout(probeObjectLock(backend, db), limit, "reading Object Lock")) out.push(tag(r));
    }
    return out;
  } catch (err) {
    return [tag({ check: "backend", status: "fail", detail: toBakeliteError(err, "BACKEND_IO").message })];
  } finally {
    await backend.close().catch(() => undefined);
  }
}

export async function doctorDatabase(db: DatabaseConfig, options: DoctorOptions = {}): Promise<DatabaseDoctor> {
  const checks: CheckResult[] = [];
  const unsupported = notSupportedYet(db);
  checks.push(unsupported.length === 0
    ? { check: "config", status: "ok", detail: "every setting is supported by this build" }
    : { check: "config", status: "fail", detail: `the daemon would refuse: ${unsupported.join("; ")}` });
  checks.push(databaseFile(db.path));
  const { keyring, result } = loadKeyring(db);
  checks.push(result);
  for (let i = 0; i < db.backends.length; i++) checks.push(...(await checkDestination(db, i, keyring, options)));
  return { db: db.name, path: db.path, ok: checks.every((c) => c.status !== "fail"), checks };
}

/** Env files as a check: an unreadable one is a warning (its credentials are missing for this user). */
export function envCheck(report: EnvFileReport): CheckResult {
  const unreadable = report.files.filter((f) => f.status === "unreadable");
  const detail = report.files.map((f) => {
    if (f.status !== "loaded") return `${f.path} (${f.status})`;
    const kept = f.kept.length ? `; already set, kept: ${f.kept.join(", ")}` : "";
    return `${f.path} (loaded: ${f.set.length ? f.set.join(", ") : "nothing new"}${kept})`;
  }).join("; ");
  if (unreadable.length > 0) {
    return { check: "env", status: "warn", detail, hint: "An env file exists but this user cannot read it: run doctor as the service user (or root) to see what the daemon sees." };
  }
  return { check: "env", status: "ok", detail };
}

/** Names of credential-like variables present in the environment (values are never reported). */
export function relevantEnvNames(env: NodeJS.ProcessEnv = process.env): string[] {
  const pattern = /^(BAKELITE_|AWS_|GOOGLE_|AZURE_|GCS_|SFTP_)/;
  return Object.keys(env).filter((k) => pattern.test(k) && env[k] !== undefined && env[k] !== "").sort();
}

/**
 * @module setup/unattended
 * `bakelite init --yes --db-path …`: the complete local setup with no
 * prompts, for CI, configuration management and image builds. In order:
 * config (validated before it is written), key (generated or given, never
 * overwritten), backup directory, systemd units (running that config) and
 * drop-ins, enable, then doctor. Every step reports what it did; a re-run
 * with the same flags changes nothing, and anything that differs is refused
 * without --force.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, statSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { BakeliteError } from "../errors.ts";
import { generateKeyString, readKeyFile, writeKeyFile } from "../format/key-string.ts";
import type { DatabaseDoctor } from "../ops/doctor.ts";
import { buildConfig, checkDbName } from "./config-text.ts";
import { writeSetupFile } from "./files.ts";
import { lookupAccount, type Account } from "./identity.ts";
import type { SetupPaths } from "./paths.ts";
import { findRecipe } from "./recipes.ts";
import { enableDaemon, setupUnits, writeDropIns } from "./systemd.ts";

export const DEFAULT_BACKUP_DIR = "/var/backups/bakelite";

export interface UnattendedOptions {
  paths: SetupPaths;
  dbPath: string;
  dbName?: string;
  backupDir?: string;
  encrypt: boolean;
  keyFile?: string;
  serviceUser?: string;
  serviceGroup?: string;
  enable: boolean;
  force: boolean;
  /** The bakelite executable the units should run (when init installs them). */
  binary?: string;
}

export interface UnattendedResult {
  doctor: DatabaseDoctor;
  /** Lines describing what happened, in order. */
  steps: string[];
}

function defaultName(dbPath: string): string {
  const base = basename(dbPath, extname(dbPath));
  return base === "" ? "app" : base;
}

/** Uses --key-file, or for --encrypt the key beside the config: kept when present, generated when not. */
function prepareKey(o: UnattendedOptions, say: (s: string) => void): string | undefined {
  if (o.keyFile !== undefined && o.encrypt) throw new BakeliteError("USAGE", "give --encrypt or --key-file, not both", { hint: "--key-file uses an existing key; --encrypt makes (or reuses) " + o.paths.keyFile + "." });
  if (o.keyFile !== undefined) {
    const path = resolve(o.keyFile);
    readKeyFile(path);
    say(`key: using ${path}`);
    return path;
  }
  if (!o.encrypt) return undefined;
  const path = o.paths.keyFile;
  if (existsSync(path)) {
    readKeyFile(path);
    say(`key: kept the existing ${path} (a key file is never overwritten)`);
    return path;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  writeKeyFile(path, generateKeyString(), ["bakelite encryption key. Without it the backups cannot be read:", "keep a copy somewhere other than this host and the backup destination."]);
  say(`key: generated ${path} (mode 0600); copy it somewhere safe, off this host`);
  return path;
}

function ensureBackupDir(dir: string, account: Account | null, say: (s: string) => void): void {
  const existed = existsSync(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existed) chmodSync(dir, 0o700);
  if (account) chownSync(dir, account.uid, account.gid);
  say(`backup directory: ${existed ? "kept" : "created"} ${dir}${account ? ` (owner ${account.user}:${account.group})` : ""}`);
}

function warnDbDirOwner(dbPath: string, account: Account, say: (s: string) => void): void {
  try {
    const st = statSync(dirname(dbPath));
    const writable = st.uid === account.uid || (st.gid === account.gid && (st.mode & 0o020) !== 0) || (st.mode & 0o002) !== 0;
    if (!writable) say(`warning: ${dirname(dbPath)} is not writable by ${account.user}; the daemon writes -wal/-shm and .bakelite/ there`);
  } catch {
    say(`warning: ${dirname(dbPath)} does not exist yet`);
  }
}

function setupSystemd(o: UnattendedOptions, account: Account | null, dbPath: string, backupDir: string, say: (s: string) => void): void {
  const dir = o.paths.systemdDir;
  setupUnits(o.paths, o.binary, o.force, say);
  if (account) {
    const results = writeDropIns(dir, { user: account.user, group: account.group, readWritePaths: [dirname(dbPath), backupDir] }, o.force);
    for (const r of results) say(`systemd: ${r.outcome} ${r.path}`);
  }
}

export async function runUnattended(o: UnattendedOptions, say: (line: string) => void): Promise<UnattendedResult> {
  const steps: string[] = [];
  const log = (s: string) => {
    steps.push(s);
    say(s);
  };
  const dbPath = resolve(o.dbPath);
  const dbName = checkDbName(o.dbName ?? defaultName(dbPath));
  const backupDir = resolve(o.backupDir ?? DEFAULT_BACKUP_DIR);
  if (o.serviceGroup !== undefined && o.serviceUser === undefined) throw new BakeliteError("USAGE", "--service-group needs --service-user");
  const account = o.serviceUser === undefined ? null : lookupAccount(o.serviceUser, o.serviceGroup);

  const keyFile = prepareKey(o, log);
  const { text, config } = buildConfig({ dbName, dbPath, backend: findRecipe("file").backend({ path: backupDir }), keyFile }, o.paths.configPath);
  const written = writeSetupFile(o.paths.configPath, text, { overwrite: o.force, overwriteHint: "Re-run with --force to replace it (the old one is kept as .bak)." });
  log(`config: ${written.outcome} ${o.paths.configPath}${written.backup ? ` (previous kept as ${written.backup})` : ""}`);
  if (keyFile && account) {
    chownSync(keyFile, account.uid, account.gid);
    chmodSync(keyFile, 0o600);
    log(`key: ${keyFile} now owned by ${account.user} (mode 0600) so the daemon can read it`);
  }
  ensureBackupDir(backupDir, account, log);
  if (account) warnDbDirOwner(dbPath, account, log);
  if (account || o.enable) setupSystemd(o, account, dbPath, backupDir, log);

  const { doctorDatabase } = await import("../ops/doctor.ts");
  const doctor = await doctorDatabase(config.databases[0]);
  // doctor's probe may create <backup-dir>/<db>/ as this (root) user: hand it to the service user.
  const dbDir = join(backupDir, dbName);
  if (account && existsSync(dbDir)) chownSync(dbDir, account.uid, account.gid);
  // Starting a daemon doctor already knows will fail only trades a clear message for a retry loop.
  if (o.enable && !doctor.ok) log("systemd: not enabling bakelite.service: doctor found problems (below); fix them and re-run");
  else if (o.enable) enableDaemon(o.paths, log);
  return { doctor, steps };
}

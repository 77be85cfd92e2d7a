/**
 * @module cli/commands/restore
 * `bakelite restore`: choose the database, the target and the output, apply
 * the guards, then let replica/restore.ts do the work and prove the result.
 *
 * The guards are the CLI's job because only here is it known whether the
 * output is the live database. Restoring in place (no --output, or --output
 * naming the configured path) takes the database's lock, so it cannot race a
 * running daemon, and refuses an existing database unless --force:
 * replacing a live database is a decision, never a default. An --output that
 * is another configured database's file is refused outright.
 */
import { defineCommand } from "citty";
import { existsSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Config, DatabaseConfig } from "../../config/types.ts";
import { BakeliteError, isBakeliteError } from "../../errors.ts";
import type { RestoreSummary } from "../../replica/types.ts";
import type { RestoreTarget } from "../../replica/types.ts";
import { bool, runData, str, type CliCommand } from "../command.ts";
import type { GlobalFlags } from "../argv.ts";
import { loadCliConfig, pickDatabases, print, printJson } from "../context.ts";
import { painter } from "../style.ts";
import { restoreJson, restoreText, skippedJson, skippedWarning, unreachableWarning, type SkippedRestore } from "./restore-render.ts";

/** --timestamp / --txid into a target; both together are a usage error. */
export async function parseTarget(timestamp: string | undefined, txid: string | undefined, nowMs: number): Promise<RestoreTarget> {
  if (timestamp !== undefined && txid !== undefined) {
    throw new BakeliteError("USAGE", "--timestamp and --txid cannot be used together", { hint: "Give one restore target, or neither for the latest state." });
  }
  if (txid !== undefined) {
    if (!/^\d+$/.test(txid) || !Number.isSafeInteger(Number(txid))) {
      throw new BakeliteError("USAGE", `--txid ${JSON.stringify(txid)}: expected a whole number (the txid column of bakelite list)`);
    }
    return { kind: "txid", txid: Number(txid) };
  }
  if (timestamp !== undefined) {
    const { parseTimestamp } = await import("../../config/units.ts");
    return { kind: "timestamp", timestampMs: parseTimestamp(timestamp, nowMs) };
  }
  return { kind: "latest" };
}

/** Resolves symlinked directories so two spellings of one path compare equal. */
function canonical(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    try {
      return join(realpathSync(dirname(abs)), basename(abs));
    } catch {
      return abs;
    }
  }
}

function sameFile(a: string, b: string): boolean {
  if (canonical(a) === canonical(b)) return true;
  try {
    const [sa, sb] = [statSync(a), statSync(b)];
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

async function chooseDatabase(config: Config, name: string | undefined): Promise<DatabaseConfig> {
  if (name !== undefined) return (await pickDatabases(config, [name]))[0];
  if (config.databases.length === 1) return config.databases[0];
  throw new BakeliteError("USAGE", `bakelite restore needs --db: ${config.source} defines ${config.databases.length} databases`, {
    hint: `Try: --db ${config.databases[0]?.name ?? "<name>"}`,
  });
}

export const restoreCommand: CliCommand = {
  def: defineCommand({
    meta: { name: "restore", description: "Rebuild a database from its backups at the latest commit or a point in time, and prove the copy" },
    args: {
      db: { type: "string", valueHint: "name", description: "Database to restore (may be omitted when the config has only one)" },
      output: { type: "string", valueHint: "path", description: "Write here instead of the configured database path (in place)" },
      timestamp: { type: "string", valueHint: "time", description: 'Last commit at or before this time: RFC 3339 or relative ("1 hour ago", "30m ago")' },
      txid: { type: "string", valueHint: "n", description: "Last commit at or before this txid" },
      "if-db-not-exists": { type: "boolean", description: "Do nothing (exit 0) when the output database already exists" },
      "if-replica-exists": { type: "boolean", description: "Do nothing (exit 0) when the backend has no backup of the database" },
      force: { type: "boolean", description: "Replace an existing output file (stop the application first)" },
    },
    async run(context) {
      const { globals, flags } = runData(context);
      const target = await parseTarget(str(flags, "timestamp"), str(flags, "txid"), Date.now());
      const config = await loadCliConfig(globals);
      const db = await chooseDatabase(config, str(flags, "db"));
      const outputFlag = str(flags, "output");
      const output = resolve(outputFlag ?? db.path);
      const inPlace = sameFile(output, db.path);
      const other = config.databases.find((d) => d.name !== db.name && sameFile(output, d.path));
      if (other) {
        throw new BakeliteError("USAGE", `--output ${output} is the live database "${other.name}" in ${config.source}`, {
          hint: "Choose another --output; restoring one database over another is never what you want.",
        });
      }
      const guards = { ifDbNotExists: bool(flags, "if-db-not-exists"), ifReplicaExists: bool(flags, "if-replica-exists"), force: bool(flags, "force") };

      const exists = () => existsSync(output);
      if (guards.ifDbNotExists && exists()) return skip(globals, { db: db.name, output, reason: "database-exists", message: `${output} exists; nothing to do` });
      if (!inPlace) return restoreTo(globals, db, output, target, guards, false);

      const { acquireLock } = await import("../../ops/lock.ts");
      const lock = acquireLock(db.path, db.name, "restore");
      try {
        // Checked again under the lock: the file may have appeared meanwhile.
        if (guards.ifDbNotExists && exists()) return skip(globals, { db: db.name, output, reason: "database-exists", message: `${output} exists; nothing to do` });
        if (exists() && !guards.force) {
          throw new BakeliteError("OUTPUT_EXISTS", `database "${db.name}" exists at ${output}; not restoring over it`, {
            hint: "Restore elsewhere with --output, use --if-db-not-exists for boot-time restores, or stop the application and pass --force.",
          });
        }
        return await restoreTo(globals, db, output, target, guards, true);
      } finally {
        lock.release();
      }
    },
  }),
  examples: [
    "bakelite restore --db app --output /tmp/restored.db",
    "bakelite restore --db app --output /tmp/at.db --timestamp 2026-05-25T12:00:00Z",
    'bakelite restore --db app --output /tmp/an-hour-ago.db --timestamp "1 hour ago"',
    "bakelite restore --db app --if-db-not-exists --if-replica-exists   # boot-time, in place",
  ],
};

interface Guards {
  ifDbNotExists: boolean;
  ifReplicaExists: boolean;
  force: boolean;
}

async function restoreTo(globals: GlobalFlags, db: DatabaseConfig, output: string, target: RestoreTarget, guards: Guards, inPlace: boolean): Promise<number> {
  const [{ openBackend }, { restoreDatabase }, { restoreProgress }, { log }, { keyringFor }] = await Promise.all([
    import("../../backends/open.ts"),
    import("../../replica/restore.ts"),
    import("../progress.ts"),
    import("../../ops/log.ts"),
    import("../../format/keyring.ts"),
  ]);
  if (db.backends.length > 1) log.debug(`restoring ${db.name} from its first backend of ${db.backends.length}`);
  // Read the key before touching the backend: a missing key file should fail fast and locally.
  const keys = keyringFor(db.encryption);
  const backend = await openBackend(db.backends[0]);
  const progress = restoreProgress(db.name, !globals.quiet);
  let summary: RestoreSummary;
  try {
    summary = await restoreDatabase({ backend, db: db.name, output, target, force: guards.force, keys, onProgress: (p) => progress.update(p) });
  } catch (err) {
    if (guards.ifReplicaExists && isBakeliteError(err, "NO_BACKUP")) {
      return skip(globals, { db: db.name, output, reason: "no-replica", message: `no backup of ${db.name} on ${backend.describe}; nothing to do` });
    }
    throw err;
  } finally {
    progress.done();
    await backend.close().catch(() => undefined);
  }
  for (const warning of [unreachableWarning(summary, painter(process.stderr)), skippedWarning(summary, painter(process.stderr))]) {
    if (warning) process.stderr.write(`${warning}\n`);
  }
  if (globals.json) printJson(restoreJson(summary, inPlace));
  else print(restoreText(summary, inPlace, painter()));
  return 0;
}

function skip(globals: GlobalFlags, skipped: SkippedRestore): number {
  if (globals.json) printJson(skippedJson(skipped));
  else print(`${skipped.db}: ${skipped.message}`);
  return 0;
}

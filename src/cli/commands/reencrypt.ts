/**
 * @module cli/commands/reencrypt
 * `bakelite reencrypt`: rewrite every object of each selected database, on
 * every configured destination, under the encryption the config names now
 * (replica/reencrypt.ts). --old-key-file (repeatable) supplies the keys the
 * old objects were sealed with; objects name their key by id, so the order
 * only matters for which label an error mentions.
 *
 * It takes the database's single-instance lock, the one the daemon holds, so
 * it refuses (exit 4) while a daemon runs for that database. --dry-run only
 * reads, so it takes no lock. Exit 3 when any object could not be rewritten,
 * or a leftover upload temp file could not be removed.
 *
 * The keyring carries the config's require_encrypted (default true), and the
 * rewrite reads sources under it: with it on, a plaintext object (which anyone
 * with write access to the bucket can plant) is refused, never sealed under
 * the new key; only the migration's require_encrypted = false encrypts them.
 */
import { defineCommand } from "citty";
import { ExitCode } from "../../errors.ts";
import type { ReencryptReport } from "../../replica/reencrypt.ts";
import { bool, list, runData, type CliCommand } from "../command.ts";
import { loadCliConfig, pickDatabases, print, printJson } from "../context.ts";
import { painter } from "../style.ts";
import { counter, reencryptText } from "./verify-render.ts";

export const reencryptCommand: CliCommand = {
  def: defineCommand({
    meta: { name: "reencrypt", description: "Rewrite every backend object under the configured encryption (encrypt, rotate keys, or decrypt)" },
    args: {
      db: { type: "string", valueHint: "name", description: "Only this database (default: every configured database)" },
      "old-key-file": { type: "string", valueHint: "path", description: "A key (or passphrase) file the old objects were sealed with; repeatable" },
      "dry-run": { type: "boolean", description: "Report what would be rewritten and its size; change nothing" },
    },
    async run(context) {
      const { globals, flags } = runData(context);
      const config = await loadCliConfig(globals);
      const databases = await pickDatabases(config, list(flags, "db"));
      const dryRun = bool(flags, "dry-run");
      const [{ openBackend }, { reencryptDatabase, reencryptSucceeded }, { keyringFor }, { acquireLock }] = await Promise.all([
        import("../../backends/open.ts"),
        import("../../replica/reencrypt.ts"),
        import("../../format/keyring.ts"),
        import("../../ops/lock.ts"),
      ]);
      const reports: Array<ReencryptReport & { backend: string }> = [];
      for (const db of databases) {
        // Keys first: a missing or mistyped key file fails before anything is locked or read.
        // require_encrypted comes with them: it decides whether plaintext objects may be sealed.
        const keys = keyringFor(db.encryption, { oldKeyFiles: list(flags, "old-key-file") });
        const lock = dryRun ? null : acquireLock(db.path, db.name, "reencrypt");
        try {
          for (const backendConfig of db.backends) {
            const backend = await openBackend(backendConfig);
            const progress = counter(`reencrypting ${db.name}`, !globals.quiet);
            try {
              const report = await reencryptDatabase({ backend, db: db.name, keys, dryRun, onProgress: (p) => progress.update(p.done, p.total, "objects") });
              progress.done();
              reports.push({ ...report, backend: backend.describe });
              if (!globals.json) print(reencryptText(reports.at(-1)!, painter()));
            } finally {
              progress.done();
              await backend.close().catch(() => undefined);
            }
          }
        } finally {
          lock?.release();
        }
        const done = reports.filter((r) => r.db === db.name);
        if (!globals.json && !dryRun && db.encryption && !db.encryption.requireEncrypted && done.every((r) => r.failed.length === 0)) {
          print(`${db.name}: every object is now sealed; remove require_encrypted = false from the config and restart the daemon.`);
        }
      }
      const ok = reports.every(reencryptSucceeded);
      if (globals.json) printJson({ ok, dryRun, databases: reports });
      return ok ? ExitCode.ok : ExitCode.integrity;
    },
  }),
  repeatable: ["db", "old-key-file"],
  examples: [
    "bakelite reencrypt --db app --config bakelite.toml",
    "bakelite reencrypt --db app --old-key-file /etc/bakelite/key-old.txt --dry-run --json",
    "bakelite reencrypt --db app --old-key-file /etc/bakelite/key-old.txt",
  ],
};

/**
 * @module cli/commands/verify
 * `bakelite verify`: prove each selected database's replica (replica/verify.ts)
 * and record the outcome in `.bakelite/<name>.verify.json` beside the database
 * for `status`, `status --check --max-verify-age` and the metrics endpoint.
 *
 * A run that cannot finish (backend unreachable, key not loadable) is
 * recorded as not clean too: a freshness alert on "last clean verify" should
 * fire when verification has stopped working, whatever the reason. Like
 * `list` and `usage`, one failing database does not stop the others: its
 * error is shown in its place (text and --json) and on stderr, and the run
 * exits with the first such error's code once every database is done. Else
 * exit 3 (integrity) when any database has a problem.
 */
import { defineCommand } from "citty";
import { type BakeliteError, ExitCode, toBakeliteError } from "../../errors.ts";
import type { VerifyReport } from "../../replica/verify.ts";
import { bool, list, runData, type CliCommand } from "../command.ts";
import { loadCliConfig, pickDatabases, print, printJson } from "../context.ts";
import { reportError } from "../report.ts";
import { painter } from "../style.ts";
import { counter, verifyFailedJson, verifyFailedText, verifyText } from "./verify-render.ts";

export const verifyCommand: CliCommand = {
  def: defineCommand({
    meta: { name: "verify", description: "Check that a replica is intact and restorable, without touching the live database" },
    args: {
      db: { type: "string", valueHint: "name", description: "Only this database (default: every configured database)" },
      deep: { type: "boolean", description: "Also restore each backup to a temp file: database checksum at every object and integrity_check" },
    },
    async run(context) {
      const { globals, flags } = runData(context);
      const config = await loadCliConfig(globals);
      const databases = await pickDatabases(config, list(flags, "db"));
      const mode = bool(flags, "deep") ? "deep" : "shallow";
      const [{ openBackend, describeBackend }, { verifyDatabase, problemLine }, { keyringFor }, { writeVerifyMarker }, { log }] = await Promise.all([
        import("../../backends/open.ts"),
        import("../../replica/verify.ts"),
        import("../../format/keyring.ts"),
        import("../../ops/verify-marker.ts"),
        import("../../ops/log.ts"),
      ]);
      const entries: unknown[] = [];
      const reports: VerifyReport[] = [];
      const failures: BakeliteError[] = [];
      for (const db of databases) {
        const mark = (timeMs: number, ok: boolean, problems: string[]) => {
          try {
            writeVerifyMarker(db.path, db.name, { timeMs, mode, ok, problems });
          } catch (err) {
            log.warn(`${db.name}: could not write the verify marker: ${(err as Error).message}`);
          }
        };
        const progress = counter(`verifying ${db.name}`, !globals.quiet);
        try {
          const keys = keyringFor(db.encryption);
          const backend = await openBackend(db.backends[0]);
          try {
            const report = await verifyDatabase({
              backend, db: db.name, mode, keys,
              onProgress: (p) => progress.update(p.done, p.total, p.phase === "check" ? "objects" : "backups restored"),
            });
            progress.done();
            reports.push(report);
            entries.push(report);
            mark(report.timeMs, report.ok, report.problems.map(problemLine));
            if (!globals.json) print(verifyText(report, painter()));
          } finally {
            await backend.close().catch(() => undefined);
          }
        } catch (err) {
          progress.done();
          const e = toBakeliteError(err, "BACKEND_IO", `verifying ${db.name}`);
          const backend = describeBackend(db.backends[0]);
          failures.push(e);
          entries.push(verifyFailedJson(db.name, backend, e));
          mark(Date.now(), false, [`verify could not finish: ${e.message}`]);
          if (!globals.json) print(verifyFailedText(db.name, backend, e, mode, painter()));
        }
      }
      const ok = failures.length === 0 && reports.every((r) => r.ok);
      if (globals.json) printJson({ ok, mode, databases: entries });
      else for (const e of failures) reportError(e, { verbose: globals.verbose });
      if (failures.length > 0) return failures[0].exitCode;
      return ok ? ExitCode.ok : ExitCode.integrity;
    },
  }),
  repeatable: ["db"],
  examples: [
    "bakelite verify --config bakelite.toml",
    "bakelite verify --db app --deep --config bakelite.toml",
    "bakelite verify --db app --json --config bakelite.toml",
  ],
};

/**
 * @module cli/commands/list
 * `bakelite list`: what is restorable, read from the backend only (safe while
 * the daemon ships). Without --db one row per configured database; with --db
 * that database's restore points; --verbose adds every backup's objects.
 * One unreachable backend does not hide the others: its row (or, in detail,
 * its entry; with --db, the whole output) shows the error in one line and the
 * command exits with that error's code after printing the rest.
 */
import { defineCommand } from "citty";
import type { DatabaseConfig } from "../../config/types.ts";
import { toBakeliteError } from "../../errors.ts";
import { runData, str, type CliCommand } from "../command.ts";
import { loadCliConfig, pickDatabases, print, printJson } from "../context.ts";
import { reportError } from "../report.ts";
import { painter } from "../style.ts";
import { detailJson, summaryJson, type DatabaseReport } from "./list-json.ts";
import { detailText, fleetText } from "./list-text.ts";

async function gather(db: DatabaseConfig): Promise<DatabaseReport> {
  const [{ openBackend, describeBackend }, { listDatabase }, { summarizeDatabase }] = await Promise.all([
    import("../../backends/open.ts"),
    import("../../replica/listing.ts"),
    import("../../replica/list-view.ts"),
  ]);
  const report: DatabaseReport = { db: db.name, backend: describeBackend(db.backends[0]) };
  try {
    const backend = await openBackend(db.backends[0]);
    try {
      report.listing = await listDatabase(backend, db.name);
      report.summary = summarizeDatabase(report.listing);
    } finally {
      await backend.close().catch(() => undefined);
    }
  } catch (err) {
    report.error = toBakeliteError(err, "BACKEND_IO", `listing ${db.name}`);
  }
  return report;
}

/**
 * Names each failed database on stderr (text only: with --json the error is in
 * the document) and returns the first one's exit code. Never a stack trace,
 * even with --verbose: for list that flag asks for the objects, and a backend
 * that cannot be read is part of the listing, not a crash of the command.
 */
function reportFailures(reports: DatabaseReport[], json: boolean): number {
  let code = 0;
  for (const r of reports) {
    if (!r.error) continue;
    if (!json) reportError(r.error, { verbose: false });
    code ||= r.error.exitCode;
  }
  return code;
}

export const listCommand: CliCommand = {
  def: defineCommand({
    meta: { name: "list", description: "Show what is restorable: one row per database, or one database's restore points" },
    args: {
      db: { type: "string", valueHint: "name", description: "Show this database's restorable spans and restore points" },
    },
    async run(context) {
      const { globals, flags } = runData(context);
      const name = str(flags, "db");
      // --verbose is global (debug logs); for list it also asks for every backup's objects.
      const verbose = globals.verbose;
      const config = await loadCliConfig(globals);
      const databases = await pickDatabases(config, name === undefined ? [] : [name]);
      const reports = await Promise.all(databases.map(gather));
      const { restorePoints } = await import("../../replica/list-view.ts");
      const pointsOf = (r: DatabaseReport) => (r.listing ? restorePoints(r.listing) : []);
      const paint = painter();

      if (name !== undefined || verbose) {
        if (globals.json) {
          const details = reports.map((r) => detailJson(r, pointsOf(r), verbose));
          printJson(name !== undefined ? details[0] : { databases: details });
        } else {
          print(reports.map((r) => detailText(r, pointsOf(r), verbose, paint)).join("\n\n"));
        }
      } else if (globals.json) {
        printJson({ databases: reports.map(summaryJson) });
      } else {
        print(fleetText(reports, paint));
      }
      return reportFailures(reports, globals.json);
    },
  }),
  examples: [
    "bakelite list --config bakelite.toml",
    "bakelite list --db app --config bakelite.toml",
    "bakelite list --db app --verbose --config bakelite.toml",
  ],
};

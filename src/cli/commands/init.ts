/**
 * @module cli/commands/init
 * `bakelite init`, in four forms:
 * - on a terminal with no --yes: the guided wizard (setup/wizard.ts);
 * - `--yes --db-path …`: the complete unattended local setup (setup/unattended.ts);
 * - `--recipe NAME --yes` (or bare `--yes`): a starter config to edit;
 * - `--yes --service-user U [--enable]` with an existing config: service setup only.
 * Where files go: --config / $BAKELITE_CONFIG, $BAKELITE_ETC_DIR and
 * $BAKELITE_SYSTEMD_DIR (setup/paths.ts); the units it sets up run that
 * config (setup/systemd.ts). Exit 1 when the closing doctor run finds a
 * problem, so automation notices a setup that cannot work.
 */
import { existsSync } from "node:fs";
import { defineCommand } from "citty";
import { BakeliteError, ExitCode } from "../../errors.ts";
import type { DatabaseDoctor } from "../../ops/doctor.ts";
import { bool, runData, str, type CliCommand } from "../command.ts";
import { isCompiled } from "../executable.ts";
import { print } from "../context.ts";
import { painter } from "../style.ts";

/** The executable units should run: this binary when compiled, else the standard install path. */
function selfBinary(): string | undefined {
  return isCompiled() ? process.execPath : undefined;
}

async function printDoctor(reports: DatabaseDoctor[]): Promise<number> {
  const { databaseBlock } = await import("./doctor.ts");
  const paint = painter();
  print(["", "doctor:", ...reports.map((r) => databaseBlock(r, paint))].join("\n"));
  return reports.every((r) => r.ok) ? ExitCode.ok : ExitCode.failure;
}

export const initCommand: CliCommand = {
  def: defineCommand({
    meta: { name: "init", description: "Set up a config, an optional key and the service, guided or unattended" },
    args: {
      recipe: { type: "string", valueHint: "name", description: "Destination recipe: file, s3, r2, b2, minio, gcs, azure, sftp" },
      yes: { type: "boolean", description: "No questions: take every default (unattended)" },
      force: { type: "boolean", description: "Replace an existing config or drop-in (kept as .bak); never a key file" },
      "db-path": { type: "string", valueHint: "path", description: "Database to protect (with --yes: complete local setup)" },
      "db-name": { type: "string", valueHint: "name", description: "Name for that database (default: the file name)" },
      "backup-dir": { type: "string", valueHint: "dir", description: "Local backup directory (default /var/backups/bakelite)" },
      encrypt: { type: "boolean", description: "Encrypt backups with a key generated beside the config (kept if it exists)" },
      "key-file": { type: "string", valueHint: "path", description: "Encrypt backups with this existing key file" },
      "service-user": { type: "string", valueHint: "user", description: "User the service runs as (writes the systemd drop-ins)" },
      "service-group": { type: "string", valueHint: "group", description: "Group the service runs as (default: the user's group)" },
      enable: { type: "boolean", description: "Enable and start bakelite.service (only where systemd runs the host)" },
    },
    async run(context) {
      const { globals, flags } = runData(context);
      const { setupPaths } = await import("../../setup/paths.ts");
      const paths = setupPaths(globals.config);
      const yes = bool(flags, "yes");
      const force = bool(flags, "force");
      const dbPath = str(flags, "db-path");
      const recipe = str(flags, "recipe");
      const say = (line: string) => print(line);

      if (dbPath !== undefined) {
        if (!yes) throw new BakeliteError("USAGE", "--db-path runs the unattended setup; add --yes", { hint: "Or run bakelite init on a terminal for the guided setup." });
        if (recipe !== undefined && recipe !== "file" && recipe !== "local") {
          throw new BakeliteError("USAGE", `--db-path sets up a local backup directory; --recipe ${recipe} cannot be expressed with flags`, { hint: `Write the config with bakelite init --recipe ${recipe} --yes, edit it, then run bakelite init --yes --service-user <user>.` });
        }
        const { runUnattended } = await import("../../setup/unattended.ts");
        const result = await runUnattended({
          paths, dbPath, force, binary: selfBinary(),
          dbName: str(flags, "db-name"), backupDir: str(flags, "backup-dir"),
          encrypt: bool(flags, "encrypt"), keyFile: str(flags, "key-file"),
          serviceUser: str(flags, "service-user"), serviceGroup: str(flags, "service-group"), enable: bool(flags, "enable"),
        }, say);
        return printDoctor([result.doctor]);
      }
      const serviceOnly = str(flags, "service-user") !== undefined || bool(flags, "enable");
      if (yes && serviceOnly && recipe === undefined) {
        if (!existsSync(paths.configPath)) {
          throw new BakeliteError("CONFIG_NOT_FOUND", `no config at ${paths.configPath} to set the service up for`, { hint: "Write one first: bakelite init --recipe <name> --yes, or bakelite init --yes --db-path <db>." });
        }
        const { setupServiceForConfig } = await import("../../setup/scaffold.ts");
        const reports = await setupServiceForConfig({ paths, force, binary: selfBinary(), serviceUser: str(flags, "service-user"), serviceGroup: str(flags, "service-group"), enable: bool(flags, "enable") }, say);
        return printDoctor(reports);
      }
      if (yes) {
        const { scaffoldRecipe } = await import("../../setup/scaffold.ts");
        scaffoldRecipe(paths, recipe ?? "file", force, say);
        return ExitCode.ok;
      }
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        throw new BakeliteError("USAGE", "the init wizard needs a terminal", { hint: "For unattended setup: bakelite init --yes --db-path <db> (or --recipe <name> --yes for a starter config)." });
      }
      const { runWizard } = await import("../../setup/wizard.ts");
      const reports = await runWizard({ paths, recipe, force, binary: selfBinary() });
      return reports === null ? ExitCode.ok : printDoctor(reports);
    },
  }),
  examples: [
    "sudo bakelite init",
    "sudo bakelite init --recipe s3 --yes",
    "sudo bakelite init --yes --db-path /var/lib/app/app.db --db-name app --backup-dir /var/backups/bakelite --encrypt --service-user app --enable",
  ],
};

/**
 * @module setup/scaffold
 * The two smaller unattended forms of init:
 * - `init --recipe NAME --yes`: a starter config from the recipe's example
 *   answers (validated like any other), plus a 0600 env file of commented
 *   credential placeholders when the destination needs credentials;
 * - `init --yes --service-user U [--enable]` against an existing config
 *   (cloud backends are hand-written): units running that config, drop-ins
 *   with ReadWritePaths= from the config's databases and local destinations,
 *   doctor, enable.
 */
import { chownSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/types.ts";
import type { DatabaseDoctor } from "../ops/doctor.ts";
import { buildConfig } from "./config-text.ts";
import { writeSetupFile } from "./files.ts";
import { lookupAccount } from "./identity.ts";
import type { SetupPaths } from "./paths.ts";
import { envFileText, exampleAnswers, findRecipe } from "./recipes.ts";
import { enableDaemon, setupUnits, writeDropIns } from "./systemd.ts";

export function scaffoldRecipe(paths: SetupPaths, recipeName: string, force: boolean, say: (s: string) => void): void {
  const recipe = findRecipe(recipeName);
  const { text } = buildConfig({
    dbName: "app",
    dbPath: "/var/lib/app/app.db",
    backend: recipe.backend(exampleAnswers(recipe)),
    notes: [`Starter config for ${recipe.title}: replace the example values, then run bakelite doctor.`],
  }, paths.configPath);
  const written = writeSetupFile(paths.configPath, text, { overwrite: force, overwriteHint: "Re-run with --force to replace it (the old one is kept as .bak)." });
  say(`config: ${written.outcome} ${paths.configPath} (${recipe.title} starter)${written.backup ? `; previous kept as ${written.backup}` : ""}`);
  if (recipe.credentials.length > 0) {
    if (existsSync(paths.envFile)) {
      say(`credentials: kept the existing ${paths.envFile}; it needs ${recipe.credentials.map((c) => c.name).join(", ")}`);
    } else {
      writeSetupFile(paths.envFile, envFileText(recipe), { mode: 0o600 });
      say(`credentials: created ${paths.envFile} (mode 0600) with placeholders for ${recipe.credentials.map((c) => c.name).join(", ")}`);
    }
  }
  say(`next: edit ${paths.configPath}, then run bakelite doctor --config ${paths.configPath}`);
}

/** Directories the daemon writes: each database's directory and each local destination. */
export function writablePaths(config: Config): string[] {
  const out = new Set<string>();
  for (const db of config.databases) {
    out.add(dirname(db.path));
    for (const b of db.backends) if (b.type === "file") out.add(b.path);
  }
  return [...out];
}

export interface ServiceSetupOptions {
  paths: SetupPaths;
  serviceUser?: string;
  serviceGroup?: string;
  enable: boolean;
  force: boolean;
  binary?: string;
}

export async function setupServiceForConfig(o: ServiceSetupOptions, say: (s: string) => void): Promise<DatabaseDoctor[]> {
  const config = await loadConfig(o.paths.configPath);
  const account = o.serviceUser === undefined ? null : lookupAccount(o.serviceUser, o.serviceGroup);
  const dir = o.paths.systemdDir;
  setupUnits(o.paths, o.binary, o.force, say);
  if (account) {
    for (const r of writeDropIns(dir, { user: account.user, group: account.group, readWritePaths: writablePaths(config) }, o.force)) say(`systemd: ${r.outcome} ${r.path}`);
  }
  const { doctorDatabase } = await import("../ops/doctor.ts");
  const reports: DatabaseDoctor[] = [];
  for (const db of config.databases) {
    reports.push(await doctorDatabase(db));
    for (const b of db.backends) {
      const probeDir = b.type === "file" ? join(b.path, db.name) : null;
      if (account && probeDir && existsSync(probeDir)) chownSync(probeDir, account.uid, account.gid);
    }
  }
  if (!o.enable) return reports;
  if (reports.some((r) => !r.ok)) {
    say("systemd: not enabling bakelite.service: doctor found problems (below); fix them and re-run");
  } else {
    enableDaemon(o.paths, say);
  }
  return reports;
}

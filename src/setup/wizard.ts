/**
 * @module setup/wizard
 * The guided `bakelite init`: pick a destination recipe, answer its
 * questions, choose encryption, and then, one confirmed step at a time,
 * write the config (validated first), the credentials file (0600), the key,
 * the backup directory and the systemd drop-ins with a User= proposed from
 * the database file's owner; optionally enable the service; finish with
 * doctor. Declining a step skips it and says so; nothing that exists is
 * replaced without a yes. Ctrl-C stops at once, leaving what was already
 * written (each file is written whole, never half).
 */
import { chmodSync, chownSync, existsSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, extname, isAbsolute, join, resolve } from "node:path";
import { confirm, input, password, select } from "@inquirer/prompts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/types.ts";
import { BakeliteError } from "../errors.ts";
import { generateKeyString, readKeyFile, writeKeyFile } from "../format/key-string.ts";
import type { DatabaseDoctor } from "../ops/doctor.ts";
import { buildConfig, checkDbName } from "./config-text.ts";
import { mergeEnvText } from "./env-merge.ts";
import { readIfExists, writeSetupFile } from "./files.ts";
import { lookupAccount, ownerOf, type Account } from "./identity.ts";
import { agentPath, agentPlist, AGENT_LABEL, loadCommands } from "./launchd.ts";
import type { SetupPaths } from "./paths.ts";
import { findRecipe, RECIPES, type Recipe } from "./recipes.ts";
import { writablePaths } from "./scaffold.ts";
import { dropInPath, dropInText, enableDaemon, planPathsDropIns, SERVICES, setupUnits, systemdBooted, unitPaths } from "./systemd.ts";
import { SHIPPED_PATHS } from "./unit-paths.ts";

export interface WizardOptions {
  paths: SetupPaths;
  recipe?: string;
  force: boolean;
  binary?: string;
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const notAbsolute = (v: string) => (isAbsolute(v) ? true : "Give an absolute path.");

async function askRecipe(preset: string | undefined): Promise<Recipe> {
  if (preset) return findRecipe(preset);
  const name = await select({ message: "Where should backups go?", choices: RECIPES.map((r) => ({ name: r.title, value: r.name })) });
  return findRecipe(name);
}

async function askAnswers(recipe: Recipe): Promise<Record<string, string>> {
  const answers: Record<string, string> = {};
  for (const q of recipe.questions) {
    const value = await input({ message: q.message, default: q.optional ? undefined : q.example, required: !q.optional });
    answers[q.key] = value.trim();
  }
  return answers;
}

async function askCredentials(recipe: Recipe): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const c of recipe.credentials) {
    const message = `${c.name} (${c.note}; empty to skip)`;
    const value = c.secret ? await password({ message, mask: "*" }) : await input({ message });
    if (value.trim() !== "") values[c.name] = value.trim();
  }
  return values;
}

/** The key file to encrypt with, and whether it must be generated; null for no encryption. */
async function askEncryption(paths: SetupPaths): Promise<{ path: string; generate: boolean } | null> {
  const have = existsSync(paths.keyFile);
  const choice = await select({
    message: "Encrypt backups at rest?",
    choices: [
      { name: "No", value: "none" },
      { name: have ? `Yes, with the existing key ${paths.keyFile}` : `Yes, generate a new key at ${paths.keyFile}`, value: "default" },
      { name: "Yes, with another existing key file", value: "other" },
    ],
  });
  if (choice === "none") return null;
  if (choice === "default") return { path: paths.keyFile, generate: !have };
  const path = resolve(await input({ message: "Key file", validate: notAbsolute }));
  readKeyFile(path);
  return { path, generate: false };
}

async function writeConfigStep(o: WizardOptions): Promise<Config> {
  const { paths } = o;
  if (existsSync(paths.configPath) && !o.force) {
    // install.sh's placeholder holds no settings: replacing it is the expected answer.
    const placeholder = /^# bakelite placeholder config/m.test(readIfExists(paths.configPath) ?? "");
    const message = placeholder ? `${paths.configPath} is the installer's placeholder. Replace it?` : `${paths.configPath} exists. Replace it? (the old one is kept as .bak)`;
    const replace = await confirm({ message, default: placeholder });
    if (!replace) {
      say(`config: kept ${paths.configPath}`);
      return loadConfig(paths.configPath);
    }
  }
  const dbPath = resolve(await input({ message: "Database file to back up", default: "/var/lib/app/app.db", validate: notAbsolute }));
  if (!existsSync(dbPath)) say(`note: ${dbPath} does not exist yet; the daemon waits for it`);
  const dbName = checkDbName(await input({ message: "Name for this database", default: basename(dbPath, extname(dbPath)) || "app", validate: (v) => (/^[A-Za-z0-9._@-]+$/.test(v) ? true : "Letters, digits, '.', '_', '-' or '@'.") }));
  const recipe = await askRecipe(o.recipe);
  const answers = await askAnswers(recipe);
  const credentials = await askCredentials(recipe);
  const key = await askEncryption(paths);
  const { text, config } = buildConfig({ dbName, dbPath, backend: recipe.backend(answers), keyFile: key?.path }, paths.configPath);
  say(`\n${text}`);
  if (!(await confirm({ message: `Write this config to ${paths.configPath}?`, default: true }))) throw new BakeliteError("USAGE", "init cancelled: the config was not written");
  const written = writeSetupFile(paths.configPath, text, { overwrite: true });
  say(`config: ${written.outcome} ${paths.configPath}${written.backup ? ` (previous kept as ${written.backup})` : ""}`);
  if (Object.keys(credentials).length > 0) await writeCredentials(paths, credentials);
  if (key?.generate && (await confirm({ message: `Generate the key ${key.path} (mode 0600)?`, default: true }))) {
    mkdirSync(dirname(key.path), { recursive: true });
    writeKeyFile(key.path, generateKeyString(), ["bakelite encryption key: keep a copy off this host and off the backup destination."]);
    say(`key: generated ${key.path}; copy it somewhere safe, off this host`);
  }
  return config;
}

async function writeCredentials(paths: SetupPaths, values: Record<string, string>): Promise<void> {
  const existing = readIfExists(paths.envFile);
  const names = Object.keys(values).join(", ");
  const verb = existing === null ? `Create ${paths.envFile} (mode 0600) with ${names}?` : `Set ${names} in ${paths.envFile} (other lines are kept)?`;
  if (!(await confirm({ message: verb, default: true }))) {
    say("credentials: not written");
    return;
  }
  const text = mergeEnvText(existing ?? "# Credentials for bakelite (mode 0600). Values never go in the config.\n", values);
  writeSetupFile(paths.envFile, text, { mode: 0o600, overwrite: true });
  chmodSync(paths.envFile, 0o600);
  say(`credentials: wrote ${names} to ${paths.envFile}`);
}

/** macOS: a launchd agent for this user, with absolute paths; loading it is a separate yes. */
async function launchdStep(o: WizardOptions): Promise<void> {
  const home = homedir();
  const path = agentPath(home);
  if (!(await confirm({ message: `Write a launchd agent (${path}) that runs the daemon for you?`, default: true }))) return;
  const { binary, configPath, envFile } = unitPaths(o.paths, o.binary);
  // bakelite reads /etc/bakelite/bakelite.env by itself; one moved with BAKELITE_ETC_DIR must be named.
  const ownEnv = envFile !== SHIPPED_PATHS.envFile && existsSync(envFile) ? envFile : undefined;
  const text = agentPlist({ binary, configPath, envFile: ownEnv, logPath: join(home, "Library", "Logs", "bakelite.log") });
  const current = readIfExists(path);
  if (current !== null && current !== text && !(await confirm({ message: `${path} exists and differs. Replace it? (the old one is kept as .bak)`, default: false }))) return;
  writeSetupFile(path, text, { overwrite: true });
  say(`launchd: wrote ${path}`);
  if (!(await confirm({ message: "Load it now (launchctl bootstrap)?", default: true }))) return;
  const uid = process.getuid?.() ?? 0;
  for (const cmd of loadCommands(uid, path)) Bun.spawnSync(cmd, { stdout: "ignore", stderr: "ignore" });
  say(`launchd: loaded ${AGENT_LABEL}`);
}

async function serviceStep(o: WizardOptions, config: Config): Promise<Account | null> {
  const { paths } = o;
  if (process.platform === "darwin") await launchdStep(o);
  if (process.platform !== "linux") return null;
  if (!(await confirm({ message: "Set up the systemd service (units and a drop-in with User=/ReadWritePaths=)?", default: true }))) return null;
  const proposed = ownerOf(config.databases[0].path) ?? ownerOf(dirname(config.databases[0].path)) ?? "root";
  const user = await input({ message: "Run the service as user (the database file's owner can read and write it)", default: proposed });
  const account = lookupAccount(user, (await input({ message: "Group", default: lookupAccount(user).group })) || undefined);
  const text = dropInText({ user: account.user, group: account.group, readWritePaths: writablePaths(config) });
  say(`\n${text}`);
  const repoint = planPathsDropIns(paths.systemdDir, paths.realSystemd, unitPaths(paths, o.binary));
  const differs = SERVICES.some((u) => {
    const current = readIfExists(dropInPath(paths.systemdDir, u));
    return current !== null && current !== text;
  }) || repoint.some((p) => {
    const current = readIfExists(p.path);
    return current !== null && current !== p.text;
  });
  const question = differs ? `Replace the existing drop-ins for ${SERVICES.join(", ")}? (old ones kept as .bak)` : `Write this drop-in for ${SERVICES.join(", ")} under ${paths.systemdDir}?`;
  if (!(await confirm({ message: question, default: !differs }))) {
    say("systemd: drop-ins not written");
    return account;
  }
  setupUnits(paths, o.binary, true, say);
  for (const unit of SERVICES) writeSetupFile(dropInPath(paths.systemdDir, unit), text, { overwrite: true });
  say(`systemd: wrote drop-ins (User=${account.user}, Group=${account.group})`);
  return account;
}

/** Hands the local backup directories and the key to the service user, when asked. */
async function ownershipStep(config: Config, account: Account): Promise<void> {
  const db = config.databases[0];
  const dirs = db.backends.flatMap((b) => (b.type === "file" ? [b.path] : []));
  const key = db.encryption?.keyFile;
  const targets = [...dirs, ...(key && existsSync(key) ? [key] : [])];
  if (targets.length === 0) return;
  if (!(await confirm({ message: `Create/chown ${targets.join(", ")} to ${account.user}:${account.group} so the service can use them?`, default: true }))) return;
  for (const dir of dirs) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chownSync(dir, account.uid, account.gid);
  }
  if (key && existsSync(key)) chownSync(key, account.uid, account.gid);
  say(`ownership: ${targets.join(", ")} now owned by ${account.user}`);
}

/** Runs the wizard; returns doctor's reports for the databases it set up. */
export async function runWizard(o: WizardOptions): Promise<DatabaseDoctor[] | null> {
  try {
    say(`bakelite init: config ${o.paths.configPath}, credentials ${o.paths.envFile}. Every step asks first; Ctrl-C stops.\n`);
    const config = await writeConfigStep(o);
    const account = await serviceStep(o, config);
    if (account) await ownershipStep(config, account);
    const { doctorDatabase } = await import("../ops/doctor.ts");
    const reports: DatabaseDoctor[] = [];
    for (const db of config.databases) reports.push(await doctorDatabase(db));
    if (account) {
      for (const db of config.databases) for (const b of db.backends) if (b.type === "file" && existsSync(`${b.path}/${db.name}`)) chownSync(`${b.path}/${db.name}`, account.uid, account.gid);
    }
    if (account) {
      const live = systemdBooted() && o.paths.realSystemd;
      if (!reports.every((r) => r.ok)) say("systemd: not enabling bakelite.service: doctor found problems (below)");
      else if (!live) enableDaemon(o.paths, say);
      else if (await confirm({ message: "Enable and start bakelite now?", default: true })) enableDaemon(o.paths, say);
    }
    return reports;
  } catch (err) {
    if ((err as Error).name === "ExitPromptError") throw new BakeliteError("USAGE", "init cancelled (files already written are complete and kept)");
    throw err;
  }
}

/**
 * @module setup/unit-paths
 * Which executable, config and env file a systemd unit runs with. The
 * shipped units name /usr/local/bin/bakelite, /etc/bakelite/bakelite.toml and
 * /etc/bakelite/bakelite.env, but init writes wherever it is told (--config,
 * $BAKELITE_ETC_DIR) and runs from wherever it was installed. A unit left on
 * the shipped paths would start the daemon on another config than the one
 * doctor just checked (often install.sh's placeholder), so units init
 * installs are rendered with its paths, and a unit that is already installed
 * with other paths is re-pointed by drop-in lines, since init never edits an
 * installed unit. Pure text in, text out.
 */
import { basename } from "node:path";

export interface UnitPaths {
  binary: string;
  configPath: string;
  envFile: string;
}

/** The paths written in the shipped unit files (and the CLI's defaults). */
export const SHIPPED_PATHS: Readonly<UnitPaths> = {
  binary: "/usr/local/bin/bakelite",
  configPath: "/etc/bakelite/bakelite.toml",
  envFile: "/etc/bakelite/bakelite.env",
};

/**
 * One ExecStart= word: % (specifiers) escaped, and $ (variables) in an
 * argument (systemd does not expand them in the executable's path); quoted
 * when it holds a blank, quote, backslash or ;.
 */
export function execArg(arg: string, executable = false): string {
  const escaped = executable ? arg.replace(/%/g, "%%") : arg.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  return /[\s"'\\;]/.test(escaped) ? `"${escaped.replace(/["\\]/g, "\\$&")}"` : escaped;
}

/** An EnvironmentFile= path: systemd expands specifiers in it but takes it otherwise literally. */
function envFileArg(path: string): string {
  return path.replace(/%/g, "%%");
}

const CONFIG_ARG = /(\s--config)(?:=|\s+)("(?:[^"\\]|\\.)*"|'[^']*'|\S+)/;

/** An ExecStart= line running `configPath` instead of whatever --config it named (appended when it named none). */
function repointExec(line: string, configPath: string): string {
  const arg = ` --config ${execArg(configPath)}`;
  return CONFIG_ARG.test(line) ? line.replace(CONFIG_ARG, () => arg) : `${line}${arg}`;
}

/** An EnvironmentFile= line naming bakelite.env, moved to `envFile` (optional stays optional); other files are kept. */
function repointEnvFile(line: string, envFile: string): string {
  const m = /^EnvironmentFile=(-?)(.*)$/.exec(line);
  if (!m || basename(m[2].trim()) !== "bakelite.env") return line;
  return `EnvironmentFile=${m[1]}${envFileArg(envFile)}`;
}

/** The shipped unit text with its executable, config and env file replaced by `paths`. */
export function renderUnit(text: string, paths: UnitPaths): string {
  return text
    .split("\n")
    .map((line) => {
      if (line.startsWith(`ExecStart=${SHIPPED_PATHS.binary} `)) {
        return repointExec(`ExecStart=${execArg(paths.binary, true)} ${line.slice(`ExecStart=${SHIPPED_PATHS.binary} `.length)}`, paths.configPath);
      }
      if (line.startsWith("EnvironmentFile=")) return repointEnvFile(line, paths.envFile);
      return line;
    })
    .join("\n");
}

/** The [Service] settings of a unit file, one logical line each (continuations joined, comments dropped). */
function serviceSettings(text: string): string[] {
  const out: string[] = [];
  let section = "";
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = pending + raw.trim();
    pending = "";
    if (line.endsWith("\\")) {
      pending = `${line.slice(0, -1).trimEnd()} `;
      continue;
    }
    if (line.startsWith("[")) section = line;
    else if (section === "[Service]" && line !== "" && !line.startsWith("#") && !line.startsWith(";")) out.push(line);
  }
  return out;
}

/**
 * The drop-in lines that make an installed unit run `target`'s config and
 * env file: every ExecStart= (and EnvironmentFile=) reset and restated with
 * only those paths changed, so its executable and flags stay as installed.
 * Empty when the unit already runs them.
 */
export function repointLines(unitText: string, target: Pick<UnitPaths, "configPath" | "envFile">): string[] {
  const settings = serviceSettings(unitText);
  const execs = settings.filter((l) => l.startsWith("ExecStart="));
  const envs = settings.filter((l) => l.startsWith("EnvironmentFile="));
  const newExecs = execs.map((l) => repointExec(l, target.configPath));
  const newEnvs = envs.map((l) => repointEnvFile(l, target.envFile));
  const out: string[] = [];
  if (newExecs.some((l, i) => l !== execs[i])) out.push("ExecStart=", ...newExecs);
  if (newEnvs.some((l, i) => l !== envs[i])) out.push("EnvironmentFile=", ...newEnvs);
  return out;
}

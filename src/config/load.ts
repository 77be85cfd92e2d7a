/**
 * @module config/load
 * Finding, reading and parsing the config file, and choosing databases from
 * it. TOML syntax errors become one line with file:line:column; everything
 * after parsing is config/validate.ts.
 */
import { readFile } from "node:fs/promises";
import { parse, TomlError } from "smol-toml";
import { BakeliteError } from "../errors.ts";
import type { Config, DatabaseConfig } from "./types.ts";
import { closest } from "./check.ts";
import { validateConfig } from "./validate.ts";

type Env = Record<string, string | undefined>;

export const DEFAULT_CONFIG_PATH = "/etc/bakelite/bakelite.toml";

/** --config wins, then $BAKELITE_CONFIG, then /etc/bakelite/bakelite.toml. Empty values count as unset. */
export function resolveConfigPath(flag?: string, env: Env = process.env): string {
  if (flag) return flag;
  const fromEnv = env.BAKELITE_CONFIG;
  return fromEnv ? fromEnv : DEFAULT_CONFIG_PATH;
}

/**
 * smol-toml's message is several lines (with a code excerpt); keep the first,
 * without its generic preamble. The parser's error is not kept as the cause:
 * its message quotes the lines around the mistake, and --verbose prints
 * causes, so a passphrase on a neighbouring line would reach the terminal
 * and the logs. Line and column say where to look.
 */
function syntaxError(err: TomlError, source: string): BakeliteError {
  const first = err.message.split("\n")[0].replace(/^Invalid TOML document:\s*/, "");
  return new BakeliteError("CONFIG_INVALID", `${source}:${err.line}:${err.column}: TOML syntax error: ${first}`);
}

/**
 * Parses and validates config text. Pure apart from reading `env` (for the
 * encryption overrides); `source` names the file in messages and anchors
 * relative paths.
 */
export function parseConfig(text: string, source: string, env: Env = process.env): Config {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) throw syntaxError(err, source);
    throw err;
  }
  return validateConfig(doc, source, env);
}

/** Reads and validates the config file at `path`. */
export async function loadConfig(path: string, options: { env?: Env } = {}): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new BakeliteError("CONFIG_NOT_FOUND", `config file not found: ${path}`, {
        cause: err,
        hint: "Try: --config <file>, set BAKELITE_CONFIG, or run `bakelite init` to write one.",
      });
    }
    const why = code === "EACCES" ? "permission denied" : code === "EISDIR" ? "it is a directory" : (err as Error).message;
    throw new BakeliteError("CONFIG_INVALID", `cannot read config file ${path}: ${why}`, {
      cause: err,
      hint: code === "EACCES" ? "Run as a user that can read it (often root or the service user)." : undefined,
    });
  }
  return parseConfig(text, path, options.env ?? process.env);
}

/**
 * The databases `names` asks for, in that order (duplicates dropped), or all
 * of them when `names` is empty or absent.
 */
export function selectDatabases(config: Config, names?: string[]): DatabaseConfig[] {
  if (!names || names.length === 0) return config.databases;
  const picked: DatabaseConfig[] = [];
  for (const name of new Set(names)) {
    const db = config.databases.find((d) => d.name === name);
    if (!db) {
      const known = config.databases.map((d) => d.name);
      const guess = closest(name, known);
      throw new BakeliteError("UNKNOWN_DATABASE", `unknown database "${name}"; ${config.source} defines: ${known.join(", ")}`,
        guess ? { hint: `Did you mean --db ${guess}?` } : {});
    }
    picked.push(db);
  }
  return picked;
}

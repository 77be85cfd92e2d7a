/**
 * @module cli/argv
 * Strict command-line parsing. citty describes the commands and renders their
 * help, but its parser accepts any flag silently; a backup tool that ignores a
 * mistyped `--if-db-not-exist` would restore over a live database, so every
 * token is checked here first and anything unknown is a usage error.
 *
 * Two stages: the global flags are taken from anywhere on the line (before or
 * after the command); the rest is then checked against the command's own
 * flags once the command is known.
 */
import type { ArgsDef } from "citty";
import { closest } from "../config/check.ts";
import { BakeliteError } from "../errors.ts";

export interface GlobalFlags {
  config?: string;
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  help: boolean;
  version: boolean;
}

export interface SplitArgv {
  /** The first bare word, if any. */
  command?: string;
  globals: GlobalFlags;
  /** Everything after the command that is not a global flag, in order. */
  rest: string[];
  /**
   * The first usage error on the line, returned rather than thrown: `--help`
   * anywhere on the line wins over it, so a user can always read the help.
   */
  error?: BakeliteError;
}

/** The global flags, for help output and for "did you mean" suggestions. */
export const GLOBAL_FLAGS: ReadonlyArray<{ flag: string; value?: string; description: string }> = [
  { flag: "config", value: "path", description: "Config file (default: $BAKELITE_CONFIG, then /etc/bakelite/bakelite.toml)" },
  { flag: "json", description: "Machine-readable output on stdout (read commands)" },
  { flag: "verbose", description: "Debug logs and stack traces on errors" },
  { flag: "quiet", description: "Only warnings and errors in the log; no progress bar" },
  { flag: "help", description: "Show help (also -h)" },
  { flag: "version", description: "Print the version" },
];

type BooleanGlobal = "json" | "verbose" | "quiet" | "help" | "version";
const BOOLEAN_GLOBALS = new Set<string>(["json", "verbose", "quiet", "help", "version"] satisfies BooleanGlobal[]);

/** `--txid -1`, `--max-lag -5m`: a value, so that the flag's own check can say what is wrong with it. */
const NEGATIVE = /^-\d/;

function usage(message: string, hint?: string): BakeliteError {
  return new BakeliteError("USAGE", message, hint ? { hint } : {});
}

function needsValue(flag: string, valueHint: string): BakeliteError {
  return usage(`--${flag} needs a value`, `Try: --${flag} <${valueHint}>`);
}

function isFlag(token: string): boolean {
  return token.startsWith("-") && token.length > 1 && !NEGATIVE.test(token);
}

/** Splits `--name=value` into its parts; a bare `--name` has no value. */
function splitFlag(token: string): { name: string; inline?: string } {
  const body = token.slice(2);
  const eq = body.indexOf("=");
  return eq < 0 ? { name: body } : { name: body.slice(0, eq), inline: body.slice(eq + 1) };
}

/**
 * A flag's value (after `=`, else the next token unless that is missing or is
 * itself a flag) and the index of the last token used. An empty value counts
 * as none: `--output ""` must not quietly mean the current directory.
 */
function takeValue(argv: string[], i: number, inline: string | undefined): [string | undefined, number] {
  if (inline !== undefined) return [inline || undefined, i];
  const next = argv[i + 1];
  if (next === undefined || isFlag(next)) return [undefined, i];
  return [next || undefined, i + 1];
}

export function splitGlobals(argv: string[]): SplitArgv {
  const globals: GlobalFlags = { json: false, verbose: false, quiet: false, help: false, version: false };
  const rest: string[] = [];
  const seen = new Set<string>();
  let command: string | undefined;
  let error: BakeliteError | undefined;
  // Scanning goes on past a mistake: a --help later on the line still counts.
  const fail = (err: BakeliteError) => void (error ??= err);
  // Only a command flag without `=` can own a following "-1" (the command's parser decides whether it takes one).
  let valueMayFollow = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    const afterCommandFlag = valueMayFollow;
    valueMayFollow = false;
    if (token === "--") {
      const extra = argv[i + 1];
      if (extra !== undefined) fail(usage(`unexpected argument ${JSON.stringify(extra)}`, "No bakelite command takes positional arguments."));
      break;
    }
    if (token === "-h" || token.startsWith("--")) {
      const { name, inline } = token === "-h" ? { name: "help", inline: undefined } : splitFlag(token);
      if (name === "config" || BOOLEAN_GLOBALS.has(name)) {
        if (seen.has(name)) fail(usage(`--${name} was given more than once`));
        seen.add(name);
        if (name === "config") {
          let value: string | undefined;
          [value, i] = takeValue(argv, i, inline);
          if (value === undefined) fail(needsValue(name, "path"));
          else globals.config = value;
        } else if (inline !== undefined) {
          fail(usage(`--${name} takes no value`));
        } else {
          globals[name as BooleanGlobal] = true;
        }
        continue;
      }
      if (command === undefined) {
        fail(usage(`unknown flag ${token.split("=")[0]} before the command`, "Command flags go after the command name, e.g. bakelite restore --db app."));
        continue;
      }
      rest.push(token);
      valueMayFollow = inline === undefined;
      continue;
    }
    if (token.startsWith("-") && token.length > 1 && !(afterCommandFlag && NEGATIVE.test(token))) {
      fail(usage(`unknown flag ${token}`, "bakelite flags are long flags such as --db; -h is the only short one."));
      continue;
    }
    if (command === undefined) command = token;
    else rest.push(token);
  }
  if (globals.verbose && globals.quiet) fail(usage("--verbose and --quiet cannot be used together"));
  return { command, globals, rest, error };
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandFlagSpec {
  /** The command's name, for messages. */
  name: string;
  args: ArgsDef;
  /** Flags that may be given more than once; their value is a string[]. */
  repeatable?: readonly string[];
}

/** Checks the command's own flags and returns their values (booleans default to false). */
export function parseCommandFlags(rest: string[], spec: CommandFlagSpec): FlagValues {
  const values: FlagValues = {};
  const known = Object.keys(spec.args);
  const repeatable = new Set(spec.repeatable ?? []);
  const seeHelp = `Run bakelite ${spec.name} --help to see its flags.`;
  for (const [name, def] of Object.entries(spec.args)) {
    if (def.type === "boolean") values[name] = false;
    else if (repeatable.has(name)) values[name] = [];
  }
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i];
    if (!token.startsWith("--")) {
      throw usage(`unexpected argument ${JSON.stringify(token)} for bakelite ${spec.name}`, seeHelp);
    }
    const { name, inline } = splitFlag(token);
    const def = spec.args[name];
    if (!def || def.type === "positional") {
      const guess = closest(name, [...known, ...GLOBAL_FLAGS.map((g) => g.flag)]);
      throw usage(`unknown flag --${name} for bakelite ${spec.name}`, guess ? `Did you mean --${guess}? ${seeHelp}` : seeHelp);
    }
    if (def.type === "boolean") {
      if (inline !== undefined) throw usage(`--${name} takes no value`);
      values[name] = true;
      continue;
    }
    let value: string | undefined;
    [value, i] = takeValue(rest, i, inline);
    if (value === undefined) throw needsValue(name, def.valueHint ?? "value");
    if (def.type === "enum" && def.options && !def.options.includes(value)) {
      throw usage(`--${name} ${JSON.stringify(value)} is not one of ${def.options.join(", ")}`);
    }
    if (repeatable.has(name)) {
      (values[name] as string[]).push(value);
    } else if (values[name] !== undefined) {
      throw usage(`--${name} was given more than once`);
    } else {
      values[name] = value;
    }
  }
  for (const [name, def] of Object.entries(spec.args)) {
    if (def.required && (values[name] === undefined || (Array.isArray(values[name]) && values[name].length === 0))) {
      throw usage(`bakelite ${spec.name} needs --${name}`, seeHelp);
    }
  }
  return values;
}

/** "unknown command" with a spelling suggestion. */
export function unknownCommand(name: string, commands: readonly string[]): BakeliteError {
  const guess = closest(name, commands);
  const list = "Run bakelite --help to see the commands.";
  return usage(`unknown command ${JSON.stringify(name)}`, guess ? `Did you mean bakelite ${guess}? ${list}` : list);
}

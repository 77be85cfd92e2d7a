/**
 * @module config/check
 * The vocabulary of config validation: where a value sits (for messages that
 * name file, table and key), what kind of value a key takes, and one reader
 * that turns a raw TOML value of that kind into its validated form.
 * config/schema.ts declares keys with these kinds; config/validate.ts walks
 * the tables.
 */
import { isAbsolute, resolve } from "node:path";
import { BakeliteError } from "../errors.ts";
import { formatDuration, parseDuration, parseSize, showValue } from "./units.ts";

/**
 * The longest duration accepted for a key that arms a timer (a debounce, a
 * timeout): 24 days. Timers in Bun and Node fire at once for delays above
 * 2^31-1 ms (about 24.8 days), so a longer value would turn a wait into a
 * busy loop or a timeout into an instant failure, inside third-party clients
 * too. Intervals compared against the clock (snapshot_interval, retention)
 * have no such limit.
 */
export const MAX_TIMER_MS = 24 * 86_400_000;

export type Table = Record<string, unknown>;

export type Kind =
  /** `max`: the longest accepted value, ms (durations that arm a timer: see MAX_TIMER_MS). */
  | { type: "duration"; positive?: boolean; max?: number }
  | { type: "durations" }
  | { type: "size"; positive?: boolean }
  | { type: "integer"; min: number; max?: number }
  | { type: "boolean" }
  | { type: "string"; allowEmpty?: boolean }
  | { type: "enum"; values: readonly string[] }
  /** A local filesystem path; relative ones are made absolute against the config file's directory. */
  | { type: "path" }
  | { type: "addr" }
  | { type: "env-name" }
  | { type: "url" }
  | { type: "custom"; label: string; parse: (value: string, at: string) => string };

/** Where a value sits: file plus table, e.g. `bakelite.toml: [[database]] "app"`. */
export class Where {
  constructor(
    readonly file: string,
    readonly baseDir: string,
    readonly table?: string,
  ) {}

  get label(): string {
    return this.table ? `${this.file}: ${this.table}` : this.file;
  }

  /** The prefix for a message about one key: `bakelite.toml: [defaults]: debounce`. */
  key(key: string): string {
    return `${this.label}: ${key}`;
  }

  fail(message: string, hint?: string): BakeliteError {
    return new BakeliteError("CONFIG_INVALID", `${this.label}: ${message}`, hint ? { hint } : {});
  }

  /** A nested table; `table` is appended to this one's label. */
  nest(table: string): Where {
    return new Where(this.file, this.baseDir, this.table ? `${this.table} ${table}` : table);
  }
}

export function typeName(value: unknown): string {
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "float";
  if (typeof value === "string" || typeof value === "boolean") return typeof value;
  if (value instanceof Date) return "datetime";
  if (Array.isArray(value)) return "array";
  return "table";
}

export function isTable(value: unknown): value is Table {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Date);
}

/** Edit distance, for "did you mean" on misspelt keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row[j];
      row[j] = next;
    }
  }
  return row[b.length];
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestScore) [best, bestScore] = [c, d];
  }
  return best;
}

/**
 * Rejects keys not in `allowed`. `elsewhere` maps keys that are valid in some
 * other table to a note saying where they belong ("it belongs in [daemon]"),
 * which beats a spelling guess.
 */
export function checkKeys(table: Table, allowed: readonly string[], where: Where, elsewhere: Record<string, string> = {}): void {
  for (const key of Object.keys(table)) {
    if (allowed.includes(key)) continue;
    const home = elsewhere[key];
    const guess = home ? undefined : closest(key, allowed);
    const tail = home ? ` (${home})` : guess ? ` (did you mean "${guess}"?)` : "";
    throw where.fail(`unknown ${isTable(table[key]) ? "table" : "key"} "${key}"${tail}`);
  }
}

function wrongType(where: Where, key: string, value: unknown, expected: string, secret: boolean): BakeliteError {
  const shown = secret ? typeName(value) : `${typeName(value)} ${showValue(value)}`;
  return where.fail(`${key}: expected ${expected}, got ${shown}`);
}

/** Human name of a kind, used in messages and in the generated reference. */
export function kindLabel(kind: Kind): string {
  switch (kind.type) {
    case "durations": return "list of durations";
    case "integer": return "integer";
    case "enum": return kind.values.map((v) => `"${v}"`).join(" | ");
    case "addr": return '"host:port"';
    case "env-name": return "variable name";
    case "url": return "URL";
    case "custom": return kind.label;
    default: return kind.type;
  }
}

/** Validates one raw TOML value against its kind and returns the value bakelite uses. */
export function readValue(kind: Kind, value: unknown, where: Where, key: string, secret = false): unknown {
  const at = where.key(key);
  switch (kind.type) {
    case "duration": {
      const ms = parseDuration(value, at);
      if (kind.positive && ms === 0) throw where.fail(`${key} = ${showValue(value)}: must be longer than zero`);
      if (kind.max !== undefined && ms > kind.max) {
        throw where.fail(`${key} = ${showValue(value)}: must be at most "${formatDuration(kind.max)}"`, "It sets a timer, and longer timers are not supported.");
      }
      return ms;
    }
    case "size": {
      const bytes = parseSize(value, at);
      if (kind.positive && bytes === 0) throw where.fail(`${key} = ${showValue(value)}: must be larger than zero`);
      return bytes;
    }
    case "durations": {
      if (!Array.isArray(value)) throw wrongType(where, key, value, 'a list of durations like ["30s", "5m"]', secret);
      const list = value.map((v, i) => parseDuration(v, `${at}[${i}]`));
      list.forEach((ms, i) => {
        if (ms === 0) throw where.fail(`${key} = ${showValue(value)}: every window must be longer than zero`);
        if (i > 0 && ms <= list[i - 1]) throw where.fail(`${key} = ${showValue(value)}: windows must strictly increase`);
      });
      return list;
    }
    case "integer": {
      if (typeof value !== "number" || !Number.isInteger(value)) throw wrongType(where, key, value, "a whole number", secret);
      if (value < kind.min) {
        throw where.fail(`${key} = ${value}: ${kind.min === 0 ? "must not be negative" : `must be at least ${kind.min}`}`);
      }
      if (kind.max !== undefined && value > kind.max) throw where.fail(`${key} = ${value}: must be at most ${kind.max}`);
      return value;
    }
    case "boolean":
      if (typeof value !== "boolean") throw wrongType(where, key, value, "true or false", secret);
      return value;
    case "enum":
      if (typeof value !== "string") throw wrongType(where, key, value, `one of ${kindLabel(kind)}`, secret);
      if (!kind.values.includes(value)) throw where.fail(`${key} = ${showValue(value)}: expected one of ${kindLabel(kind)}`);
      return value;
    default:
      break;
  }
  if (typeof value !== "string") throw wrongType(where, key, value, "a string", secret);
  if (value.trim() === "" && !(kind.type === "string" && kind.allowEmpty)) throw where.fail(`${key} is empty`);
  switch (kind.type) {
    case "path":
      // Relative paths follow the config file, not the working directory, so
      // the daemon (cwd /) and an interactive `bakelite restore` agree.
      return isAbsolute(value) ? resolve(value) : resolve(where.baseDir, value);
    case "addr":
      return checkAddr(value, where, key);
    case "env-name":
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) throw where.fail(`${key} = ${showValue(value)}: not a valid environment variable name`);
      return value;
    case "url":
      if (!/^https?:\/\/[^\s/]+/.test(value)) {
        throw where.fail(`${key} = ${showValue(value)}: expected an http:// or https:// URL`);
      }
      return value.replace(/\/+$/, "");
    case "custom":
      return kind.parse(value, at);
    default:
      return value;
  }
}

function checkAddr(value: string, where: Where, key: string): string {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) {
    throw where.fail(`${key} = ${showValue(value)}: expected "host:port", e.g. "127.0.0.1:9090"`);
  }
  return value;
}

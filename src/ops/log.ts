/**
 * @module ops/log
 * The process-wide logger. Level comes from BAKELITE_LOG (silent, error, warn,
 * info, debug, trace; filters like "info,bakelite=debug" too) and can be raised by
 * --verbose or lowered by --quiet. Secrets never reach it: callers log names,
 * never keys, passphrases or credentials.
 */
import { createConsola, type ConsolaInstance } from "consola";

const levels: Record<string, number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 };

/**
 * The level BAKELITE_LOG asks for. It is a tracing-style filter: comma-separated
 * entries, each a level ("info") or target=level ("bakelite=debug"). An entry
 * for the target "bakelite" wins; otherwise the last bare level counts. Entries
 * for other targets ("aws_sdk=warn") and unknown levels are ignored, and with
 * nothing usable the level is info.
 */
export function levelFromEnv(value = process.env.BAKELITE_LOG): number {
  let bare: number | undefined;
  let ours: number | undefined;
  for (const entry of (value ?? "").split(",")) {
    const [first, second] = entry.split("=").map((part) => part.trim().toLowerCase());
    const name = second ?? first;
    const level = Object.hasOwn(levels, name) ? levels[name] : undefined;
    if (level === undefined) continue;
    if (second === undefined) bare = level;
    else if (first === "bakelite") ours = level;
  }
  return ours ?? bare ?? levels.info;
}

export const log: ConsolaInstance = createConsola({
  level: levelFromEnv(),
  stdout: process.stderr,
  stderr: process.stderr,
  formatOptions: { date: true, colors: Boolean(process.stderr.isTTY) && !process.env.NO_COLOR },
});

export function setLogLevel(level: keyof typeof levels): void {
  log.level = levels[level];
}

/**
 * @module tests/helpers/scratch
 * Directories that live for the whole `bun test` run (a scratch HOME shared by
 * every CLI test, say), removed once at its end by tests/setup.ts. A
 * `process.on("exit")` handler never runs under `bun test`, so each run used
 * to leave these behind in the temp directory.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made = new Map<string, string>();

/** The run's directory for `prefix`, made on first use (and again if something removed it). */
export function runScratchDir(prefix: string): string {
  let dir = made.get(prefix);
  if (!dir || !existsSync(dir)) {
    dir = mkdtempSync(join(tmpdir(), prefix));
    made.set(prefix, dir);
  }
  return dir;
}

/** Removes every directory runScratchDir made (tests/setup.ts, after the last test). */
export function removeRunScratchDirs(): void {
  for (const dir of made.values()) rmSync(dir, { recursive: true, force: true });
  made.clear();
}

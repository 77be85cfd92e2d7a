/**
 * @module bench/scenarios/restore
 * Measurements 2 and 3: restore throughput against `cp` of the compressed
 * file plus `zstd -d` into a new file, and the restore's peak RSS. Each
 * restore runs in its own process (bench/restore-child.ts) so the RSS is
 * the restore's alone; its throughput counts the time up to the end of the
 * re-read proof, without PRAGMA integrity_check (and the publish rename),
 * which the child times separately.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { PAGE_SIZE } from "../generate.ts";
import { runJson, settleDisk, timeCommand } from "../procs.ts";
import type { RestoreRun } from "../restore-child.ts";

export interface RestoreResult {
  dbBytes: number;
  /** cp of the .zst file + zstd -d of the copy, ms. */
  baselineMs: number;
  run: Required<RestoreRun>;
}

/** One restore of `name` from `replica` into a scratch file in a child process; the output is deleted afterwards. */
export async function restoreOnce(work: string, replica: string, name: string): Promise<Required<RestoreRun>> {
  const output = join(work, `restored-${name}.db`);
  try {
    return await runJson<Required<RestoreRun>>("restore-child.ts", [replica, name, output]);
  } finally {
    rmSync(output, { force: true });
  }
}

/** RSS of a Bun process that has loaded the restore code and done nothing. */
export async function idleRss(): Promise<number> {
  return (await runJson<RestoreRun>("restore-child.ts", ["--idle"])).peakRssBytes;
}

/**
 * Best of `repeats` for the baseline and for the restore (by its time without
 * integrity_check); the peak RSS reported is the highest of all repeats.
 */
export async function benchRestore(work: string, replica: string, name: string, zstdPath: string, dbBytes: number, repeats: number): Promise<RestoreResult> {
  const copy = join(work, "baseline-copy.db.zst");
  const out = join(work, "baseline-restored.db");
  const baselines: number[] = [];
  const runs: Array<Required<RestoreRun>> = [];
  for (let r = 0; r < repeats; r++) {
    try {
      await settleDisk();
      baselines.push((await timeCommand(["cp", zstdPath, copy])).wallMs + (await timeCommand(["zstd", "-d", "-q", copy, "-o", out])).wallMs);
    } finally {
      rmSync(copy, { force: true });
      rmSync(out, { force: true });
    }
    await settleDisk();
    const run = await restoreOnce(work, replica, name);
    if (run.pages * PAGE_SIZE < dbBytes * 0.9) throw new Error(`restore produced ${run.pages} pages for a ${dbBytes}-byte database`);
    runs.push(run);
  }
  const fastest = runs.reduce((a, b) => (b.withoutIntegrityMs < a.withoutIntegrityMs ? b : a));
  const peakRssBytes = Math.max(...runs.map((r) => r.peakRssBytes));
  return { dbBytes, baselineMs: Math.min(...baselines), run: { ...fastest, peakRssBytes } };
}

/**
 * @module bench/restore-child
 * `bun bench/restore-child.ts <replica-dir> <db> <output>`: one restore in a
 * process of its own, so its peak RSS is the restore's and nothing else's.
 * Prints one JSON line (RestoreRun). With `--idle` instead of arguments it
 * loads the same modules, restores nothing and reports its RSS: the floor a
 * Bun process with this code loaded starts from.
 *
 * Phase times come from restoreDatabase's onProgress events: the first
 * "apply" event marks the end of listing and planning, the last "apply" the
 * end of writing pages, the first "verify" the end of the fsync, the last
 * "verify" the end of re-reading the file. What follows is integrity_check
 * and the atomic publish; integrity_check is then timed once more on its own
 * so the publish's share is known too.
 */
import { readFileSync } from "node:fs";
import { FileBackend } from "../src/backends/file.ts";
import { tuneAllocator } from "../src/cli/allocator.ts";
import { integrityCheck } from "../src/replica/proof.ts";
import { restoreDatabase, type RestoreProgress } from "../src/replica/restore.ts";

// As `bakelite restore` runs: restarted once with the allocator tuned (src/cli/allocator.ts).
if (import.meta.main) tuneAllocator("restore");

export interface RestoreRun {
  /** Peak resident set size of this process (VmHWM), bytes. */
  peakRssBytes: number;
  pages?: number;
  downloaded?: number;
  /** Phase durations, ms. */
  phases?: { listPlan: number; apply: number; fsync: number; reread: number; integrityAndPublish: number };
  /** Restore time up to and including the re-read, i.e. without integrity_check and publish (ms). */
  withoutIntegrityMs?: number;
  totalMs?: number;
  /** integrity_check alone, timed again after the restore (ms). */
  integrityMs?: number;
}

/** VmHWM from /proc (Linux); falls back to the runtime's own maximum RSS figure. */
export function peakRss(): number {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

async function main(): Promise<RestoreRun> {
  const args = process.argv.slice(2);
  if (args[0] === "--idle") return { peakRssBytes: peakRss() };
  const [replica, db, output] = args;
  if (!output) throw new Error("usage: bun bench/restore-child.ts <replica-dir> <db> <output> | --idle");
  const marks: Record<string, number> = {};
  const onProgress = (p: RestoreProgress) => {
    const now = performance.now();
    if (p.phase === "apply") {
      marks.applyFirst ??= now;
      if (p.done === p.total) marks.applyLast = now;
    } else if (p.phase === "verify") {
      marks.verifyFirst ??= now;
      if (p.done === p.total) marks.verifyLast = now;
    }
  };
  const started = performance.now();
  const summary = await restoreDatabase({ backend: new FileBackend(replica), db, output, target: { kind: "latest" }, onProgress });
  const ended = performance.now();
  const peakRssBytes = peakRss();
  for (const m of ["applyFirst", "applyLast", "verifyFirst", "verifyLast"]) {
    if (marks[m] === undefined) throw new Error(`restore reported no ${m} progress event; cannot split its phases`);
  }
  const t0 = performance.now();
  integrityCheck(output);
  const integrityMs = performance.now() - t0;
  return {
    peakRssBytes,
    pages: summary.pages,
    downloaded: summary.downloaded,
    phases: {
      listPlan: marks.applyFirst - started,
      apply: marks.applyLast - marks.applyFirst,
      fsync: marks.verifyFirst - marks.applyLast,
      reread: marks.verifyLast - marks.verifyFirst,
      integrityAndPublish: ended - marks.verifyLast,
    },
    withoutIntegrityMs: marks.verifyLast - started,
    totalMs: ended - started,
    integrityMs,
  };
}

if (import.meta.main) {
  try {
    console.log(JSON.stringify(await main()));
  } catch (err) {
    console.error(`restore-child: ${(err as Error).message}`);
    process.exit(1);
  }
}

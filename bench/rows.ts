/**
 * @module bench/rows
 * Turns raw measurements into the result table and the detail lines under
 * it. The targets live here, each with the reason it is set where it is, so
 * the table and docs/performance.md cannot disagree about them.
 */
import { formatBytes } from "../src/config/units.ts";
import type { CommitResult, CommitRound, CommitSide } from "./scenarios/commit.ts";
import type { LagResult } from "./scenarios/lag.ts";
import type { RestoreResult } from "./scenarios/restore.ts";
import type { SnapshotResult } from "./scenarios/snapshot.ts";
import { mbPerSec, megabytes, type Machine, type ResultRow } from "./report.ts";

export const TARGETS = {
  /** Snapshot MB/s over `zstd -1 -T1` MB/s. */
  snapshotRatio: 1.5,
  /** Restore MB/s (without integrity_check) over cp + `zstd -d` MB/s. */
  restoreRatio: 0.7,
  /** Peak RSS of a restore, bytes (decimal MB, as `ps` and `time -v` users read it). */
  restoreRssBytes: 150e6,
  /**
   * "Flat in database size": peak RSS at the full size over peak RSS at a
   * tenth of it. Anything proportional to the size would show as ~10; the
   * database checksum's 8 bytes per page (2 MiB per GiB) and allocator noise
   * stay well inside 1.25.
   */
  restoreRssGrowth: 1.25,
  /** Writer commits/s with the daemon over without. */
  commitRatio: 0.95,
  /** p99 lag may exceed the debounce by this much. */
  lagSlackMs: 100,
};

export interface BenchResults {
  options: { sizeBytes: number; only: string[] };
  machine: Machine;
  generated?: { bytes: number; rows: { users: number; events: number; documents: number } };
  snapshot?: SnapshotResult;
  restore?: RestoreResult;
  rss?: { smallBytes: number; smallPeakRssBytes: number; idleRssBytes: number };
  commit?: CommitResult;
  lag?: LagResult;
  elapsedMs?: number;
  /** 1-minute load average sampled at every step: other processes competing for the cores. */
  load?: { min: number; max: number };
}

const fixed = (n: number, digits = 0) => n.toFixed(digits);

export function rowsFor(r: BenchResults): { rows: ResultRow[]; details: string[] } {
  const rows: ResultRow[] = [];
  const details: string[] = [];
  const only = new Set(r.options.only);
  const size = r.generated ? formatBytes(r.generated.bytes) : formatBytes(r.options.sizeBytes);
  if (r.generated && r.snapshot) {
    const s = r.snapshot;
    details.push(`database: ${size}, ${r.generated.rows.users} users, ${r.generated.rows.events} events, ${r.generated.rows.documents} documents; zstd -1 output ${fixed((s.zstdBytes / s.dbBytes) * 100, 1)}% of it, snapshot object ${fixed((s.objectBytes / s.dbBytes) * 100, 1)}%`);
  }
  if (r.snapshot && only.has("snapshot")) {
    const s = r.snapshot;
    const ratio = s.zstdMs / s.snapshotMs;
    rows.push({ name: `snapshot ${size}, ${s.workers} workers`, value: mbPerSec(s.dbBytes, s.snapshotMs), baseline: `zstd -1 -T1 ${mbPerSec(s.dbBytes, s.zstdMs)}`, ratio, target: `ratio >= ${TARGETS.snapshotRatio}`, pass: ratio >= TARGETS.snapshotRatio });
    rows.push({ name: `snapshot ${size}, default (1 worker)`, value: mbPerSec(s.dbBytes, s.defaultMs), baseline: `zstd -1 -T1 ${mbPerSec(s.dbBytes, s.zstdMs)}`, ratio: s.zstdMs / s.defaultMs, target: "-", pass: null });
    rows.push({ name: `snapshot ${size} CPU time, ${s.workers} workers`, value: `${fixed(s.snapshotCpuMs / 1000, 2)} s`, baseline: `zstd ${fixed(s.zstdCpuMs / 1000, 2)} s`, ratio: s.zstdCpuMs / s.snapshotCpuMs, target: "-", pass: null });
    rows.push({ name: `snapshot ${size} vs cp`, value: mbPerSec(s.dbBytes, s.snapshotMs), baseline: `cp ${mbPerSec(s.dbBytes, s.cpMs)}`, ratio: s.cpMs / s.snapshotMs, target: "-", pass: null });
    details.push(`snapshot: ${fixed(s.snapshotMs)} ms from daemon spawn to durable cursor with snapshot_workers = ${s.workers} (daemon's own log: ${s.snapshotLoggedMs} ms streaming), ${fixed(s.defaultMs)} ms with the default (CPU ${fixed(s.defaultCpuMs / 1000, 2)} s); zstd ${fixed(s.zstdMs)} ms; cp ${fixed(s.cpMs)} ms`);
  }
  if (r.restore && only.has("restore")) {
    const x = r.restore;
    const ratio = x.baselineMs / x.run.withoutIntegrityMs;
    rows.push({ name: `restore ${size} (no integrity_check)`, value: mbPerSec(x.dbBytes, x.run.withoutIntegrityMs), baseline: `cp+zstd -d ${mbPerSec(x.dbBytes, x.baselineMs)}`, ratio, target: `ratio >= ${TARGETS.restoreRatio}`, pass: ratio >= TARGETS.restoreRatio });
    rows.push({ name: `restore ${size} (total)`, value: mbPerSec(x.dbBytes, x.run.totalMs), baseline: `cp+zstd -d ${mbPerSec(x.dbBytes, x.baselineMs)}`, ratio: x.baselineMs / x.run.totalMs, target: "-", pass: null });
    const p = x.run.phases;
    details.push(`restore phases (ms): list+plan ${fixed(p.listPlan)}, download+verify+write ${fixed(p.apply)}, fsync ${fixed(p.fsync)}, re-read proof ${fixed(p.reread)}, integrity_check+publish ${fixed(p.integrityAndPublish)} (integrity_check alone ${fixed(x.run.integrityMs)}); baseline ${fixed(x.baselineMs)}`);
  }
  if (r.restore && r.rss && only.has("rss")) {
    const big = r.restore.run.peakRssBytes;
    const ratio = big / r.rss.smallPeakRssBytes;
    const pass = big <= TARGETS.restoreRssBytes && ratio <= TARGETS.restoreRssGrowth;
    rows.push({ name: `restore peak RSS ${size}`, value: megabytes(big), baseline: `${formatBytes(r.rss.smallBytes)}: ${megabytes(r.rss.smallPeakRssBytes)}`, ratio, target: `<= ${TARGETS.restoreRssBytes / 1e6} MB, ratio <= ${TARGETS.restoreRssGrowth}`, pass });
    details.push(`restore peak RSS (VmHWM of the restoring process): ${megabytes(big)} at ${size}, ${megabytes(r.rss.smallPeakRssBytes)} at ${formatBytes(r.rss.smallBytes)}; the same process with the code loaded and no restore: ${megabytes(r.rss.idleRssBytes)}`);
  }
  if (r.commit) {
    const c = r.commit;
    const ratio = c.withPerSec / c.withoutPerSec;
    rows.push({ name: "writer commits/s with daemon", value: `${fixed(c.withPerSec)}/s`, baseline: `without ${fixed(c.withoutPerSec)}/s`, ratio, target: `ratio >= ${TARGETS.commitRatio}`, pass: ratio >= TARGETS.commitRatio });
    rows.push({ name: "writer commits/s, moving reader only", value: `${fixed(c.readerPerSec)}/s`, baseline: `without ${fixed(c.withoutPerSec)}/s`, ratio: c.readerPerSec / c.withoutPerSec, target: "-", pass: null });
    rows.push({ name: "writer commits/s, daemon vs moving reader", value: `${fixed(c.withPerSec)}/s`, baseline: `reader ${fixed(c.readerPerSec)}/s`, ratio: c.withPerSec / c.readerPerSec, target: "-", pass: null });
    const per = (side: CommitSide, f: (x: CommitRound) => string) => c.rounds.filter((x) => x.side === side).map(f).join(", ");
    const rate = (x: CommitRound) => fixed((x.commits / x.elapsedMs) * 1000);
    const each = (f: (x: CommitRound) => string) => `without ${per("without", f)}; with ${per("daemon", f)}; moving reader ${per("reader", f)}`;
    details.push(`commit rounds (commits/s): ${each(rate)}`);
    details.push(`median commit (us): ${each((x) => fixed(x.p50Us))}`);
    details.push(`longest commit (ms): ${each((x) => fixed(x.maxMs))}`);
  }
  if (r.lag) {
    const l = r.lag;
    const limit = l.debounceMs + TARGETS.lagSlackMs;
    rows.push({ name: "lag p99 @1000 commits/s", value: `${fixed(l.p99Ms)} ms`, baseline: `debounce ${l.debounceMs} ms`, ratio: null, target: `<= ${limit} ms`, pass: l.p99Ms <= limit });
    rows.push({ name: "lag p50 @1000 commits/s", value: `${fixed(l.p50Ms)} ms`, baseline: `debounce ${l.debounceMs} ms`, ratio: null, target: "-", pass: null });
    details.push(`lag: ${l.commits} commits in ${l.seconds} s (achieved ${fixed(l.achievedPerSec)}/s, ${l.late} started over 1 ms late), max ${fixed(l.maxMs)} ms, ${l.changesets} cursor advances, ${l.daemonCommits} daemon checkpoints; cursor poll gap p99 ${fixed(l.pollGapP99Ms, 1)} ms (the resolution)`);
  }
  if (r.elapsedMs !== undefined) details.push(`benchmark wall time: ${fixed(r.elapsedMs / 1000)} s`);
  if (r.load) {
    const busy = r.load.max > r.machine.cores * 0.75;
    details.push(`1-minute load average during the run: ${fixed(r.load.min, 1)} to ${fixed(r.load.max, 1)} on ${r.machine.cores} cores${busy ? " -- other processes competed for the CPU; wall-time ratios are less reliable than usual" : ""}`);
  }
  return { rows, details };
}

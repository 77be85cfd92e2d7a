/**
 * @module bench/scenarios/snapshot
 * Measurement 1: the daemon's first snapshot of a database to a file backend,
 * against `cp` and `zstd -1 -T1` of the same file in the same run. The
 * snapshot is timed from the daemon's spawn to the moment its cursor exists:
 * the cursor is written (fsynced) only after the snapshot object is durable
 * on the backend and CURRENT points at it, so this includes process start,
 * opening the database and every byte's hashing, compression and fsync.
 * The baselines write to the same filesystem and do not fsync. CPU times
 * (user + system) are kept too: on a shared machine they move less than
 * wall times when other processes compete for the cores.
 *
 * Two daemon configurations run in every repeat: the default (one block
 * compressing at a time, overlapped with reading) and `snapshot_workers` set
 * to the number of cores. The target is judged on the second, the setting a
 * user who wants fast snapshots turns on; the first is reported beside it.
 */
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { stateDir } from "../../src/ops/state-paths.ts";
import { cpuMsOf, cursorOf, loggedSnapshotMs, settleDisk, startDaemon, timeCommand, waitFor, writeBenchConfig } from "../procs.ts";

export interface SnapshotResult {
  dbBytes: number;
  cpMs: number;
  zstdMs: number;
  /** CPU time of the zstd process, ms. */
  zstdCpuMs: number;
  zstdBytes: number;
  /** snapshot_workers of the measured snapshot (the number of cores). */
  workers: number;
  /** Spawn to durable snapshot (cursor written), ms. */
  snapshotMs: number;
  /** The same with the default snapshot_workers (one), ms, and its CPU time. */
  defaultMs: number;
  defaultCpuMs: number;
  /** The daemon's own figure for streaming the snapshot, ms (null if not logged). */
  snapshotLoggedMs: number | null;
  /** CPU time of the whole daemon process (start, snapshot, stop), ms. */
  snapshotCpuMs: number;
  objectBytes: number;
  /** Where the replica and the zstd file stay for the restore measurement. */
  replica: string;
  zstdPath: string;
}

let daemonRuns = 0;

/** Takes the first snapshot of `dbPath` (database `name`) into `replica` with a fresh daemon; returns ms until durable. */
export async function firstSnapshot(work: string, name: string, dbPath: string, replica: string, workers?: number): Promise<{ ms: number; loggedMs: number | null; cpuMs: number }> {
  const config = writeBenchConfig(work, name, dbPath, replica, workers);
  const daemon = startDaemon(config, dbPath, name, join(work, `${name}-daemon-${++daemonRuns}.log`));
  let ms: number;
  try {
    await waitFor(() => (cursorOf(dbPath, name) ? true : daemon.proc.exitCode !== null ? false : undefined), "the first snapshot", 600_000, 5);
    ms = performance.now() - daemon.spawnedAt;
    await daemon.ready();
  } finally {
    if (daemon.proc.exitCode === null) await daemon.stop();
  }
  return { ms, loggedMs: await loggedSnapshotMs(daemon.logPath), cpuMs: cpuMsOf(daemon.proc) };
}

/** Size of the one snapshot object under `replica`. */
export function snapshotObjectBytes(replica: string): number {
  const found: number[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.startsWith("snapshot-")) found.push(statSync(p).size);
    }
  };
  walk(replica);
  if (found.length !== 1) throw new Error(`expected one snapshot object under ${replica}, found ${found.length}`);
  return found[0];
}

/**
 * Best of `repeats` for each of cp, zstd and the snapshot (each repeat starts
 * a new backup from scratch: no cursor, empty replica). The last replica and
 * the zstd file are kept for the restore measurement.
 */
export async function benchSnapshot(work: string, name: string, dbPath: string, repeats: number): Promise<SnapshotResult> {
  const dbBytes = statSync(dbPath).size;
  const cpOut = join(work, "cp-copy.db");
  const zstdPath = join(work, "baseline.db.zst");
  const replica = join(work, `replica-${name}`);
  const workers = Math.max(1, availableParallelism());
  const fresh = async (snapshotWorkers?: number) => {
    rmSync(replica, { recursive: true, force: true });
    rmSync(stateDir(dbPath), { recursive: true, force: true });
    mkdirSync(replica, { recursive: true });
    await settleDisk();
    const snap = await firstSnapshot(work, name, dbPath, replica, snapshotWorkers);
    if (snap.loggedMs === null) throw new Error("the daemon did not log its snapshot; is the log level info?");
    return snap;
  };
  const runs: Array<{ cpMs: number; zstdMs: number; zstdCpuMs: number; snapshotMs: number; loggedMs: number | null; cpuMs: number; defaultMs: number; defaultCpuMs: number }> = [];
  for (let r = 0; r < repeats; r++) {
    await settleDisk();
    const cp = await timeCommand(["cp", dbPath, cpOut]);
    rmSync(cpOut);
    await settleDisk();
    const zstd = await timeCommand(["zstd", "-1", "-T1", "-q", "-c", dbPath], zstdPath);
    const single = await fresh();
    const snap = await fresh(workers);
    runs.push({ cpMs: cp.wallMs, zstdMs: zstd.wallMs, zstdCpuMs: zstd.cpuMs, snapshotMs: snap.ms, loggedMs: snap.loggedMs, cpuMs: snap.cpuMs, defaultMs: single.ms, defaultCpuMs: single.cpuMs });
  }
  const best = (pick: (r: (typeof runs)[number]) => number) => Math.min(...runs.map(pick));
  return {
    dbBytes,
    cpMs: best((r) => r.cpMs),
    zstdMs: best((r) => r.zstdMs),
    zstdCpuMs: best((r) => r.zstdCpuMs),
    zstdBytes: statSync(zstdPath).size,
    workers,
    snapshotMs: best((r) => r.snapshotMs),
    defaultMs: best((r) => r.defaultMs),
    defaultCpuMs: best((r) => r.defaultCpuMs),
    snapshotLoggedMs: best((r) => r.loggedMs!),
    snapshotCpuMs: best((r) => r.cpuMs),
    objectBytes: snapshotObjectBytes(replica),
    replica,
    zstdPath,
  };
}

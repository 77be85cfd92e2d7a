/**
 * @module engine/daemon
 * The daemon process: one DatabaseLoop per configured database, sharing a cap
 * on concurrent snapshots. The first SIGTERM/SIGINT asks every loop to ship
 * what is committed, flush its manifest and stop; a second one aborts uploads
 * in flight. Each database's single-instance lock is held for the whole run.
 */
import type { Backend } from "../backends/types.ts";
import { openBackend } from "../backends/open.ts";
import { notSupportedYet } from "../config/support.ts";
import type { Config, DatabaseConfig } from "../config/types.ts";
import { BakeliteError } from "../errors.ts";
import { acquireLock, type DbLock } from "../ops/lock.ts";
import { log } from "../ops/log.ts";
import { runMultipartSweep } from "../replica/reclaim.ts";
import { DatabaseLoop } from "./database-loop.ts";
import type { SnapshotSlots } from "./replicator.ts";

export interface DaemonOptions {
  databases: DatabaseConfig[];
  maxConcurrentSnapshots?: number;
  /** Aborting it is a graceful stop (tests use this instead of signals). */
  signal?: AbortSignal;
  /** Install SIGTERM/SIGINT handlers (default true). */
  handleSignals?: boolean;
  /** Opens the backend of a database (tests wrap it in a fault injector). Default: its first configured backend. */
  backendFor?: (db: DatabaseConfig) => Promise<Backend>;
}

/** A counting semaphore for [daemon] max_concurrent_snapshots, carrying snapshot_workers. */
export class Slots implements SnapshotSlots {
  private queue: Array<() => void> = [];
  private free: number;

  constructor(
    count: number,
    readonly workers = 1,
  ) {
    this.free = Math.max(1, count);
  }

  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.queue.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next();
      else this.free++;
    };
  }
}

export async function runDaemon(config: Config, options: DaemonOptions): Promise<void> {
  const databases = options.databases;
  if (databases.length === 0) throw new BakeliteError("CONFIG_INVALID", `no databases configured in ${config.source}`);
  for (const db of databases) {
    const problems = notSupportedYet(db);
    if (problems.length > 0) {
      throw new BakeliteError("NOT_SUPPORTED_YET", `database "${db.name}": ${problems[0]}`, {
        hint: problems.length > 1 ? `${problems.length - 1} more unsupported setting(s); remove them or wait for a later release.` : "Remove the setting or wait for a later release.",
      });
    }
  }

  const stop = new AbortController();
  const hardStop = new AbortController();
  options.signal?.addEventListener("abort", () => stop.abort(), { once: true });
  const onSignal = (name: string) => {
    if (!stop.signal.aborted) {
      log.info(`${name}: shipping what is committed, then stopping (send again to abort)`);
      stop.abort();
    } else {
      log.warn(`${name} again: aborting uploads in flight`);
      hardStop.abort();
    }
  };
  const handlers = options.handleSignals === false ? [] : (["SIGTERM", "SIGINT"] as const).map((sig) => {
    const h = () => onSignal(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });

  const locks: DbLock[] = [];
  const backends: Backend[] = [];
  try {
    for (const db of databases) locks.push(acquireLock(db.path, db.name, "daemon"));
    const slots = new Slots(options.maxConcurrentSnapshots ?? config.daemon.maxConcurrentSnapshots, config.daemon.snapshotWorkers);
    const loops: DatabaseLoop[] = [];
    const sweeps: Promise<void>[] = [];
    for (const db of databases) {
      const backend = await (options.backendFor ?? ((d: DatabaseConfig) => openBackend(d.backends[0])))(db);
      backends.push(backend);
      loops.push(new DatabaseLoop(db, backend, slots, stop.signal, hardStop.signal));
      sweeps.push(sweepMultipart(db, backend, stop.signal));
    }
    log.info(`daemon started for ${databases.map((d) => d.name).join(", ")} (pid ${process.pid})`);
    const results = await Promise.all(loops.map((loop) => loop.run()));
    await Promise.all(sweeps);
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) {
      const f = failed[0];
      throw new BakeliteError("BACKEND_IO", `stopped with unshipped changes for "${f.db}" (${f.unshipped} commit(s)): ${f.error}`, {
        retryable: false,
        hint: "Nothing is lost: the commits stay in the WAL and ship when the daemon runs again.",
      });
    }
    log.info("daemon stopped: everything committed was shipped");
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
    for (const backend of backends) await backend.close().catch(() => undefined);
    for (const lock of locks) lock.release();
  }
}

/** S3 only: abort multipart uploads a crash left behind, every multipart_sweep_interval (a no-op elsewhere). */
function sweepMultipart(db: DatabaseConfig, backend: Backend, signal: AbortSignal): Promise<void> {
  return runMultipartSweep(backend, {
    intervalMs: db.multipartSweepIntervalMs,
    minAgeMs: db.multipartMinAgeMs,
    signal,
    prefix: `${db.name}/`,
    onResult: (r) => {
      if (r.aborted.length > 0) log.info(`${db.name}: aborted ${r.aborted.length} orphaned multipart upload(s)`);
    },
    onError: (err) => log.warn(`${db.name}: multipart sweep failed: ${(err as Error).message}`),
  });
}

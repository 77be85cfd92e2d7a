/**
 * @module engine/database-loop
 * Runs one Replicator until shutdown: wake, sync, publish status, sleep; on
 * failure, back off exponentially and try again, forever, so a backend outage
 * heals by itself. Backend failures keep the control connections open (R
 * keeps protecting the unshipped frames); database-level failures close them
 * and reopen, which goes through resume's continuity checks.
 */
import type { Backend } from "../backends/types.ts";
import { Backoff, sleep } from "../backends/retry.ts";
import type { DatabaseConfig } from "../config/types.ts";
import { toBakeliteError, type BakeliteError } from "../errors.ts";
import { log } from "../ops/log.ts";
import { STATUS_HEARTBEAT_MS, STATUS_VERSION, writeStatus, type ReplicationState } from "../ops/status-file.ts";
import { Replicator, type SnapshotSlots } from "./replicator.ts";
import { Wakeup } from "./wakeup.ts";

const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;
/**
 * Failures of the backend or of local disk space leave the connections open: R
 * keeps protecting the unshipped frames until the backend is back. Anything
 * else (the database vanished, left WAL mode, stayed busy, a SQLite error)
 * closes them, and the next attempt reopens through resume's checks.
 */
const KEEP_OPEN_CODES = new Set(["BACKEND_IO", "BACKEND_AUTH", "BACKEND_TIMEOUT", "NOT_FOUND", "DISK_FULL"]);

export interface DrainResult {
  db: string;
  ok: boolean;
  unshipped: number;
  error?: string;
}

export class DatabaseLoop {
  readonly replicator: Replicator;
  private readonly wakeup: Wakeup;
  private readonly backoff = new Backoff(BACKOFF_BASE_MS, BACKOFF_MAX_MS);
  private readonly startedMs = Date.now();
  private state: ReplicationState = "starting";
  private lastError: string | null = null;
  private lastSyncedMs: number | null = null;

  constructor(
    readonly config: DatabaseConfig,
    backend: Backend,
    slots: SnapshotSlots,
    /** Graceful stop: finish the current step, drain, return. */
    private readonly stop: AbortSignal,
    /** Hard stop: abort uploads in flight. */
    hardStop: AbortSignal,
  ) {
    this.replicator = new Replicator(config, backend, slots, hardStop);
    this.wakeup = new Wakeup(config.debounceMs);
    stop.addEventListener("abort", () => this.wakeup.fire(), { once: true });
  }

  async run(): Promise<DrainResult> {
    this.wakeup.watch(this.config.path);
    this.publish();
    // A long snapshot or a backoff sleep must not read as a silent daemon (`status` calls a file older than three heartbeats stale).
    const heartbeat = setInterval(() => this.publish(), STATUS_HEARTBEAT_MS);
    try {
      await this.loop();
    } finally {
      clearInterval(heartbeat);
    }
    return this.drain();
  }

  private async loop(): Promise<void> {
    while (!this.stop.aborted) {
      try {
        await this.step();
        this.wakeup.eager = this.replicator.readerMaySitOnSlot0;
        await this.wakeup.wait(this.nextWaitMs());
      } catch (err) {
        if (this.stop.aborted) break;
        const delay = this.fail(toBakeliteError(err, "IO"));
        await sleep(delay, this.stop).catch(() => undefined);
      }
    }
  }

  private async step(): Promise<void> {
    if (!this.replicator.isOpen) {
      this.setState("starting");
      await this.replicator.open();
    }
    if (this.replicator.snapshotDue()) this.setState("snapshotting");
    // Every commit before the sync began is shipped once it returns; later ones may not be.
    const syncStartedMs = Date.now();
    await this.replicator.sync();
    this.backoff.reset();
    this.lastError = null;
    this.lastSyncedMs = syncStartedMs;
    this.setState("replicating");
  }

  private fail(err: BakeliteError): number {
    const delay = this.backoff.next();
    this.lastError = err.message;
    this.state = "backing-off";
    if (!KEEP_OPEN_CODES.has(err.code)) this.replicator.close();
    const level = this.backoff.streak > 3 ? "warn" : "info";
    log[level](`${this.config.name}: ${err.message} (attempt ${this.backoff.streak}; retrying in ${Math.round(delay / 1000)}s)`);
    if (err.cause && log.level >= 4) log.debug(err.cause);
    this.publish();
    return delay;
  }

  private nextWaitMs(): number {
    const active = Date.now() - this.wakeup.lastChangeMs < this.config.safetyPollMs;
    return Math.min(active ? this.config.maxBatchDelayMs : this.config.safetyPollMs, STATUS_HEARTBEAT_MS);
  }

  /** Ships everything committed, flushes the manifest, closes. */
  private async drain(): Promise<DrainResult> {
    this.wakeup.close();
    const result: DrainResult = { db: this.config.name, ok: true, unshipped: 0 };
    try {
      // Stopped before the first step ran: still ship what is committed.
      if (!this.replicator.isOpen && this.lastError === null) await this.replicator.open();
    } catch (err) {
      result.ok = false;
      result.error = toBakeliteError(err).message;
    }
    if (this.replicator.isOpen) {
      try {
        const syncStartedMs = Date.now();
        await this.replicator.sync();
        await this.replicator.flushManifest();
        this.lastSyncedMs = syncStartedMs;
      } catch (err) {
        result.ok = false;
        result.error = toBakeliteError(err).message;
      }
      result.unshipped = this.replicator.unshippedCommits;
      this.replicator.close();
    }
    this.state = "stopped";
    this.publish();
    return result;
  }

  private setState(state: ReplicationState): void {
    const changed = state !== this.state;
    this.state = state;
    if (changed || state === "replicating") this.publish();
  }

  private publish(): void {
    const r = this.replicator;
    try {
      writeStatus(this.config.path, {
        version: STATUS_VERSION,
        db: this.config.name,
        pid: process.pid,
        state: this.state,
        updatedMs: Date.now(),
        startedMs: this.startedMs,
        backupId: r.backupId,
        txid: r.currentTxid,
        lastSyncedMs: this.lastSyncedMs,
        lastShippedCommitMs: r.stats.lastShippedCommitMs,
        changesets: r.stats.changesets,
        backupChangesets: r.backupChangesets,
        bytesShipped: r.stats.bytesShipped,
        lastError: this.lastError,
        backoff: this.backoff.since === null ? null : { streak: this.backoff.streak, sinceMs: this.backoff.since },
      });
    } catch (err) {
      log.debug(`${this.config.name}: could not write status file: ${(err as Error).message}`);
    }
  }
}

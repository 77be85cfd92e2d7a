/**
 * @module engine/checkpoint
 * The daemon's steps under the application's writer lock: moving R's read
 * transaction onto a read mark, and the daemon-owned checkpoint that restarts
 * the WAL (docs/design.md, "The WAL protocol as built"). Both need every
 * commit shipped, or captured, at the moment the lock is held; the
 * replicator provides the shipping and its state through CheckpointHost.
 */
import { Backoff, sleep } from "../backends/retry.ts";
import { isBakeliteError } from "../errors.ts";
import { log } from "../ops/log.ts";
import type { CheckpointResult, ControlConnections } from "./control.ts";
import type { PreparedChangeset } from "./ship.ts";

const CHECKPOINT_RETRY_MS = 5_000;
const CHECKPOINT_RETRY_MAX_MS = 60_000;
/** Tries to reach "nothing unshipped" with the writer lock held before capturing the tail under it. */
const CHECKPOINT_SHIP_ATTEMPTS = 3;
/** A checkpoint finding the checkpoint lock taken retries this often, this far apart, before deferring. */
const CHECKPOINT_BUSY_TRIES = 25;
const CHECKPOINT_BUSY_PAUSE_MS = 2;
/** Largest tail whose pages are read into memory under the writer lock to be uploaded after it. */
const MAX_CAPTURED_TAIL_BYTES = 64 * 1024 * 1024;
/** How long a sync's moveReadMark() waits for the writer lock before leaving it to the next sync. */
export const MOVE_READ_MARK_LOCK_MS = 100;

/** What the lock steps need from the replicator. */
export interface CheckpointHost {
  readonly name: string;
  connections(): ControlConnections;
  /** Ships every pending commit, or starts a new backup when the WAL cannot be followed. */
  shipNew(): Promise<void>;
  /** Brings the WAL generation up to date with the -wal file. */
  scan(): void;
  /** A new backup is due: nothing is shipped until it is taken. */
  newBackupDue(): boolean;
  startNewBackup(): void;
  /** Commits are scanned but not shipped. */
  hasPending(): boolean;
  /** Bytes of page images the pending commits would take. */
  pendingPageBytes(): number;
  prepareChangeset(capture: boolean): PreparedChangeset;
  uploadChangeset(prepared: PreparedChangeset): Promise<void>;
  shipPending(): Promise<void>;
  /** The shipped state is exactly the database file, and R has held read slot 0 since. */
  setBaseIsDbFile(value: boolean): void;
  flushManifest(): Promise<void>;
}

export class Checkpointer {
  private readonly backoff = new Backoff(CHECKPOINT_RETRY_MS, CHECKPOINT_RETRY_MAX_MS);
  private nextAttemptMs = 0;
  /** R may hold read slot 0 (it began on a fully backfilled WAL): see moveReadMark(). */
  readerMaySitOnSlot0 = true;

  constructor(private readonly host: CheckpointHost) {}

  /** After (re)opening: R began anywhere, possibly on slot 0. */
  reset(): void {
    this.readerMaySitOnSlot0 = true;
  }

  /** False while an earlier attempt's back-off lasts. */
  get mayAttempt(): boolean {
    return Date.now() >= this.nextAttemptMs;
  }

  /**
   * A read transaction on WAL read slot 0 (one that began when the WAL was
   * fully backfilled: after the daemon's checkpoint, or on opening a quiet
   * database) makes every application commit past SQLite's autocheckpoint
   * threshold try to checkpoint, build an index of the whole WAL and give up:
   * application commits ran ~3x slower (bench/read-slot-cost.ts). A reader on a
   * read mark costs nothing there. So once the generation has frames, R begins
   * again with the writer lock held and every commit shipped (nothing can
   * commit or restart the WAL in between) and lands on a read mark, which also
   * blocks WAL restarts outright. False when the lock stayed busy for
   * `lockMs` or a new backup is due (the next sync tries again).
   */
  async moveReadMark(lockMs = MOVE_READ_MARK_LOCK_MS): Promise<boolean> {
    const conns = this.host.connections();
    const locked = await this.lockWithAllShipped(lockMs);
    if (!locked) return false;
    try {
      conns.endRead();
      await conns.beginRead();
      this.readerMaySitOnSlot0 = false;
      this.host.setBaseIsDbFile(false);
    } finally {
      conns.unlockWriter();
    }
    // Frames of a captured tail lie below R's new mark: the application may backfill them, but R
    // still forbids a WAL restart, so if this upload fails they are read from the -wal again.
    if (locked.tail) await this.host.uploadChangeset(locked.tail);
    return true;
  }

  /**
   * The daemon-owned checkpoint (DESIGN.md §4.3), in two rounds so that the
   * application waits only for a short tail. First R moves to the end of what
   * is shipped (moveReadMark: a moment under the writer lock), and B
   * backfills those frames without the lock while the application keeps
   * committing (R's read mark stops the backfill there and forbids a WAL
   * restart). Then, with the writer lock held again and every commit
   * shipped: let R go, backfill the frames committed meanwhile, take R again
   * on slot 0, and restart the WAL with a tiny write of our own. True when
   * the WAL was fully backfilled and restarted.
   */
  async checkpoint(): Promise<boolean> {
    const conns = this.host.connections();
    if (!(await this.moveReadMark(conns.busyTimeoutMs))) return this.defer("could not take the writer lock with every commit shipped");
    await this.backfill();
    const locked = await this.lockWithAllShipped(conns.busyTimeoutMs);
    if (!locked) return this.defer("could not take the writer lock with every commit shipped");
    let complete = false;
    try {
      conns.endRead();
      try {
        const result = await this.backfill();
        complete = result.busy === 0 && result.log > 0 && result.log === result.checkpointed;
        if (!complete) {
          this.defer(
            result.busy !== 0
              ? "another connection's checkpoint held the checkpoint lock"
              : `checkpointed ${result.checkpointed} of ${result.log} frames (a reader holds an older snapshot)`,
          );
        }
      } finally {
        await conns.beginRead();
      }
    } finally {
      conns.unlockWriter();
    }
    if (locked.tail) {
      // R is on slot 0 now (when complete): an application write may restart the WAL over the captured
      // frames, whose pages are in the database file and in memory. Upload them before anything else;
      // if that fails the shipped state can no longer be proven to lead to the file: new backup.
      try {
        await this.host.uploadChangeset(locked.tail);
      } catch (err) {
        if (complete) this.host.startNewBackup();
        throw err;
      }
    }
    if (!complete) return false;
    this.host.setBaseIsDbFile(true);
    this.readerMaySitOnSlot0 = true;
    this.backoff.reset();
    this.nextAttemptMs = 0;
    await conns.bumpSeq();
    await this.host.flushManifest();
    log.debug(`${this.host.name}: checkpointed and restarted the WAL`);
    return true;
  }

  /**
   * B: a PASSIVE checkpoint. It finds the checkpoint lock taken when an
   * application connection runs its own checkpoint, which SQLite does right
   * after a commit once the WAL is past its autocheckpoint size. That attempt
   * ends soon and may well do the backfill for us, so try again for a moment
   * rather than give up the round (the second round would then copy
   * everything with the writer lock held).
   */
  private async backfill(): Promise<CheckpointResult> {
    const conns = this.host.connections();
    let result = conns.checkpointPassive();
    for (let tries = 0; result.busy !== 0 && tries < CHECKPOINT_BUSY_TRIES; tries++) {
      await sleep(CHECKPOINT_BUSY_PAUSE_MS);
      result = conns.checkpointPassive();
    }
    return result;
  }

  /**
   * Takes the writer lock with every commit shipped or captured: ships
   * outside the lock (the application waits for no upload), and when commits
   * landed between the ship and the lock, lets go and tries again. After a
   * few tries (a writer committing without pause) the remaining commits'
   * pages are read into memory under the lock instead, and the caller
   * uploads that change-set once it has let the lock go (uploadChangeset):
   * the lock is then held for a read from the page cache, not for an upload.
   * A tail too large to hold is shipped under the lock. False, lock not
   * held, when the lock stayed busy for `lockMs` or a new backup is due.
   */
  private async lockWithAllShipped(lockMs: number): Promise<false | { tail: PreparedChangeset | null }> {
    const { host } = this;
    const conns = host.connections();
    for (let attempt = 1; ; attempt++) {
      await host.shipNew();
      if (host.newBackupDue()) return false;
      try {
        // Read the frames committed while the lock is busy as they come, so that
        // the scan under the lock finds only the last few: the application
        // waits for whatever runs under it.
        await conns.lockWriter(lockMs, () => host.scan());
      } catch (err) {
        if (isBakeliteError(err, "DB_BUSY")) return false;
        throw err;
      }
      host.scan();
      if (host.newBackupDue()) {
        conns.unlockWriter();
        return false;
      }
      if (!host.hasPending()) return { tail: null };
      if (attempt >= CHECKPOINT_SHIP_ATTEMPTS) break;
      conns.unlockWriter();
    }
    try {
      if (host.pendingPageBytes() <= MAX_CAPTURED_TAIL_BYTES) return { tail: host.prepareChangeset(true) };
      await host.shipPending();
      return { tail: null };
    } catch (err) {
      conns.unlockWriter();
      throw err;
    }
  }

  /** Schedules the next checkpoint attempt (backing off) and returns false, the checkpoint's result. */
  private defer(why: string): false {
    if (this.host.newBackupDue()) return false; // the new backup comes first; no reason to wait
    const delay = this.backoff.next();
    this.nextAttemptMs = Date.now() + delay;
    log.debug(`${this.host.name}: checkpoint deferred ${delay} ms: ${why}`);
    return false;
  }
}

/**
 * @module engine/resume
 * Deciding, when the daemon (re)opens a database, whether it may continue the
 * backup its cursor describes or must start a new one. Never ship a change-set
 * on top of a state that cannot be proven (DESIGN.md §4.4):
 *   - the WAL is the generation the cursor names and holds the commit the
 *     cursor ends at, with the same running checksum: continue after it;
 *   - otherwise, if the database file alone hashes to the cursor's checksum,
 *     nothing was lost: continue from the start of whatever WAL is there;
 *   - otherwise frames may have been lost: new backup.
 */
import type { Backend } from "../backends/types.ts";
import type { DbChecksum } from "../format/db-checksum.ts";
import { log } from "../ops/log.ts";
import { withRetry } from "../backends/retry.ts";
import { dbPrefix, parseKey } from "../replica/names.ts";
import type { Cursor } from "./cursor.ts";
import { WalGeneration } from "./generation.ts";
import { readDbFileInfo } from "./page-reader.ts";
import { checksumState } from "./ship.ts";
import { readWalHeader } from "./wal.ts";

const OPEN_READ_ATTEMPTS = 4;

/**
 * The retry policy of the backend reads made while opening a database (the
 * listing, the snapshot's key header): retried like uploads, because a
 * failed open closes R and lets the application checkpoint away frames that
 * were not shipped yet, which costs a full snapshot.
 */
export function retriedAtOpen<T>(read: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return withRetry(read, { attempts: OPEN_READ_ATTEMPTS, baseMs: 200, maxMs: 2_000, signal });
}

export type ResumeDecision =
  | {
      action: "continue";
      gen: WalGeneration | null;
      checksum: DbChecksum;
      /** The shipped state is the database file itself (no WAL frames on top). */
      baseIsDbFile: boolean;
      how: string;
    }
  | { action: "new-backup"; reason: string };

/** What the listing at open tells the daemon; without a cursor, `hasCursor` is false and `newerBackup` null. */
export interface ReplicaSurvey {
  /** The backend still holds the snapshot and the last object the cursor names. */
  hasCursor: boolean;
  /**
   * The newest backup with a snapshot that sorts after the cursor's, or null.
   * Only a crash between a new backup's snapshot upload and the cursor fsync
   * leaves one (the daemon is the replica's only writer). Restore takes the
   * newest backup as latest, so appending to the cursor's older backup would
   * hide every later commit behind that orphan: the caller starts a new backup.
   */
  newerBackup: string | null;
  /**
   * The newest backup with a snapshot, or null. A new backup must sort after
   * it even if the clock stepped back since: restore takes the newest backup
   * as latest.
   */
  newestBackup: string | null;
  /**
   * The highest txid of any object of the database (0 when there is none):
   * every backup and level, orphans past the cursor included. A new backup's
   * snapshot goes above it (object-headers.ts snapshotHeader).
   */
  highestTxid: number;
}

/**
 * One listing of the database's objects answers every question the daemon
 * asks at open. A listing is an idempotent read, so a transient failure is
 * retried here instead of failing the whole open (which would close R and
 * escalate the daemon's backoff).
 */
export function surveyReplica(backend: Backend, db: string, cursor: Cursor | null, signal?: AbortSignal): Promise<ReplicaSurvey> {
  return retriedAtOpen(async () => {
    let snapshot = false;
    let last = cursor !== null && cursor.txid === cursor.snapshotTxid;
    let newestBackup: string | null = null;
    let highestTxid = 0;
    for await (const info of backend.list(dbPrefix(db))) {
      const key = parseKey(info.key);
      if (!key || key.db !== db || (key.kind !== "snapshot" && key.kind !== "changeset")) continue;
      highestTxid = Math.max(highestTxid, key.kind === "snapshot" ? key.txid : key.txidEnd);
      if (key.kind === "snapshot" && (newestBackup === null || key.backupId > newestBackup)) newestBackup = key.backupId;
      if (cursor && key.backupId === cursor.backupId) {
        if (key.kind === "snapshot" && key.txid === cursor.snapshotTxid) snapshot = true;
        if (key.kind === "changeset" && key.txidEnd === cursor.txid) last = true;
      }
    }
    const newerBackup = cursor && newestBackup !== null && newestBackup > cursor.backupId ? newestBackup : null;
    return { hasCursor: snapshot && last, newerBackup, newestBackup, highestTxid };
  }, signal);
}

export function decideResume(dbFd: number, walPath: string, cursor: Cursor): ResumeDecision {
  const header = readWalHeader(walPath);
  const dbInfo = readDbFileInfo(dbFd);
  const pageSize = header?.pageSize ?? dbInfo?.pageSize;
  if (!pageSize) return { action: "new-backup", reason: "the database file has no readable header" };
  if (pageSize !== cursor.pageSize) return { action: "new-backup", reason: `page size changed from ${cursor.pageSize} to ${pageSize}` };

  const scanned = (how: string, gen: WalGeneration) => {
    const pages = gen.dbPages ?? dbInfo?.pages ?? 0;
    const checksum = checksumState(dbFd, walPath, gen.index, gen.header, pageSize, pages);
    return { action: "continue" as const, gen, checksum, baseIsDbFile: false, how };
  };

  const wal = cursor.wal;
  if (header && wal && header.salt1 === wal.salt1 && header.salt2 === wal.salt2 && header.ckptSeq === wal.ckptSeq) {
    const gen = new WalGeneration(header);
    gen.scan(walPath);
    if (gen.markShippedUpTo(wal.offset, wal.checksum1, wal.checksum2)) return scanned("same WAL generation", gen);
    log.warn(`${cursor.db}: the WAL does not hold the commit the cursor ends at; checking the database file`);
  }

  // Continuity proof: does the database file alone equal what was shipped?
  if (!dbInfo) return { action: "new-backup", reason: "the database file has no readable header" };
  const fileSum = checksumState(dbFd, walPath, null, null, pageSize, dbInfo.pages);
  if (dbInfo.pages !== cursor.dbPages || fileSum.value.toString() !== cursor.dbChecksum) {
    return { action: "new-backup", reason: "the WAL was checkpointed or replaced while bakelite was not watching" };
  }
  if (!header) return { action: "continue", gen: null, checksum: fileSum, baseIsDbFile: true, how: "database file matches the cursor" };
  const gen = new WalGeneration(header);
  gen.scan(walPath);
  return scanned("database file matches the cursor; reading the WAL from its start", gen);
}


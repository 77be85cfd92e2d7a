/**
 * @module replica/list-view
 * The data behind `bakelite list`: a one-row summary per database and the
 * restorable spans of each backup. Derived from a listing with the same chain
 * walk restore uses, so what `list` shows as restorable is exactly what
 * `restore` can reach. Rendering (text, --json) belongs to the CLI.
 */
import type { DatabaseListing, ObjectRef, SkippedBackup } from "./types.ts";
import { skippedBackups, walkBackup } from "./plan.ts";

export interface DatabaseSummary {
  db: string;
  /** Every backup listed, restorable or not. */
  backups: number;
  /** Backups that have a snapshot. */
  restorableBackups: number;
  /** Earliest restorable commit time (ms), null when nothing is restorable. */
  firstRestorableMs: number | null;
  /** Commit time of the state `restore` (latest) lands on. */
  lastRestorableMs: number | null;
  /** Txid `restore` (latest) lands on. */
  latestTxid: number | null;
  /** Bytes of every object of every backup. */
  bytes: number;
  /** Contents of CURRENT, null when absent or unreadable. */
  currentBackupId: string | null;
  /**
   * True when CURRENT names a listed backup and no restorable backup is newer
   * (a CURRENT ahead of the newest snapshot is a snapshot still uploading).
   * False otherwise, including a missing CURRENT: verify warns on false.
   */
  currentIsNewest: boolean;
  /** Change-sets of the latest backup cut off by a gap (see RestorePlan.unreachable). */
  unreachable: { objects: number; fromTxid: number } | null;
  /**
   * Backups newer than the newest restorable one (every backup when none is)
   * that have no snapshot: what `restore` (latest) passes over, oldest first.
   */
  skippedBackups: SkippedBackup[];
}

export interface RestorePoint {
  backupId: string;
  /** Snapshot time: the earliest state of this backup. */
  fromMs: number;
  /** Commit time of the furthest gap-free state. */
  toMs: number;
  fromTxid: number;
  toTxid: number;
  /** Objects a restore of `toTxid` downloads (snapshot + change-sets). */
  objects: number;
  /** Change-sets beyond a gap in this backup, null when none. */
  unreachable: { objects: number; fromTxid: number } | null;
}

/** Restorable UTC spans, one per backup that has a snapshot, oldest first. */
export function restorePoints(listing: DatabaseListing): RestorePoint[] {
  const points: RestorePoint[] = [];
  for (const backup of listing.backups) {
    const chain = walkBackup(backup);
    if (!chain) continue;
    points.push({
      backupId: backup.backupId,
      fromMs: chain.snapshot.timestampMs,
      toMs: chain.landedTimestampMs,
      fromTxid: chain.snapshot.txidEnd,
      toTxid: chain.landedTxid,
      objects: 1 + chain.changesets.length,
      unreachable: chain.unreachable ?? null,
    });
  }
  return points;
}

export function summarizeDatabase(listing: DatabaseListing): DatabaseSummary {
  const points = restorePoints(listing);
  const newest = points.at(-1);
  const current = listing.current;
  const listed = current !== null && listing.backups.some((b) => b.backupId === current);
  return {
    db: listing.db,
    backups: listing.backups.length,
    restorableBackups: points.length,
    firstRestorableMs: points.length > 0 ? Math.min(...points.map((p) => p.fromMs)) : null,
    lastRestorableMs: newest ? newest.toMs : null,
    latestTxid: newest ? newest.toTxid : null,
    bytes: listing.backups.reduce((sum, b) => sum + b.bytes, 0),
    currentBackupId: current,
    currentIsNewest: listed && (!newest || current! >= newest.backupId),
    unreachable: newest?.unreachable ?? null,
    skippedBackups: skippedBackups(listing, newest ? { backupId: newest.backupId, landedTxid: newest.toTxid } : null, { kind: "latest" }),
  };
}

/** Every object of a listing in key order (for `list --verbose`). */
export function listedObjects(listing: DatabaseListing): ObjectRef[] {
  const refs: ObjectRef[] = [];
  for (const b of listing.backups) {
    if (b.snapshot) refs.push(b.snapshot);
    for (const ref of b.changesets) refs.push(ref); // not push(...): a long-lived backup can hold millions
  }
  return refs;
}

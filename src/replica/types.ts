/**
 * @module replica/types
 * What a replica looks like once listed: backups (generations), each a snapshot
 * followed by change-sets. Object names carry position and commit time, so a
 * listing alone rebuilds every chain and resolves a point in time (no header
 * reads, no dependence on the advisory manifest).
 *
 * Key layout (relative to the backend root, zero-padded lowercase hex):
 *   <db>/CURRENT                                      text: the current backup id
 *   <db>/<backup-id>/manifest                         advisory JSON summary
 *   <db>/<backup-id>/snapshot-<txid:16>-<ts:12>       snapshot at txid, taken at ts (ms)
 *   <db>/<backup-id>/L<level>/<a:16>-<b:16>-<ts:12>   change-set covering txids a..b, b committed at ts
 * A backup id is `<yyyymmddThhmmssmmmZ>-<8 hex>`: sortable by start time.
 *
 * Modules of this layer:
 *   names.ts    snapshotKey(), changesetKey(), manifestKey(), currentKey(), parseKey(), newBackupId(), backupIdTime()
 *   listing.ts  listDatabase(backend, db): Promise<DatabaseListing>; listDatabaseNames(backend)
 *   plan.ts     planRestore(listing, target): RestorePlan
 *   restore.ts  restoreDatabase(options): Promise<RestoreSummary>
 *   manifest.ts writeManifest(), readManifest(), readCurrent(), writeCurrent()
 */

export interface ObjectRef {
  key: string;
  kind: "snapshot" | "changeset";
  backupId: string;
  /** 0 for snapshots and raw change-sets. */
  level: number;
  txidStart: number;
  txidEnd: number;
  timestampMs: number;
  size: number;
}

export interface BackupListing {
  backupId: string;
  /** Start time decoded from the backup id (ms). */
  startedMs: number;
  /** Null when the snapshot object is missing (an unrestorable backup). */
  snapshot: ObjectRef | null;
  /** Every change-set object of every level, sorted by (txidStart, level desc, txidEnd). */
  changesets: ObjectRef[];
  /** Total bytes of every object in this backup. */
  bytes: number;
  /** True when a manifest object exists. */
  hasManifest: boolean;
}

export interface DatabaseListing {
  db: string;
  /** Oldest first. */
  backups: BackupListing[];
  /** Contents of CURRENT, or null when absent or unreadable. */
  current: string | null;
}

export type RestoreTarget =
  | { kind: "latest" }
  | { kind: "timestamp"; timestampMs: number }
  | { kind: "txid"; txid: number };

export interface RestorePlan {
  backupId: string;
  snapshot: ObjectRef;
  /** Change-sets to apply in order, gap-free from snapshot.txidEnd + 1. */
  changesets: ObjectRef[];
  /** Txid and commit time of the state the plan lands on. */
  landedTxid: number;
  landedTimestampMs: number;
  /**
   * Change-sets of the chosen backup that the target would have used but that
   * lie beyond a gap (a missing object is never skipped over), so the restore
   * stops at `fromTxid - 1` (= landedTxid). Absent when nothing is cut off.
   * The CLI warns loudly.
   */
  unreachable?: { objects: number; fromTxid: number };
  /**
   * Backups newer than `backupId` without a snapshot, holding states the
   * target allows, oldest first: newer data on the replica that this restore
   * does not reach. Absent when there are none. The CLI warns.
   */
  skipped?: SkippedBackup[];
}

/** A backup the plan passed over because it has no snapshot. */
export interface SkippedBackup {
  backupId: string;
  /** Start time decoded from the backup id (ms): about when its snapshot was taken. */
  startedMs: number;
  /**
   * Its change-set objects, every level. 0 means only the snapshot's state is
   * missing (an upload not finished, or lost); more means commits shipped after
   * the snapshot, which therefore landed once and is now gone.
   */
  changesets: number;
  /** First and last txid its change-sets cover, null when it has none. */
  fromTxid: number | null;
  toTxid: number | null;
  /** Newest commit time among its change-sets (ms), null when it has none. */
  lastCommittedMs: number | null;
}

export interface RestoreSummary {
  db: string;
  output: string;
  target: RestoreTarget;
  plan: RestorePlan;
  pageSize: number;
  pages: number;
  /** Bytes downloaded from the backend. */
  downloaded: number;
  /** Change-sets whose lineage was verified. */
  lineageVerified: number;
  /** Copied from the plan: objects cut off by a gap. */
  unreachable?: { objects: number; fromTxid: number };
  integrity: "ok";
  /** How long SQLite's integrity_check took, ms (part of elapsedMs). */
  integrityMs: number;
  elapsedMs: number;
}

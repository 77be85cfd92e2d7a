/**
 * @module replica/plan
 * Chooses what a restore downloads: one backup's snapshot and a gap-free path
 * of change-sets to the state the target names. Works on a listing only: the
 * objects on the backend are the truth and CURRENT is ignored, so a stale or
 * repointed CURRENT cannot move a restore.
 *
 * Decisions (a careful backup tool's, written down):
 * - States are ordered by (backup, txid): backups are generations, sorted by
 *   their id (start time); txids never reset, so within a backup a larger txid
 *   is a later state. Every target picks the greatest state it allows, which is
 *   what makes point-in-time resolution monotone.
 * - latest: the newest backup that has a snapshot, as far as its change-sets
 *   reach without a gap. A missing object is never skipped; what lies beyond
 *   it is reported in `unreachable` so the caller can warn.
 * - A backup without a snapshot cannot be restored (its snapshot never landed,
 *   or was lost), so every target passes over it. When it is newer than the
 *   backup the plan lands in and holds states the target allows, the restore
 *   is older than the replica's data: it is reported in `skipped`.
 * - timestamp T: the newest backup whose snapshot time <= T, then only
 *   change-sets committed at or before T (a path stops before the first object
 *   with a later time, even if the clock stepped back after it).
 * - txid N: the largest reachable boundary <= N over all backups (ties: the
 *   newer backup). When compaction merged N into a coarser object, or a gap
 *   cuts it off, the plan lands earlier; callers compare `landedTxid` with N
 *   and say so.
 * - Path: fewest objects (so coarse compacted levels win), strictly gap-free
 *   (each object starts at the previous end + 1). Leftovers of a crashed
 *   compaction (both a-b and a-c) are just extra edges: the furthest boundary
 *   wins, then the shortest path to it.
 */
import { BakeliteError } from "../errors.ts";
import type { BackupListing, DatabaseListing, ObjectRef, RestorePlan, RestoreTarget, SkippedBackup } from "./types.ts";

/** A backup's snapshot and the best gap-free path from it. */
export interface BackupChain {
  backupId: string;
  snapshot: ObjectRef;
  changesets: ObjectRef[];
  landedTxid: number;
  landedTimestampMs: number;
  unreachable?: { objects: number; fromTxid: number };
}

interface Step {
  count: number;
  via: ObjectRef | null;
  prev: number;
}

/**
 * The furthest state of one backup reachable through change-sets that `allow`
 * admits, by the shortest path. Null when the backup has no snapshot.
 */
export function walkBackup(backup: BackupListing, allow: (ref: ObjectRef) => boolean = () => true): BackupChain | null {
  const snapshot = backup.snapshot;
  if (!snapshot) return null;
  const start = snapshot.txidEnd;
  const steps = new Map<number, Step>([[start, { count: 0, via: null, prev: start }]]);
  let reach = start;
  // Sorted by txidStart, so every object ending at a-1 (which starts at <= a-1)
  // has been relaxed before any object starting at a is looked at.
  for (const ref of backup.changesets) {
    if (!allow(ref)) continue;
    const from = steps.get(ref.txidStart - 1);
    if (!from) continue;
    const here = steps.get(ref.txidEnd);
    if (!here || from.count + 1 < here.count) {
      steps.set(ref.txidEnd, { count: from.count + 1, via: ref, prev: ref.txidStart - 1 });
      if (ref.txidEnd > reach) reach = ref.txidEnd;
    }
  }
  const path: ObjectRef[] = [];
  for (let at = reach; at !== start; ) {
    const step = steps.get(at)!;
    path.push(step.via!);
    at = step.prev;
  }
  path.reverse();
  const last = path.at(-1);
  const chain: BackupChain = {
    backupId: backup.backupId,
    snapshot,
    changesets: path,
    landedTxid: reach,
    landedTimestampMs: last ? last.timestampMs : snapshot.timestampMs,
  };
  let cutOff = 0;
  for (const ref of backup.changesets) if (ref.txidEnd > reach && allow(ref)) cutOff++;
  if (cutOff > 0) chain.unreachable = { objects: cutOff, fromTxid: reach + 1 };
  return chain;
}

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString().replace(".000Z", "Z");
}

function validateTarget(target: RestoreTarget): void {
  if (target.kind === "timestamp" && !Number.isFinite(target.timestampMs)) {
    throw new BakeliteError("USAGE", `invalid restore timestamp ${target.timestampMs}`);
  }
  if (target.kind === "txid" && (!Number.isSafeInteger(target.txid) || target.txid < 0)) {
    throw new BakeliteError("USAGE", `invalid restore txid ${target.txid}`);
  }
}

/**
 * The plan for `target`. Throws NO_BACKUP when no backup of the database has a
 * snapshot, TARGET_UNREACHABLE when the target lies before every snapshot.
 * `where` names the backend in messages (its `describe`).
 */
export function planRestore(listing: DatabaseListing, target: RestoreTarget, where?: string): RestorePlan {
  validateTarget(target);
  const restorable = listing.backups.filter((b) => b.snapshot !== null);
  if (restorable.length === 0) {
    const on = where ? ` on ${where}` : "";
    const partial = listing.backups.length > 0;
    throw new BakeliteError("NO_BACKUP", `no backup of ${listing.db}${on}`, {
      hint: partial
        ? `${listing.backups.length} backup(s) exist but none has a snapshot yet; check the daemon with \`bakelite status --db ${listing.db}\`.`
        : `Is the daemon running for ${listing.db}? Try: bakelite status --db ${listing.db}`,
    });
  }
  let chain: BackupChain | null = null;
  if (target.kind === "latest") {
    chain = walkBackup(restorable.at(-1)!);
  } else if (target.kind === "timestamp") {
    const T = target.timestampMs;
    const eligible = restorable.filter((b) => b.snapshot!.timestampMs <= T);
    if (eligible.length > 0) chain = walkBackup(eligible.at(-1)!, (ref) => ref.timestampMs <= T);
  } else {
    const N = target.txid;
    for (let i = restorable.length - 1; i >= 0; i--) {
      if (restorable[i].snapshot!.txidEnd > N) continue;
      const candidate = walkBackup(restorable[i], (ref) => ref.txidEnd <= N)!;
      if (!chain || candidate.landedTxid > chain.landedTxid) chain = candidate;
    }
  }
  if (!chain) throw unreachableTarget(listing, restorable, target);
  const plan: RestorePlan = {
    backupId: chain.backupId,
    snapshot: chain.snapshot,
    changesets: chain.changesets,
    landedTxid: chain.landedTxid,
    landedTimestampMs: chain.landedTimestampMs,
  };
  if (chain.unreachable) plan.unreachable = chain.unreachable;
  const skipped = skippedBackups(listing, chain, target);
  if (skipped.length > 0) plan.skipped = skipped;
  return plan;
}

/**
 * Backups without a snapshot, newer than `landed.backupId` (every one when it
 * is null), that would hold a state `target` allows: for latest all of them;
 * for a time, those started at or before it; for a txid, those whose
 * change-sets (from the snapshot just before them) reach a state in
 * (landedTxid, N]. One holding no change-set has no known txids, so a txid
 * target cannot be placed in it and it is not reported there.
 */
export function skippedBackups(
  listing: DatabaseListing,
  landed: { backupId: string; landedTxid: number } | null,
  target: RestoreTarget,
): SkippedBackup[] {
  const skipped: SkippedBackup[] = [];
  for (const backup of listing.backups) {
    if (backup.snapshot || (landed && backup.backupId <= landed.backupId)) continue;
    // The backup id's time is its snapshot's time.
    if (target.kind === "timestamp" && backup.startedMs > target.timestampMs) continue;
    const about = describeSkipped(backup);
    if (target.kind === "txid") {
      if (about.fromTxid === null || about.toTxid === null) continue;
      const after = landed ? landed.landedTxid : -1;
      // fromTxid - 1 is the lost snapshot's txid when its first change-set is there.
      if (Math.max(about.fromTxid - 1, after + 1) > Math.min(about.toTxid, target.txid)) continue;
    }
    skipped.push(about);
  }
  return skipped;
}

function describeSkipped(backup: BackupListing): SkippedBackup {
  const { changesets } = backup;
  if (changesets.length === 0) {
    return { backupId: backup.backupId, startedMs: backup.startedMs, changesets: 0, fromTxid: null, toTxid: null, lastCommittedMs: null };
  }
  let toTxid = changesets[0].txidEnd;
  let lastCommittedMs = changesets[0].timestampMs;
  for (const ref of changesets) {
    if (ref.txidEnd > toTxid) toTxid = ref.txidEnd;
    if (ref.timestampMs > lastCommittedMs) lastCommittedMs = ref.timestampMs;
  }
  // Sorted by txidStart, so the first is the earliest.
  return { backupId: backup.backupId, startedMs: backup.startedMs, changesets: changesets.length, fromTxid: changesets[0].txidStart, toTxid, lastCommittedMs };
}

function unreachableTarget(listing: DatabaseListing, restorable: BackupListing[], target: RestoreTarget): BakeliteError {
  const hint = `See the restorable spans with: bakelite list --db ${listing.db}`;
  if (target.kind === "timestamp") {
    const oldest = Math.min(...restorable.map((b) => b.snapshot!.timestampMs));
    return new BakeliteError(
      "TARGET_UNREACHABLE",
      `no state of ${listing.db} at or before ${iso(target.timestampMs)}: the oldest restorable point is ${iso(oldest)}`,
      { hint },
    );
  }
  const first = restorable.reduce((a, b) => (b.snapshot!.txidEnd < a.snapshot!.txidEnd ? b : a)).snapshot!;
  return new BakeliteError(
    "TARGET_UNREACHABLE",
    `no state of ${listing.db} at or before txid ${(target as { txid: number }).txid}: the oldest restorable point is txid ${first.txidEnd} (${iso(first.timestampMs)})`,
    { hint },
  );
}

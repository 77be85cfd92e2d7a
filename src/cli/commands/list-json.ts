/**
 * @module cli/commands/list-json
 * The --json documents of `bakelite list` (shapes documented in docs/cli.md,
 * "list --json"). Times appear twice: RFC 3339 UTC for people and scripts
 * that paste them into --timestamp, and epoch milliseconds for arithmetic.
 */
import type { BakeliteError } from "../../errors.ts";
import type { DatabaseSummary, RestorePoint } from "../../replica/list-view.ts";
import type { SkippedBackup } from "../../replica/types.ts";
import type { BackupListing, DatabaseListing, ObjectRef } from "../../replica/types.ts";
import { utc } from "../style.ts";

export type CurrentStatus = "ok" | "mismatch" | "missing" | "none";

/** ok: CURRENT names the newest backup; missing: absent although backups exist; none: no backups at all. */
export function currentStatus(summary: DatabaseSummary): CurrentStatus {
  if (summary.backups === 0 && summary.currentBackupId === null) return "none";
  if (summary.currentBackupId === null) return "missing";
  return summary.currentIsNewest ? "ok" : "mismatch";
}

/** What list gathered for one database: its listing, or the error that stopped it. */
export interface DatabaseReport {
  db: string;
  backend: string;
  listing?: DatabaseListing;
  summary?: DatabaseSummary;
  error?: BakeliteError;
}

export function summaryJson(report: DatabaseReport): Record<string, unknown> {
  const { db, backend, summary, error } = report;
  if (error || !summary) {
    return { db, backend, error: { code: error?.code ?? "IO", message: error?.message ?? "unknown error", hint: error?.hint ?? null } };
  }
  return {
    db,
    backend,
    backups: summary.backups,
    restorableBackups: summary.restorableBackups,
    firstRestorable: summary.firstRestorableMs === null ? null : utc(summary.firstRestorableMs),
    firstRestorableMs: summary.firstRestorableMs,
    lastRestorable: summary.lastRestorableMs === null ? null : utc(summary.lastRestorableMs),
    lastRestorableMs: summary.lastRestorableMs,
    latestTxid: summary.latestTxid,
    bytes: summary.bytes,
    current: { backupId: summary.currentBackupId, status: currentStatus(summary) },
    unreachable: summary.unreachable,
    skippedBackups: summary.skippedBackups.map(skippedBackupJson),
  };
}

/** A backup without a snapshot that restore passes over (also in `restore --json`). */
export function skippedBackupJson(skipped: SkippedBackup): Record<string, unknown> {
  return {
    backupId: skipped.backupId,
    started: utc(skipped.startedMs),
    startedMs: skipped.startedMs,
    changesets: skipped.changesets,
    fromTxid: skipped.fromTxid,
    toTxid: skipped.toTxid,
    lastCommitted: skipped.lastCommittedMs === null ? null : utc(skipped.lastCommittedMs),
    lastCommittedMs: skipped.lastCommittedMs,
  };
}

export function pointJson(point: RestorePoint): Record<string, unknown> {
  return {
    backupId: point.backupId,
    from: utc(point.fromMs),
    fromMs: point.fromMs,
    to: utc(point.toMs),
    toMs: point.toMs,
    fromTxid: point.fromTxid,
    toTxid: point.toTxid,
    objects: point.objects,
    unreachable: point.unreachable,
  };
}

export function objectJson(ref: ObjectRef): Record<string, unknown> {
  return {
    key: ref.key,
    kind: ref.kind,
    level: ref.level,
    txidStart: ref.txidStart,
    txidEnd: ref.txidEnd,
    committed: utc(ref.timestampMs),
    committedMs: ref.timestampMs,
    size: ref.size,
  };
}

export function backupJson(backup: BackupListing): Record<string, unknown> {
  return {
    backupId: backup.backupId,
    started: utc(backup.startedMs),
    startedMs: backup.startedMs,
    bytes: backup.bytes,
    hasManifest: backup.hasManifest,
    restorable: backup.snapshot !== null,
    snapshot: backup.snapshot ? objectJson(backup.snapshot) : null,
    changesets: backup.changesets.map(objectJson),
  };
}

/**
 * One database in detail: the summary row, its restore points and (verbose)
 * every backup under `backupDetails`, never under `backups`, which stays the
 * count so a script reading it does not break when --verbose is added. A
 * database whose backend failed is the same `{ db, backend, error }` entry as
 * in the summary: an empty `restorePoints` would read as "nothing restorable".
 */
export function detailJson(report: DatabaseReport, points: RestorePoint[], verbose: boolean): Record<string, unknown> {
  const row = summaryJson(report);
  if (report.error || !report.listing) return row;
  const out: Record<string, unknown> = { ...row, restorePoints: points.map(pointJson) };
  if (verbose) out.backupDetails = report.listing.backups.map(backupJson);
  return out;
}

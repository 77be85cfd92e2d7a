/**
 * @module cli/commands/list-text
 * The text views of `bakelite list`: one row per database, one database's
 * restore points, and (--verbose) every object of every backup.
 */
import { formatBytes } from "../../config/units.ts";
import type { RestorePoint } from "../../replica/list-view.ts";
import type { SkippedBackup } from "../../replica/types.ts";
import type { BackupListing } from "../../replica/types.ts";
import { table, utc, type Painter } from "../style.ts";
import { currentStatus, type CurrentStatus, type DatabaseReport } from "./list-json.ts";

function currentCell(status: CurrentStatus, paint: Painter): string {
  if (status === "ok") return paint("green", "ok");
  if (status === "none") return "-";
  return paint("yellow", status);
}

function txidSpan(from: number, to: number): string {
  return from === to ? String(from) : `${from}-${to}`;
}

/**
 * One backup without a snapshot, for warnings (restore's too). Change-sets
 * prove its snapshot landed once (the daemon ships them only after it); with
 * none, the snapshot may still be uploading.
 */
export function skippedText(s: SkippedBackup): string {
  if (s.changesets === 0 || s.fromTxid === null || s.toTxid === null) {
    return `backup ${s.backupId} (started ${utc(s.startedMs)}) has no snapshot (still uploading, or lost) and no change-sets`;
  }
  return `backup ${s.backupId} has ${s.changesets} change-set(s) (txids ${txidSpan(s.fromTxid, s.toTxid)}, last committed ${utc(s.lastCommittedMs)}) but no snapshot`;
}

/** The NOTE cell for the newer backups restore (latest) passes over. */
function skippedNote(skipped: SkippedBackup[]): string {
  const changesets = skipped.reduce((n, s) => n + s.changesets, 0);
  if (changesets === 0) return `no snapshot yet in ${skipped.length} newer backup(s)`;
  const to = Math.max(...skipped.map((s) => s.toTxid ?? 0));
  return `no snapshot in ${skipped.length} newer backup(s): ${changesets} change-set(s) to txid ${to} unreachable`;
}

export function fleetText(reports: DatabaseReport[], paint: Painter): string {
  const rows = [["DATABASE", "BACKUPS", "FIRST RESTORABLE (UTC)", "LAST RESTORABLE (UTC)", "LATEST TXID", "STORED", "CURRENT", "NOTE"].map((h) => paint("bold", h))];
  for (const r of reports) {
    const s = r.summary;
    if (r.error || !s) {
      rows.push([r.db, "-", "-", "-", "-", "-", "-", paint("red", `error: ${r.error?.message ?? "unknown"}`)]);
      continue;
    }
    const notes: string[] = [];
    if (s.unreachable) notes.push(`gap: ${s.unreachable.objects} change-set(s) from txid ${s.unreachable.fromTxid} unreachable`);
    if (s.skippedBackups.length > 0) notes.push(skippedNote(s.skippedBackups));
    const note = notes.length > 0 ? paint("yellow", notes.join("; ")) : "";
    rows.push([
      r.db,
      String(s.backups),
      utc(s.firstRestorableMs),
      utc(s.lastRestorableMs),
      s.latestTxid === null ? "-" : String(s.latestTxid),
      formatBytes(s.bytes),
      currentCell(currentStatus(s), paint),
      note,
    ]);
  }
  return table(rows, ["left", "right", "left", "left", "right", "right", "left", "left"]);
}

function pointsTable(points: RestorePoint[], paint: Painter): string {
  const rows = [["FROM (UTC)", "TO (UTC)", "TXIDS", "OBJECTS", "BACKUP", "NOTE"].map((h) => paint("bold", h))];
  for (const p of points) {
    const note = p.unreachable ? paint("yellow", `gap: ${p.unreachable.objects} change-set(s) from txid ${p.unreachable.fromTxid} unreachable`) : "";
    rows.push([utc(p.fromMs), utc(p.toMs), txidSpan(p.fromTxid, p.toTxid), String(p.objects), p.backupId, note]);
  }
  return table(rows, ["left", "left", "right", "right", "left", "left"]);
}

function backupText(backup: BackupListing, paint: Painter): string {
  const head = `backup ${backup.backupId}  started ${utc(backup.startedMs)}  ${formatBytes(backup.bytes)}  manifest: ${backup.hasManifest ? "yes" : "no"}`;
  const rows = [["KIND", "LEVEL", "TXIDS", "COMMITTED (UTC)", "SIZE"].map((h) => paint("bold", h))];
  const objects = backup.snapshot ? [backup.snapshot, ...backup.changesets] : backup.changesets;
  for (const o of objects) {
    rows.push([o.kind === "snapshot" ? "snapshot" : "change-set", o.kind === "snapshot" ? "-" : `L${o.level}`, txidSpan(o.txidStart, o.txidEnd), utc(o.timestampMs), formatBytes(o.size)]);
  }
  const missing = backup.snapshot ? "" : `\n  ${paint("yellow", "no snapshot: this backup is not restorable")}`;
  return `${head}${missing}\n${indent(table(rows, ["left", "left", "right", "left", "right"]))}`;
}

function indent(text: string): string {
  return text.split("\n").map((l) => `  ${l}`).join("\n");
}

/** One database in detail; a database whose backend failed is its heading and the one-line error. */
export function detailText(report: DatabaseReport, points: RestorePoint[], verbose: boolean, paint: Painter): string {
  const heading = `${paint("bold", report.db)}  on ${report.backend}`;
  const s = report.summary;
  if (report.error || !s) return `${heading}\n  ${paint("red", `error: ${report.error?.message ?? "unknown"}`)}`;
  const status = currentStatus(s);
  const current = s.currentBackupId ? `${currentCell(status, paint)} (${s.currentBackupId})` : currentCell(status, paint);
  const lines = [heading, `  backups: ${s.backups} (${s.restorableBackups} restorable), stored: ${formatBytes(s.bytes)}, CURRENT: ${current}`];
  if (s.latestTxid !== null) lines.push(`  latest: txid ${s.latestTxid} at ${utc(s.lastRestorableMs)}`);
  for (const skipped of s.skippedBackups) {
    const stop = s.latestTxid === null ? "nothing is restorable" : `restore (latest) stops at txid ${s.latestTxid}`;
    lines.push(`  ${paint("yellow", "warning:")} ${skippedText(skipped)}: it cannot be restored and ${stop}`);
  }
  if (status === "mismatch") lines.push(`  ${paint("yellow", "warning:")} CURRENT does not name the newest backup (a possible rollback of the pointer); restore resolves by the objects, not by CURRENT`);
  if (points.length === 0) {
    lines.push("", "  nothing restorable yet");
  } else {
    lines.push("", indent(pointsTable(points, paint)));
  }
  if (verbose && report.listing) {
    for (const backup of report.listing.backups) lines.push("", indent(backupText(backup, paint)));
  }
  return lines.join("\n");
}

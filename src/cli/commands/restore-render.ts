/**
 * @module cli/commands/restore-render
 * What `bakelite restore` prints: the summary for people, the --json document
 * (shape documented in docs/cli.md, "restore --json"), and the warnings when
 * part of the chain lies beyond a gap or a newer backup has no snapshot.
 */
import { formatBytes } from "../../config/units.ts";
import type { RestoreSummary, RestoreTarget } from "../../replica/types.ts";
import { seconds, utc, type Painter } from "../style.ts";
import { skippedBackupJson } from "./list-json.ts";
import { skippedText } from "./list-text.ts";

/** A restore that did nothing on purpose (a guard flag said so). */
export interface SkippedRestore {
  db: string;
  output: string;
  reason: "database-exists" | "no-replica";
  message: string;
}

function targetJson(target: RestoreTarget): Record<string, unknown> {
  if (target.kind === "timestamp") return { kind: "timestamp", timestamp: utc(target.timestampMs), timestampMs: target.timestampMs };
  if (target.kind === "txid") return { kind: "txid", txid: target.txid };
  return { kind: "latest" };
}

export function restoreJson(summary: RestoreSummary, inPlace: boolean): Record<string, unknown> {
  const { plan } = summary;
  return {
    restored: true,
    db: summary.db,
    output: summary.output,
    inPlace,
    target: targetJson(summary.target),
    landed: { txid: plan.landedTxid, timestamp: utc(plan.landedTimestampMs), timestampMs: plan.landedTimestampMs },
    backupId: plan.backupId,
    snapshotTxid: plan.snapshot.txidEnd,
    changesets: plan.changesets.length,
    lineageVerified: summary.lineageVerified,
    pageSize: summary.pageSize,
    pages: summary.pages,
    sizeBytes: summary.pageSize * summary.pages,
    downloadedBytes: summary.downloaded,
    integrityCheck: summary.integrity,
    integrityCheckMs: summary.integrityMs,
    elapsedMs: summary.elapsedMs,
    unreachable: summary.unreachable ?? null,
    skippedBackups: (summary.plan.skipped ?? []).map(skippedBackupJson),
  };
}

export function skippedJson(skip: SkippedRestore): Record<string, unknown> {
  return { restored: false, db: skip.db, output: skip.output, reason: skip.reason, message: skip.message };
}

function targetText(target: RestoreTarget): string {
  if (target.kind === "timestamp") return utc(target.timestampMs);
  if (target.kind === "txid") return `txid ${target.txid}`;
  return "latest";
}

export function restoreText(summary: RestoreSummary, inPlace: boolean, paint: Painter): string {
  const { plan } = summary;
  const ok = paint("green", "✓");
  const n = plan.changesets.length;
  const size = summary.pageSize * summary.pages;
  return [
    `Restored "${summary.db}" ${inPlace ? "in place " : ""}-> ${summary.output}`,
    `  target: ${targetText(summary.target)} -> txid ${plan.landedTxid} at ${utc(plan.landedTimestampMs)}`,
    `  applied: full backup + ${n} change-set(s) (backup ${plan.backupId})`,
    `  ${ok} lineage verified: ${summary.lineageVerified}/${n} change-set(s), hashes match`,
    `  size: ${summary.pages} pages x ${summary.pageSize} bytes (${formatBytes(size)})`,
    `  downloaded: ${formatBytes(summary.downloaded)}`,
    `  ${ok} integrity_check: ${summary.integrity} (${seconds(summary.integrityMs)} of ${seconds(summary.elapsedMs)} in all)`,
  ].join("\n");
}

/**
 * Lines for stderr when change-sets exist past a gap: the restore is correct
 * for the state it reached, but may be older than the user expects, and the
 * replica needs attention.
 */
export function unreachableWarning(summary: RestoreSummary, paint: Painter): string | null {
  const cut = summary.unreachable;
  if (!cut) return null;
  const last = cut.fromTxid - 1;
  return [
    `${paint("yellow", "warning:")} ${paint("bold", `${cut.objects} change-set(s) of backup ${summary.plan.backupId} lie beyond a gap at txid ${cut.fromTxid} and were NOT applied`)}`,
    `${paint("yellow", "warning:")} this restore stops at txid ${last} (${utc(summary.plan.landedTimestampMs)}), which may be older than you expect`,
    `${paint("yellow", "hint:")} an object is missing from the replica; check the daemon's log. Its next snapshot starts a complete backup.`,
  ].join("\n");
}

/**
 * Lines for stderr when the plan passed over newer backups that have no
 * snapshot: the restore is correct for the state it reached, but the replica
 * holds newer data that no restore can reach (the daemon's next snapshot makes
 * the database's state restorable again, not those backups).
 */
export function skippedWarning(summary: RestoreSummary, paint: Painter): string | null {
  const skipped = summary.plan.skipped ?? [];
  if (skipped.length === 0) return null;
  const { plan } = summary;
  const lost = skipped.some((s) => s.changesets > 0);
  const hint = lost
    ? "a snapshot object is missing from the replica (the daemon ships change-sets only after it), so such a backup cannot be restored; check the daemon's log and any lifecycle rule on the bucket. The daemon's next snapshot starts a complete backup."
    : `a snapshot may still be uploading: retry once \`bakelite list --db ${summary.db}\` shows that backup as restorable; if it never does, check the daemon's log.`;
  return [
    `${paint("yellow", "warning:")} ${paint("bold", `newer data was NOT restored: ${skipped.map(skippedText).join("; ")}`)}`,
    `${paint("yellow", "warning:")} this restore stops at txid ${plan.landedTxid} (${utc(plan.landedTimestampMs)}) in the older backup ${plan.backupId}`,
    `${paint("yellow", "hint:")} ${hint}`,
  ].join("\n");
}

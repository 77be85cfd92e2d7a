/**
 * @module cli/commands/status-render
 * The views of `bakelite status`: one aligned row per database with the
 * detail lines people need when something is wrong, the `--check` failure
 * report, and the `--json` document (shape documented in docs/operations.md).
 */
import { formatBytes } from "../../config/units.ts";
import { ageText, isUnhealthyState, type DatabaseStatus, type HealthState } from "../../ops/status-view.ts";
import { table, utc, type Painter } from "../style.ts";

export interface StatusEntry {
  status: DatabaseStatus;
  /** Why it fails `--check` (state and thresholds); empty when healthy. */
  reasons: string[];
}

function stateCell(state: HealthState, paint: Painter): string {
  if (isUnhealthyState(state)) return paint(state === "backing off" ? "yellow" : "red", state);
  return state === "replicating" ? paint("green", state) : state;
}

/** "live" when caught up, "-42s"/"-5m12s" when behind, "-" when unknown. */
export function freshText(lagMs: number | null): string {
  if (lagMs === null) return "-";
  if (lagMs === 0) return "live";
  // Round up: a replica 300 ms behind is behind, not "-0s".
  return `-${ageText(Math.max(1000, Math.ceil(lagMs / 1000) * 1000))}`;
}

function syncedText(s: DatabaseStatus, now: number): string {
  return s.lastSyncedMs === null ? "never" : `${ageText(now - s.lastSyncedMs)} ago`;
}

function detailLines(s: DatabaseStatus, now: number, paint: Painter): string[] {
  const lines: string[] = [];
  const ago = (ms: number | null) => (ms === null ? "never" : `${ageText(now - ms)} ago`);
  if (s.state === "never started") lines.push(`no status file at ${s.statusFile}`);
  if (s.state === "not running") lines.push(`daemon gone: pid ${s.pid ?? "?"} is not running; last heard from ${ago(s.updatedMs)}`);
  if (s.state === "stale") lines.push(`no heartbeat for ${s.updatedMs === null ? "ever" : ageText(now - s.updatedMs)} (pid ${s.pid ?? "?"} exists but is silent)`);
  if (s.state === "stopped") lines.push(`stopped ${ago(s.updatedMs)}`);
  if (s.backoff) {
    const attempts = s.backoff.attempts;
    lines.push(`stuck for ${ageText(now - s.backoff.sinceMs)} (${attempts} failed attempt${attempts === 1 ? "" : "s"})`);
  } else if (s.state === "stale" || s.state === "not running") {
    // Not failing, just not running: say how long nothing has been shipped. A clean stop says "stopped" above.
    const since = s.lastSyncedMs ?? s.startedMs;
    if (since !== null) lines.push(`nothing shipped for ${ageText(now - since)}`);
  }
  if (s.lastError) lines.push(`${paint("red", "last error:")} ${s.lastError}`);
  const v = s.verify;
  if (v) {
    lines.push(v.ok
      ? `verified: ${paint("green", "clean")} (${v.mode}) ${ageText(now - v.timeMs)} ago`
      : `verify: ${paint("red", "PROBLEMS")} (${v.problems} problem${v.problems === 1 ? "" : "s"}, ${v.mode}) ${ageText(now - v.timeMs)} ago`);
  }
  return lines;
}

export function statusText(entries: StatusEntry[], now: number, paint: Painter): string {
  const rows = [["DATABASE", "STATE", "FRESH", "SYNCED", "CHANGES", "SHIPPED"].map((h) => paint("bold", h))];
  const details: string[][] = [];
  for (const { status: s } of entries) {
    rows.push([s.db, stateCell(s.state, paint), freshText(s.lagMs), syncedText(s, now), String(s.changesets), formatBytes(s.bytesShipped)]);
    details.push(detailLines(s, now, paint));
  }
  const rendered = table(rows, ["left", "left", "right", "right", "right", "right"]).split("\n");
  const out = [rendered[0]];
  rendered.slice(1).forEach((row, i) => {
    out.push(row, ...details[i].map((l) => `  ${l}`));
  });
  return out.join("\n");
}

/** What `--check` prints on failure: one line per reason, prefixed by the database. */
export function checkText(entries: StatusEntry[]): string {
  return entries.flatMap((e) => e.reasons.map((r) => `${e.status.db}: ${r}`)).join("\n");
}

const time = (ms: number | null) => (ms === null ? null : utc(ms));
const seconds = (ms: number | null) => (ms === null ? null : Math.round(ms) / 1000);

export function statusJson(entries: StatusEntry[], now: number): Record<string, unknown> {
  return {
    healthy: entries.every((e) => e.reasons.length === 0),
    checked: utc(now),
    checkedMs: now,
    databases: entries.map(({ status: s, reasons }) => ({
      db: s.db,
      path: s.path,
      state: s.state,
      healthy: reasons.length === 0,
      reasons,
      reportedState: s.reportedState,
      pid: s.pid,
      started: time(s.startedMs),
      startedMs: s.startedMs,
      updated: time(s.updatedMs),
      updatedMs: s.updatedMs,
      backupId: s.backupId,
      txid: s.txid,
      lastSynced: time(s.lastSyncedMs),
      lastSyncedMs: s.lastSyncedMs,
      lagSeconds: seconds(s.lagMs),
      changesets: s.changesets,
      backupChangesets: s.backupChangesets,
      bytesShipped: s.bytesShipped,
      lastError: s.lastError,
      backoff: s.backoff && { attempts: s.backoff.attempts, since: utc(s.backoff.sinceMs), sinceMs: s.backoff.sinceMs },
      verify: s.verify && { time: utc(s.verify.timeMs), timeMs: s.verify.timeMs, mode: s.verify.mode, ok: s.verify.ok, problems: s.verify.problems, details: s.verify.details },
    })),
  };
}

/**
 * @module cli/commands/verify-render
 * What `bakelite verify` and `bakelite reencrypt` print: a summary per
 * database for people, the --json documents (docs/cli.md), and a one-line
 * counter on stderr while they work, only on a terminal.
 */
import { formatBytes } from "../../config/units.ts";
import type { BakeliteError } from "../../errors.ts";
import type { ReencryptLeftovers, ReencryptReport } from "../../replica/reencrypt.ts";
import type { VerifyReport } from "../../replica/verify.ts";
import { seconds, table, type Painter } from "../style.ts";

export interface CounterView {
  update(done: number, total: number, what: string): void;
  done(): void;
}

/** `<label>: 12/40 <what>` redrawn in place at most every 100 ms; a no-op off a terminal. */
export function counter(label: string, enabled: boolean, stream: NodeJS.WriteStream = process.stderr): CounterView {
  if (!enabled || !stream.isTTY) return { update() {}, done() {} };
  let last = 0;
  let drawn = false;
  return {
    update(done, total, what) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      stream.write(`\r\x1b[K${label}: ${done}/${total} ${what}`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write("\r\x1b[K");
    },
  };
}

export function verifyText(r: VerifyReport, paint: Painter): string {
  const scope = `${r.backups} backup(s), ${r.objects} object(s), ${formatBytes(r.bytes)}${r.mode === "deep" ? `, ${r.restored} restored` : ""} in ${seconds(r.elapsedMs)}`;
  const head = r.ok
    ? `${r.db}: ${paint("green", "verified clean")} (${r.mode}): ${scope}`
    : `${r.db}: ${paint("red", `PROBLEMS (${r.problems.length})`)} (${r.mode}): ${scope}`;
  const lines = [head];
  if (r.problems.length > 0) lines.push(...table(r.problems.map((p) => [`  ${p.kind}`, `${p.key}: ${p.message}`])).split("\n"));
  for (const w of r.warnings) lines.push(`  ${paint("yellow", "warning:")} ${w}`);
  if (r.mode === "deep" && r.skipped) lines.push(`  ${r.skipped} backup(s) not restored: fix the problems above first`);
  return lines.join("\n");
}

/** A database that could not be verified (backend unreachable, key not loadable): its name, backend and error in one line each. */
export function verifyFailedText(db: string, backend: string, err: BakeliteError, mode: string, paint: Painter): string {
  return `${db}: ${paint("red", "NOT VERIFIED")} (${mode}) on ${backend}\n  error: ${err.message.replace(/\s*\n\s*/g, " ")}`;
}

/** The --json entry of such a database: `list`'s `{ db, backend, error }` entry, plus `ok: false`. */
export function verifyFailedJson(db: string, backend: string, err: BakeliteError) {
  return { db, backend, ok: false, error: { code: err.code, message: err.message, hint: err.hint ?? null } };
}

export function reencryptText(r: ReencryptReport & { backend: string }, paint: Painter): string {
  const verb = r.dryRun ? "would rewrite" : "rewrote";
  const lines = [
    `${r.db} on ${r.backend}: ${verb} ${r.rewritten} of ${r.objects} object(s) (${formatBytes(r.bytes)}) as ${r.target}; ` +
      `${r.skipped} already done, in ${seconds(r.elapsedMs)}`,
  ];
  lines.push(...leftoverLines(r.leftovers, r.dryRun, paint));
  for (const f of r.failed) lines.push(`  ${paint("red", "failed:")} ${f.message}`);
  return lines.join("\n");
}

function leftoverLines(l: ReencryptLeftovers, dryRun: boolean, paint: Painter): string[] {
  if (l.kind === "none") return [];
  const what = l.kind === "temp-files" ? "leftover upload temp file(s)" : "incomplete multipart upload(s)";
  const verb = l.kind === "temp-files" ? (dryRun ? "would remove" : "removed") : dryRun ? "would abort" : "aborted";
  const lines: string[] = [];
  if (l.note) lines.push(`  ${paint("yellow", "note:")} ${what}: ${l.note}`);
  else if (l.removed > 0) lines.push(`  ${verb} ${l.removed} ${what}${l.kind === "temp-files" ? ` (${formatBytes(l.bytes)})` : ""}`);
  else if (l.failed === 0) lines.push(`  no ${what.replace("(s)", "s")}`);
  if (l.failed > 0) lines.push(`  ${paint("red", "failed:")} ${l.failed} ${what} could not be removed (check the permissions under the database's directory)`);
  return lines;
}

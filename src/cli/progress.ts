/**
 * @module cli/progress
 * A one-line progress display on stderr for long work (restore). Only on a
 * terminal: in a pipe, a log file or under systemd it would be noise, so the
 * caller gets a no-op instead.
 */
import { formatBytes } from "../config/units.ts";
import type { RestoreProgress } from "../replica/restore.ts";

export interface RestoreProgressView {
  update(progress: RestoreProgress): void;
  /** Removes the line so the summary starts on a clean one. */
  done(): void;
}

const FRAME_MS = 100;

export function restoreProgress(db: string, enabled: boolean, stream: NodeJS.WriteStream = process.stderr): RestoreProgressView {
  if (!enabled || !stream.isTTY) return { update() {}, done() {} };
  const state = { bytes: 0, totalBytes: 0, objects: 0, totalObjects: 0, pages: 0, totalPages: 0, verifying: false, checking: false };
  let lastDraw = 0;
  let drawn = false;
  const draw = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastDraw < FRAME_MS) return;
    lastDraw = now;
    // integrity_check holds the thread until it is done (seconds per GiB): say so before it starts.
    const text = state.checking
      ? `checking ${db}: SQLite integrity_check of ${state.totalPages} pages (no progress shown; seconds per GiB)`
      : state.verifying
      ? `verifying ${db}: ${bar(state.pages, state.totalPages)} ${state.pages}/${state.totalPages} pages`
      : `restoring ${db}: ${bar(state.bytes, state.totalBytes)} ${formatBytes(state.bytes)} / ${formatBytes(state.totalBytes)}, object ${state.objects}/${state.totalObjects}`;
    stream.write(`\r\x1b[K${text}`);
    drawn = true;
  };
  return {
    update(p) {
      if (p.phase === "download") [state.bytes, state.totalBytes] = [p.done, p.total];
      else if (p.phase === "apply") [state.objects, state.totalObjects] = [p.done, p.total];
      else if (p.phase === "verify") [state.verifying, state.pages, state.totalPages] = [true, p.done, p.total];
      else state.checking = p.done < p.total;
      draw(p.phase === "integrity");
    },
    done() {
      if (drawn) stream.write("\r\x1b[K");
    },
  };
}

function bar(done: number, total: number, width = 24): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(fraction * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
}

/**
 * @module bench/read-slot-cost
 * `bun run bench/read-slot-cost.ts`: what a long-lived read transaction costs
 * an application's commits, depending on which WAL read slot it holds. No
 * bakelite code runs here, only SQLite, so the effect is shown apart from the
 * daemon (docs/performance.md, "Writer commit throughput").
 *
 * Three cases, each a fresh copy of the same generated database, with the
 * writer (bench/writer.ts burst) in its own process and its default
 * wal_autocheckpoint of 1000 pages:
 *   none   no other connection;
 *   mark   a reader that began its transaction while the WAL held frames not
 *          yet checkpointed (it takes a read mark in slots 1..4);
 *   slot0  a reader that began it right after a full checkpoint (it takes
 *          read slot 0, "read the database file only"), which is where the
 *          daemon's read connection sits after its own checkpoint;
 *   moving a reader on a read mark that ends its transaction and begins a
 *          new one every 250 ms (the debounce), as the daemon's read
 *          connection does after each sync, with none of the daemon's other
 *          work: what holding a read mark to protect the WAL costs by
 *          itself (not a floor for throughput: the daemon's own
 *          checkpoints can do better, docs/performance.md).
 * With slot 0 held, every commit past 1000 WAL pages runs an automatic
 * PASSIVE checkpoint that builds its sorted frame index and only then finds
 * slot 0 busy: work that grows with the WAL, on every commit.
 */
import { Database } from "bun:sqlite";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateDatabase } from "./generate.ts";
import { startReader } from "./moving-reader.ts";
import { runJson } from "./procs.ts";
import type { WriterBurst } from "./scenarios/commit.ts";

const COMMITS = 20_000;
const ROUNDS = 2;
type Case = "none" | "mark" | "slot0" | "moving";
const MOVE_EVERY_MS = 250;

async function measure(base: string, work: string, mode: Case): Promise<WriterBurst> {
  const path = join(work, `${mode}.db`);
  for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
  copyFileSync(base, path);
  if (mode === "none") {
    const db = new Database(path);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    db.close();
    return await runJson<WriterBurst>("writer.ts", ["burst", path, String(COMMITS)]);
  }
  const reader = startReader(path, { everyMs: mode === "moving" ? MOVE_EVERY_MS : null, slot0: mode === "slot0" });
  try {
    return await runJson<WriterBurst>("writer.ts", ["burst", path, String(COMMITS)]);
  } finally {
    reader.stop();
  }
}

const work = mkdtempSync(join(tmpdir(), "bakelite-slot-"));
try {
  const base = generateDatabase(join(work, "base.db"), 32 * 2 ** 20).path;
  const rows: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of ["none", "mark", "slot0", "moving"] as const) {
      const r = await measure(base, work, mode);
      rows.push(`${mode.padEnd(6)} ${String(Math.round((r.commits / r.elapsedMs) * 1000)).padStart(7)} commits/s  median ${r.p50Us.toFixed(0).padStart(4)} us  longest ${r.maxMs.toFixed(0).padStart(4)} ms`);
    }
  }
  console.log(`${COMMITS} commits per case, synchronous=NORMAL, wal_autocheckpoint=1000 (the default)`);
  console.log(rows.join("\n"));
} finally {
  rmSync(work, { recursive: true, force: true });
}

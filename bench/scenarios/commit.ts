/**
 * @module bench/scenarios/commit
 * Measurement 4: what the daemon costs the application. The writer
 * (bench/writer.ts, its own process) makes N small commits as fast as it can,
 * in rounds of three runs: without a daemon, with a running daemon, and beside
 * a plain SQLite reader that only moves its read mark every debounce window
 * (bench/moving-reader.ts: what protecting the WAL with a read mark costs
 * by itself). The order rotates every round so a drift over the run
 * (page cache, WAL size, the table growing) does not favour one side. With
 * the daemon, the writer starts only once the daemon is replicating (its
 * snapshot or resume is done), and the daemon is stopped after the round, so
 * every "with" round measures the steady state: WAL watching, change-sets,
 * fsyncs and its own checkpoints.
 */
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { startReader } from "../moving-reader.ts";
import { runJson, startDaemon, writeBenchConfig } from "../procs.ts";

export interface WriterBurst {
  commits: number;
  elapsedMs: number;
  /** Median commit, microseconds. */
  p50Us: number;
  /** Longest single commit, ms. */
  maxMs: number;
}

/** What ran beside the writer. */
export type CommitSide = "without" | "daemon" | "reader";

export interface CommitRound extends WriterBurst {
  side: CommitSide;
}

export interface CommitResult {
  rounds: CommitRound[];
  /** Commits per second over all rounds of each kind. */
  withoutPerSec: number;
  withPerSec: number;
  /** Beside the plain reader moving its mark every debounce window. */
  readerPerSec: number;
}

const SIDES: CommitSide[] = ["without", "daemon", "reader"];

function perSecond(rounds: CommitRound[]): number {
  const commits = rounds.reduce((n, r) => n + r.commits, 0);
  const ms = rounds.reduce((n, r) => n + r.elapsedMs, 0);
  return (commits / ms) * 1000;
}

async function writerBurst(dbPath: string, commits: number): Promise<WriterBurst> {
  return runJson("writer.ts", ["burst", dbPath, String(commits)]);
}

export async function benchCommit(work: string, name: string, dbPath: string, rounds: number, commits: number): Promise<CommitResult> {
  const config = writeBenchConfig(work, name, dbPath, join(work, `replica-${name}`));
  const debounceMs = (await loadConfig(config)).databases[0].debounceMs;
  const writerBeside = async (side: CommitSide, round: number): Promise<WriterBurst> => {
    if (side === "without") return writerBurst(dbPath, commits);
    if (side === "reader") {
      const reader = startReader(dbPath, { everyMs: debounceMs });
      try {
        return await writerBurst(dbPath, commits);
      } finally {
        reader.stop();
      }
    }
    const proc = startDaemon(config, dbPath, name, join(work, `${name}-daemon-${round}.log`));
    try {
      await proc.ready();
      return await writerBurst(dbPath, commits);
    } finally {
      if (proc.proc.exitCode === null) await proc.stop();
    }
  };
  const results: CommitRound[] = [];
  // One unmeasured run first: it creates the events table's working set in the page cache for every side.
  await writerBurst(dbPath, Math.min(commits, 2_000));
  for (let round = 0; round < rounds; round++) {
    const order = SIDES.map((_, i) => SIDES[(i + round) % SIDES.length]);
    for (const side of order) results.push({ side, ...(await writerBeside(side, round)) });
  }
  const over = (side: CommitSide) => perSecond(results.filter((r) => r.side === side));
  return { rounds: results, withoutPerSec: over("without"), withPerSec: over("daemon"), readerPerSec: over("reader") };
}

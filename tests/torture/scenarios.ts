/**
 * @module tests/torture/scenarios
 * The torture scenario table: each adversity, how it is exercised, the seeds
 * `npm test` runs, and the body that drives bakelite through it. The table is
 * the single source for the test suite (scenarios.test.ts), the long runner
 * (scripts/torture.ts) and the generated docs/correctness.md.
 *
 * Bodies draw every choice (writer, timings, kill points) from the seed, so a
 * failing run replays with `npm run torture -- --adversity <name> --seed <n>`;
 * the daemon's own timing is not seeded, which is why long runs try many seeds.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { Workload } from "./workload.ts";
import type { ScenarioContext } from "./scenario-context.ts";
import { encryptionScenario } from "./scenarios-encryption.ts";
import { backendFaultsScenario, crashMidOperationScenario, wormScenario } from "./scenarios-faults.ts";
import { finishCleanly } from "./steps.ts";
import { checkpointModes, type WriterKind } from "./writers/writer.ts";

export interface Scenario {
  /** Stable id: --adversity NAME. */
  name: string;
  /** The adversity, as the correctness page names it. */
  adversity: string;
  /** How the harness exercises it, in a sentence or two (the page's second column). */
  exercised: string;
  /** What runs: which processes drive bakelite, and what sits between the engine and the replica (the page's third column). */
  runs: string;
  /** Needs src/engine/daemon.ts (drives `bakelite daemon` and `restore`). */
  needsEngine: boolean;
  /** Seeds `npm test` runs (kept few: the fast set). */
  seeds: number[];
  run(ctx: ScenarioContext): Promise<void>;
}

const anyWriter: WriterKind[] = ["bun", "python", "node"];
const foreignWriter: WriterKind[] = ["python", "node"];
const cli = "`bakelite daemon` and `bakelite restore` processes over a file backend.";

export const scenarios: Scenario[] = [
  {
    name: "marked-workload",
    adversity: "Marked workload: seeded commits across tables, overflow-page blobs, schema changes, VACUUM, three SQLite builds",
    exercised: "Every scenario's history. Here it is checked against itself: the same seed under bun:sqlite and a foreign writer (Python's sqlite3 or better-sqlite3 under Node) must record the same digest at every commit, and the file left behind must pass the oracle.",
    runs: "The workload alone, under three SQLite builds; no bakelite process.",
    needsEngine: false,
    seeds: [1, 2],
    async run(ctx) {
      const commits = ctx.pick(150, 800);
      const wl = await ctx.workload({ writer: "bun", checkpointChance: 0.05, vacuumChance: 0.03, schemaChance: 0.05 });
      await ctx.write(wl, { commits });
      await wl.close(); // the last connection checkpoints the WAL into the file: one self-contained file to grade
      ctx.gradeFile("bun:sqlite history", ctx.setup.dbPath, { kind: "latest-clean" });
      const writer = ctx.rng.pick(foreignWriter);
      const other = await Workload.open({ dbPath: join(ctx.dir, "data", "twin.db"), seed: ctx.seed, writer, checkpointChance: 0.05, vacuumChance: 0.03, schemaChance: 0.05 });
      try {
        await other.run({ commits });
      } finally {
        await other.close();
      }
      const a = wl.truth.commits.map((c) => c.digest);
      const b = other.truth.commits.map((c) => c.digest);
      const diverged = a.findIndex((d, i) => d !== b[i]);
      if (diverged >= 0 || a.length !== b.length) ctx.fail(`${writer} writer diverged from bun:sqlite at seq ${diverged}`);
    },
  },
  {
    name: "clean-drain",
    adversity: "Clean quiescent drain, then restore must be exact",
    exercised: "Bursts of commits while a real daemon runs, then SIGTERM: the daemon must ship everything committed and exit 0, and restore latest must equal the last commit; then random points in time, graded and checked for monotonicity.",
    runs: cli,
    needsEngine: true,
    seeds: [11, 12],
    async run(ctx) {
      const wl = await ctx.workload({ writer: ctx.rng.pick(anyWriter) });
      const d = ctx.startDaemon();
      for (let i = ctx.pick(6, 30); i > 0; i--) {
        await ctx.write(wl, { commits: 5 + ctx.rng.int(40) });
        await Bun.sleep(ctx.rng.int(150)); // idle gaps, so the history spans several change-sets
      }
      await ctx.stopDaemon(d);
      await ctx.restoreAndGrade("latest after clean stop", { kind: "latest" }, { kind: "latest-clean" });
      await ctx.pointInTimeSeries("point in time", ctx.pick(4, 10));
    },
  },
  {
    name: "unsynced-window",
    adversity: "Unsynced window: commits made after the last sync, before the daemon dies",
    exercised: "Wait until the daemon reports a sync, commit a burst, SIGKILL it at once. A restore must land at or above both the reported sync and the cursor's durable txid; the resumed daemon must then ship the window, and a clean stop restores exactly.",
    runs: cli,
    needsEngine: true,
    seeds: [21, 22],
    async run(ctx) {
      const wl = await ctx.workload({ writer: ctx.rng.pick(anyWriter) });
      for (let round = 1, rounds = ctx.pick(2, 6); round <= rounds; round++) {
        const d = ctx.startDaemon();
        await ctx.write(wl, { commits: 10 + ctx.rng.int(50) });
        if (!(await ctx.waitSynced(wl.head.committedMs))) ctx.fail(`round ${round}: the daemon never reported a sync covering seq ${wl.seq}`);
        const reported = wl.seq;
        await ctx.write(wl, { commits: 1 + ctx.rng.int(30) });
        await ctx.killDaemon(d);
        const cursor = await ctx.durableFloor(`round ${round}: durable txid`);
        await ctx.restoreAndGrade(`round ${round}: latest after SIGKILL`, { kind: "latest" }, { kind: "latest-crash", durableFloorSeq: Math.max(reported, cursor ?? 0) });
      }
      await finishCleanly(ctx, wl, "after resume");
    },
  },
  {
    name: "sigkill-under-load",
    adversity: "SIGKILL of the live daemon under write load, then resume",
    exercised: "A real daemon process is killed at a random moment while the application writes, many times a run; the application keeps writing while it is down. After every kill, restore latest is graded against the cursor's durable floor; at the end the resumed daemon drains and the restore is exact.",
    runs: cli,
    needsEngine: true,
    seeds: [31, 32],
    async run(ctx) {
      // Full runs sometimes grow the database to a few MB, so kills also land inside longer snapshots.
      const wl = await ctx.workload({ writer: ctx.rng.pick(anyWriter), vacuumChance: 0.01, cap: ctx.pick(40, ctx.rng.pick([40, 400])) });
      for (let kill = 1, kills = ctx.pick(4, 15); kill <= kills; kill++) {
        const d = ctx.startDaemon();
        const writing = ctx.write(wl, { ms: 200 + ctx.rng.int(800) });
        await Bun.sleep(30 + ctx.rng.int(700)); // the kill point is the adversity: anywhere in snapshot, ship or checkpoint
        await ctx.killDaemon(d);
        await writing;
        const floor = await ctx.durableFloor(`kill ${kill}: durable txid`);
        await ctx.restoreAndGrade(`kill ${kill}: latest after SIGKILL`, { kind: "latest" }, { kind: "latest-crash", durableFloorSeq: floor }, floor === undefined);
      }
      await finishCleanly(ctx, wl, "after resume");
    },
  },
  {
    name: "foreign-checkpoints",
    adversity: "Application checkpoints of every mode from foreign writers, while the daemon runs and while it is down",
    exercised: "Python's sqlite3 or better-sqlite3 runs PASSIVE, FULL, RESTART and TRUNCATE checkpoints between its commits, and for a while another connection pins an old snapshot with an open read transaction. While the daemon runs none of this may lose a frame; while it is down (stopped or killed) they backfill and reset the WAL, which the daemon must notice on resume and re-base on a new snapshot.",
    runs: cli,
    needsEngine: true,
    seeds: [41, 42],
    async run(ctx) {
      const wl = await ctx.workload({ writer: ctx.rng.pick(foreignWriter), checkpointChance: 0.1, writerOptions: { autocheckpoint: ctx.rng.pick([0, 100, 1000]) } });
      const checkpointAll = async () => {
        for (const mode of checkpointModes) {
          await ctx.write(wl, { commits: 3 + ctx.rng.int(15) });
          await wl.checkpoint(mode, 50);
          ctx.stats.faultsInjected++;
        }
      };
      for (let round = 1, rounds = ctx.pick(2, 5); round <= rounds; round++) {
        const d = ctx.startDaemon();
        await checkpointAll();
        // An application reader pinning an old snapshot: the daemon's own checkpoint cannot finish meanwhile.
        const reader = new Database(ctx.setup.dbPath, { readonly: true });
        reader.run("BEGIN");
        reader.query("SELECT count(*) FROM _log").get();
        await ctx.write(wl, { commits: 20 + ctx.rng.int(60) });
        reader.run("COMMIT");
        reader.close();
        await checkpointAll();
        if (ctx.rng.chance(0.5)) await ctx.stopDaemon(d);
        else await ctx.killDaemon(d);
        await checkpointAll(); // nobody pins the WAL now: these really backfill and reset it
      }
      await finishCleanly(ctx, wl, "after resume");
    },
  },
  {
    name: "backfilled-wal-at-start",
    adversity: "A WAL the application fully checkpointed but has not reset yet, when the daemon opens or resumes",
    exercised: "While the daemon is down (stopped or killed) the writer commits and runs a PASSIVE or FULL checkpoint: every frame is backfilled, but the WAL is reset only by the next commit. The daemon opens on that WAL, where its read transaction sits on read slot 0, which does not stop a reset, while the writer commits from a random moment of its start-up on: the reset rewrites frames the daemon may still be reading for its snapshot or for the change-set of the commits it missed. No page of the new generation may reach the replica in their place, at any point in time. The moment itself is narrow and a run hits it by chance; tests/engine/slot0.test.ts builds it on purpose.",
    runs: cli,
    needsEngine: true,
    seeds: [71, 72],
    async run(ctx) {
      const wl = await ctx.workload({ writer: ctx.rng.pick(foreignWriter) });
      let d = ctx.startDaemon();
      await ctx.write(wl, { commits: 20 + ctx.rng.int(40) });
      for (let round = 1, rounds = ctx.pick(2, 6); round <= rounds; round++) {
        if (ctx.rng.chance(0.5)) await ctx.stopDaemon(d);
        else await ctx.killDaemon(d);
        await ctx.write(wl, { commits: 5 + ctx.rng.int(40) });
        await wl.checkpoint(ctx.rng.pick(["PASSIVE", "FULL"] as const), 50);
        ctx.stats.faultsInjected++;
        d = ctx.startDaemon();
        await Bun.sleep(ctx.rng.int(400)); // anywhere in the daemon's start: loading, opening, resuming, snapshotting
        await ctx.write(wl, { ms: 200 + ctx.rng.int(800) });
      }
      await ctx.stopDaemon(d);
      await ctx.restoreAndGrade("latest after a clean stop", { kind: "latest" }, { kind: "latest-clean" });
      await ctx.pointInTimeSeries("point in time across the rounds", ctx.pick(5, 12));
    },
  },
  {
    name: "journal-size-limit",
    adversity: "journal_size_limit and frequent auto-checkpoints set by the application",
    exercised: "The writer sets journal_size_limit (0 to 128 KiB) and a small wal_autocheckpoint, so SQLite itself checkpoints and truncates the WAL under the daemon and, while the daemon is killed, behind its back.",
    runs: cli,
    needsEngine: true,
    seeds: [51, 52],
    async run(ctx) {
      const wl = await ctx.workload({
        writer: ctx.rng.pick(anyWriter),
        writerOptions: { journalSizeLimit: ctx.rng.pick([0, 32768, 131072]), autocheckpoint: ctx.rng.pick([16, 64, 200]) },
      });
      for (let round = 1, rounds = ctx.pick(2, 5); round <= rounds; round++) {
        const d = ctx.startDaemon();
        await ctx.write(wl, { commits: 30 + ctx.rng.int(100) });
        await ctx.killDaemon(d);
        const floor = await ctx.durableFloor(`round ${round}: durable txid`);
        await ctx.restoreAndGrade(`round ${round}: latest after SIGKILL`, { kind: "latest" }, { kind: "latest-crash", durableFloorSeq: floor }, floor === undefined);
        await ctx.write(wl, { commits: 30 + ctx.rng.int(100) }); // auto-checkpoints truncate the WAL while nobody watches
        ctx.stats.faultsInjected++;
      }
      await finishCleanly(ctx, wl, "after resume");
    },
  },
  {
    name: "database-replaced",
    adversity: "The database file replaced under the daemon",
    exercised: "The operator's swap: stop the application, move another file over the database, drop the stale -wal/-shm, start again. Once with a re-laid-out copy of the same state (VACUUM INTO) and once with an older state (a rewind), each with the daemon running or down. The daemon must notice and start a new backup; later restores must follow the new history and points in time before the swap the old one.",
    runs: cli,
    needsEngine: true,
    seeds: [61, 62],
    async run(ctx) {
      const wl = await ctx.workload({ writer: ctx.rng.pick(anyWriter) });
      let d = ctx.startDaemon();
      await ctx.write(wl, { commits: 20 + ctx.rng.int(40) });
      const older = join(ctx.dir, "older.db");
      wl.saveCopy(older);
      await ctx.write(wl, { commits: 20 + ctx.rng.int(40) });
      for (const [what, source] of [["re-laid-out copy", join(ctx.dir, "relayout.db")], ["older state", older]] as const) {
        const down = ctx.rng.chance(0.5);
        if (down) await ctx.stopDaemon(d);
        // "Running" means it holds the database open. A swap while it is still opening it (the quick sizes
        // write everything before a loaded machine has started it) pairs its connections' database file and
        // -wal/-shm across the two files, which no opener can be guarded against completely; see the swap
        // test in regressions.test.ts for the part the engine must guard.
        else if (!(await ctx.waitSynced(wl.head.committedMs))) ctx.fail(`before swapping in the ${what}: the daemon never reported a sync covering seq ${wl.seq}`);
        if (source !== older) wl.saveCopy(source);
        await wl.replaceWith(source);
        ctx.stats.faultsInjected++;
        if (down) d = ctx.startDaemon();
        await ctx.write(wl, { commits: 10 + ctx.rng.int(40) });
        if (!(await ctx.waitSynced(wl.head.committedMs))) ctx.fail(`after swapping in the ${what}: the daemon never reported a sync covering seq ${wl.seq}`);
      }
      await ctx.stopDaemon(d);
      await ctx.restoreAndGrade("latest after the swaps and a clean stop", { kind: "latest" }, { kind: "latest-clean" });
      await ctx.pointInTimeSeries("point in time across swaps", ctx.pick(5, 12));
    },
  },
  backendFaultsScenario,
  crashMidOperationScenario,
  encryptionScenario,
  wormScenario,
];

export function findScenario(name: string): Scenario | undefined {
  return scenarios.find((s) => s.name === name);
}

/**
 * Adversities the correctness bar names that this table does not drive yet.
 * They are listed on the generated page as not covered, so the page never
 * claims more than the harness does; remove an entry when its scenario lands.
 */
export const plannedAdversities: readonly { adversity: string; plan: string }[] = [
  { adversity: "Crash mid-operation: mid-compaction and mid-delete", plan: "SIGKILL at each write and delete boundary of compaction and retention (neither exists yet) and check that resume reconciles from the cursor; the write boundaries that exist today are the `crash-mid-operation` row" },
  { adversity: "WORM / Object Lock against pruning: retention and compaction on a locked bucket", plan: "the same refusing backend as `worm-immutable`, with retention and compaction running; they must leave locked objects in place, report it and keep every restore correct (neither feature exists yet)" },
  { adversity: "Several destinations with faults on one of them", plan: "fan-out in lock-step with per-destination faults (fan-out is not built yet); a corrupt copy must fall through to a healthy one" },
];

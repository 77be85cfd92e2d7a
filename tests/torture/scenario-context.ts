/**
 * @module tests/torture/scenario-context
 * What a torture scenario works with, and how one run is carried out: a temp
 * directory with the database (data/), the replica and the ground truth kept
 * apart; the seeded workload; daemons as child processes; restores graded by
 * the oracle; counters for the summary; and, on failure, the seed and the
 * exact command that replays it. A scenario never stops at its first failed
 * grade: it records it and goes on, so one run reports everything it saw.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileBackend } from "../../src/backends/file.ts";
import type { ObjectKeys } from "../../src/format/keyring.ts";
import { listDatabase } from "../../src/replica/listing.ts";
import { restoreDatabase } from "../../src/replica/restore.ts";
import { readStatus } from "../../src/ops/status-file.ts";
import { checkMonotonic, gradeRestore, type Grade, type GradeOptions } from "./oracle.ts";
import { Rng } from "./plan.ts";
import { DaemonProcess, durableTxid, printable, repoRoot, runRestore, writeTortureConfig, type EngineSetup, type RestoreRequest } from "./engine.ts";
import { injectedFaults, readReport, type RunnerPlan, type RunnerReport } from "./fault-plan.ts";
import { Workload, type WorkloadOptions } from "./workload.ts";
import type { Truth } from "./truth.ts";

export interface ScenarioStats {
  commits: number;
  restoresGraded: number;
  faultsInjected: number;
  /** The fault runner's injected faults by kind (errorBefore, outage, …), summed over its runs. */
  faultKinds: Record<string, number>;
  kills: number;
  failures: string[];
}

/** Daemon settings that make a scenario take seconds, not minutes; a small max_wal_size so the daemon's own checkpoints happen too. */
export const tortureDaemonSettings = ['debounce = "20ms"', 'max_batch_delay = "100ms"', 'safety_poll = "500ms"', 'max_wal_size = "256KiB"'];

export class ScenarioContext {
  readonly rng: Rng;
  readonly stats: ScenarioStats = { commits: 0, restoresGraded: 0, faultsInjected: 0, faultKinds: {}, kills: 0, failures: [] };
  readonly setup: EngineSetup;
  readonly truthPath: string;
  private readonly daemons: DaemonProcess[] = [];
  private readonly workloads: Workload[] = [];
  private readonly runnerReports = new Map<DaemonProcess, string>();
  private restores = 0;

  constructor(readonly seed: number, readonly dir: string, readonly quick: boolean, daemonSettings: string[] = tortureDaemonSettings) {
    // The scenario's own choices draw from a stream apart from the workload's, so adding a kill does not change the data.
    this.rng = new Rng(seed ^ 0x5ca1ab1e);
    this.setup = writeTortureConfig(dir, daemonSettings);
    this.truthPath = join(dir, "truth.jsonl");
  }

  /** `quick` for npm test, `full` for npm run torture. */
  pick<T>(quick: T, full: T): T {
    return this.quick ? quick : full;
  }

  async workload(options: Partial<WorkloadOptions> = {}): Promise<Workload> {
    const truth = this.workloads.at(-1)?.truth;
    // A later workload over the same history (another writer, say) draws a different stream: seed + n.
    const seed = this.seed + this.workloads.length * 7919;
    const wl = await Workload.open({ dbPath: this.setup.dbPath, seed, truthPath: this.truthPath, truth, ...options });
    this.workloads.push(wl);
    return wl;
  }

  get truth(): Truth {
    const wl = this.workloads.at(-1);
    if (!wl) throw new Error("scenario: no workload opened yet");
    return wl.truth;
  }

  /** Commits with the workload for `ms` (or `commits`), counting them. */
  async write(wl: Workload, limit: { ms?: number; commits?: number }): Promise<void> {
    this.stats.commits += await wl.run({ commits: limit.commits, untilMs: limit.ms === undefined ? undefined : Date.now() + limit.ms });
  }

  /** Rewrites the config (same paths): `extra` lines in [[database]], `head` lines before it. */
  reconfigure(o: { extra?: string[]; head?: string[] }): void {
    writeTortureConfig(this.dir, o.extra ?? tortureDaemonSettings, this.setup.name, o.head ?? []);
  }

  /** Where the fault runner looks for the outage switch. */
  get outagePath(): string {
    return join(this.dir, "outage");
  }

  /** Switches the fault runner's full outage on or off (it polls every 20 ms). */
  setOutage(on: boolean): void {
    if (on) writeFileSync(this.outagePath, "");
    else rmSync(this.outagePath, { force: true });
  }

  /** Starts tests/torture/fault-runner.ts with this plan; the plan file stays in the run directory. */
  startRunner(plan: Omit<RunnerPlan, "config" | "reportPath" | "mode"> & { mode?: RunnerPlan["mode"] }): DaemonProcess {
    const n = this.runnerReports.size + 1;
    const reportPath = join(this.dir, `runner-${n}.report.json`);
    const planPath = join(this.dir, `runner-${n}.plan.json`);
    const full: RunnerPlan = { mode: "daemon", ...plan, config: this.setup.configPath, reportPath };
    writeFileSync(planPath, JSON.stringify(full, null, 2));
    const d = DaemonProcess.spawn(this.setup, ["bun", join(repoRoot, "tests", "torture", "fault-runner.ts"), planPath]);
    this.daemons.push(d);
    this.runnerReports.set(d, reportPath);
    return d;
  }

  /** The runner's last report; once it ended, its injected faults are added to the run's count (once). */
  runnerReport(d: DaemonProcess): RunnerReport | null {
    const path = this.runnerReports.get(d);
    if (path === undefined) throw new Error("scenario: not a fault runner");
    const report = readReport(path);
    if (!d.running && report) {
      this.stats.faultsInjected += injectedFaults(report.faults);
      for (const [kind, n] of Object.entries(report.faults ?? {})) {
        if (kind !== "calls" && n > 0) this.stats.faultKinds[kind] = (this.stats.faultKinds[kind] ?? 0) + n;
      }
      this.runnerReports.set(d, "");
    }
    return report;
  }

  startDaemon(): DaemonProcess {
    const d = DaemonProcess.start(this.setup);
    this.daemons.push(d);
    return d;
  }

  async killDaemon(d: DaemonProcess): Promise<void> {
    await d.kill();
    this.stats.kills++;
  }

  /**
   * Graceful stop; a non-zero exit is a failure (with the log's tail). It
   * first waits for the daemon to publish its status: a SIGTERM that arrives
   * while the runtime is still loading kills any process, which says nothing
   * about bakelite's drain.
   */
  async stopDaemon(d: DaemonProcess, o: { allowFailure?: boolean } = {}): Promise<number> {
    const deadline = Date.now() + 15_000;
    while (d.running && readStatus(this.setup.dbPath, this.setup.name)?.pid !== d.pid && Date.now() < deadline) await Bun.sleep(10);
    const code = await d.stop();
    if (code !== 0 && !o.allowFailure) this.fail(`daemon exited ${code} on SIGTERM (${printable(d.command)}); log: ${d.tail(4)}`);
    return code;
  }

  fail(reason: string): void {
    this.stats.failures.push(reason);
  }

  /**
   * Runs `restore`, grades the output, records failures under `label`. Null
   * when the restore itself failed. `noBackupOk`: the daemon may have died
   * before its first snapshot, so "no backup" (exit 5) is the right answer.
   * With `keys`, the restore runs in this process (restoreDatabase) with
   * those keys: for states the CLI cannot read with one configured key, such
   * as a key rotation caught half way.
   */
  async restoreAndGrade(label: string, target: RestoreRequest, grade: GradeOptions, noBackupOk = false, keys?: ObjectKeys): Promise<Grade | null> {
    const output = join(this.dir, `restore-${++this.restores}.db`);
    const run = keys ? await this.restoreInProcess(output, target, keys) : await runRestore(this.setup, output, target);
    if (!run.ok) {
      if (!(noBackupOk && run.exitCode === 5)) this.fail(`${label}: restore exited ${run.exitCode}: ${run.stderr.replace(/\s*\n\s*/g, " | ").slice(0, 400)} (${printable(run.command)})`);
      return null;
    }
    // A txid the daemon called durable must restore exactly: landing lower (a cut chain, a lost object) is a loss.
    if (target.kind === "txid" && run.landedTxid !== target.txid) {
      this.fail(`${label}: restore --txid ${target.txid} landed on txid ${run.landedTxid ?? "?"} (${printable(run.command)})`);
    }
    const g = this.gradeFile(label, output, grade, printable(run.command));
    rmSync(output, { force: true });
    return g;
  }

  private async restoreInProcess(output: string, target: RestoreRequest, keys: ObjectKeys): Promise<{ ok: boolean; exitCode: number; stderr: string; command: string[]; landedTxid?: number }> {
    const command = ["in-process", "restoreDatabase", JSON.stringify(target)];
    try {
      const summary = await restoreDatabase({ backend: new FileBackend(this.setup.replica), db: this.setup.name, output, target, keys });
      return { ok: true, exitCode: 0, stderr: "", command, landedTxid: summary.plan.landedTxid };
    } catch (err) {
      return { ok: false, exitCode: -1, stderr: (err as Error).message, command };
    }
  }

  /** Grades a file the scenario produced, recording each failed check. */
  gradeFile(label: string, path: string, grade: GradeOptions, command = "", truth = this.truth): Grade {
    const g = gradeRestore(path, truth, grade);
    this.stats.restoresGraded++;
    for (const f of g.failures) this.fail(`${label}: ${f}${command ? ` (${command})` : ""}`);
    return g;
  }

  /**
   * The durable floor in workload terms: the txid the daemon's fsync'd cursor
   * calls durable, restored by --txid (it must restore: the daemon said so),
   * read back as a seq. Undefined before the daemon's first snapshot.
   */
  async durableFloor(label: string, keys?: ObjectKeys): Promise<number | undefined> {
    const txid = durableTxid(this.setup);
    if (txid === null) return undefined;
    const g = await this.restoreAndGrade(`${label} (cursor txid ${txid})`, { kind: "txid", txid }, { kind: "latest-crash" }, false, keys);
    return g?.seq ?? undefined;
  }

  /**
   * Waits (polling the daemon's status file) until it reports a sync that
   * began after `ms`, a commit's `committedMs`. Strictly after: both are
   * truncated to the millisecond, so equal stamps could hide a sync that began
   * just before the commit returned. False on timeout.
   */
  async waitSynced(ms: number, timeoutMs = 15_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const s = readStatus(this.setup.dbPath, this.setup.name);
      if (s && s.lastSyncedMs !== null && s.lastSyncedMs > ms) return true;
      await Bun.sleep(20);
    }
    return false;
  }

  /**
   * Restores `count` random points in time between the replica's first
   * snapshot and the last commit (plus any `targets` the scenario names),
   * grades each, and checks that later targets never land on earlier states.
   */
  async pointInTimeSeries(label: string, count: number, o: { keys?: ObjectKeys; targets?: number[] } = {}): Promise<void> {
    const listing = await listDatabase(new FileBackend(this.setup.replica), this.setup.name);
    const starts = listing.backups.map((b) => b.snapshot?.timestampMs).filter((t): t is number => t !== undefined);
    if (starts.length === 0) return this.fail(`${label}: the replica holds no snapshot`);
    const from = Math.min(...starts);
    const to = this.truth.last.committedMs + 5;
    const targets = Array.from({ length: count }, () => from + this.rng.int(Math.max(1, to - from)));
    // One target exactly on a recorded commit time: the boundary case.
    const onCommit = this.truth.commits.filter((c) => c.issuedMs >= from);
    if (onCommit.length > 0) targets.push(this.rng.pick(onCommit).issuedMs);
    // The scenario's own sharp targets, e.g. the commit time of an object a crash left behind.
    targets.push(...(o.targets ?? []).filter((t) => t >= from));
    const points: { targetMs: number; grade: Grade }[] = [];
    for (const targetMs of targets.sort((a, b) => a - b)) {
      const g = await this.restoreAndGrade(`${label} @${new Date(targetMs).toISOString()}`, { kind: "timestamp", timestampMs: targetMs }, { kind: "pit", targetMs }, false, o.keys);
      if (g) points.push({ targetMs, grade: g });
    }
    const mono = checkMonotonic(points);
    if (!mono.ok) this.fail(`${label}: ${mono.detail}`);
  }

  /** Kills leftover daemons and closes workloads; always runs. */
  async cleanup(): Promise<void> {
    for (const d of this.daemons) if (d.running) await d.kill();
    this.setOutage(false);
    for (const wl of this.workloads) await wl.close().catch(() => undefined);
  }
}

export interface ScenarioRun {
  name: string;
  seed: number;
  stats: ScenarioStats;
  elapsedMs: number;
  /** The command that replays this run. */
  replay: string;
  /** Kept for inspection when the run failed. */
  dir?: string;
}

export function replayCommand(name: string, seed: number, quick: boolean): string {
  const cli = process.env.BAKELITE_TORTURE_CLI ? `BAKELITE_TORTURE_CLI=${process.env.BAKELITE_TORTURE_CLI} ` : "";
  return `${cli}npm run torture -- --adversity ${name} --seed ${seed}${quick ? " --quick" : ""}`;
}

/** Runs one scenario body for one seed in a fresh temp dir; removes the dir unless the run failed. */
export async function runScenario(name: string, body: (ctx: ScenarioContext) => Promise<void>, seed: number, quick: boolean): Promise<ScenarioRun> {
  const dir = mkdtempSync(join(tmpdir(), "bakelite-torture-"));
  const ctx = new ScenarioContext(seed, dir, quick);
  const started = Date.now();
  try {
    await body(ctx);
  } catch (err) {
    ctx.fail(`aborted: ${(err as Error).stack ?? err}`);
  } finally {
    await ctx.cleanup();
  }
  const failed = ctx.stats.failures.length > 0;
  if (!failed) rmSync(dir, { recursive: true, force: true });
  return { name, seed, stats: ctx.stats, elapsedMs: Date.now() - started, replay: replayCommand(name, seed, quick), dir: failed ? dir : undefined };
}

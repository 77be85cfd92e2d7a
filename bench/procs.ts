/**
 * @module bench/procs
 * Child processes for the benchmark: timed shell-free commands (the
 * baselines), the daemon as a process of its own (started, waited on until
 * its first snapshot is durable, stopped with SIGTERM like systemd would),
 * and JSON-printing helpers (writer, restore). Every failure names the
 * command and carries its stderr, so a broken run says why.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { readCursor, type Cursor } from "../src/engine/cursor.ts";
import { readStatus } from "../src/ops/status-file.ts";

const benchDir = import.meta.dir;

export interface Timed {
  wallMs: number;
  /** User + system CPU time of the process, ms. */
  cpuMs: number;
}

export function cpuMsOf(proc: Bun.Subprocess): number {
  return Number(proc.resourceUsage()?.cpuTime.total ?? 0n) / 1000;
}

/**
 * Writes every dirty page of the system back (`sync`), untimed, before a
 * timed step: the baselines do not fsync, so without it the step after one
 * would pay for writing back its gigabyte while it writes and fsyncs its own.
 */
export async function settleDisk(): Promise<void> {
  const code = await Bun.spawn(["sync"], { stdout: "ignore", stderr: "ignore" }).exited;
  if (code !== 0) throw new Error(`sync exited with ${code}`);
}

/** Runs `cmd` (stdout optionally into a file) and returns its wall and CPU time. */
export async function timeCommand(cmd: string[], stdoutTo?: string): Promise<Timed> {
  const started = performance.now();
  const proc = Bun.spawn(cmd, { stdout: stdoutTo ? Bun.file(stdoutTo) : "ignore", stderr: "pipe" });
  const code = await proc.exited;
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited with ${code}: ${(await new Response(proc.stderr).text()).trim()}`);
  return { wallMs, cpuMs: cpuMsOf(proc) };
}

/** Runs a bench script with bun and parses the one JSON line it prints. */
export async function runJson<T>(script: string, args: string[]): Promise<T> {
  const proc = Bun.spawn(["bun", join(benchDir, script), ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${script} ${args.join(" ")} exited with ${code}: ${err.trim()}`);
  return JSON.parse(out.trim().split("\n").pop()!) as T;
}

/** Polls `check` every `everyMs` until it returns a value other than undefined. */
export async function waitFor<T>(check: () => T | undefined, what: string, timeoutMs = 120_000, everyMs = 5): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(everyMs);
  }
}

/**
 * A config for one database `name` at `dbPath`, replicated to the directory
 * `replica`, all other settings default except `snapshot_workers` when given.
 */
export function writeBenchConfig(dir: string, name: string, dbPath: string, replica: string, snapshotWorkers?: number): string {
  const path = join(dir, `${name}.toml`);
  const daemon = snapshotWorkers === undefined ? "" : `[daemon]\nsnapshot_workers = ${snapshotWorkers}\n\n`;
  writeFileSync(path, `${daemon}[[database]]\nname = ${JSON.stringify(name)}\npath = ${JSON.stringify(dbPath)}\n\n  [[database.backends]]\n  type = "file"\n  path = ${JSON.stringify(replica)}\n`);
  return path;
}

export function cursorOf(dbPath: string, name: string): Cursor | null {
  try {
    return readCursor(dbPath, name);
  } catch {
    // Between the daemon's write and rename there is nothing torn to read (the rename is atomic); a parse error is a real problem but retried here.
    return null;
  }
}

export interface DaemonProcess {
  proc: Bun.Subprocess;
  /** performance.now() just before the spawn. */
  spawnedAt: number;
  logPath: string;
  /** Resolves once the daemon has taken or resumed a backup and is replicating. */
  ready(): Promise<Cursor>;
  /** SIGTERM, then wait: the daemon ships what is committed and exits 0. */
  stop(): Promise<void>;
}

export function startDaemon(configPath: string, dbPath: string, name: string, logPath: string): DaemonProcess {
  const spawnedAt = performance.now();
  const proc = Bun.spawn(["bun", join(benchDir, "daemon-runner.ts"), configPath], {
    stdout: "ignore",
    // The logger writes everything to stderr.
    stderr: Bun.file(logPath),
    env: { ...process.env, BAKELITE_LOG: process.env.BENCH_DAEMON_LOG ?? "info", NO_COLOR: "1" },
  });
  const failed = async (what: string) => {
    const log = await Bun.file(logPath).text().catch(() => "");
    return new Error(`daemon ${what} (exit ${proc.exitCode}); its log:\n${log.trim().split("\n").slice(-8).join("\n")}`);
  };
  return {
    proc,
    spawnedAt,
    logPath,
    async ready() {
      const state = await waitFor(() => {
        if (proc.exitCode !== null) return "exited";
        const status = readStatus(dbPath, name);
        return status?.pid === proc.pid && status.state === "replicating" ? "ready" : undefined;
      }, "the daemon to start replicating");
      if (state === "exited") throw await failed("exited before replicating");
      const cursor = cursorOf(dbPath, name);
      if (!cursor) throw await failed("reports replicating but wrote no cursor");
      return cursor;
    },
    async stop() {
      proc.kill("SIGTERM");
      const code = await proc.exited;
      if (code !== 0) throw await failed("did not stop cleanly");
    },
  };
}

/** The daemon's own timing of its snapshot, from its log ("... bytes in N ms"), when present. */
export async function loggedSnapshotMs(logPath: string): Promise<number | null> {
  const text = await Bun.file(logPath).text().catch(() => "");
  const match = /snapshot at txid \d+, \d+ pages, \d+ bytes in (\d+) ms/.exec(text);
  return match ? Number(match[1]) : null;
}

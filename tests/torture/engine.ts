/**
 * @module tests/torture/engine
 * Drives bakelite the way a user does: a TOML config, `daemon` as a real child
 * process (so SIGTERM and SIGKILL mean what they mean in production) and
 * `restore` as a command whose exit code counts.
 */
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { readCursor } from "../../src/engine/cursor.ts";

export const repoRoot = join(import.meta.dir, "..", "..");
const realCli = join(repoRoot, "src", "cli", "main.ts");

/** The engine's daemon exists: scenarios that need it can run. */
export function engineAvailable(): boolean {
  return existsSync(join(repoRoot, "src", "engine", "daemon.ts"));
}

/**
 * How to run bakelite: `bun src/cli/main.ts`, or the executable named by
 * BAKELITE_TORTURE_CLI (e.g. dist/bakelite, to torture the compiled binary).
 */
export function cliCommand(): string[] {
  const exe = process.env.BAKELITE_TORTURE_CLI;
  return exe ? [exe] : ["bun", realCli];
}

/** A command as one line a person can paste (paths relative to the repo). */
export function printable(cmd: string[]): string {
  return cmd.map((a) => (a.startsWith(repoRoot) ? relative(repoRoot, a) : a)).map((a) => (/^[\w./:=@-]+$/.test(a) ? a : `'${a}'`)).join(" ");
}

export interface EngineSetup {
  name: string;
  dir: string;
  dbPath: string;
  replica: string;
  configPath: string;
}

/**
 * Writes a one-database config with a file backend; `extra` lines go into
 * [[database]], `head` lines before it (e.g. a [defaults.encryption] table).
 * The database lives in <dir>/data/, apart from the replica and from the
 * ground truth the caller keeps in <dir>. Rewriting keeps every path.
 */
export function writeTortureConfig(dir: string, extra: string[] = [], name = "app", head: string[] = []): EngineSetup {
  mkdirSync(join(dir, "data"), { recursive: true });
  const dbPath = join(dir, "data", `${name}.db`);
  const replica = join(dir, "replica");
  const configPath = join(dir, "bakelite.toml");
  const lines = [...head, "", "[[database]]", `name = "${name}"`, `path = "${dbPath}"`, ...extra, "  [[database.backends]]", '  type = "file"', `  path = "${replica}"`, ""];
  writeFileSync(configPath, lines.join("\n"));
  return { name, dir, dbPath, replica, configPath };
}

/**
 * A running `bakelite daemon` (or another long-running bakelite process, such
 * as the fault runner); its output goes to <dir>/daemon-<n>.log.
 */
export class DaemonProcess {
  private static started = 0;
  readonly logPath: string;
  private readonly proc: Bun.Subprocess;

  private constructor(setup: EngineSetup, readonly command: string[]) {
    this.logPath = join(setup.dir, `daemon-${++DaemonProcess.started}.log`);
    const fd = openSync(this.logPath, "a");
    try {
      this.proc = Bun.spawn(this.command, { stdin: "ignore", stdout: fd, stderr: fd, env: { ...process.env, BAKELITE_LOG: "info", NO_COLOR: "1" } });
    } finally {
      closeSync(fd);
    }
  }

  static start(setup: EngineSetup): DaemonProcess {
    return new DaemonProcess(setup, [...cliCommand(), "daemon", "--config", setup.configPath]);
  }

  /** Any command, run and logged the same way. */
  static spawn(setup: EngineSetup, command: string[]): DaemonProcess {
    return new DaemonProcess(setup, command);
  }

  /** The signal that ended it ("SIGKILL"), null while it runs or when it exited by itself. */
  get killedBySignal(): string | null {
    const sig = this.proc.signalCode;
    return typeof sig === "string" ? sig : null;
  }

  /** Resolves with the exit code once it ends (128 + n after signal n). */
  get exited(): Promise<number> {
    return this.proc.exited;
  }

  get pid(): number {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** SIGKILL: no drain, no flush, the process is simply gone. */
  async kill(): Promise<void> {
    this.proc.kill("SIGKILL");
    await this.proc.exited;
  }

  /** SIGTERM: the daemon ships what is committed and exits; resolves with its exit code. */
  async stop(timeoutMs = 60_000): Promise<number> {
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), timeoutMs);
    try {
      return await this.proc.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The last lines of its log, for failure reports. */
  tail(lines = 8): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, "utf8").trim().split("\n").slice(-lines).join("\n") : "";
  }
}

export type RestoreRequest = { kind: "latest" } | { kind: "timestamp"; timestampMs: number } | { kind: "txid"; txid: number };

export interface RestoreRun {
  ok: boolean;
  exitCode: number;
  output: string;
  command: string[];
  stderr: string;
  /** The txid the restore says it landed on (its --json summary); undefined when it failed. */
  landedTxid?: number;
}

/** `bakelite restore` into `output`; never throws for a failed restore (the exit code is part of the grade). */
export async function runRestore(setup: EngineSetup, output: string, target: RestoreRequest = { kind: "latest" }): Promise<RestoreRun> {
  const command = [...cliCommand(), "restore", "--db", setup.name, "--output", output];
  if (target.kind === "timestamp") command.push("--timestamp", new Date(target.timestampMs).toISOString());
  if (target.kind === "txid") command.push("--txid", String(target.txid));
  command.push("--config", setup.configPath, "--json");
  const proc = Bun.spawn(command, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, BAKELITE_LOG: "warn", NO_COLOR: "1" } });
  const [stderr, exitCode, stdout] = await Promise.all([new Response(proc.stderr).text(), proc.exited, new Response(proc.stdout).text()]);
  const landedTxid = exitCode === 0 ? (JSON.parse(stdout) as { landed?: { txid?: number } }).landed?.txid : undefined;
  return { ok: exitCode === 0, exitCode, output, command, stderr: stderr.trim(), landedTxid };
}

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  command: string[];
}

/** Any other bakelite command (keygen, reencrypt, …) against the scenario's config; never throws for a failed command. */
export async function runCli(setup: EngineSetup, args: string[]): Promise<CliRun> {
  const command = [...cliCommand(), ...args, "--config", setup.configPath];
  const proc = Bun.spawn(command, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, BAKELITE_LOG: "warn", NO_COLOR: "1" } });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { exitCode, stdout, stderr: stderr.trim(), command };
}

/**
 * The last txid the daemon has recorded as durable in its fsync'd cursor, or
 * null before its first snapshot. A cursor that cannot be read throws: it is
 * written atomically, so a damaged one is a failure, not "no snapshot yet".
 */
export function durableTxid(setup: EngineSetup): number | null {
  return readCursor(setup.dbPath, setup.name)?.txid ?? null;
}


/**
 * Running the real `bakelite` command line from the operations tests, as a
 * child process with a clean environment (UTC, no colour, a scratch HOME so
 * no user-level bakelite.env leaks in), and hand-written status fixtures.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { statusPath, STATUS_VERSION, type StatusFile } from "../../src/ops/status-file.ts";
import { stateDir } from "../../src/ops/state-paths.ts";
import { runScratchDir } from "../helpers/scratch.ts";

export const repoRoot = resolve(import.meta.dir, "..", "..");
export const mainTs = join(repoRoot, "src", "cli", "main.ts");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function scratchHome(): string {
  return runScratchDir("bakelite-ops-home-");
}

export function cliEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const h = scratchHome();
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: h,
    XDG_CONFIG_HOME: join(h, ".config"),
    TMPDIR: process.env.TMPDIR ?? tmpdir(),
    TZ: "UTC",
    NO_COLOR: "1",
    BAKELITE_LOG: "warn",
    ...extra,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

export async function runCli(args: string[], env: Record<string, string | undefined> = {}, binary?: string): Promise<CliResult> {
  const proc = Bun.spawn(binary ? [binary, ...args] : [process.execPath, mainTs, ...args], {
    cwd: repoRoot,
    env: cliEnv(env),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** A pid that certainly belonged to a process that has exited. */
export async function deadPid(): Promise<number> {
  const proc = Bun.spawn(["true"]);
  await proc.exited;
  return proc.pid;
}

/** Writes a status file as the daemon would, with `overrides` on top of a healthy, just-synced state. */
export function writeStatusFixture(dbPath: string, name: string, overrides: Partial<StatusFile> = {}): StatusFile {
  const now = Date.now();
  const status: StatusFile = {
    version: STATUS_VERSION,
    db: name,
    pid: process.pid,
    state: "replicating",
    updatedMs: now,
    startedMs: now - 60_000,
    backupId: "0000019a00000000-abcdef01",
    txid: 42,
    lastSyncedMs: now,
    lastShippedCommitMs: now - 1000,
    changesets: 7,
    backupChangesets: 7,
    bytesShipped: 3 * 1024 * 1024,
    lastError: null,
    backoff: null,
    ...overrides,
  };
  mkdirSync(stateDir(dbPath), { recursive: true });
  writeFileSync(statusPath(dbPath, name), JSON.stringify(status));
  return status;
}

/**
 * @module tests/cli/helpers
 * Runs the real `bakelite` command line as a child process (bun on
 * src/cli/main.ts, or a compiled binary) with a clean environment: UTC, no
 * colour, and a temp HOME so no user-level bakelite.env leaks in. Also builds
 * small replicas the way users do: a WAL database, a config with a file
 * backend, the daemon started through the CLI and stopped with SIGTERM.
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { shippedTxid } from "../helpers/daemon.ts";
import { runScratchDir } from "../helpers/scratch.ts";

export const repoRoot = resolve(import.meta.dir, "..", "..");
export const mainTs = join(repoRoot, "src", "cli", "main.ts");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Run this executable instead of `bun src/cli/main.ts`. */
  binary?: string;
}

/** The environment every CLI child gets: nothing from the developer's shell that bakelite reads. */
export function cleanEnv(home: string, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    TMPDIR: process.env.TMPDIR ?? tmpdir(),
    TZ: "UTC",
    NO_COLOR: "1",
    BAKELITE_LOG: "info",
    ...extra,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

function defaultHome(): string {
  return runScratchDir("bakelite-cli-home-");
}

function command(args: string[], binary?: string): string[] {
  return binary ? [binary, ...args] : [process.execPath, mainTs, ...args];
}

export async function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  const proc = Bun.spawn(command(args, options.binary), {
    cwd: options.cwd ?? repoRoot,
    env: cleanEnv(defaultHome(), options.env),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "bakelite-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface DbSpec {
  name: string;
  /** Lines added to the [[database]] block. */
  extra?: string;
  /** Backend directory; default <dir>/replica. */
  replica?: string;
}

/** Writes bakelite.toml for `dbs` (each at <dir>/<name>.db); fast shipping so tests wait little. */
export function writeConfig(dir: string, dbs: DbSpec[], top = ""): string {
  const blocks = dbs.map((d) =>
    [
      "[[database]]",
      `name = "${d.name}"`,
      `path = "${join(dir, `${d.name}.db`)}"`,
      d.extra ?? "",
      "  [[database.backends]]",
      '  type = "file"',
      `  path = "${d.replica ?? join(dir, "replica")}"`,
    ].join("\n"),
  );
  const text = `${top}\n[defaults]\ndebounce = "5ms"\nmax_batch_delay = "50ms"\nsafety_poll = "1s"\n\n${blocks.join("\n\n")}\n`;
  const path = join(dir, "bakelite.toml");
  writeFileSync(path, text);
  return path;
}

/** Creates a WAL database with table t(id, v, b) and no rows. */
export function createAppDb(path: string): Database {
  const db = new Database(path, { create: true });
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)");
  return db;
}

/** Inserts `n` rows, one commit each; some carry a blob. */
export function insertRows(db: Database, n: number, blobBytes = 0): void {
  const insert = db.prepare("INSERT INTO t (v, b) VALUES (?, randomblob(?))");
  for (let i = 0; i < n; i++) insert.run(`row ${i}`, i % 10 === 0 ? blobBytes : 0);
}

/** Resolves once `check` returns true, checking every 20 ms; throws after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** Waits until the daemon's cursor says txid `txid` of `name` is shipped. */
export function waitShipped(dbPath: string, name: string, txid: number): Promise<void> {
  return waitFor(`${name} to ship txid ${txid}`, () => (shippedTxid(dbPath, name) ?? -1) >= txid);
}

export function shipped(dbPath: string, name: string): number | null {
  return shippedTxid(dbPath, name);
}

export interface DaemonProcess {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** Everything the daemon wrote to stderr so far. */
  log(): string;
  /** SIGTERM, then the exit code once it has drained. */
  stop(): Promise<number>;
}

/** Starts `bakelite daemon` through the CLI. */
export function startDaemon(args: string[], options: RunOptions = {}): DaemonProcess {
  const proc = Bun.spawn(command(["daemon", ...args], options.binary), {
    cwd: options.cwd ?? repoRoot,
    env: cleanEnv(defaultHome(), options.env),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  const decoder = new TextDecoder();
  const pump = (async () => {
    for await (const chunk of proc.stderr) text += decoder.decode(chunk, { stream: true });
  })();
  return {
    proc,
    log: () => text,
    async stop() {
      proc.kill("SIGTERM");
      const code = await proc.exited;
      await pump;
      return code;
    },
  };
}

/** Row count through the system sqlite3 CLI: a different SQLite build from bun:sqlite. */
export function sqliteCount(path: string): number {
  const out = Bun.spawnSync(["sqlite3", path, "SELECT count(*) FROM t;"]).stdout.toString().trim();
  return Number(out);
}

export function sqliteIntegrity(path: string): string {
  return Bun.spawnSync(["sqlite3", path, "PRAGMA integrity_check;"]).stdout.toString().trim();
}

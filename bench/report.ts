/**
 * @module bench/report
 * The result table (value, baseline, ratio, target, pass/fail) as aligned
 * text or Markdown, and a description of the machine the numbers came from.
 * Only measured numbers appear; a row without a target says "info".
 */
import { Database } from "bun:sqlite";
import { closeSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

export interface ResultRow {
  name: string;
  value: string;
  baseline: string;
  ratio: number | null;
  target: string;
  /** null: informational row, no target. */
  pass: boolean | null;
}

export const MB = 1e6;

export function mbPerSec(bytes: number, ms: number): string {
  return `${((bytes / ms) * 1000 / MB).toFixed(0)} MB/s`;
}

export function megabytes(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

function verdict(pass: boolean | null): string {
  return pass === null ? "info" : pass ? "PASS" : "FAIL";
}

function cells(row: ResultRow): string[] {
  return [row.name, row.value, row.baseline, row.ratio === null ? "-" : row.ratio.toFixed(2), row.target, verdict(row.pass)];
}

const HEADER = ["measurement", "value", "baseline", "ratio", "target", "result"];

export function textTable(rows: ResultRow[]): string {
  const table = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, c) => Math.max(...table.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 || c === 4 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ").trimEnd();
  return [line(table[0]), widths.map((w) => "-".repeat(w)).join("  "), ...table.slice(1).map(line)].join("\n");
}

export function markdownTable(rows: ResultRow[]): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  return [
    `| ${HEADER.join(" | ")} |`,
    "| --- | ---: | ---: | ---: | --- | --- |",
    ...rows.map((r) => `| ${cells(r).map(esc).join(" | ")} |`),
  ].join("\n");
}

function firstLine(cmd: string[]): string {
  try {
    const proc = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
    return (proc.stdout.toString() || proc.stderr.toString()).trim().split("\n")[0];
  } catch {
    return "unavailable";
  }
}

export interface Machine {
  cpu: string;
  cores: number;
  memory: string;
  kernel: string;
  bun: string;
  /** The SQLite inside bun:sqlite (the daemon's and the writer's). */
  bunSqlite: string;
  sqlite: string;
  zstd: string;
  tmpFilesystem: string;
  /**
   * Two costs that decide most of the memory- and I/O-bound numbers, and that
   * differ several times between machines that look alike (docs/performance.md,
   * "Fourth pass"): touching memory for the first time, and a 4 KiB read
   * from the page cache. Microseconds, the median of three tries.
   */
  firstTouchUsPerPage: number;
  cachedPreadUs: number;
}

export function describeMachine(tmp: string): Machine {
  const df = firstLine(["sh", "-c", `df -PT ${JSON.stringify(tmp)} | tail -1`]).split(/\s+/);
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: Number(firstLine(["nproc"])) || cpus().length,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: firstLine(["uname", "-sr"]),
    bun: Bun.version,
    bunSqlite: (new Database(":memory:").query("SELECT sqlite_version() AS v").get() as { v: string }).v,
    sqlite: firstLine(["sqlite3", "--version"]).split(" ")[0],
    zstd: firstLine(["zstd", "--version"]).replace(/^\*+\s*/, "").replace(/\s*\*+$/, ""),
    tmpFilesystem: df.length > 1 ? `${df[1]} (${df[0]})` : "unknown",
    firstTouchUsPerPage: median3(firstTouchUs),
    cachedPreadUs: median3(() => cachedPreadUs(tmp)),
  };
}

const PROBE_BYTES = 32 << 20;
const PAGE = 4096;

/** The middle value (the upper middle for an even count). */
export function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

function median3(probe: () => number): number {
  return median([probe(), probe(), probe()]);
}

/** Microseconds per 4 KiB page to touch a new 32 MiB buffer once (page faults, and whatever the host does to back them). */
function firstTouchUs(): number {
  const buf = new Uint8Array(PROBE_BYTES);
  const start = performance.now();
  for (let at = 0; at < buf.byteLength; at += PAGE) buf[at] = 1;
  return ((performance.now() - start) * 1000) / (PROBE_BYTES / PAGE);
}

/** Microseconds per 4 KiB pread of a 32 MiB file that is in the page cache. */
function cachedPreadUs(dir: string): number {
  const path = join(dir, "probe-pread");
  writeFileSync(path, new Uint8Array(PROBE_BYTES).fill(7));
  const fd = openSync(path, "r");
  try {
    const page = new Uint8Array(PAGE);
    for (let at = 0; at < PROBE_BYTES; at += PAGE) readSync(fd, page, 0, PAGE, at); // into the cache
    const start = performance.now();
    for (let at = 0; at < PROBE_BYTES; at += PAGE) readSync(fd, page, 0, PAGE, at);
    return ((performance.now() - start) * 1000) / (PROBE_BYTES / PAGE);
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}

export function machineLines(m: Machine): string[] {
  return [
    `cpu: ${m.cpu}, ${m.cores} cores (nproc); memory ${m.memory}`,
    `kernel ${m.kernel}; bun ${m.bun} (SQLite ${m.bunSqlite}); sqlite3 CLI ${m.sqlite}; ${m.zstd}`,
    `temp filesystem: ${m.tmpFilesystem}`,
    `first touch of new memory ${m.firstTouchUsPerPage.toFixed(1)} µs per 4 KiB page; 4 KiB pread from the page cache ${m.cachedPreadUs.toFixed(1)} µs`,
  ];
}

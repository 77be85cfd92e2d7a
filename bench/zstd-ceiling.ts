/**
 * @module bench/zstd-ceiling
 * How fast can any snapshot be on this machine? The snapshot's work is
 * mostly zstd level 1 over the whole database; everything else (reading,
 * hashing, the page checksum, writing) only adds to it. This measures the
 * compression alone, with the database already in memory, cut into the
 * snapshot's 1 MiB blocks and compressed by Bun's zstd on the thread pool
 * with 1, 2 and 3 blocks in flight, next to the baselines the snapshot target
 * is stated against: one `zstd -1 -T1` process, and two of them at once (what
 * two cores give two independent compressions).
 *
 *   bun run bench/zstd-ceiling.ts [--size 1GiB] [--rounds 3]
 *
 * A ratio below the target in the "in flight" rows means the target cannot
 * be met by changing the snapshot code: it is the ceiling of the compression
 * itself on this host (docs/performance.md, "The snapshot's ceiling").
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatBytes, parseSize } from "../src/config/units.ts";
import { generateDatabase } from "./generate.ts";
import { median } from "./report.ts";

const BLOCK = 1 << 20;

function args(): { size: number; rounds: number } {
  const argv = process.argv.slice(2);
  let size = 1 << 30;
  let rounds = 3;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--size") size = parseSize(argv[++i] ?? "", "--size", "USAGE");
    else if (argv[i] === "--rounds") rounds = Number(argv[++i]);
    else {
      console.error("usage: bun run bench/zstd-ceiling.ts [--size 1GiB] [--rounds 3]");
      process.exit(2);
    }
  }
  if (!Number.isInteger(rounds) || rounds < 1) {
    console.error("error: --rounds needs a positive integer");
    process.exit(2);
  }
  return { size, rounds };
}

/** Wall milliseconds to compress every block with `depth` of them handed to the pool at once. */
async function inFlight(blocks: Uint8Array[], depth: number): Promise<number> {
  const start = performance.now();
  const pending: Promise<Uint8Array>[] = [];
  for (const block of blocks) {
    if (pending.length >= depth) await pending.shift();
    pending.push(Bun.zstdCompress(block, { level: 1 }));
  }
  await Promise.all(pending);
  return performance.now() - start;
}

/** Wall milliseconds for `copies` zstd -1 -T1 processes over the file at once (output discarded). */
function cli(path: string, copies: number): number {
  const script = Array.from({ length: copies }, () => `zstd -q -1 -T1 -c '${path}' > /dev/null &`).join(" ") + " wait";
  const start = performance.now();
  const run = spawnSync("bash", ["-c", script], { stdio: "inherit" });
  if (run.status !== 0) throw new Error("zstd failed");
  return performance.now() - start;
}

const { size, rounds } = args();
const work = mkdtempSync(join(tmpdir(), "bakelite-zstd-ceiling-"));
try {
  const db = generateDatabase(join(work, "ceiling.db"), size);
  const bytes = readFileSync(db.path);
  const blocks: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength; at += BLOCK) blocks.push(bytes.subarray(at, Math.min(at + BLOCK, bytes.byteLength)));
  const times = new Map<string, number[]>();
  const add = (name: string, ms: number) => times.set(name, [...(times.get(name) ?? []), ms]);
  cli(db.path, 1); // warm the page cache and the binary
  for (let round = 0; round < rounds; round++) {
    add("zstd -1 -T1, one process", cli(db.path, 1));
    add("zstd -1 -T1, two processes at once", cli(db.path, 2));
    for (const depth of [1, 2, 3]) add(`Bun zstd level 1, ${depth} block${depth > 1 ? "s" : ""} in flight`, await inFlight(blocks, depth));
  }
  const baseline = median(times.get("zstd -1 -T1, one process")!);
  console.log(`${formatBytes(bytes.byteLength)} database, ${blocks.length} blocks of 1 MiB, median of ${rounds} rounds`);
  console.log("| compression | ms | MB/s | vs one zstd process |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const [name, list] of times) {
    const ms = median(list);
    // Two processes compress the file twice: their rate counts both copies.
    const work = name.includes("two processes") ? 2 : 1;
    const rate = (work * bytes.byteLength) / 1e6 / (ms / 1000);
    console.log(`| ${name} | ${ms.toFixed(0)} | ${rate.toFixed(0)} | ${((baseline * work) / ms).toFixed(2)} |`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

/**
 * @module bench/primitives
 * Throughput of the envelope's building blocks on realistic data: a SQLite
 * database generated here (tables with text, numbers and indexes), cut into
 * 1 MiB blocks of `pgno ‖ page` entries exactly as the writer packs them.
 * A second database (random words and small blobs) shows how much the
 * compression ratios depend on the data. Run with `bun run bench/primitives.ts`;
 * the numbers and the decisions they drove are in docs/design.md ("Object format").
 */
import { Database } from "bun:sqlite";
import { blake3 as nobleBlake3 } from "@noble/hashes/blake3.js";
import { compressSync as lz4Compress, uncompressSync as lz4Uncompress } from "lz4-napi";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as zlib from "node:zlib";
import { blake3, blake3Implementation } from "../src/format/hash.ts";
import { encodeObject } from "../src/format/object-writer.ts";
import { decodeObject } from "../src/format/object-reader.ts";
import { rng, snapshotHeader } from "../tests/format/fixtures.ts";

const PAGE = 4096;
const MiB = 1 << 20;

function makeDatabase(dir: string): Uint8Array {
  const file = path.join(dir, "bench.db");
  const db = new Database(file);
  db.run(`PRAGMA page_size=${PAGE}`);
  db.run("PRAGMA journal_mode=DELETE");
  db.run("CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT, name TEXT, created INTEGER, score REAL, bio TEXT)");
  db.run("CREATE TABLE events(id INTEGER PRIMARY KEY, user_id INTEGER, kind TEXT, payload TEXT, at INTEGER)");
  db.run("CREATE INDEX events_user ON events(user_id, at)");
  db.run("CREATE INDEX users_email ON users(email)");
  const words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore".split(" ");
  const rand = rng(12345);
  const sentence = (n: number) => Array.from({ length: n }, () => words[rand() % words.length]).join(" ");
  const addUser = db.prepare("INSERT INTO users(email, name, created, score, bio) VALUES (?, ?, ?, ?, ?)");
  const addEvent = db.prepare("INSERT INTO events(user_id, kind, payload, at) VALUES (?, ?, ?, ?)");
  db.transaction(() => {
    for (let i = 0; i < 40_000; i++) {
      addUser.run(`user${i}.${rand() % 9999}@example.com`, sentence(2), 1_700_000_000 + rand(), (rand() % 10000) / 7, sentence(5 + (rand() % 20)));
    }
    for (let i = 0; i < 200_000; i++) {
      addEvent.run(rand() % 40_000, ["login", "view", "purchase", "logout"][rand() % 4], JSON.stringify({ ref: rand(), note: sentence(3) }), 1_700_000_000_000 + i * 997);
    }
  })();
  db.close();
  return new Uint8Array(fs.readFileSync(file));
}

/** Less repetitive content: random letter words, random small blobs. */
function makeVariedDatabase(dir: string): Uint8Array {
  const file = path.join(dir, "varied.db");
  const db = new Database(file);
  db.run(`PRAGMA page_size=${PAGE}`);
  db.run("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b BLOB, c INTEGER, d REAL)");
  db.run("CREATE INDEX ta ON t(a)");
  const rand = rng(99);
  const word = () => Array.from({ length: 3 + (rand() % 8) }, () => String.fromCharCode(97 + (rand() % 26))).join("");
  const blob = () => Uint8Array.from({ length: rand() % 24 }, () => rand() & 0xff);
  const add = db.prepare("INSERT INTO t(a, b, c, d) VALUES (?, ?, ?, ?)");
  db.transaction(() => {
    for (let i = 0; i < 150_000; i++) add.run(Array.from({ length: 4 + (rand() % 10) }, word).join(" "), blob(), rand(), rand() / 7);
  })();
  db.close();
  return new Uint8Array(fs.readFileSync(file));
}

/** Packs the database into ~1 MiB raw blocks of `pgno u32 ‖ page` entries. */
function rawBlocks(file: Uint8Array): Uint8Array[] {
  const perBlock = Math.floor(MiB / (4 + PAGE));
  const blocks: Uint8Array[] = [];
  const pages = file.byteLength / PAGE;
  for (let first = 0; first < pages; first += perBlock) {
    const n = Math.min(perBlock, pages - first);
    const block = new Uint8Array(n * (4 + PAGE));
    const dv = new DataView(block.buffer);
    for (let i = 0; i < n; i++) {
      dv.setUint32(i * (4 + PAGE), first + i + 1, true);
      block.set(file.subarray((first + i) * PAGE, (first + i + 1) * PAGE), i * (4 + PAGE) + 4);
    }
    blocks.push(block);
  }
  return blocks;
}

/** Runs fn over the inputs repeatedly for at least `minMs`; returns MB/s of `bytes` per pass. */
function rate(bytes: number, fn: () => void, minMs = 600): number {
  fn(); // warm-up
  let passes = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    fn();
    passes++;
  }
  return (bytes * passes) / ((performance.now() - start) / 1000) / 1e6;
}

/**
 * Median MB/s of zstd compression at two levels, alternating which runs first
 * each round: on a shared machine, back-to-back runs of one level then the
 * other mostly measure the neighbours' load.
 */
function zstdLevels(list: Uint8Array[], levels: number[], rounds = 9): Map<number, number> {
  const bytes = list.reduce((n, b) => n + b.byteLength, 0);
  const samples = new Map(levels.map((l) => [l, [] as number[]]));
  for (let round = 0; round < rounds; round++) {
    for (const level of round % 2 ? levels : [...levels].reverse()) {
      const start = performance.now();
      for (const b of list) Bun.zstdCompressSync(b, { level });
      samples.get(level)!.push(bytes / ((performance.now() - start) / 1000) / 1e6);
    }
  }
  return new Map([...samples].map(([l, s]) => [l, s.sort((a, b) => a - b)[s.length >> 1]]));
}

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32cJs(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC32C_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bakelite-bench-"));
try {
  const file = makeDatabase(dir);
  const blocks = rawBlocks(file);
  const total = blocks.reduce((n, b) => n + b.byteLength, 0);
  const sample = blocks.slice(0, 4);
  const sampleBytes = sample.reduce((n, b) => n + b.byteLength, 0);
  const each = (list: Uint8Array[], fn: (b: Uint8Array) => unknown) => () => {
    for (const b of list) fn(b);
  };
  const rows: [string, number, string][] = [];
  const add = (name: string, mbps: number, note = "") => rows.push([name, mbps, note]);

  add(`BLAKE3 ${blake3Implementation} (@napi-rs/blake-hash)`, rate(total, each(blocks, blake3)));
  add("BLAKE3 @noble/hashes (fallback)", rate(sampleBytes, each(sample, nobleBlake3)));
  add("CRC-32 Bun.hash.crc32 (chosen)", rate(total, each(blocks, (b) => Bun.hash.crc32(b))));
  // zlib.crc32 exists at run time (Node 22+ and Bun) but not in the type declarations this project uses.
  const zlibCrc32 = (zlib as unknown as { crc32(data: Uint8Array): number }).crc32;
  add("CRC-32 node:zlib crc32", rate(total, each(blocks, (b) => zlibCrc32(b))));
  add("CRC-32C table-driven JS", rate(sampleBytes, each(sample, crc32cJs)));
  add("xxHash64 per 4 KiB page", rate(file.byteLength, () => {
    for (let p = 0; p < file.byteLength; p += PAGE) Bun.hash.xxHash64(file.subarray(p, p + PAGE), BigInt(p / PAGE + 1));
  }), `${Math.round(file.byteLength / PAGE)} pages`);

  for (const [label, list] of [["app", blocks], ["varied", rawBlocks(makeVariedDatabase(dir))]] as const) {
    const bytes = list.reduce((n, b) => n + b.byteLength, 0);
    const compressRates = zstdLevels(list, [1, 3]);
    for (const level of [1, 3]) {
      const packed = list.map((b) => Bun.zstdCompressSync(b, { level }));
      const ratio = bytes / packed.reduce((n, b) => n + b.byteLength, 0);
      add(`${label}: zstd ${level} compress`, compressRates.get(level)!, `ratio ${ratio.toFixed(2)}, interleaved median`);
      add(`${label}: zstd ${level} decompress`, rate(bytes, each(packed, (b) => Bun.zstdDecompressSync(b))));
    }
    const lz = list.map((b) => lz4Compress(Buffer.from(b)));
    const lzRatio = bytes / lz.reduce((n, b) => n + b.byteLength, 0);
    add(`${label}: lz4 compress`, rate(bytes, each(list, (b) => lz4Compress(Buffer.from(b.buffer, b.byteOffset, b.byteLength)))), `ratio ${lzRatio.toFixed(2)}`);
    add(`${label}: lz4 decompress`, rate(bytes, each(lz, (b) => lz4Uncompress(b))));
  }

  const pages = Array.from({ length: file.byteLength / PAGE }, (_, i) => ({ pgno: i + 1, data: file.subarray(i * PAGE, (i + 1) * PAGE) }));
  const header = snapshotHeader({ pageSize: PAGE, dbPages: pages.length });
  for (const compression of ["zstd", "lz4", "none"] as const) {
    const h = { ...header, compression };
    const { bytes } = encodeObject(h, pages, { dbChecksum: 0n });
    add(`envelope encode (${compression})`, rate(file.byteLength, () => encodeObject(h, pages, { dbChecksum: 0n }), 1500));
    add(`envelope decodeObject (${compression})`, rate(file.byteLength, () => decodeObject(bytes), 1500));
  }

  console.log(`app database: ${(file.byteLength / MiB).toFixed(1)} MiB, ${blocks.length} blocks of ~1 MiB, Bun ${Bun.version}, ${os.cpus().length} CPUs`);
  console.log(`${"primitive".padEnd(40)} ${"MB/s".padStart(8)}  note`);
  for (const [name, mbps, note] of rows) console.log(`${name.padEnd(40)} ${mbps.toFixed(0).padStart(8)}  ${note}`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

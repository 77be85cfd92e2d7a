/**
 * @module bench/crypto
 * What encryption costs, measured on this machine (docs/performance.md,
 * "Encryption"): `bun run bench/crypto.ts [sizeMiB]`.
 *
 * 1. XChaCha20-Poly1305 on 1 MiB blocks: sodium-native (libsodium) vs
 *    @noble/ciphers (pure JS), seal and open.
 * 2. Argon2id at the default cost (64 MiB, t=3, p=1): Bun's node:crypto vs
 *    @noble/hashes.
 * 3. The whole envelope (zstd level 1) encode and decode, plaintext vs sealed.
 * 4. End to end through the file backend: a snapshot streamed from a SQLite
 *    file into an object (fsynced), and restoreDatabase back to a file
 *    (checksum re-read and integrity_check included), plaintext vs sealed.
 * Rounds alternate the variants so both see the same background load; the
 * median is reported, by wall clock and by CPU time (user + system of this
 * process). On a shared, busy machine the CPU-time ratio is the steadier
 * measure of what sealing costs; the wall clock shows what a run felt like.
 */
import { Database } from "bun:sqlite";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { argon2id as nobleArgon2id } from "@noble/hashes/argon2.js";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FileBackend } from "../src/backends/file.ts";
import { aeadImplementation, aeadOpen, aeadSeal } from "../src/format/aead.ts";
import { DbChecksum } from "../src/format/db-checksum.ts";
import { DEFAULT_KDF_PARAMS, argon2idKey, kdfImplementation } from "../src/format/kdf.ts";
import { Keyring } from "../src/format/keyring.ts";
import { ZERO_LINEAGE } from "../src/format/lineage.ts";
import { decodeObject } from "../src/format/object-reader.ts";
import { ObjectWriter, encodeObject } from "../src/format/object-writer.ts";
import type { ObjectHeader, PageEntry } from "../src/format/types.ts";
import { newBackupId, snapshotKey } from "../src/replica/names.ts";
import { restoreDatabase } from "../src/replica/restore.ts";
import { median } from "./report.ts";

const MiB = 1 << 20;
const PAGE = 4096;
const ROUNDS = 5;
const sizeMiB = Number(process.argv[2] ?? 64);

function time(fn: () => unknown): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

interface Cost {
  wall: number;
  cpu: number;
}

/** Wall-clock and CPU milliseconds of one run. */
async function cost(fn: () => unknown): Promise<Cost> {
  const c = process.cpuUsage();
  const t = performance.now();
  await fn();
  const used = process.cpuUsage(c);
  return { wall: performance.now() - t, cpu: (used.user + used.system) / 1000 };
}

function medians(xs: Cost[]): Cost {
  return { wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)) };
}

function ratioLine(label: string, plain: Cost, sealed: Cost): string {
  return `${label} ${(plain.wall / sealed.wall).toFixed(2)}x by wall clock, ${(plain.cpu / sealed.cpu).toFixed(2)}x by CPU time`;
}

const mbps = (bytes: number, ms: number) => (bytes / MiB / (ms / 1000)).toFixed(0);

/** An application-shaped database: text rows with indexes and some incompressible blobs. */
function makeDatabase(file: string, targetMiB: number): void {
  const db = new Database(file, { create: true });
  db.run(`PRAGMA page_size=${PAGE}`);
  db.run("PRAGMA journal_mode=OFF");
  db.run("CREATE TABLE docs(id INTEGER PRIMARY KEY, owner TEXT, title TEXT, body TEXT, blob BLOB)");
  db.run("CREATE INDEX docs_owner ON docs(owner, title)");
  const words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa".split(" ");
  let x = 7;
  const next = () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 8);
  const text = (n: number) => Array.from({ length: n }, () => words[next() % words.length]).join(" ");
  const insert = db.prepare("INSERT INTO docs(owner, title, body, blob) VALUES (?, ?, ?, ?)");
  while (fs.statSync(file).size < targetMiB * MiB) {
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run(`user${next() % 5000}`, text(4), text(40 + (next() % 80)), i % 4 === 0 ? randomBytes(300) : null);
    })();
  }
  db.close();
}

function pagesOf(file: string): PageEntry[] {
  const bytes = new Uint8Array(fs.readFileSync(file));
  return Array.from({ length: bytes.byteLength / PAGE }, (_, i) => ({ pgno: i + 1, data: bytes.subarray(i * PAGE, (i + 1) * PAGE) }));
}

function header(backupId: string, pages: number, encrypted: boolean): Omit<ObjectHeader, "version"> {
  return { kind: "snapshot", level: 0, dbName: "bench", backupId, txidStart: 1, txidEnd: 1, pageSize: PAGE, dbPages: pages,
    timestampMs: 1_770_000_000_000, compression: "zstd", encrypted, lineageIn: ZERO_LINEAGE, wal: null };
}

function aeadBench(): void {
  const key = randomBytes(32);
  const block = new Uint8Array(randomBytes(MiB));
  const aad = new Uint8Array(37);
  const nonce = randomBytes(24);
  const sealed = aeadSeal(key, block, aad);
  const rows: Record<string, number[]> = { "libsodium seal": [], "libsodium open": [], "noble seal": [], "noble open": [] };
  const jsSealed = xchacha20poly1305(key, nonce, aad).encrypt(block);
  for (let r = 0; r < ROUNDS; r++) {
    rows["libsodium seal"].push(time(() => { for (let i = 0; i < 32; i++) aeadSeal(key, block, aad); }));
    rows["libsodium open"].push(time(() => { for (let i = 0; i < 32; i++) aeadOpen(key, sealed, aad); }));
    rows["noble seal"].push(time(() => { for (let i = 0; i < 8; i++) xchacha20poly1305(key, nonce, aad).encrypt(block); }));
    rows["noble open"].push(time(() => { for (let i = 0; i < 8; i++) xchacha20poly1305(key, nonce, aad).decrypt(jsSealed); }));
  }
  console.log(`\nXChaCha20-Poly1305, 1 MiB blocks (aead.ts uses: ${aeadImplementation})`);
  for (const [name, ms] of Object.entries(rows)) console.log(`  ${name.padEnd(16)} ${mbps((name.startsWith("noble") ? 8 : 32) * MiB, median(ms)).padStart(6)} MB/s`);
}

function kdfBench(): void {
  const pass = new TextEncoder().encode("correct horse battery staple");
  const salt = randomBytes(16);
  const native: number[] = [];
  const js: number[] = [];
  for (let r = 0; r < 3; r++) {
    native.push(time(() => argon2idKey(pass, salt, DEFAULT_KDF_PARAMS)));
    js.push(time(() => nobleArgon2id(pass, salt, { t: 3, m: 65536, p: 1, dkLen: 32 })));
  }
  console.log(`\nArgon2id 64 MiB, t=3, p=1 (kdf.ts uses: ${kdfImplementation})`);
  console.log(`  node:crypto      ${median(native).toFixed(0).padStart(6)} ms`);
  console.log(`  @noble/hashes    ${median(js).toFixed(0).padStart(6)} ms`);
}

async function envelopeBench(pages: PageEntry[], keys: Keyring): Promise<void> {
  const id = newBackupId(Date.now());
  const bytes = pages.length * PAGE;
  const enc: Record<string, Cost[]> = { plain: [], sealed: [] };
  const dec: Record<string, Cost[]> = { plain: [], sealed: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const variant of ["plain", "sealed"] as const) {
      const seal = variant === "sealed" ? keys.sealer("bench") : null;
      let object: Uint8Array = new Uint8Array(0);
      enc[variant].push(await cost(() => (object = encodeObject(header(id, pages.length, seal !== null), pages, { dbChecksum: 0n, seal }).bytes)));
      dec[variant].push(await cost(() => decodeObject(object, undefined, seal ? keys : undefined)));
    }
  }
  console.log(`\nWhole envelope, zstd level 1, ${(bytes / MiB).toFixed(0)} MiB of pages`);
  for (const v of ["plain", "sealed"]) {
    const [e, d] = [medians(enc[v]), medians(dec[v])];
    console.log(`  ${v.padEnd(8)} encode ${mbps(bytes, e.wall).padStart(5)} MB/s (cpu ${mbps(bytes, e.cpu).padStart(5)})   decode ${mbps(bytes, d.wall).padStart(5)} MB/s (cpu ${mbps(bytes, d.cpu).padStart(5)})`);
  }
  console.log(ratioLine("  sealed/plain encode:", medians(enc.plain), medians(enc.sealed)));
  console.log(ratioLine("  sealed/plain decode:", medians(dec.plain), medians(dec.sealed)));
}

/** Streams the file's pages into one object on the backend, the way the daemon's snapshot does. */
async function snapshotTo(backend: FileBackend, key: string, file: string, pages: number, seal: ReturnType<Keyring["sealer"]>, backupId: string, dbChecksum: bigint): Promise<void> {
  const writer = new ObjectWriter(header(backupId, pages, seal !== null), { seal });
  async function* body(): AsyncGenerator<Uint8Array> {
    const fd = fs.openSync(file, "r");
    const page = new Uint8Array(PAGE);
    try {
      for (let pgno = 1; pgno <= pages; pgno++) {
        fs.readSync(fd, page, 0, PAGE, (pgno - 1) * PAGE);
        const out = writer.addPage(pgno, page);
        if (out) yield out;
      }
    } finally {
      fs.closeSync(fd);
    }
    yield writer.finish({ dbChecksum });
  }
  await backend.put(key, body());
}

async function endToEnd(dir: string, file: string, pages: number, keys: Keyring): Promise<void> {
  const snap: Record<string, Cost[]> = { plain: [], sealed: [] };
  const rest: Record<string, Cost[]> = { plain: [], sealed: [] };
  const bytes = pages * PAGE;
  // The daemon keeps this checksum incrementally; computing it is not part of what is compared here.
  const dbChecksum = DbChecksum.fromPages(PAGE, pagesOf(file), pages).value;
  for (let r = 0; r < ROUNDS; r++) {
    for (const variant of ["plain", "sealed"] as const) {
      const root = path.join(dir, `replica-${variant}-${r}`);
      const backend = new FileBackend(root);
      const seal = variant === "sealed" ? keys.sealer("bench") : null;
      const id = newBackupId(Date.now(), r);
      snap[variant].push(await cost(() => snapshotTo(backend, snapshotKey("bench", id, 1, 1_770_000_000_000), file, pages, seal, id, dbChecksum)));
      const output = path.join(dir, `restored-${variant}-${r}.db`);
      rest[variant].push(await cost(() => restoreDatabase({ backend, db: "bench", output, target: { kind: "latest" }, keys: seal ? keys : undefined })));
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(output, { force: true });
    }
  }
  console.log(`\nEnd to end through the file backend, ${(bytes / MiB).toFixed(0)} MiB database`);
  for (const v of ["plain", "sealed"]) {
    const [sn, re] = [medians(snap[v]), medians(rest[v])];
    console.log(`  ${v.padEnd(8)} snapshot ${mbps(bytes, sn.wall).padStart(5)} MB/s (cpu ${mbps(bytes, sn.cpu).padStart(5)})   restore ${mbps(bytes, re.wall).padStart(5)} MB/s (cpu ${mbps(bytes, re.cpu).padStart(5)})`);
  }
  console.log(ratioLine("  sealed/plain snapshot:", medians(snap.plain), medians(snap.sealed)));
  console.log(ratioLine("  sealed/plain restore: ", medians(rest.plain), medians(rest.sealed)));
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bakelite-bench-crypto-"));
try {
  const file = path.join(dir, "bench.db");
  makeDatabase(file, sizeMiB);
  const pages = pagesOf(file);
  console.log(`bench/crypto: Bun ${Bun.version}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  const keys = new Keyring({ kind: "key", master: new Uint8Array(randomBytes(32)), label: "bench" });
  aeadBench();
  kdfBench();
  await envelopeBench(pages, keys);
  await endToEnd(dir, file, pages.length, keys);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * @module scripts/demo
 * A two-minute tour of bakelite, run by `npm run demo`: a SQLite database in
 * WAL mode, a config with a file backend, the daemon started through the CLI,
 * a few hundred commits (some with blobs), a SIGTERM, then two restores, the
 * latest state and a point in time, each checked with the sqlite3 CLI.
 * Exits non-zero on any mismatch. BAKELITE_DEMO_KEEP=1 keeps the work dir.
 *
 * About the point in time: bakelite stamps each change-set with the time the
 * daemon shipped it (it cannot know when SQLite committed). So the demo lets
 * the daemon catch up before it reads the clock for T; then everything
 * committed before T is also stamped before T, and "the rows at T" has one
 * right answer to check against.
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { readCursor } from "../src/engine/cursor.ts";

const root = resolve(import.meta.dir, "..");
const cli = [process.execPath, join(root, "src", "cli", "main.ts")];
const WRITE_MS = 2000;

const work = mkdtempSync(join(tmpdir(), "bakelite-demo-"));
const dbPath = join(work, "shop.db");
const config = join(work, "bakelite.toml");
let failed = false;

function step(text: string): void {
  console.log(`\n> ${text}`);
}

function check(label: string, ok: boolean, detail: string): void {
  console.log(`  ${ok ? "ok  " : "FAIL"} ${label}: ${detail}`);
  if (!ok) failed = true;
}

function bakelite(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync([...cli, ...args, "--config", config], { env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function sqlite(path: string, sql: string): string {
  return Bun.spawnSync(["sqlite3", path, sql]).stdout.toString().trim();
}

async function until(what: string, done: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

const shippedTxid = () => readCursor(dbPath, "shop")?.txid ?? -1;

/** Commits one order per iteration for `ms` milliseconds; every 7th carries a 4-20 KiB receipt blob. */
async function writeFor(db: Database, ms: number): Promise<number> {
  const insert = db.prepare("INSERT INTO orders (item, qty, receipt) VALUES (?, ?, CASE WHEN ? THEN randomblob(?) END)");
  const items = ["teapot", "kettle", "mug", "saucer", "spoon"];
  const end = Date.now() + ms;
  let commits = 0;
  while (Date.now() < end) {
    insert.run(items[commits % items.length], 1 + (commits % 5), commits % 7 === 0 ? 1 : 0, 4096 + ((commits * 997) % 16384));
    commits++;
    await Bun.sleep(8);
  }
  return commits;
}

async function main(): Promise<void> {
  console.log(`bakelite demo, working in ${work}`);
  writeFileSync(config, `[defaults]\ndebounce = "20ms"\nmax_batch_delay = "200ms"\n\n[[database]]\nname = "shop"\npath = "${dbPath}"\n  [[database.backends]]\n  type = "file"\n  path = "${join(work, "backups")}"\n`);
  const db = new Database(dbPath, { create: true });
  db.exec("PRAGMA journal_mode = WAL");
  // As any application beside the daemon should (docs/operations.md): wait out its moments on the writer lock.
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL, qty INTEGER NOT NULL, receipt BLOB)");

  step("bakelite daemon --config bakelite.toml   (in the background)");
  const daemon = Bun.spawn([...cli, "daemon", "--config", config], { stdout: "ignore", stderr: Bun.file(join(work, "daemon.log")) });
  await until("the first snapshot", () => shippedTxid() >= 0);
  const base = shippedTxid();
  console.log(`  the daemon took its first snapshot (txid ${base})`);

  step(`writing orders for ${(2 * WRITE_MS) / 1000}s, one commit each`);
  const first = await writeFor(db, WRITE_MS);
  await until("the daemon to catch up", () => shippedTxid() >= base + first);
  const T = new Date();
  const countAtT = first;
  console.log(`  ${first} commits so far; the daemon has shipped them all. Remembering T = ${T.toISOString()} (${countAtT} orders)`);
  await Bun.sleep(5);
  const second = await writeFor(db, WRITE_MS);
  const total = first + second;
  console.log(`  ${second} more commits; ${total} orders in total`);
  db.close();

  step("stopping the daemon with SIGTERM (it ships what is committed, then exits)");
  daemon.kill("SIGTERM");
  const code = await daemon.exited;
  check("daemon exit", code === 0, `exit code ${code}`);
  check("everything shipped", shippedTxid() === base + total, `txid ${shippedTxid()} of ${base + total}`);

  step("bakelite list --db shop");
  console.log(bakelite(["list", "--db", "shop"]).stdout.trimEnd().replace(/^(?=.)/gm, "  "));

  for (const [label, file, args, expected] of [
    ["latest", "latest.db", [], total],
    [`T = ${T.toISOString()}`, "at-T.db", ["--timestamp", T.toISOString()], countAtT],
  ] as const) {
    const out = join(work, file);
    step(`bakelite restore --db shop --output ${file}${args.length ? ` ${args.join(" ")}` : ""}`);
    const r = bakelite(["restore", "--db", "shop", "--output", out, ...args]);
    if (r.code !== 0) {
      check(`restore ${label}`, false, r.stderr.trim());
      continue;
    }
    console.log(r.stdout.trimEnd().replace(/^(?=.)/gm, "  "));
    check("sqlite3 integrity_check", sqlite(out, "PRAGMA integrity_check;") === "ok", sqlite(out, "PRAGMA integrity_check;"));
    const rows = Number(sqlite(out, "SELECT count(*) FROM orders;"));
    check(`orders at ${label}`, rows === expected, `${rows} restored, ${expected} expected`);
  }
}

try {
  await main();
} catch (err) {
  console.error(`demo failed: ${(err as Error).message}`);
  failed = true;
}
if (failed) {
  console.log(`\nSomething did not match. The work dir is kept for a look: ${work} (daemon.log is there).`);
  process.exit(1);
}
if (process.env.BAKELITE_DEMO_KEEP === "1") console.log(`\nAll checks passed. Files kept in ${work}`);
else {
  rmSync(work, { recursive: true, force: true });
  console.log("\nAll checks passed: the latest restore and the point-in-time restore match what was written.");
}

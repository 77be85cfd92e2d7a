/**
 * keygen, verify and reencrypt through the real command line, and the rule
 * that no key or passphrase text ever reaches stdout, stderr, logs or --json.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyString, writeKeyFile } from "../../src/format/key-string.ts";
import { readVerifyMarker } from "../../src/ops/verify-marker.ts";
import { type CliResult, createAppDb, insertRows, runCli, shipped, sqliteCount, startDaemon, tempDir, waitShipped, writeConfig } from "../cli/helpers.ts";
import { replicaFiles } from "./helpers.ts";

setDefaultTimeout(60_000);

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const dbPath = join(tmp.dir, "app.db");
const replica = join(tmp.dir, "replica");
const keyA = join(tmp.dir, "key-a.txt");
const keyB = join(tmp.dir, "key-b.txt");
const PASSPHRASE = "correct horse battery staple";
const secrets: string[] = [];
const outputs: Array<[string, CliResult]> = [];

/** A config for app.db with this [database.encryption] body (none: plaintext). */
function config(name: string, encryption?: string): string {
  const dir = join(tmp.dir, name);
  Bun.spawnSync(["mkdir", "-p", dir]);
  const extra = encryption ? `  [database.encryption]\n  ${encryption}` : "";
  const path = writeConfig(tmp.dir, [{ name: "app", extra, replica }]);
  const target = join(dir, "bakelite.toml");
  writeFileSync(target, readFileSync(path, "utf8"));
  return target;
}

async function cli(args: string[], env?: Record<string, string>): Promise<CliResult> {
  const r = await runCli(args, { env: { BAKELITE_LOG: "debug", ...env } });
  outputs.push([args.join(" "), r]);
  return r;
}

beforeAll(async () => {
  for (const [path] of [[keyA], [keyB]]) {
    const key = generateKeyString();
    writeKeyFile(path, key);
    secrets.push(key, key.slice(16, 68).toLowerCase());
  }
  secrets.push(PASSPHRASE);
  // A plaintext replica to start from, made by the real daemon through the CLI.
  const db = createAppDb(dbPath);
  const daemon = startDaemon(["--config", config("plain")], { env: { BAKELITE_LOG: "debug" } });
  try {
    await waitShipped(dbPath, "app", 0);
    const base = shipped(dbPath, "app")!;
    insertRows(db, 30, 2000);
    await waitShipped(dbPath, "app", base + 30);
  } finally {
    outputs.push(["daemon (plain)", { code: await daemon.stop(), stdout: "", stderr: daemon.log() }]);
    db.close();
  }
});

describe("keygen", () => {
  test("--output writes a 0600 file and prints only its path and key id", async () => {
    const path = join(tmp.dir, "new-key.txt");
    const r = await cli(["keygen", "--output", path]);
    expect(r.code).toBe(0);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const key = readFileSync(path, "utf8").split("\n").find((l) => l.startsWith("BAKELITE-KEY-V1-"))!;
    expect(r.stdout).not.toContain(key.slice(16, 40));
    expect(r.stdout).toMatch(/key id [0-9a-f]{16}/);
    const again = await cli(["keygen", "--output", path]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("refusing to overwrite");
  });

  test("without --output stdout is exactly one key line; --json without --output is refused", async () => {
    const r = await runCli(["keygen"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^BAKELITE-KEY-V1-[A-Z2-7]{52}-[A-Z2-7]{8}\n$/);
    expect(r.stderr).toContain("Keep a copy");
    expect((await cli(["keygen", "--json"])).code).toBe(2);
  });
});

describe("reencrypt and verify", () => {
  test("with require_encrypted at its default (on), reencrypt refuses to seal plaintext objects, names each, exits 3 and changes nothing", async () => {
    const before = replicaFiles(replica);
    const strict = config("strict", `key_file = "${keyA}"`);
    for (const dryRun of [["--dry-run"], []]) {
      const r = await cli(["reencrypt", "--db", "app", ...dryRun, "--config", strict]);
      expect(r.code).toBe(3);
      const refused = r.stdout.split("\n").filter((l) => l.includes("failed:"));
      expect(refused.length).toBeGreaterThan(0);
      for (const line of refused) {
        expect(line).toMatch(/failed: app\/\S+: object is not encrypted, and require_encrypted is on; reencrypt rewrites plaintext objects only with require_encrypted = false/);
      }
      expect(r.stdout).not.toContain("every object is now sealed");
    }
    const json = JSON.parse((await cli(["reencrypt", "--db", "app", "--json", "--config", strict])).stdout);
    expect(json.ok).toBe(false);
    expect(json.databases[0]).toMatchObject({ rewritten: 0 });
    expect(json.databases[0].failed.every((f: { code: string }) => f.code === "DECRYPT_FAILED")).toBe(true);
    expect(replicaFiles(replica)).toEqual(before);
  });

  test("encrypt the plaintext replica (require_encrypted = false), rotate A -> B, and decrypt back; restores match after every step", async () => {
    const cfgA = config("a", `key_file = "${keyA}"\n  require_encrypted = false`);
    const dry = await cli(["reencrypt", "--db", "app", "--dry-run", "--json", "--config", cfgA]);
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.stdout);
    expect(plan).toMatchObject({ ok: true, dryRun: true });
    expect(plan.databases[0].rewritten).toBeGreaterThan(0);
    expect(plan.databases[0].bytes).toBeGreaterThan(0);

    const sealed = await cli(["reencrypt", "--db", "app", "--config", cfgA]);
    expect(sealed.code).toBe(0);
    expect(sealed.stdout).toContain("app: every object is now sealed; remove require_encrypted = false");
    expect(replicaFiles(replica).some(([, b]) => Buffer.from(b).includes("row 1"))).toBe(false);
    await expectRestores(cfgA, "after-a.db");
    await expectRestores(config("a-strict", `key_file = "${keyA}"`), "after-a-strict.db");

    const cfgB = config("b", `key_file = "${keyB}"`);
    const noOld = await cli(["reencrypt", "--db", "app", "--json", "--config", cfgB]);
    expect(noOld.code).toBe(3);
    expect(JSON.parse(noOld.stdout).databases[0].failed[0].code).toBe("DECRYPT_FAILED");
    expect((await cli(["reencrypt", "--db", "app", "--old-key-file", keyA, "--config", cfgB])).code).toBe(0);
    await expectRestores(cfgB, "after-b.db");
    expect((await cli(["restore", "--db", "app", "--output", join(tmp.dir, "old-key.db"), "--config", cfgA])).code).toBe(3);

    const again = await cli(["reencrypt", "--db", "app", "--old-key-file", keyA, "--json", "--config", cfgB]);
    expect(JSON.parse(again.stdout).databases[0]).toMatchObject({ rewritten: 0, failed: [] });

    const plain = config("plain2");
    expect((await cli(["reencrypt", "--db", "app", "--old-key-file", keyB, "--config", plain])).code).toBe(0);
    await expectRestores(plain, "after-plain.db");
  });

  test("verify --json reports a clean encrypted replica and writes the marker", async () => {
    // The replica is plaintext again after the test above: sealing it is the migration.
    const migrating = config("pass-migrating", `passphrase = "${PASSPHRASE}"\n  require_encrypted = false`);
    expect((await cli(["reencrypt", "--db", "app", "--config", migrating])).code).toBe(0);
    const cfgP = config("pass", `passphrase = "${PASSPHRASE}"`);
    const r = await cli(["verify", "--db", "app", "--json", "--config", cfgP]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: true, mode: "shallow" });
    expect(doc.databases[0]).toMatchObject({ db: "app", ok: true, problems: [] });
    const marker = readVerifyMarker(dbPath, "app");
    expect(marker).toMatchObject({ ok: true, mode: "shallow", problems: 0 });
    const deep = await cli(["verify", "--db", "app", "--deep", "--config", cfgP]);
    expect(deep.code).toBe(0);
    expect(deep.stdout).toContain("verified clean (deep)");
    expect(readVerifyMarker(dbPath, "app")?.mode).toBe("deep");
  });

  test("verify without the key exits 3, names the objects, and records the failure in the marker", async () => {
    const r = await cli(["verify", "--db", "app", "--config", config("nokey")]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("decrypt");
    expect(r.stdout).toContain("no encryption key is configured");
    expect(readVerifyMarker(dbPath, "app")).toMatchObject({ ok: false });
  });

  test("reencrypt refuses (exit 4) while the daemon holds the database", async () => {
    const cfgP = config("pass-daemon", `passphrase = "${PASSPHRASE}"`);
    const daemon = startDaemon(["--config", cfgP], { env: { BAKELITE_LOG: "debug", BAKELITE_PASSPHRASE: PASSPHRASE } });
    try {
      await Bun.sleep(300);
      for (let i = 0; i < 50 && !statSafe(join(tmp.dir, ".bakelite", "app.lock.holder")); i++) await Bun.sleep(100);
      const r = await cli(["reencrypt", "--db", "app", "--config", cfgP]);
      expect(r.code).toBe(4);
      expect(r.stderr).toContain("locked by another bakelite process");
    } finally {
      outputs.push(["daemon (passphrase)", { code: await daemon.stop(), stdout: "", stderr: daemon.log() }]);
    }
  });

  test("a mistyped key file fails fast with the path, never the key", async () => {
    const typo = join(tmp.dir, "typo.txt");
    const key = readFileSync(keyA, "utf8").trim();
    writeFileSync(typo, `${key.slice(0, 30)}${key[30] === "A" ? "B" : "A"}${key.slice(31)}\n`);
    for (const command of [["verify"], ["reencrypt"], ["restore", "--output", join(tmp.dir, "t.db")]]) {
      const r = await cli([...command, "--db", "app", "--verbose", "--config", config("typo", `key_file = "${typo}"`)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`key file ${typo}: not a valid bakelite key`);
    }
  });

  test("no output of any command above contains a key or the passphrase", () => {
    expect(outputs.length).toBeGreaterThan(10);
    const leaks: string[] = [];
    for (const [what, r] of outputs) {
      for (const s of secrets) if (r.stdout.includes(s) || r.stderr.includes(s)) leaks.push(`${what}: ${s.slice(0, 12)}…`);
    }
    expect(leaks).toEqual([]);
  });
});

function statSafe(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

async function expectRestores(cfg: string, name: string): Promise<void> {
  const out = join(tmp.dir, name);
  const r = await cli(["restore", "--db", "app", "--output", out, "--config", cfg]);
  expect(r.code).toBe(0);
  expect(sqliteCount(out)).toBe(30);
}

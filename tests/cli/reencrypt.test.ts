/**
 * `bakelite reencrypt` through the real command line: the leftover upload
 * temp files it removes under the database's prefix are reported in its text
 * and --json output, --dry-run reports them and keeps them, and another
 * database's temp files on the same backend stay.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { tempNameFor } from "../../src/backends/file-walk.ts";
import { FileBackend } from "../../src/backends/file.ts";
import { generateKeyString, writeKeyFile } from "../../src/format/key-string.ts";
import { newBackupId } from "../../src/replica/names.ts";
import { buildWorkload } from "../replica/helpers.ts";
import { runCli, tempDir, writeConfig } from "./helpers.ts";

setDefaultTimeout(30_000);

const T0 = Date.UTC(2026, 4, 30, 12, 0, 0);
const ID = newBackupId(T0, 1);
const PLAINTEXT = Buffer.from("row 2 ".repeat(700));

const tmp = tempDir();
const replica = path.join(tmp.dir, "replica");
let config: string;
let ours: string[];
let theirs: string;
afterAll(() => tmp.cleanup());

/** Plants a temp file beside `key`, named the way a put names it. */
function plantTemp(key: string): string {
  const file = path.join(replica, path.dirname(key), tempNameFor(path.basename(key)));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PLAINTEXT);
  return file;
}

beforeAll(async () => {
  fs.mkdirSync(path.join(tmp.dir, "work"));
  await buildWorkload(new FileBackend(replica), path.join(tmp.dir, "work"), "app", ID, T0);
  const keyFile = path.join(tmp.dir, "key.txt");
  writeKeyFile(keyFile, generateKeyString());
  config = writeConfig(tmp.dir, [{ name: "app", replica, extra: `  [database.encryption]\n  key_file = "${keyFile}"\n  require_encrypted = false` }]);
  ours = [plantTemp(`app/${ID}/snapshot-1`), plantTemp("app/CURRENT")];
  theirs = plantTemp(`other/${ID}/snapshot-1`);
});

describe("reencrypt and leftover upload temp files", () => {
  test("--dry-run --json reports the temp files under the database's prefix and keeps them", async () => {
    const r = await runCli(["reencrypt", "--db", "app", "--dry-run", "--json", "--config", config]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: true, dryRun: true });
    expect(doc.databases[0].leftovers).toEqual({ kind: "temp-files", removed: 2, bytes: 2 * PLAINTEXT.byteLength, failed: 0 });
    for (const file of [...ours, theirs]) expect(fs.existsSync(file)).toBe(true);
  });

  test("a real run removes them and says so; a rerun finds none; another database's stays", async () => {
    const r = await runCli(["reencrypt", "--db", "app", "--config", config]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("  removed 2 leftover upload temp file(s) (8.20 KiB)\n");
    for (const file of ours) expect(fs.existsSync(file)).toBe(false);
    expect(fs.readFileSync(theirs).equals(PLAINTEXT)).toBe(true);

    const again = await runCli(["reencrypt", "--db", "app", "--json", "--config", config]);
    expect(JSON.parse(again.stdout).databases[0].leftovers).toEqual({ kind: "temp-files", removed: 0, bytes: 0, failed: 0 });
    const text = await runCli(["reencrypt", "--db", "app", "--config", config]);
    expect(text.stdout).toContain("  no leftover upload temp files\n");
  });
});

/**
 * A reencrypt killed with SIGKILL part way leaves every key holding either
 * the old object or the complete new one: the replica restores at every point
 * in time with the new key (require_encrypted off, mid-migration), and a rerun
 * finishes the job with the same history.
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { FileBackend } from "../../src/backends/file.ts";
import { keyringFor } from "../../src/format/keyring.ts";
import { newBackupId } from "../../src/replica/names.ts";
import { reencryptDatabase } from "../../src/replica/reencrypt.ts";
import { restoreDatabase } from "../../src/replica/restore.ts";
import { describeSeal, probeHeader } from "../../src/replica/seal-mode.ts";
import { ReplicaBuilder, SourceDb, dumpCopy, dump, tempDir } from "../replica/helpers.ts";
import { makeKeyFile } from "./helpers.ts";

setDefaultTimeout(60_000);

const T0 = Date.UTC(2026, 5, 1);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function seals(backend: FileBackend, keys: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const key of keys) out.push(describeSeal(await probeHeader(backend, key)).split(" ")[0]);
  return out;
}

test("SIGKILL during reencrypt, then a rerun: no object torn, every point in time identical", async () => {
  const work = tempDir();
  dirs.push(work);
  const root = path.join(work, "replica");
  fs.mkdirSync(root);
  fs.mkdirSync(path.join(work, "src"));
  const backend = new FileBackend(root);
  const builder = new ReplicaBuilder(backend, "app", newBackupId(T0, 7), { blockBytes: 64 * 1024 });
  const src = new SourceDb(path.join(work, "src"));
  const dumps = new Map<number, string>();
  src.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT)");
  for (let i = 0; i < 300; i++) src.exec("INSERT INTO t(body) VALUES (?)", `seed ${i} `.repeat(100));
  await builder.snapshot(src.file, 1, T0);
  dumps.set(1, dumpCopy(src.file));
  for (let txid = 2; txid <= 40; txid++) {
    src.exec("INSERT INTO t(body) VALUES (?)", `row ${txid} `.repeat(50 * (txid % 7 + 1)));
    await builder.changeset(src.file, txid, T0 + txid * 1000);
    dumps.set(txid, dumpCopy(src.file));
  }
  src.close();
  const keys = builder.states.map((s) => s.key);
  const { path: keyFile } = makeKeyFile(work);

  const child = Bun.spawn(["bun", path.join(import.meta.dir, "reencrypt-child.ts"), root, keyFile], { stdout: "pipe", stderr: "pipe" });
  let seen = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    seen += decoder.decode(chunk, { stream: true });
    if (/progress ([5-9]|\d\d)\n/.test(seen)) {
      child.kill("SIGKILL");
      break;
    }
  }
  await child.exited;
  expect(seen).not.toContain("finished");
  const midway = await seals(backend, keys);
  expect(midway).toContain("key");
  expect(midway).toContain("plaintext");

  const migrating = keyringFor({ keyFile, requireEncrypted: false });
  const check = async (k: typeof migrating) => {
    for (const [txid, expected] of dumps) {
      const output = path.join(work, `pit-${txid}.db`);
      await restoreDatabase({ backend, db: "app", output, target: { kind: "txid", txid }, keys: k });
      expect(dump(output)).toBe(expected);
      fs.rmSync(output);
    }
  };
  await check(migrating);

  const rerun = await reencryptDatabase({ backend, db: "app", keys: migrating });
  expect(rerun.failed).toEqual([]);
  expect(rerun.rewritten + rerun.skipped).toBe(keys.length);
  expect(new Set(await seals(backend, keys))).toEqual(new Set(["key"]));
  await check(keyringFor({ keyFile, requireEncrypted: true }));
});

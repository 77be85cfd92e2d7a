/**
 * The "what encryption does and does not protect" table of docs/encryption.md,
 * row by row, against a replica the real daemon wrote under a key. Each test
 * plays an attacker with write access to the backend (but not the key) and
 * checks that restore refuses and verify reports the object. Passive read is
 * in daemon-encryption.test.ts.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { cpSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileBackend } from "../../src/backends/file.ts";
import { crc32 } from "../../src/format/crc.ts";
import { Keyring, keyringFor } from "../../src/format/keyring.ts";
import { SEALED_TAIL_BYTES } from "../../src/format/layout.ts";
import { ZERO_LINEAGE } from "../../src/format/lineage.ts";
import { encodeObject } from "../../src/format/object-writer.ts";
import { readHeader } from "../../src/format/object-reader.ts";
import { writeCurrent } from "../../src/replica/manifest.ts";
import { newBackupId, snapshotKey } from "../../src/replica/names.ts";
import { listDatabase } from "../../src/replica/listing.ts";
import { reencryptDatabase } from "../../src/replica/reencrypt.ts";
import { restoreDatabase } from "../../src/replica/restore.ts";
import type { BackupListing, RestoreTarget } from "../../src/replica/types.ts";
import { verifyDatabase } from "../../src/replica/verify.ts";
import { dump } from "../helpers/fixtures.ts";
import { addRows, makeFixture, makeKeyFile, runDaemonWhile, type Fixture } from "./helpers.ts";

setDefaultTimeout(30_000);

let fx: Fixture;
let keyFile: string;
let keys: Keyring;
let pristine: string;
let latestDump: string;

beforeAll(async () => {
  fx = makeFixture("threat");
  keyFile = makeKeyFile(fx.dir).path;
  // Three change-sets per backup, so the replica has several backups, each with a chain.
  const config = fx.config(`key_file = "${keyFile}"`, "max_segments_per_snapshot = 3");
  await runDaemonWhile(config, async () => {
    for (let i = 0; i < 8; i++) {
      addRows(fx.db, i * 10, 10);
      await Bun.sleep(150);
    }
  });
  keys = keyringFor(config.databases[0].encryption);
  pristine = join(fx.dir, "pristine");
  cpSync(fx.replica, pristine, { recursive: true });
  latestDump = dump(fx.dbPath);
});
afterAll(() => fx.cleanup());

// Every test attacks its own copy of the replica.
let root: string;
let backend: FileBackend;
let backups: BackupListing[];
let outputs = 0;
beforeEach(async () => {
  root = join(fx.dir, `attack-${outputs}`);
  cpSync(pristine, root, { recursive: true });
  backend = new FileBackend(root);
  backups = (await listDatabase(backend, "app")).backups;
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const file = (key: string) => join(root, key);
const read = (key: string) => new Uint8Array(readFileSync(file(key)));

function restore(target: RestoreTarget = { kind: "latest" }, with_: Keyring = keys) {
  return restoreDatabase({ backend, db: "app", output: join(fx.dir, `out-${outputs++}.db`), target, keys: with_ });
}
/** A restore of the oldest backup to its end (where most attacks below aim). */
const firstBackup = (): RestoreTarget => ({ kind: "txid", txid: backups[0].changesets.at(-1)?.txidEnd ?? backups[0].snapshot!.txidEnd });

async function refusal(target?: RestoreTarget, with_?: Keyring): Promise<string> {
  return restore(target, with_).then(() => "restored", (e) => e.code);
}
async function verifyKinds(with_: Keyring = keys): Promise<string[]> {
  const r = await verifyDatabase({ backend, db: "app", keys: with_ });
  return r.problems.map((p) => `${p.kind} ${p.key}`);
}

/** The attacker recomputes the CRC after an edit: it guards against rot, not against people. */
function recrc(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(out.byteLength - 4, crc32(out.subarray(0, out.byteLength - 4)), true);
  return out;
}

/** Rewrites header fields in place (txids, timestamp, backup id) so the header claims another position. */
function claim(bytes: Uint8Array, at: { txidStart: number; txidEnd: number; timestampMs: number; backupId: string }): Uint8Array {
  const out = bytes.slice();
  const dv = new DataView(out.buffer);
  dv.setBigUint64(20, BigInt(at.txidStart), true);
  dv.setBigUint64(28, BigInt(at.txidEnd), true);
  dv.setBigUint64(36, BigInt(at.timestampMs), true);
  const { header } = readHeader(out);
  const text = Buffer.from(out).toString("latin1").replace(header.backupId, at.backupId);
  return recrc(new Uint8Array(Buffer.from(text, "latin1")));
}

describe("active write to the backend: content", () => {
  test("the replica under attack is healthy to begin with", async () => {
    expect(backups.length).toBeGreaterThanOrEqual(2);
    expect(await verifyKinds()).toEqual([]);
    await restore();
  });

  test("forged: an object sealed with the attacker's own key, or carrying our key id, does not decrypt", async () => {
    const victim = backups[0].changesets[0];
    const original = readHeader(read(victim.key)).header;
    const attacker = new Keyring({ kind: "key", master: new Uint8Array(32).fill(0x42), label: "attacker" });
    const { version: _, ...header } = original;
    const pages = [{ pgno: 1, data: new Uint8Array(original.pageSize).fill(0x41) }];
    const forged = encodeObject(header, pages, { dbChecksum: 1n, seal: attacker.sealer("app") }).bytes;
    writeFileSync(file(victim.key), forged);
    expect(await refusal(firstBackup())).toBe("DECRYPT_FAILED");
    // Same, with our (public) key id copied into its seal parameters: now the tag does not verify.
    const withOurId = forged.slice();
    const ourId = readHeader(read(backups[0].snapshot!.key)).seal!.keyId;
    const at = Buffer.from(withOurId).indexOf(Buffer.from(readHeader(forged).seal!.keyId));
    withOurId.set(ourId, at);
    writeFileSync(file(victim.key), recrc(withOurId));
    expect(await refusal(firstBackup())).toBe("DECRYPT_FAILED");
    expect(await verifyKinds()).toContain(`decrypt ${victim.key}`);
  });

  test("substituted: another genuine object's bytes at this key are refused, as they are with their header rewritten", async () => {
    const [a, b] = backups[0].changesets;
    writeFileSync(file(b.key), read(a.key));
    expect(await refusal(firstBackup())).toBe("CORRUPT_OBJECT");
    expect(await verifyKinds()).toContain(`misplaced ${b.key}`);
    writeFileSync(file(b.key), claim(read(a.key), b));
    expect(await refusal(firstBackup())).toBe("DECRYPT_FAILED");
    expect(await verifyKinds()).toContain(`decrypt ${b.key}`);
  });

  test("relocated: an object moved into another backup, header and all, does not decrypt", async () => {
    const from = backups[0].changesets[0];
    const target = backups.slice(1).find((b) => b.changesets.length > 0);
    if (!target) throw new Error("fixture has no second backup with a change-set");
    const to = target.changesets[0];
    writeFileSync(file(to.key), claim(read(from.key), to));
    expect(await refusal({ kind: "txid", txid: to.txidEnd })).toBe("DECRYPT_FAILED");
    expect(await verifyKinds()).toContain(`decrypt ${to.key}`);
  });

  test("rolled back: the pre-rotation copy of an object put back after a key rotation is refused", async () => {
    const victim = backups.at(-1)!.snapshot!;
    const before = read(victim.key);
    const newKey = makeKeyFile(fx.dir, `rotated-${outputs}.txt`).path;
    const rotated = keyringFor({ keyFile: newKey, requireEncrypted: true }, { oldKeyFiles: [keyFile] });
    expect((await reencryptDatabase({ backend, db: "app", keys: rotated })).failed).toEqual([]);
    const onlyNew = keyringFor({ keyFile: newKey, requireEncrypted: true });
    await restore({ kind: "latest" }, onlyNew);
    writeFileSync(file(victim.key), before);
    expect(await refusal({ kind: "latest" }, onlyNew)).toBe("DECRYPT_FAILED");
  });

  test("truncated: dropping the last block (the sealed footer kept) or cutting the tail is refused", async () => {
    const victim = backups[0].snapshot!;
    const bytes = read(victim.key);
    const { headerBytes } = readHeader(bytes);
    // The daemon's snapshot of a small database is one block: cut it to a header plus the footer.
    const dropped = new Uint8Array([...bytes.subarray(0, headerBytes), ...bytes.subarray(bytes.byteLength - SEALED_TAIL_BYTES)]);
    writeFileSync(file(victim.key), recrc(dropped));
    expect(await refusal({ kind: "txid", txid: victim.txidEnd })).toBe("DECRYPT_FAILED");
    writeFileSync(file(victim.key), bytes.subarray(0, bytes.byteLength - 100));
    expect(await refusal({ kind: "txid", txid: victim.txidEnd })).toBe("CORRUPT_OBJECT");
    expect((await verifyKinds()).some((k) => k.endsWith(victim.key))).toBe(true);
  });

  let plantedCount = 0;
  /** The attacker writes a complete, self-consistent plaintext backup newer than every real one; returns its key. */
  async function plantPlaintextBackup(): Promise<string> {
    const src = join(fx.dir, `evil-${plantedCount++}.db`);
    const { Database } = await import("bun:sqlite");
    const evil = new Database(src, { create: true });
    evil.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('attacker data');");
    evil.close();
    const raw = new Uint8Array(readFileSync(src));
    const pageSize = 4096;
    const pages = Array.from({ length: raw.byteLength / pageSize }, (_, i) => ({ pgno: i + 1, data: raw.slice(i * pageSize, (i + 1) * pageSize) }));
    const { DbChecksum } = await import("../../src/format/db-checksum.ts");
    const ts = Date.now() + 60_000;
    const id = newBackupId(ts);
    const txid = backups.at(-1)!.changesets.at(-1)!.txidEnd + 1;
    const header = { kind: "snapshot" as const, level: 0, dbName: "app", backupId: id, txidStart: txid, txidEnd: txid, pageSize,
      dbPages: pages.length, timestampMs: ts, compression: "none" as const, encrypted: false, lineageIn: ZERO_LINEAGE, wal: null };
    const object = encodeObject(header, pages, { dbChecksum: DbChecksum.fromPages(pageSize, pages, pages.length).value });
    await backend.put(snapshotKey("app", id, txid, ts), object.bytes);
    await writeCurrent(backend, "app", id);
    return snapshotKey("app", id, txid, ts);
  }

  test("downgrade: a forged plaintext backup is refused under require_encrypted (and would be restored without it)", async () => {
    const planted = await plantPlaintextBackup();
    expect(await refusal()).toBe("DECRYPT_FAILED");
    expect(await verifyKinds()).toContain(`decrypt ${planted}`);
    const lenient = keyringFor({ keyFile, requireEncrypted: false });
    const landed = await restore({ kind: "latest" }, lenient);
    expect(dump(landed.output)).toContain("attacker data");
  });

  test("downgrade, then a key rotation: reencrypt under require_encrypted refuses the forged backup instead of sealing it under the new key", async () => {
    const planted = await plantPlaintextBackup();
    const bytes = read(planted);
    const newKey = makeKeyFile(fx.dir, `rotated-${outputs}.txt`).path;
    const rotated = keyringFor({ keyFile: newKey, requireEncrypted: true }, { oldKeyFiles: [keyFile] });
    for (const dryRun of [true, false]) {
      const r = await reencryptDatabase({ backend, db: "app", keys: rotated, dryRun });
      expect(r.failed.map((f) => [f.key, f.code])).toEqual([[planted, "DECRYPT_FAILED"]]);
      expect(r.failed[0].message).toContain("require_encrypted = false");
      expect(r.rewritten).toBe(r.objects - 1);
    }
    expect(read(planted)).toEqual(bytes);
    expect(readHeader(read(planted)).header.encrypted).toBe(false);
    // Under the new key the forged backup is still refused, and every genuine one restores.
    const onlyNew = keyringFor({ keyFile: newKey, requireEncrypted: true });
    expect(await refusal({ kind: "latest" }, onlyNew)).toBe("DECRYPT_FAILED");
    expect(await verifyKinds(onlyNew)).toEqual([`decrypt ${planted}`]);
    const genuine = await restore({ kind: "txid", txid: backups.at(-1)!.changesets.at(-1)!.txidEnd }, onlyNew);
    expect(dump(genuine.output)).toBe(latestDump);
  });

  test("another database's objects, even under the same key and with the name rewritten, do not decrypt", async () => {
    const victim = backups[0].changesets[0];
    const bytes = read(victim.key);
    // Re-seal the object's contents as database "apq" with the same key, then rename it back to "app".
    const { decodeObject } = await import("../../src/format/object-reader.ts");
    const decoded = decodeObject(bytes, undefined, keys);
    const { version: _, ...header } = decoded.header;
    const other = encodeObject({ ...header, dbName: "apq" }, decoded.pages, {
      dbChecksum: decoded.footer.dbChecksum, lineage: decoded.footer.lineage, seal: keys.sealer("apq"),
    }).bytes;
    const renamed = Buffer.from(Buffer.from(other).toString("latin1").replace("apq", "app"), "latin1");
    writeFileSync(file(victim.key), recrc(new Uint8Array(renamed)));
    expect(await refusal(firstBackup())).toBe("DECRYPT_FAILED");
  });
});

describe("active write: rollback and deletion (partly protected)", () => {
  test("CURRENT repointed to an older backup: verify warns, and restore --timestamp <recent> still lands on the newest state", async () => {
    await writeCurrent(backend, "app", backups[0].backupId);
    const r = await verifyDatabase({ backend, db: "app", keys });
    expect(r.ok).toBe(true);
    expect(r.warnings.join("\n")).toContain(`CURRENT names backup ${backups[0].backupId} but the newest backup is ${backups.at(-1)!.backupId}`);
    const landed = await restore({ kind: "timestamp", timestampMs: Date.now() });
    expect(landed.plan.backupId).toBe(backups.at(-1)!.backupId);
    expect(dump(landed.output)).toBe(latestDump);
  });

  test("a deleted object is reported by verify as a gap (deletion cannot be prevented, only noticed)", async () => {
    const chain = backups.find((b) => b.changesets.length >= 2)!;
    rmSync(file(chain.changesets[0].key));
    expect((await verifyKinds()).some((k) => k.startsWith("missing "))).toBe(true);
  });

  test("an object renamed to claim a later commit time is refused even though only its key changed", async () => {
    const victim = backups[0].changesets.at(-1)!;
    const later = victim.key.replace(/-[0-9a-f]{12}$/, (m) => `-${(Number.parseInt(m.slice(1), 16) + 5000).toString(16).padStart(12, "0")}`);
    renameSync(file(victim.key), file(later));
    expect(await verifyKinds()).toContain(`misplaced ${later}`);
  });
});

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { FaultyBackend } from "../../src/backends/faulty.ts";
import { isTempName, tempNameFor } from "../../src/backends/file-walk.ts";
import type { Backend, Body, ByteRange, PutOptions } from "../../src/backends/types.ts";
import { Keyring, type KeySource } from "../../src/format/keyring.ts";
import { writeCurrent } from "../../src/replica/manifest.ts";
import { newBackupId } from "../../src/replica/names.ts";
import { reencryptDatabase, reencryptSucceeded } from "../../src/replica/reencrypt.ts";
import { restoreDatabase } from "../../src/replica/restore.ts";
import { describeSeal, probeHeader } from "../../src/replica/seal-mode.ts";
import { verifyDatabase } from "../../src/replica/verify.ts";
import { CHEAP_KDF, keySource, passphraseSource } from "../format/crypto-fixtures.ts";
import { ReplicaBuilder, buildWorkload, dump, tempDir } from "./helpers.ts";
import { tempBackend, type TempBackend } from "./temp-backend.ts";

const T0 = Date.UTC(2026, 4, 30, 12, 0, 0);
const ID = newBackupId(T0, 1);
const ID2 = newBackupId(T0 + 3_600_000, 2);

let backend: TempBackend;
let work: string;
let builder: ReplicaBuilder;
let dumps: Map<number, string>;
const A = keySource("key A");
const B = keySource("key B");

beforeEach(async () => {
  backend = tempBackend();
  work = tempDir();
  fs.mkdirSync(path.join(work, "src"));
  fs.mkdirSync(path.join(work, "src2"));
  ({ builder, dumps } = await buildWorkload(backend, path.join(work, "src"), "app", ID, T0));
  await builder.compact(1, 2, 5); // a compacted object carries an explicit lineage: it must survive too
  const second = await buildWorkload(backend, path.join(work, "src2"), "app", ID2, T0 + 3_600_000, { variant: "-2" });
  for (const [txid, d] of second.dumps) dumps.set(100 + txid, d);
  await writeCurrent(backend, "app", ID2);
});
afterEach(() => {
  backend.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Write with `write` (null: plaintext), read old objects with `read`. */
const ring = (write: KeySource | null, read: KeySource[] = [], requireEncrypted = write !== null) =>
  new Keyring(write, read, { requireEncrypted, kdf: CHEAP_KDF });
/** The plaintext-to-encrypted migration's keyring: require_encrypted = false, so plaintext objects may be sealed. */
const migrating = (write: KeySource) => ring(write, [], false);

function snapshotFiles(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir)) {
      const p = path.join(dir, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else out.set(path.relative(root, p), fs.readFileSync(p));
    }
  };
  walk(root);
  return out;
}

async function seals(b: Backend = backend): Promise<Set<string>> {
  const out = new Set<string>();
  for (const [key] of snapshotFiles(backend.root)) {
    if (key.endsWith("CURRENT") || key.endsWith("manifest")) continue;
    out.add(describeSeal(await probeHeader(b, key)).split(" ")[0]);
  }
  return out;
}

/** Restores every point in time of both backups with `keys` and compares with the source's dumps. */
async function expectAllPointsInTime(keys: Keyring | undefined): Promise<void> {
  let n = 0;
  for (const [txid, expected] of dumps) {
    const output = path.join(work, `pit-${n++}.db`);
    const t = txid > 100 ? T0 + 3_600_000 + (txid - 100) * 1000 : T0 + txid * 1000;
    await restoreDatabase({ backend, db: "app", output, target: { kind: "timestamp", timestampMs: txid % 100 === 1 ? t - (txid > 100 ? 0 : 1000) : t }, keys });
    expect(dump(output)).toBe(expected);
    fs.rmSync(output);
  }
}

describe("reencrypt", () => {
  test("plaintext -> key A (require_encrypted = false, the migration) -> key B -> plaintext keeps every point in time and never touches CURRENT or manifests", async () => {
    const metaBefore = [...snapshotFiles(backend.root)].filter(([k]) => k.endsWith("CURRENT"));
    const total = (await reencryptDatabase({ backend, db: "app", keys: migrating(A) }));
    expect(total).toMatchObject({ objects: 13, rewritten: 13, skipped: 0, failed: [], target: expect.stringMatching(/^key [0-9a-f]{16}$/) });
    expect(await seals()).toEqual(new Set(["key"]));
    await expectAllPointsInTime(ring(A));
    expect((await verifyDatabase({ backend, db: "app", keys: ring(A) })).problems).toEqual([]);

    const rotated = await reencryptDatabase({ backend, db: "app", keys: ring(B, [A]) });
    expect(rotated).toMatchObject({ rewritten: 13, skipped: 0, failed: [] });
    await expectAllPointsInTime(ring(B));
    const oldKeyOnly = await restoreDatabase({ backend, db: "app", output: path.join(work, "x.db"), target: { kind: "latest" }, keys: ring(A) }).catch((e) => e);
    expect(oldKeyOnly.code).toBe("DECRYPT_FAILED");

    const plain = await reencryptDatabase({ backend, db: "app", keys: ring(null, [B]) });
    expect(plain).toMatchObject({ rewritten: 13, target: "plaintext" });
    expect(await seals()).toEqual(new Set(["plaintext"]));
    await expectAllPointsInTime(undefined);
    expect([...snapshotFiles(backend.root)].filter(([k]) => k.endsWith("CURRENT"))).toEqual(metaBefore);
  });

  test("a second run skips everything and changes no byte", async () => {
    await reencryptDatabase({ backend, db: "app", keys: migrating(A) });
    const before = snapshotFiles(backend.root);
    const again = await reencryptDatabase({ backend, db: "app", keys: ring(A, [B]) });
    expect(again).toMatchObject({ rewritten: 0, skipped: 13, bytes: 0, failed: [] });
    expect(snapshotFiles(backend.root)).toEqual(before);
  });

  test("--dry-run reports the work and its size without writing anything", async () => {
    const before = snapshotFiles(backend.root);
    const bytes = [...before].filter(([k]) => !k.endsWith("CURRENT") && !k.endsWith("manifest")).reduce((n, [, b]) => n + b.byteLength, 0);
    const r = await reencryptDatabase({ backend, db: "app", keys: migrating(A), dryRun: true });
    expect(r).toMatchObject({ dryRun: true, objects: 13, rewritten: 13, bytes, failed: [] });
    expect(snapshotFiles(backend.root)).toEqual(before);
  });

  test("objects no given key opens are reported, left untouched, and do not stop the others", async () => {
    await reencryptDatabase({ backend, db: "app", keys: migrating(A) });
    const victim = builder.stateAt(3).key;
    const original = fs.readFileSync(path.join(backend.root, victim));
    // Put one object under an unknown key C, then rotate to B knowing only A.
    await reencryptDatabase({ backend: onlyKey(backend, victim), db: "app", keys: ring(keySource("C"), [A]) });
    const moved = fs.readFileSync(path.join(backend.root, victim));
    expect(moved.equals(original)).toBe(false);
    const r = await reencryptDatabase({ backend, db: "app", keys: ring(B, [A]) });
    expect(r.rewritten).toBe(12);
    expect(r.failed.map((f) => [f.key, f.code])).toEqual([[victim, "DECRYPT_FAILED"]]);
    expect(fs.readFileSync(path.join(backend.root, victim)).equals(moved)).toBe(true);
  });

  test("a damaged source object is never replaced", async () => {
    const victim = builder.stateAt(4).key;
    const file = path.join(backend.root, victim);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 10] ^= 1;
    fs.writeFileSync(file, bytes);
    const r = await reencryptDatabase({ backend, db: "app", keys: migrating(A) });
    expect(r.failed.map((f) => [f.key, f.code])).toEqual([[victim, "CORRUPT_OBJECT"]]);
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  });

  test("a failure after N objects (a torn upload) then a rerun finishes, with every point in time intact", async () => {
    const faulty = new FaultyBackend(backend, { seed: 1 });
    let puts = 0;
    const crashing: Backend = Object.create(faulty, {
      put: { value: (key: string, body: Body, o?: PutOptions) => {
        if (++puts === 6) faulty.failNext("put", 1, "partialWrite");
        return faulty.put(key, body, o);
      } },
    });
    const err = await reencryptDatabase({ backend: crashing, db: "app", keys: migrating(A) }).catch((e) => e);
    expect(err.code).toBe("BACKEND_IO");
    expect(await seals()).toEqual(new Set(["key", "plaintext"]));
    // Mid-migration the replica reads with the new key and require_encrypted off.
    await expectAllPointsInTime(migrating(A));
    const rerun = await reencryptDatabase({ backend, db: "app", keys: migrating(A) });
    expect(rerun).toMatchObject({ rewritten: 8, skipped: 5, failed: [] });
    await expectAllPointsInTime(ring(A));
  });

  test("a passphrase target seals every object with one salt, and the passphrase alone restores", async () => {
    await reencryptDatabase({ backend, db: "app", keys: migrating(passphraseSource("pw")) });
    const ids = new Set<string>();
    for (const [key] of snapshotFiles(backend.root)) {
      if (!key.endsWith("CURRENT") && !key.endsWith("manifest")) ids.add(describeSeal(await probeHeader(backend, key)));
    }
    expect(ids.size).toBe(1);
    expect([...ids][0]).toStartWith("passphrase ");
    await expectAllPointsInTime(ring(passphraseSource("pw")));
  });

  test("with require_encrypted on (the default), plaintext objects are refused, named one per line, and left as they are; --dry-run says the same", async () => {
    const before = snapshotFiles(backend.root);
    for (const dryRun of [true, false]) {
      const r = await reencryptDatabase({ backend, db: "app", keys: ring(A), dryRun });
      expect(r).toMatchObject({ objects: 13, rewritten: 0, skipped: 0, bytes: 0 });
      expect(r.failed).toHaveLength(13);
      expect(reencryptSucceeded(r)).toBe(false);
      for (const f of r.failed) {
        expect(f.code).toBe("DECRYPT_FAILED");
        expect(f.message).toStartWith(`${f.key}: object is not encrypted, and require_encrypted is on;`);
        expect(f.message).toContain("only with require_encrypted = false (the plaintext-to-encrypted migration)");
        expect(f.message).not.toContain("\n");
      }
    }
    expect(snapshotFiles(backend.root)).toEqual(before);
  });

  test("a rotation under require_encrypted refuses a plaintext object planted among sealed ones, leaves it untouched, and moves every other object", async () => {
    const victim = builder.stateAt(3).key;
    const plaintext = fs.readFileSync(path.join(backend.root, victim));
    await reencryptDatabase({ backend, db: "app", keys: migrating(A) });
    // Someone with write access but no key puts a plaintext object back among the sealed ones.
    fs.writeFileSync(path.join(backend.root, victim), plaintext);
    const before = snapshotFiles(backend.root);

    const dry = await reencryptDatabase({ backend, db: "app", keys: ring(B, [A]), dryRun: true });
    expect(dry).toMatchObject({ rewritten: 12, skipped: 0 });
    expect(dry.failed.map((f) => [f.key, f.code])).toEqual([[victim, "DECRYPT_FAILED"]]);
    expect(snapshotFiles(backend.root)).toEqual(before);

    const r = await reencryptDatabase({ backend, db: "app", keys: ring(B, [A]) });
    expect(r).toMatchObject({ rewritten: 12, skipped: 0 });
    expect(r.failed.map((f) => [f.key, f.code])).toEqual([[victim, "DECRYPT_FAILED"]]);
    expect(r.failed[0].message).toContain("require_encrypted = false");
    expect(reencryptSucceeded(r)).toBe(false);
    expect(fs.readFileSync(path.join(backend.root, victim)).equals(plaintext)).toBe(true);
    for (const [key] of snapshotFiles(backend.root)) {
      if (key === victim || key.endsWith("CURRENT") || key.endsWith("manifest")) continue;
      expect(ring(B).isWriteKey((await probeHeader(backend, key)).seal)).toBe(true);
    }
    // Still plaintext, so readers under the new key keep refusing it.
    const v = await verifyDatabase({ backend, db: "app", keys: ring(B) });
    expect(v.problems.map((p) => `${p.kind} ${p.key}`)).toContain(`decrypt ${victim}`);
  });

  test("a sealed object swapped for plaintext between the header probe and the download is refused too, not sealed", async () => {
    const victim = builder.stateAt(4).key;
    const plaintext = new Uint8Array(fs.readFileSync(path.join(backend.root, victim)));
    await reencryptDatabase({ backend, db: "app", keys: migrating(A) });
    const sealed = fs.readFileSync(path.join(backend.root, victim));
    const swapping: Backend = Object.create(backend, {
      getStream: { value: (key: string, range?: ByteRange) => key === victim ? (async function* () { yield plaintext; })() : backend.getStream(key, range) },
    });
    const r = await reencryptDatabase({ backend: swapping, db: "app", keys: ring(B, [A]) });
    expect(r.rewritten).toBe(12);
    expect(r.failed.map((f) => [f.key, f.code])).toEqual([[victim, "DECRYPT_FAILED"]]);
    expect(r.failed[0].message).toContain("require_encrypted is on");
    expect(fs.readFileSync(path.join(backend.root, victim)).equals(sealed)).toBe(true);
  });

  test("a backend that cannot replace objects atomically is refused up front", async () => {
    const weak: Backend = Object.create(backend, { capabilities: { value: { ...backend.capabilities, atomicPut: false } } });
    const err = await reencryptDatabase({ backend: weak, db: "app", keys: migrating(A) }).catch((e) => e);
    expect(err.code).toBe("NOT_SUPPORTED_YET");
    expect((await reencryptDatabase({ backend: weak, db: "app", keys: migrating(A), dryRun: true })).rewritten).toBe(13);
  });
});

describe("reencrypt and leftover upload temp files", () => {
  const PLAINTEXT = Buffer.from("row 2 ".repeat(700)); // pages of an upload killed before encryption was enabled

  /** Plants a temp file beside `key`, named the way a put names it, last modified `ageMs` ago. */
  function plantTemp(key: string, ageMs = 0): string {
    const file = path.join(backend.root, path.dirname(key), tempNameFor(path.basename(key)));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, PLAINTEXT);
    const when = new Date(Date.now() - ageMs);
    fs.utimesSync(file, when, when);
    return file;
  }

  const tempsUnder = (dir: string) => [...snapshotFiles(backend.root).keys()].filter((k) => k.startsWith(dir) && isTempName(path.basename(k)));

  test("every temp file under the database's prefix goes, whatever its age; another database's stay", async () => {
    const snapshot = builder.stateAt(1).key;
    const ours = [plantTemp(snapshot), plantTemp(snapshot, 48 * 3600_000), plantTemp("app/CURRENT")];
    // "app2" shares the name's first letters, "other" shares nothing: neither is under "app/".
    const theirs = [plantTemp(`other/${ID}/snapshot-1`), plantTemp(`app2/${ID}/L0/x`), plantTemp("app2/CURRENT")];

    const r = await reencryptDatabase({ backend, db: "app", keys: migrating(A) });
    expect(r).toMatchObject({ rewritten: 13, failed: [] });
    expect(r.leftovers).toEqual({ kind: "temp-files", removed: 3, bytes: 3 * PLAINTEXT.byteLength, failed: 0 });
    for (const file of ours) expect(fs.existsSync(file)).toBe(false);
    for (const file of theirs) expect(fs.readFileSync(file).equals(PLAINTEXT)).toBe(true);
    expect(tempsUnder("app/")).toEqual([]);
    const plaintextLeft = [...snapshotFiles(backend.root)].filter(([k, b]) => k.startsWith("app/") && b.includes("row 2 row 2"));
    expect(plaintextLeft).toEqual([]);
    await expectAllPointsInTime(ring(A));

    const again = await reencryptDatabase({ backend, db: "app", keys: ring(A) });
    expect(again.leftovers).toEqual({ kind: "temp-files", removed: 0, bytes: 0, failed: 0 });
  });

  test("--dry-run reports the temp files it would remove and keeps them", async () => {
    const planted = [plantTemp(builder.stateAt(3).key), plantTemp("app/CURRENT", 3 * 3600_000)];
    const before = snapshotFiles(backend.root);
    const r = await reencryptDatabase({ backend, db: "app", keys: migrating(A), dryRun: true });
    expect(r.leftovers).toEqual({ kind: "temp-files", removed: 2, bytes: 2 * PLAINTEXT.byteLength, failed: 0 });
    for (const file of planted) expect(fs.existsSync(file)).toBe(true);
    expect(snapshotFiles(backend.root)).toEqual(before);
  });

  test.skipIf(process.getuid?.() === 0)("a temp file that cannot be removed fails the run and is counted (skipped as root, who can remove it anyway)", async () => {
    const dir = path.dirname(plantTemp(builder.stateAt(2).key));
    fs.chmodSync(dir, 0o500);
    try {
      const r = await reencryptDatabase({ backend, db: "app", keys: migrating(A), dryRun: true });
      expect(r.leftovers.failed).toBe(0); // a dry run removes nothing, so nothing fails
      // No object listed (none could be rewritten into the read-only directory either): only the sweep runs.
      const real = await reencryptDatabase({ backend: onlyKey(backend, "none"), db: "app", keys: migrating(A) });
      expect(real.leftovers).toMatchObject({ kind: "temp-files", removed: 0, failed: 1 });
      expect(reencryptSucceeded(real)).toBe(false);
    } finally {
      fs.chmodSync(dir, 0o700);
    }
  });

  test("a backend whose puts leave no temp files reports none", async () => {
    const r = await reencryptDatabase({ backend: new FaultyBackend(backend, { seed: 1 }), db: "app", keys: migrating(A), dryRun: true });
    expect(r.leftovers).toEqual({ kind: "none", removed: 0, bytes: 0, failed: 0 });
  });
});

/** A view of `inner` whose listing holds only `key` (to rewrite one object). */
function onlyKey(inner: Backend, key: string): Backend {
  return Object.create(inner, {
    list: { value: async function* (prefix: string) {
      for await (const info of inner.list(prefix)) if (info.key === key) yield info;
    } },
  });
}

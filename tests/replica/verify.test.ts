import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { crc32 } from "../../src/format/crc.ts";
import { writeCurrent, writeManifest } from "../../src/replica/manifest.ts";
import { changesetKey, manifestKey, newBackupId } from "../../src/replica/names.ts";
import { verifyDatabase } from "../../src/replica/verify.ts";
import { ReplicaBuilder, buildWorkload, imageChecksum, tempDir } from "./helpers.ts";
import { tempBackend, type TempBackend } from "./temp-backend.ts";

const T0 = Date.UTC(2026, 4, 30, 12, 0, 0);
const ID = newBackupId(T0, 1);

let backend: TempBackend;
let work: string;
let builder: ReplicaBuilder;

beforeEach(async () => {
  backend = tempBackend();
  work = tempDir();
  fs.mkdirSync(path.join(work, "src"));
  ({ builder } = await buildWorkload(backend, path.join(work, "src"), "app", ID, T0));
  await writeCurrent(backend, "app", ID);
});
afterEach(() => {
  backend.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

const keyAt = (txid: number) => builder.stateAt(txid).key;
const file = (key: string) => path.join(backend.root, key);
const verify = (mode: "shallow" | "deep" = "shallow") => verifyDatabase({ backend, db: "app", mode, tempDir: work });
const kinds = (r: Awaited<ReturnType<typeof verify>>) => r.problems.map((p) => `${p.kind} ${p.key}`);

describe("verify (shallow)", () => {
  test("a clean replica: every object checked, no problems, no warnings", async () => {
    const r = await verify();
    expect(r).toMatchObject({ ok: true, mode: "shallow", backups: 1, objects: 6, problems: [], warnings: [], current: ID, newest: ID });
    expect(r.bytes).toBe(fs.readdirSync(path.join(backend.root, "app", ID, "L0")).reduce((n, f) => n + fs.statSync(path.join(backend.root, "app", ID, "L0", f)).size, 0) + fs.statSync(file(keyAt(1))).size);
  });

  test("a flipped byte is reported by key, and the objects it cuts off as unreachable", async () => {
    const bytes = fs.readFileSync(file(keyAt(4)));
    bytes[bytes.length >> 1] ^= 0x40;
    fs.writeFileSync(file(keyAt(4)), bytes);
    const r = await verify();
    expect(r.ok).toBe(false);
    expect(kinds(r)).toEqual([`corrupt ${keyAt(4)}`, `unreachable ${keyAt(5)}`]);
    expect(r.problems[0].code).toBe("CORRUPT_OBJECT");
    expect(r.problems[1].message).toContain("restore stops at txid 3");
  });

  test("a missing object is a gap naming the missing txids", async () => {
    fs.rmSync(file(keyAt(3)));
    const r = await verify();
    expect(kinds(r)).toEqual([`missing ${keyAt(4)}`]);
    expect(r.problems[0].message).toContain("txids 3..3 are missing");
  });

  test("an object renamed to another position or time is reported as misplaced", async () => {
    const moved = changesetKey("app", ID, 0, 4, 4, T0 + 4000 + 1);
    fs.renameSync(file(keyAt(4)), file(moved));
    const r = await verify();
    expect(kinds(r)).toContain(`misplaced ${moved}`);
    expect(r.problems.find((p) => p.key === moved)!.message).toContain("unexpected identity");
  });

  test("a valid object from another history substituted at the same key breaks the lineage", async () => {
    const other = tempBackend();
    try {
      fs.mkdirSync(path.join(work, "src2"));
      const alt = await buildWorkload(other, path.join(work, "src2"), "app", ID, T0, { variant: "-forged" });
      fs.copyFileSync(path.join(other.root, alt.builder.stateAt(4).key), file(keyAt(4)));
      const r = await verify();
      expect(kinds(r)).toEqual([`lineage ${keyAt(4)}`, `unreachable ${keyAt(5)}`]);
      expect(r.problems[0].message).toContain("reordered or substituted");
    } finally {
      other.cleanup();
    }
  });

  test("a backup whose snapshot is gone is reported; its change-sets are still checked", async () => {
    fs.rmSync(file(keyAt(1)));
    const r = await verify();
    expect(r.objects).toBe(5);
    expect(kinds(r)).toEqual([`missing app/${ID}/`]);
  });

  test("compacted objects and the leftovers of a crashed compaction are not problems", async () => {
    await builder.compact(1, 2, 4);
    fs.rmSync(file(keyAt(2)));
    fs.rmSync(file(keyAt(3)));
    const r = await verify();
    expect(r.problems).toEqual([]);
    expect(r.objects).toBe(5);
  });

  test("CURRENT naming an older backup is a warning, not a failure", async () => {
    const newer = newBackupId(T0 + 60_000, 2);
    fs.mkdirSync(path.join(work, "src3"));
    await buildWorkload(backend, path.join(work, "src3"), "app", newer, T0 + 60_000);
    const r = await verify();
    expect(r.ok).toBe(true);
    expect(r.newest).toBe(newer);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain(`CURRENT names backup ${ID} but the newest backup is ${newer}`);
  });

  describe("against the manifest", () => {
    const manifestUpTo = (last: number) =>
      writeManifest(backend, {
        version: 1, db: "app", backupId: ID, snapshot: { txid: 1, timestampMs: builder.stateAt(1).timestampMs },
        last: { txid: last, timestampMs: builder.stateAt(last).timestampMs }, changesets: last - 1, bytes: 0, updatedMs: T0 + 10_000,
      });

    test("lost newest change-sets that the manifest records are missing, naming the backup and the txids", async () => {
      await manifestUpTo(6);
      expect((await verify()).ok).toBe(true);
      fs.rmSync(file(keyAt(6)));
      fs.rmSync(file(keyAt(5)));
      for (const mode of ["shallow", "deep"] as const) {
        const r = await verify(mode);
        expect(r.ok).toBe(false);
        expect(r.problems).toEqual([{
          kind: "missing", key: `app/${ID}/`, backupId: ID, code: "CHAIN_GAP", message: expect.stringContaining("txids 5..6 are missing"),
        }]);
        expect(r.problems[0].message).toContain("up to txid 6 but its objects end at txid 4");
      }
    });

    test("a manifest behind the listing, or an unparsable one, is not a problem", async () => {
      await manifestUpTo(4);
      expect((await verify()).problems).toEqual([]);
      fs.writeFileSync(file(manifestKey("app", ID)), "{\"version\":1,\"last\":{\"txid\":99");
      fs.rmSync(file(keyAt(6)));
      expect((await verify()).problems).toEqual([]);
    });
  });

  test("an empty replica is a problem (nothing can be restored)", async () => {
    const empty = tempBackend();
    try {
      const r = await verifyDatabase({ backend: empty, db: "app" });
      expect(r.ok).toBe(false);
      expect(r.problems.map((p) => p.kind)).toEqual(["no-backup"]);
    } finally {
      empty.cleanup();
    }
  });
});

describe("verify --deep", () => {
  test("restores each clean backup, leaves no temp file, and reports it", async () => {
    const r = await verify("deep");
    expect(r).toMatchObject({ ok: true, mode: "deep", restored: 1, skipped: 0 });
    expect(fs.readdirSync(work)).toEqual(["src"]);
  });

  test("catches a wrong database checksum that no per-object check can see", async () => {
    // A well-formed change-set with a valid lineage whose recorded checksum is not the applied state's.
    const prev = builder.stateAt(6);
    const header = builder.header("changeset", 0, 7, 7, T0 + 7000, prev.image, prev.lineage);
    const page = prev.image.pages[1].slice();
    page[100] ^= 1;
    const { bytes } = builder.encode(header, [{ pgno: 2, data: page }], imageChecksum(prev.image));
    await backend.put(changesetKey("app", ID, 0, 7, 7, T0 + 7000), bytes);
    expect((await verify("shallow")).ok).toBe(true);
    const r = await verify("deep");
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => [p.kind, p.code])).toEqual([["restore", "CHECKSUM_MISMATCH"]]);
  });

  test("backups with shallow problems are skipped by the deep pass rather than reported twice", async () => {
    const bytes = fs.readFileSync(file(keyAt(6)));
    bytes[20] ^= 1;
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
    fs.writeFileSync(file(keyAt(6)), bytes);
    const r = await verify("deep");
    expect(r).toMatchObject({ ok: false, restored: 0, skipped: 1 });
    expect(r.problems).toHaveLength(1);
  });
});

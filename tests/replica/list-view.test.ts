import { describe, expect, test } from "bun:test";
import { listedObjects, restorePoints, summarizeDatabase } from "../../src/replica/list-view.ts";
import { planRestore } from "../../src/replica/plan.ts";
import { fakeListing, idOf, startOf } from "./fake-listing.ts";

const backups = [
  { n: 0, snapshot: { txid: 1, ts: 1000 }, changesets: [[0, 2, 4, 1100], [0, 5, 7, 1200]] as [number, number, number, number][] },
  { n: 1, snapshot: { txid: 8, ts: 2000 }, changesets: [[0, 9, 9, 2100], [0, 11, 12, 2300]] as [number, number, number, number][] },
  { n: 2, snapshot: null, changesets: [] },
];

describe("restorePoints", () => {
  test("gives one span per backup with a snapshot, from its snapshot to its furthest gap-free state", () => {
    const listing = fakeListing(backups);
    expect(restorePoints(listing)).toEqual([
      { backupId: idOf(0), fromMs: 1000, toMs: 1200, fromTxid: 1, toTxid: 7, objects: 3, unreachable: null },
      { backupId: idOf(1), fromMs: 2000, toMs: 2100, fromTxid: 8, toTxid: 9, objects: 2, unreachable: { objects: 1, fromTxid: 10 } },
    ]);
  });

  test("the last span ends where restore (latest) lands", () => {
    const listing = fakeListing(backups);
    const plan = planRestore(listing, { kind: "latest" });
    const last = restorePoints(listing).at(-1)!;
    expect([last.backupId, last.toTxid, last.toMs]).toEqual([plan.backupId, plan.landedTxid, plan.landedTimestampMs]);
  });
});

describe("summarizeDatabase", () => {
  test("summarizes counts, the restorable window, the latest txid and bytes", () => {
    const listing = fakeListing(backups, idOf(1));
    listing.backups[0].bytes = 10;
    listing.backups[1].bytes = 5;
    expect(summarizeDatabase(listing)).toEqual({
      db: "app",
      backups: 3,
      restorableBackups: 2,
      firstRestorableMs: 1000,
      lastRestorableMs: 2100,
      latestTxid: 9,
      bytes: 15,
      currentBackupId: idOf(1),
      currentIsNewest: true,
      unreachable: { objects: 1, fromTxid: 10 },
      skippedBackups: [{ backupId: idOf(2), startedMs: startOf(2), changesets: 0, fromTxid: null, toTxid: null, lastCommittedMs: null }],
    });
  });

  test("lists a newer backup whose change-sets have no snapshot: what restore (latest) passes over", () => {
    const listing = fakeListing([...backups.slice(0, 2), { n: 2, snapshot: null, changesets: [[0, 14, 15, 3000], [0, 16, 16, 3100]] }]);
    const summary = summarizeDatabase(listing);
    expect(summary.latestTxid).toBe(9);
    expect(summary.skippedBackups).toEqual([{ backupId: idOf(2), startedMs: startOf(2), changesets: 2, fromTxid: 14, toTxid: 16, lastCommittedMs: 3100 }]);
    expect(summary.skippedBackups).toEqual(planRestore(listing, { kind: "latest" }).skipped!);
  });

  test("a backup without a snapshot older than the newest restorable one is not listed as skipped", () => {
    const listing = fakeListing([backups[0], { n: 1, snapshot: null, changesets: [[0, 9, 9, 2100]] }, { n: 2, snapshot: { txid: 10, ts: 3000 } }]);
    expect(summarizeDatabase(listing).skippedBackups).toEqual([]);
  });

  test("flags a CURRENT that points at an older backup (a possible rollback)", () => {
    expect(summarizeDatabase(fakeListing(backups, idOf(0))).currentIsNewest).toBe(false);
  });

  test("accepts a CURRENT that is ahead of the newest snapshot (a snapshot still uploading)", () => {
    expect(summarizeDatabase(fakeListing(backups, idOf(2))).currentIsNewest).toBe(true);
  });

  test("does not accept a missing CURRENT or one naming a backup that is not there", () => {
    expect(summarizeDatabase(fakeListing(backups, null)).currentIsNewest).toBe(false);
    expect(summarizeDatabase(fakeListing(backups, idOf(9))).currentIsNewest).toBe(false);
  });

  test("an empty database summarizes to nulls, not errors", () => {
    expect(summarizeDatabase(fakeListing([]))).toMatchObject({
      backups: 0, restorableBackups: 0, firstRestorableMs: null, lastRestorableMs: null, latestTxid: null, bytes: 0, unreachable: null, skippedBackups: [],
    });
  });
});

describe("listedObjects", () => {
  test("lists every snapshot and change-set, backup by backup", () => {
    expect(listedObjects(fakeListing(backups)).map((o) => o.txidEnd)).toEqual([1, 4, 7, 8, 9, 12]);
  });
});

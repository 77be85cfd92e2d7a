import { describe, expect, test } from "bun:test";
import { BakeliteError, isBakeliteError } from "../../src/errors.ts";
import { planRestore } from "../../src/replica/plan.ts";
import type { DatabaseListing, RestoreTarget } from "../../src/replica/types.ts";
import { fakeListing, idOf, ranges, startOf } from "./fake-listing.ts";

const latest: RestoreTarget = { kind: "latest" };
const at = (timestampMs: number): RestoreTarget => ({ kind: "timestamp", timestampMs });
const txid = (n: number): RestoreTarget => ({ kind: "txid", txid: n });

function planError(listing: DatabaseListing, target: RestoreTarget, where?: string): BakeliteError {
  try {
    planRestore(listing, target, where);
  } catch (err) {
    if (err instanceof BakeliteError) return err;
    throw err;
  }
  throw new Error("planRestore did not throw");
}

describe("planRestore: latest", () => {
  test("lands on the end of the newest backup's gap-free chain", () => {
    const listing = fakeListing([
      { n: 0, snapshot: { txid: 1, ts: 100 }, changesets: [[0, 2, 4, 140], [0, 5, 5, 150]] },
      { n: 1, snapshot: { txid: 6, ts: 200 }, changesets: [[0, 7, 9, 290], [0, 10, 12, 300]] },
    ]);
    const plan = planRestore(listing, latest);
    expect(plan.backupId).toBe(idOf(1));
    expect(plan.snapshot.txidEnd).toBe(6);
    expect(ranges(plan.changesets)).toEqual([[0, 7, 9], [0, 10, 12]]);
    expect(plan.landedTxid).toBe(12);
    expect(plan.landedTimestampMs).toBe(300);
    expect(plan.unreachable).toBeUndefined();
  });

  test("a snapshot alone is a restorable chain", () => {
    const plan = planRestore(fakeListing([{ n: 0, snapshot: { txid: 9, ts: 5 } }]), latest);
    expect(plan.changesets).toEqual([]);
    expect([plan.landedTxid, plan.landedTimestampMs]).toEqual([9, 5]);
  });

  test("prefers compacted objects: the fewest objects that reach the same state", () => {
    const listing = fakeListing([
      {
        n: 0,
        snapshot: { txid: 1, ts: 100 },
        changesets: [[0, 2, 3, 103], [0, 4, 6, 106], [0, 7, 9, 109], [0, 10, 10, 110], [1, 2, 6, 106], [2, 2, 9, 109]],
      },
    ]);
    expect(ranges(planRestore(listing, latest).changesets)).toEqual([[2, 2, 9], [0, 10, 10]]);
  });

  test("with overlapping leftovers (a-b and a-c) takes the path that reaches furthest", () => {
    const listing = fakeListing([
      // 2-8 is a compaction leftover that leads nowhere: nothing starts at 9.
      { n: 0, snapshot: { txid: 1, ts: 1 }, changesets: [[0, 2, 5, 5], [1, 2, 8, 8], [0, 6, 12, 12], [0, 13, 14, 14]] },
    ]);
    const plan = planRestore(listing, latest);
    expect(ranges(plan.changesets)).toEqual([[0, 2, 5], [0, 6, 12], [0, 13, 14]]);
    expect(plan.landedTxid).toBe(14);
    expect(plan.unreachable).toBeUndefined();
  });

  test("stops before a missing change-set and reports what lies beyond the gap", () => {
    const listing = fakeListing([
      { n: 0, snapshot: { txid: 1, ts: 1 }, changesets: [[0, 2, 5, 5], [0, 6, 8, 8], [0, 11, 15, 15], [0, 16, 20, 20]] },
    ]);
    const plan = planRestore(listing, latest);
    expect(plan.landedTxid).toBe(8);
    expect(plan.landedTimestampMs).toBe(8);
    expect(plan.unreachable).toEqual({ objects: 2, fromTxid: 9 });
  });

  test("skips a newest backup without a snapshot, ignores CURRENT, and reports the skipped backup", () => {
    const listing = fakeListing(
      [
        { n: 0, snapshot: { txid: 1, ts: 1 }, changesets: [[0, 2, 3, 3]] },
        { n: 1, snapshot: { txid: 4, ts: 4 }, changesets: [[0, 5, 6, 6]] },
        { n: 2, snapshot: null, changesets: [[0, 8, 9, 9], [0, 10, 12, 12]] },
      ],
      idOf(0),
    );
    const plan = planRestore(listing, latest);
    expect(plan.backupId).toBe(idOf(1));
    expect(plan.landedTxid).toBe(6);
    expect(plan.unreachable).toBeUndefined();
    expect(plan.skipped).toEqual([
      { backupId: idOf(2), startedMs: startOf(2), changesets: 2, fromTxid: 8, toTxid: 12, lastCommittedMs: 12 },
    ]);
  });

  test("reports a newer backup left with no snapshot and no change-sets too, with no txids", () => {
    const listing = fakeListing([
      { n: 0, snapshot: { txid: 1, ts: 1 }, changesets: [[0, 2, 3, 3]] },
      { n: 1, snapshot: null },
    ]);
    expect(planRestore(listing, latest).skipped).toEqual([
      { backupId: idOf(1), startedMs: startOf(1), changesets: 0, fromTxid: null, toTxid: null, lastCommittedMs: null },
    ]);
  });

  test("a backup without a snapshot older than the one it lands in is not reported", () => {
    const listing = fakeListing([
      { n: 0, snapshot: { txid: 1, ts: 1 }, changesets: [[0, 2, 3, 3]] },
      { n: 1, snapshot: null, changesets: [[0, 5, 6, 6]] },
      { n: 2, snapshot: { txid: 7, ts: 7 }, changesets: [[0, 8, 9, 9]] },
    ]);
    const plan = planRestore(listing, latest);
    expect([plan.backupId, plan.landedTxid]).toEqual([idOf(2), 9]);
    expect(plan.skipped).toBeUndefined();
  });
});

describe("planRestore: a point in time inside a backup without a snapshot", () => {
  // Backup times as real ones: the backup id's time is its snapshot's time.
  const listing = fakeListing([
    { n: 0, snapshot: { txid: 1, ts: startOf(0) }, changesets: [[0, 2, 5, startOf(0) + 50]] },
    { n: 1, snapshot: null, changesets: [[0, 7, 8, startOf(1) + 10], [0, 9, 9, startOf(1) + 20]] },
    { n: 2, snapshot: { txid: 20, ts: startOf(2) }, changesets: [[0, 21, 22, startOf(2) + 10]] },
  ]);

  test("a time at or after the skipped backup's start lands in the older backup and reports it", () => {
    const plan = planRestore(listing, at(startOf(1) + 15));
    expect([plan.backupId, plan.landedTxid]).toEqual([idOf(0), 5]);
    expect(plan.skipped?.map((s) => s.backupId)).toEqual([idOf(1)]);
  });

  test("a time before it, or one served by a newer restorable backup, reports nothing", () => {
    expect(planRestore(listing, at(startOf(1) - 1)).skipped).toBeUndefined();
    expect(planRestore(listing, at(startOf(2) + 10)).skipped).toBeUndefined();
  });

  test("a txid within the skipped change-sets, or the lost snapshot's txid before them, reports it", () => {
    for (const n of [6, 8, 12]) {
      const plan = planRestore(listing, txid(n));
      expect([plan.backupId, plan.landedTxid]).toEqual([idOf(0), 5]);
      expect(plan.skipped?.map((s) => s.backupId)).toEqual([idOf(1)]);
    }
  });

  test("a txid the older backup reaches exactly reports nothing", () => {
    expect(planRestore(listing, txid(5)).skipped).toBeUndefined();
    expect(planRestore(listing, txid(3)).skipped).toBeUndefined();
  });
});

describe("planRestore: timestamp", () => {
  const listing = fakeListing([
    { n: 0, snapshot: { txid: 1, ts: 1000 }, changesets: [[0, 2, 4, 1100], [0, 5, 7, 1200], [1, 2, 7, 1200]] },
    { n: 1, snapshot: { txid: 8, ts: 2000 }, changesets: [[0, 9, 9, 2100], [0, 10, 12, 2200]] },
  ]);

  test("lands on the newest commit at or before the time", () => {
    expect(planRestore(listing, at(1000)).landedTxid).toBe(1);
    expect(planRestore(listing, at(1150)).landedTxid).toBe(4);
    expect(planRestore(listing, at(1999)).landedTxid).toBe(7);
    expect(planRestore(listing, at(2000)).landedTxid).toBe(8);
    expect(planRestore(listing, at(2150)).landedTxid).toBe(9);
    expect(planRestore(listing, at(9999)).landedTxid).toBe(12);
  });

  test("uses only objects committed by then, so compaction cannot carry it past the time", () => {
    const plan = planRestore(listing, at(1150));
    expect(ranges(plan.changesets)).toEqual([[0, 2, 4]]);
    expect(plan.landedTimestampMs).toBe(1100);
  });

  test("stops before the first object with a later time even if the clock stepped back after it", () => {
    const skewed = fakeListing([{ n: 0, snapshot: { txid: 1, ts: 100 }, changesets: [[0, 2, 2, 200], [0, 3, 3, 500], [0, 4, 4, 300]] }]);
    expect(planRestore(skewed, at(400)).landedTxid).toBe(2);
  });

  test("before the oldest snapshot is TARGET_UNREACHABLE naming the oldest restorable point", () => {
    const err = planError(listing, at(999));
    expect(err.code).toBe("TARGET_UNREACHABLE");
    expect(err.message).toBe(
      "no state of app at or before 1970-01-01T00:00:00.999Z: the oldest restorable point is 1970-01-01T00:00:01Z",
    );
    expect(err.hint).toContain("bakelite list --db app");
  });

  test("reports a gap only when the time asks for what lies beyond it", () => {
    const gappy = fakeListing([{ n: 0, snapshot: { txid: 1, ts: 1 }, changesets: [[0, 2, 2, 2], [0, 4, 4, 4], [0, 5, 5, 5]] }]);
    expect(planRestore(gappy, at(3)).unreachable).toBeUndefined();
    expect(planRestore(gappy, at(4)).unreachable).toEqual({ objects: 1, fromTxid: 3 });
    expect(planRestore(gappy, at(5)).landedTxid).toBe(2);
  });
});

describe("planRestore: txid", () => {
  const listing = fakeListing([
    { n: 0, snapshot: { txid: 1, ts: 1 }, changesets: [[0, 2, 4, 4], [1, 5, 9, 9], [0, 10, 10, 10]] },
    { n: 1, snapshot: { txid: 11, ts: 11 }, changesets: [[0, 12, 13, 13]] },
  ]);

  test("lands exactly on a boundary when one exists", () => {
    expect(planRestore(listing, txid(4)).landedTxid).toBe(4);
    expect(planRestore(listing, txid(10)).landedTxid).toBe(10);
    expect(planRestore(listing, txid(11)).backupId).toBe(idOf(1));
  });

  test("lands on the largest reachable boundary below when N is inside a merged object", () => {
    const plan = planRestore(listing, txid(7));
    expect(plan.landedTxid).toBe(4);
    expect(plan.unreachable).toBeUndefined();
  });

  test("past the end lands on the last state", () => {
    expect(planRestore(listing, txid(1000)).landedTxid).toBe(13);
  });

  test("before the first snapshot is TARGET_UNREACHABLE", () => {
    const err = planError(listing, txid(0));
    expect(err.code).toBe("TARGET_UNREACHABLE");
    expect(err.message).toContain("the oldest restorable point is txid 1 (1970-01-01T00:00:00.001Z)");
  });

  test("a malformed target is a USAGE error", () => {
    expect(planError(listing, txid(-1)).code).toBe("USAGE");
    expect(planError(listing, at(Number.NaN)).code).toBe("USAGE");
  });
});

describe("planRestore: nothing to restore", () => {
  test("an empty listing is NO_BACKUP naming the database and the backend", () => {
    const err = planError(fakeListing([]), latest, "file:/srv/replicas");
    expect(err.code).toBe("NO_BACKUP");
    expect(err.message).toBe("no backup of app on file:/srv/replicas");
    expect(isBakeliteError(err)).toBe(true);
  });

  test("backups without any snapshot are NO_BACKUP too, with a hint saying so", () => {
    const err = planError(fakeListing([{ n: 0, snapshot: null, changesets: [[0, 2, 3, 3]] }]), at(10));
    expect(err.code).toBe("NO_BACKUP");
    expect(err.hint).toContain("none has a snapshot");
  });
});

/**
 * @module tests/replica/fake-listing
 * Builds DatabaseListing values from a terse description, for planner tests
 * that need no objects on a backend.
 */
import { changesetKey, newBackupId, snapshotKey } from "../../src/replica/names.ts";
import type { BackupListing, DatabaseListing, ObjectRef } from "../../src/replica/types.ts";
import { compareChangesets } from "../../src/replica/listing.ts";

/** [level, txidStart, txidEnd, timestampMs] */
export type CS = [number, number, number, number];

export interface FakeBackup {
  /** Day offset used to make a sortable backup id. */
  n: number;
  snapshot?: { txid: number; ts: number } | null;
  changesets?: CS[];
}

/** The start time (ms) of backup `n`, as its id encodes it. */
export const startOf = (n: number) => Date.UTC(2026, 0, 1) + n * 3_600_000;

export const idOf = (n: number) => newBackupId(startOf(n), n);

export function fakeBackup(b: FakeBackup): BackupListing {
  const backupId = idOf(b.n);
  const snapshot: ObjectRef | null = b.snapshot
    ? {
        key: snapshotKey("app", backupId, b.snapshot.txid, b.snapshot.ts),
        kind: "snapshot",
        backupId,
        level: 0,
        txidStart: b.snapshot.txid,
        txidEnd: b.snapshot.txid,
        timestampMs: b.snapshot.ts,
        size: 100,
      }
    : null;
  const changesets = (b.changesets ?? []).map(([level, a, e, ts]): ObjectRef => ({
    key: changesetKey("app", backupId, level, a, e, ts),
    kind: "changeset",
    backupId,
    level,
    txidStart: a,
    txidEnd: e,
    timestampMs: ts,
    size: 10,
  }));
  changesets.sort(compareChangesets);
  return { backupId, startedMs: startOf(b.n), snapshot, changesets, bytes: 0, hasManifest: false };
}

export function fakeListing(backups: FakeBackup[], current: string | null = null): DatabaseListing {
  return { db: "app", backups: backups.map(fakeBackup).sort((a, b) => (a.backupId < b.backupId ? -1 : 1)), current };
}

/** The plan's change-sets as [level, start, end] triples, for compact assertions. */
export const ranges = (refs: ObjectRef[]) => refs.map((r) => [r.level, r.txidStart, r.txidEnd]);

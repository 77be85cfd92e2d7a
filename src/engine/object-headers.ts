/**
 * @module engine/object-headers
 * The headers of the objects the daemon writes: a change-set continuing the
 * cursor's chain, and the snapshot that starts a new backup. Kept apart from
 * the replicator so the rules for positions live in one short place: a
 * change-set takes the next txids and links to the cursor's lineage; a
 * snapshot takes a txid above every one already used and starts a lineage of
 * its own; commit times never go backwards, even if the clock does.
 */
import { ZERO_LINEAGE } from "../format/lineage.ts";
import type { WalPosition } from "../format/types.ts";
import type { Cursor } from "./cursor.ts";
import { hexToBytes } from "./hex.ts";
import { compressionOf, type HeaderInit } from "./ship.ts";

export interface HeaderContext {
  dbName: string;
  compression: string;
  encrypted: boolean;
}

function common(ctx: HeaderContext) {
  return { level: 0, dbName: ctx.dbName, compression: compressionOf(ctx.compression), encrypted: ctx.encrypted };
}

/** A change-set of `commits` commits after the cursor, ending at `wal` with the database `dbPages` long. */
export function changesetHeader(ctx: HeaderContext, cursor: Cursor, commits: number, dbPages: number, wal: WalPosition, nowMs = Date.now()): HeaderInit {
  return {
    ...common(ctx),
    kind: "changeset",
    backupId: cursor.backupId,
    txidStart: cursor.txid + 1,
    txidEnd: cursor.txid + commits,
    pageSize: cursor.pageSize,
    dbPages,
    timestampMs: Math.max(nowMs, cursor.timestampMs),
    lineageIn: hexToBytes(cursor.lineage),
    wal,
  };
}

/**
 * The snapshot of a new backup. It covers `unshipped` commits the previous
 * cursor had not shipped (at least one txid, so txids only ever grow), and it
 * goes above `highestTxid`: every txid already on the replica or taken by an
 * upload. The cursor alone is not enough: an object can land without the
 * cursor knowing (a crash before its fsync, an upload that reported failure),
 * and restore --txid takes the largest boundary at or below the target over
 * every backup, so a new backup sharing txids with it would let a later
 * target restore an older state.
 */
export function snapshotHeader(
  ctx: HeaderContext,
  previous: Cursor | null,
  backupId: (timestampMs: number) => string,
  state: { unshipped: number; highestTxid: number; pageSize: number; pages: number; wal: WalPosition | null },
  nowMs = Date.now(),
): HeaderInit {
  const txid = Math.max((previous?.txid ?? 0) + Math.max(1, state.unshipped), state.highestTxid + 1);
  const timestampMs = Math.max(nowMs, previous?.timestampMs ?? 0);
  return {
    ...common(ctx),
    kind: "snapshot",
    backupId: backupId(timestampMs),
    txidStart: txid,
    txidEnd: txid,
    pageSize: state.pageSize,
    dbPages: state.pages,
    timestampMs,
    lineageIn: ZERO_LINEAGE,
    wal: state.wal,
  };
}

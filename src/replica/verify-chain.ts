/**
 * @module replica/verify-chain
 * Shallow verification of one backup: download every object (snapshot and
 * change-sets of every level) in constant memory and prove it the way restore
 * would (CRC, header, identity against its key including the commit time,
 * AEAD, object hash), then walk the lineage from the snapshot forward.
 *
 * Reporting rules (so one incident reads as one problem, not fifty):
 * - an object that fails its own checks is reported once, by key;
 * - a link is checked only when some good object ends right before it: the
 *   new object's lineage-in must equal one of theirs (else "lineage": it was
 *   reordered or substituted);
 * - gaps are what restore sees: the longest gap-free path from the snapshot
 *   over the good objects; objects beyond it are reported as unreachable, with
 *   the missing txids when nothing at all covers them;
 * - a manifest that records a last txid beyond every listed object means the
 *   tail was lost: the keeper records an object only once it is durable
 *   (engine/manifest-keeper.ts), so no walk over what is listed can see it.
 *   A manifest behind the listing is normal (it is flushed periodically), and
 *   an absent or unparsable one proves nothing either way.
 * Backend failures (unreachable, timeouts) are not findings about the replica:
 * they end the run with their own error.
 */
import type { Backend } from "../backends/types.ts";
import { BakeliteError, type ErrorCode, isBakeliteError, toBakeliteError } from "../errors.ts";
import type { ObjectKeys } from "../format/keyring.ts";
import { bytesEqual, nextLineage, snapshotLineage } from "../format/lineage.ts";
import { ObjectStreamReader } from "../format/object-reader.ts";
import type { ObjectFooter, ObjectHeader } from "../format/types.ts";
import { readManifest } from "./manifest.ts";
import { walkBackup } from "./plan.ts";
import type { BackupListing, ObjectRef } from "./types.ts";

export type ProblemKind = "corrupt" | "misplaced" | "decrypt" | "lineage" | "missing" | "unreachable" | "restore" | "no-backup";

export interface VerifyProblem {
  kind: ProblemKind;
  /** The object (or backup prefix) the problem is about. */
  key: string;
  backupId?: string;
  code: ErrorCode;
  message: string;
}

interface Checked {
  ref: ObjectRef;
  header: ObjectHeader;
  footer: ObjectFooter;
}

export interface ChainCheck {
  problems: VerifyProblem[];
  objects: number;
  bytes: number;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex").slice(0, 16);

function kindOf(err: BakeliteError): ProblemKind {
  if (err.code === "DECRYPT_FAILED") return "decrypt";
  if (err.code === "LINEAGE_BROKEN") return "lineage";
  if (err.code === "NOT_FOUND") return "missing";
  return err.message.includes("unexpected identity") ? "misplaced" : "corrupt";
}

/** Failures that say nothing about the replica: rethrown instead of reported. */
function isBackendTrouble(err: BakeliteError): boolean {
  return err.retryable || err.code === "BACKEND_AUTH" || err.code === "BACKEND_IO" || err.code === "BACKEND_TIMEOUT";
}

async function checkObject(backend: Backend, db: string, ref: ObjectRef, keys: ObjectKeys | undefined, onBytes: (n: number) => void): Promise<Checked> {
  const reader = new ObjectStreamReader(
    { kind: ref.kind, dbName: db, backupId: ref.backupId, txidStart: ref.txidStart, txidEnd: ref.txidEnd, level: ref.level },
    keys,
  );
  // pushAsync() copies each chunk before its first await, so a reused read buffer is free again by the next
  // chunk; it decompresses on the thread pool and fails with exactly push()'s errors (format/stream-reader.ts).
  for await (const chunk of backend.getStreamReusing?.(ref.key) ?? backend.getStream(ref.key)) {
    onBytes(chunk.byteLength);
    await reader.pushAsync(chunk); // pages are dropped: shallow verify proves the object, it does not apply it
  }
  await reader.flush();
  const footer = reader.end();
  const header = reader.header!;
  if (header.timestampMs !== ref.timestampMs) {
    throw new BakeliteError("CORRUPT_OBJECT", `unexpected identity: object claims timestamp ${header.timestampMs}, expected ${ref.timestampMs}`);
  }
  return { ref, header, footer };
}

/** Checks every object of `backup` and its lineage; `onObject` is called after each object. */
export async function checkBackupChain(
  backend: Backend,
  db: string,
  backup: BackupListing,
  keys: ObjectKeys | undefined,
  onObject: (bytes: number) => void,
): Promise<ChainCheck> {
  const problems: VerifyProblem[] = [];
  const report = (kind: ProblemKind, key: string, code: ErrorCode, message: string) =>
    problems.push({ kind, key, backupId: backup.backupId, code, message });
  let objects = 0;
  let bytes = 0;
  const good = new Map<string, Checked>();

  const refs = backup.snapshot ? [backup.snapshot, ...backup.changesets] : backup.changesets;
  for (const ref of refs) {
    let size = 0;
    try {
      good.set(ref.key, await checkObject(backend, db, ref, keys, (n) => (size += n)));
    } catch (err) {
      const e = toBakeliteError(err, "IO");
      if (isBackendTrouble(e)) throw e;
      report(kindOf(e), ref.key, e.code, e.message);
    }
    objects++;
    bytes += size;
    onObject(size);
  }
  const lost = await lostTail(backend, db, backup);
  if (lost) problems.push(lost);

  if (!backup.snapshot) {
    const prefix = `${db}/${backup.backupId}/`;
    report("missing", prefix, "CHAIN_GAP", `backup ${backup.backupId} has no snapshot: none of its ${backup.changesets.length} change-set(s) can be restored`);
    return { problems, objects, bytes };
  }
  const snap = good.get(backup.snapshot.key);
  if (snap && !bytesEqual(snap.footer.lineage, snapshotLineage(backup.backupId, snap.footer.objectHash))) {
    report("lineage", snap.ref.key, "LINEAGE_BROKEN", `snapshot lineage ${hex(snap.footer.lineage)} does not belong to backup ${backup.backupId}`);
    good.delete(snap.ref.key);
  }

  // Lineage values of good objects by the txid they end at.
  const ends = new Map<number, Uint8Array[]>();
  const addEnd = (c: Checked) => ends.set(c.ref.txidEnd, [...(ends.get(c.ref.txidEnd) ?? []), c.footer.lineage]);
  if (good.has(backup.snapshot.key)) addEnd(good.get(backup.snapshot.key)!);
  for (const ref of backup.changesets) {
    const c = good.get(ref.key);
    if (!c) continue;
    if (c.header.level === 0 && !bytesEqual(c.footer.lineage, nextLineage(c.header.lineageIn, c.footer.objectHash))) {
      report("lineage", ref.key, "LINEAGE_BROKEN", `lineage ${hex(c.footer.lineage)} does not match its contents`);
      good.delete(ref.key);
      continue;
    }
    const before = ends.get(ref.txidStart - 1);
    if (before && !before.some((l) => bytesEqual(l, c.header.lineageIn))) {
      report("lineage", ref.key, "LINEAGE_BROKEN",
        `does not follow the object before it (lineage ${hex(c.header.lineageIn)}): reordered or substituted object`);
      good.delete(ref.key);
      continue;
    }
    addEnd(c);
  }

  const chain = walkBackup(backup, (ref) => good.has(ref.key));
  if (good.has(backup.snapshot.key) && chain?.unreachable) {
    const reach = chain.landedTxid;
    const beyond = backup.changesets.filter((r) => r.txidEnd > reach && good.has(r.key));
    const nextStart = Math.min(...beyond.map((r) => r.txidStart));
    const gap = nextStart > reach + 1 && !backup.changesets.some((r) => r.txidStart <= reach + 1 && r.txidEnd > reach);
    if (gap) {
      report("missing", beyond.find((r) => r.txidStart === nextStart)!.key, "CHAIN_GAP",
        `txids ${reach + 1}..${nextStart - 1} are missing: ${beyond.length} later object(s) cannot be restored`);
    } else if (beyond.length > 0) {
      report("unreachable", beyond[0].key, "CHAIN_GAP",
        `${beyond.length} object(s) after txid ${reach} are cut off by a damaged object: restore stops at txid ${reach}`);
    }
  }
  return { problems, objects, bytes };
}

/** The txids this backup's manifest records past the end of its listed objects, as a problem. */
async function lostTail(backend: Backend, db: string, backup: BackupListing): Promise<VerifyProblem | null> {
  if (!backup.hasManifest) return null;
  const manifest = await readManifest(backend, db, backup.backupId).catch((err) => {
    const e = toBakeliteError(err, "IO");
    if (isBackendTrouble(e)) throw e;
    return null;
  });
  const refs = backup.snapshot ? [backup.snapshot, ...backup.changesets] : backup.changesets;
  const end = refs.reduce((n, r) => Math.max(n, r.txidEnd), 0); // no spread: a backup can hold more objects than call arguments
  if (!manifest || manifest.last.txid <= end) return null;
  const last = manifest.last.txid;
  return {
    kind: "missing", key: `${db}/${backup.backupId}/`, backupId: backup.backupId, code: "CHAIN_GAP",
    message: `txids ${end + 1}..${last} are missing: the manifest records the backup up to txid ${last} but its objects end at txid ${end} (restore would lose those commits)`,
  };
}

export function problemOf(err: unknown, key: string, backupId?: string): VerifyProblem {
  const e = toBakeliteError(err, "IO");
  return { kind: isBakeliteError(e, "NO_BACKUP") ? "no-backup" : "restore", key, backupId, code: e.code, message: e.message };
}

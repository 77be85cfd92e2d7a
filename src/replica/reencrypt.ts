/**
 * @module replica/reencrypt
 * Rewrites every data object of a database under the configured encryption:
 * seal legacy plaintext, move objects from an old key to the new one, or
 * decrypt back to plaintext. The caller holds the database's lock (the daemon
 * must not be writing) and passes a keyring whose write key is the target and
 * whose other keys are the old ones.
 *
 * Why rewriting in place is safe (docs/encryption.md, "Crash safety"):
 * - Only the envelope changes: pages, object hash, lineage and database
 *   checksum are the same, and the key (position and commit time) is the
 *   same, so every chain, plan and point in time stays exactly as it was.
 * - The new object is produced as a stream from the old one and decoded again
 *   under the target key while it is produced; the upload's body ends only
 *   after the source verified to its end and the new footer matched the old
 *   one. A mismatch throws inside the body, so the put fails and nothing is
 *   replaced. Only backends whose put is atomic (the old object or the whole
 *   new one is visible, never a mix) are accepted, and no object is ever
 *   deleted.
 * - A crash at any instant leaves each key holding either the old object or
 *   the complete new one; both read with the keys of a rerun, which skips the
 *   objects already in the target mode by their header (one range-get each).
 *
 * Partial uploads are not objects, so rewriting cannot reach them, yet one
 * left by an upload from before encryption was enabled holds plaintext
 * pages. They are removed first (removeLeftovers).
 *
 * Sources are read under the keyring's require_encrypted, like every other
 * reader. Sealing a plaintext object would launder it: anyone who can write
 * to the backend, key or no key, can plant one, and once sealed under the
 * target key it is indistinguishable from a genuine object. So a plaintext
 * source is only rewritten when require_encrypted is off, which the
 * plaintext-to-encrypted migration sets; otherwise it is refused and left as
 * it is.
 */
import { tempFileSweeperOf } from "../backends/file-walk.ts";
import type { Backend, ObjectRole } from "../backends/types.ts";
import { BakeliteError, type ErrorCode, toBakeliteError } from "../errors.ts";
import type { DecodedHeader } from "../format/header.ts";
import { type Keyring, type ObjectKeys, hexOf } from "../format/keyring.ts";
import { bytesEqual } from "../format/lineage.ts";
import { ObjectStreamReader } from "../format/object-reader.ts";
import { ObjectWriter } from "../format/object-writer.ts";
import type { ObjectExpectation, ObjectFooter } from "../format/types.ts";
import { dbPrefix, parseKey } from "./names.ts";
import { reclaimMultipart } from "./reclaim.ts";
import { describeSeal, probeHeader } from "./seal-mode.ts";

export interface ReencryptOptions {
  backend: Backend;
  db: string;
  /** Write key = the target (none: plaintext); other keys open old objects. */
  keys: Keyring;
  dryRun?: boolean;
  onProgress?(progress: { done: number; total: number }): void;
}

export interface ReencryptFailure {
  key: string;
  code: ErrorCode;
  message: string;
}

export interface ReencryptReport {
  db: string;
  dryRun: boolean;
  /** "plaintext", or "key <id>" / "passphrase <id>". */
  target: string;
  /** Data objects found (snapshots and change-sets of every level). */
  objects: number;
  /** Objects rewritten (dry run: that would be). */
  rewritten: number;
  /** Objects already in the target mode and key. */
  skipped: number;
  /** Stored bytes of the objects rewritten (dry run: to rewrite). */
  bytes: number;
  failed: ReencryptFailure[];
  /** Partial uploads under the database's prefix, removed before the objects are rewritten. */
  leftovers: ReencryptLeftovers;
  elapsedMs: number;
}

export interface ReencryptLeftovers {
  /** "temp-files" (file, SFTP), "multipart-uploads" (S3), or "none": the backend leaves none that bakelite can remove. */
  kind: "temp-files" | "multipart-uploads" | "none";
  /** Removed (dry run: that would be). */
  removed: number;
  /** Their size; temp files only (S3 lists uploads without sizes). */
  bytes: number;
  /** Found but could not be removed; the run then fails. */
  failed: number;
  /** Why they were not looked for or not removed, when they were not. */
  note?: string;
}

/** True when every object is in the target mode and no partial upload was left behind. */
export function reencryptSucceeded(report: ReencryptReport): boolean {
  return report.failed.length === 0 && report.leftovers.failed === 0;
}

interface Item {
  key: string;
  size: number;
  expect: ObjectExpectation & { kind: "snapshot" | "changeset"; level: number };
}

async function listObjects(backend: Backend, db: string): Promise<Item[]> {
  const out: Item[] = [];
  for await (const info of backend.list(dbPrefix(db))) {
    const p = parseKey(info.key);
    if (!p || p.db !== db || (p.kind !== "snapshot" && p.kind !== "changeset")) continue;
    const expect = p.kind === "snapshot"
      ? { kind: p.kind, dbName: db, backupId: p.backupId, txidStart: p.txid, txidEnd: p.txid, level: 0 }
      : { kind: p.kind, dbName: db, backupId: p.backupId, txidStart: p.txidStart, txidEnd: p.txidEnd, level: p.level };
    out.push({ key: info.key, size: info.size, expect });
  }
  return out;
}

function roleOf(item: Item): ObjectRole {
  return item.expect.kind === "snapshot" ? "snapshot" : item.expect.level > 0 ? "compacted" : "changeset";
}

function sameContent(a: ObjectFooter, b: ObjectFooter): boolean {
  return a.pageCount === b.pageCount && a.dbChecksum === b.dbChecksum && bytesEqual(a.objectHash, b.objectHash) && bytesEqual(a.lineage, b.lineage);
}

/** Why a plaintext source is not sealed under require_encrypted (see the module comment); one line, for the report. */
function plaintextRefused(key: string): BakeliteError {
  return new BakeliteError(
    "DECRYPT_FAILED",
    `${key}: object is not encrypted, and require_encrypted is on; reencrypt rewrites plaintext objects only with ` +
      "require_encrypted = false (the plaintext-to-encrypted migration), so it was left as it is",
  );
}

/** The new object as a stream, proven while it is produced (see the module comment). */
async function* rewritten(backend: Backend, item: Item, keys: Keyring, db: string): AsyncGenerator<Uint8Array> {
  // The source under the configured policy: the header was probed first, but the object may have been replaced since.
  const source = new ObjectStreamReader(item.expect, keys);
  const strict: ObjectKeys = { requireEncrypted: keys.encrypts, keyFor: (info, name) => keys.keyFor(info, name) };
  const check = new ObjectStreamReader(item.expect, strict);
  let writer: ObjectWriter | null = null;
  const emit = (chunk: Uint8Array) => {
    check.push(chunk);
    return chunk;
  };
  for await (const chunk of backend.getStream(item.key)) {
    const pages = source.push(chunk);
    if (!writer && source.header) {
      const { version: _, ...header } = source.header;
      writer = new ObjectWriter({ ...header, encrypted: keys.encrypts }, { seal: keys.sealer(db) });
    }
    for (const page of pages) {
      const out = writer!.addPage(page.pgno, page.data);
      if (out) yield emit(out);
    }
  }
  const footer = source.end();
  yield emit(writer!.finish({ dbChecksum: footer.dbChecksum, lineage: footer.lineage }));
  const after = check.end();
  if (!sameContent(footer, after) || check.header?.encrypted !== keys.encrypts) {
    throw new BakeliteError("CORRUPT_OBJECT", "the rewritten object does not reproduce the original's contents; not replacing it");
  }
}

export async function reencryptDatabase(options: ReencryptOptions): Promise<ReencryptReport> {
  const { backend, db, keys } = options;
  const dryRun = options.dryRun ?? false;
  const started = performance.now();
  if (!dryRun && !backend.capabilities.atomicPut) {
    throw new BakeliteError("NOT_SUPPORTED_YET", `${backend.describe} cannot replace an object atomically; reencrypt will not rewrite objects there`, {
      hint: "Copy the replica to a backend with atomic puts (file, S3), reencrypt there, and copy it back.",
    });
  }
  const leftovers = await removeLeftovers(backend, db, dryRun);
  const items = await listObjects(backend, db);
  const headers: Array<DecodedHeader | BakeliteError> = [];
  for (const item of items) headers.push(await probeHeader(backend, item.key).catch((err) => failOrThrow(err)));
  // A passphrase target reuses the salt its objects already carry, so a restore derives once.
  for (const h of headers) if (!(h instanceof BakeliteError) && h.seal && keys.isWriteKey(h.seal) && keys.adoptSalt(h.seal)) break;

  const sealer = keys.sealer(db);
  const report: ReencryptReport = {
    db, dryRun, target: sealer ? `${sealer.info.source} ${hexOf(sealer.info.keyId)}` : "plaintext",
    objects: items.length, rewritten: 0, skipped: 0, bytes: 0, failed: [], leftovers, elapsedMs: 0,
  };
  const progress = options.onProgress ?? (() => {});
  for (const [i, item] of items.entries()) {
    progress({ done: i, total: items.length });
    const header = headers[i];
    try {
      if (header instanceof BakeliteError) throw header;
      if (keys.isWriteKey(header.seal)) {
        report.skipped++;
        continue;
      }
      if (!header.seal && keys.requireEncrypted) throw plaintextRefused(item.key);
      if (header.seal) keys.keyFor(header.seal, db); // no key for it: fail before downloading anything
      if (!dryRun) {
        await backend.put(item.key, rewritten(backend, item, keys, db), { role: roleOf(item) });
        const now = await probeHeader(backend, item.key);
        if (!keys.isWriteKey(now.seal)) throw new BakeliteError("BACKEND_IO", `the backend still shows ${describeSeal(now)} after the rewrite`);
      }
      report.rewritten++;
      report.bytes += item.size;
    } catch (err) {
      const e = failOrThrow(err);
      report.failed.push({ key: item.key, code: e.code, message: e.message.startsWith(item.key) ? e.message : `${item.key}: ${e.message}` });
    }
  }
  progress({ done: items.length, total: items.length });
  report.elapsedMs = Math.round(performance.now() - started);
  return report;
}

/**
 * Removes the partial uploads under the database's prefix: temp files of the
 * file and SFTP backends' puts, incomplete multipart uploads on S3. The
 * caller holds the database's lock, so no upload of this database is in
 * flight and every one goes, whatever its age; the prefix keeps other
 * databases' uploads, which may well be in flight, out of reach. GCS and
 * Azure keep an unfinished upload where no call can read it, and drop it
 * after a week.
 */
async function removeLeftovers(backend: Backend, db: string, dryRun: boolean): Promise<ReencryptLeftovers> {
  const prefix = dbPrefix(db);
  const sweeper = tempFileSweeperOf(backend);
  if (sweeper) return { kind: "temp-files", ...(await sweeper.sweepTempFiles({ prefix, dryRun })) };
  if (!backend.capabilities.multipartReclaim) return { kind: "none", removed: 0, bytes: 0, failed: 0 };
  const uploads = { kind: "multipart-uploads", removed: 0, bytes: 0, failed: 0 } as const;
  try {
    // Best effort, unlike temp files: S3 serves no byte of an unfinished upload, and a lifecycle rule may expire them instead.
    const result = await reclaimMultipart(backend, { dryRun, minAgeMs: 0, prefix });
    return { ...uploads, removed: result.aborted.length, ...(result.note ? { note: result.note } : {}) };
  } catch (err) {
    return { ...uploads, note: `not aborted: ${toBakeliteError(err, "BACKEND_IO").message}` };
  }
}

/** Findings about an object are collected; an unreachable backend ends the run (a rerun resumes). */
function failOrThrow(err: unknown): BakeliteError {
  const e = toBakeliteError(err, "IO");
  if (e.retryable || e.code === "BACKEND_AUTH" || e.code === "BACKEND_IO" || e.code === "BACKEND_TIMEOUT" || e.code === "LOCKED") throw e;
  return e;
}

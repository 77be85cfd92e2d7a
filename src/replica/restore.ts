/**
 * @module replica/restore
 * Rebuilds a database file from a replica: list, plan, then write the chain
 * into a hidden temp file beside the output, proving each object as it goes
 * (apply.ts), re-hash the file from disk and run integrity_check (proof.ts),
 * and only then publish it atomically (output.ts). On any failure the temp
 * file is removed: there is never a partial output, and the error names the
 * object key it failed on.
 *
 * Memory stays constant in the database size except the database checksum's
 * 8 bytes per page: the snapshot streams block by block, change-sets are small.
 */
import { open, type FileHandle } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Backend } from "../backends/types.ts";
import { BakeliteError, toBakeliteError } from "../errors.ts";
import type { ObjectKeys } from "../format/keyring.ts";
import { ChainApplier } from "./apply.ts";
import { listDatabase } from "./listing.ts";
import { assertOutputWritable, publish, tempPathFor, unlinkIfPresent } from "./output.ts";
import { planRestore } from "./plan.ts";
import { fileChecksum, integrityCheck } from "./proof.ts";
import type { ObjectRef, RestoreSummary, RestoreTarget } from "./types.ts";

/** "integrity": SQLite's integrity_check, done 0 of 1 when it starts (it runs for seconds per GiB) and 1 of 1 when it passed. */
export type RestorePhase = "download" | "apply" | "verify" | "integrity";

export interface RestoreProgress {
  phase: RestorePhase;
  done: number;
  total: number;
}

export interface RestoreOptions {
  backend: Backend;
  db: string;
  output: string;
  target: RestoreTarget;
  /**
   * Replace an existing output (the CLI's --force, after its own guards).
   * Default false: an existing output is refused up front, and one that
   * appears during the restore is not replaced.
   */
  force?: boolean;
  onProgress?(progress: RestoreProgress): void;
  signal?: AbortSignal;
  /** Keys for encrypted objects and the require_encrypted policy (format/keyring.ts keyringFor). */
  keys?: ObjectKeys;
  /** Restore only this backup (verify --deep walks each backup in turn). */
  backupId?: string;
}

export { assertOutputWritable } from "./output.ts";

/** Prefixes the object key to an error, keeping its code, hint and retryability. */
function atObject(key: string, err: unknown): BakeliteError {
  const e = toBakeliteError(err, "IO");
  if (e.message.includes(key)) return e;
  return new BakeliteError(e.code, `${key}: ${e.message}`, { hint: e.hint, cause: err, retryable: e.retryable });
}

function aborted(signal: AbortSignal, db: string): BakeliteError {
  const reason: unknown = signal.reason;
  if (reason instanceof BakeliteError) return reason;
  return new BakeliteError("IO", `restore of ${db} was cancelled`, { cause: reason, retryable: false });
}

export async function restoreDatabase(options: RestoreOptions): Promise<RestoreSummary> {
  const { backend, db, target, signal } = options;
  const started = performance.now();
  const output = resolve(options.output);
  const force = options.force ?? false;
  const progress = options.onProgress ?? (() => {});
  const checkAbort = () => {
    if (signal?.aborted) throw aborted(signal, db);
  };
  checkAbort();
  assertOutputWritable(output, { force });

  const listing = await listDatabase(backend, db);
  if (options.backupId !== undefined) listing.backups = listing.backups.filter((b) => b.backupId === options.backupId);
  const plan = planRestore(listing, target, backend.describe);
  const objects: ObjectRef[] = [plan.snapshot, ...plan.changesets];
  const totalBytes = objects.reduce((n, o) => n + o.size, 0);
  let downloaded = 0;
  const counted = (bytes: number) => {
    downloaded += bytes;
    progress({ phase: "download", done: downloaded, total: totalBytes });
  };

  const temp = tempPathFor(output);
  let file: FileHandle | undefined;
  try {
    file = await open(temp, "wx+", 0o644).catch((err) => {
      throw toBakeliteError(err, "IO", `creating ${temp}`);
    });
    const applier = new ChainApplier(file, db, options.keys);
    progress({ phase: "apply", done: 0, total: objects.length });
    for (const [index, ref] of objects.entries()) {
      checkAbort();
      try {
        if (ref.kind === "snapshot") {
          await applier.applySnapshot(ref, abortable(snapshotBody(backend, ref.key), checkAbort), counted);
        } else {
          const bytes = await backend.get(ref.key);
          counted(bytes.byteLength);
          await applier.applyChangeset(ref, bytes);
        }
      } catch (err) {
        if (signal?.aborted) throw aborted(signal, db);
        throw atObject(ref.key, err);
      }
      progress({ phase: "apply", done: index + 1, total: objects.length });
    }

    // Whole-file failures are reported against the object the state landed on.
    const landedKey = objects[objects.length - 1].key;
    let integrityMs = 0;
    try {
      await prove(file, applier, checkAbort, progress);
      await file.close();
      file = undefined;
      // The apply phase's buffers are garbage now; collect them before SQLite's page cache
      // for integrity_check grows, or both count towards the peak (121 against 107 MB at 1 GiB).
      Bun.gc(true);
      progress({ phase: "integrity", done: 0, total: 1 });
      const checkStarted = performance.now();
      integrityCheck(temp);
      integrityMs = Math.round(performance.now() - checkStarted);
      progress({ phase: "integrity", done: 1, total: 1 });
      checkAbort();
    } catch (err) {
      if (signal?.aborted) throw aborted(signal, db);
      throw atObject(landedKey, err);
    }
    await publish(temp, output, force);
    const summary: RestoreSummary = {
      db,
      output,
      target,
      plan,
      pageSize: applier.pageSize,
      pages: applier.dbPages,
      downloaded,
      lineageVerified: plan.changesets.length,
      integrity: "ok",
      integrityMs,
      elapsedMs: Math.round(performance.now() - started),
    };
    if (plan.unreachable) summary.unreachable = plan.unreachable;
    return summary;
  } catch (err) {
    await file?.close().catch(() => {});
    await unlinkIfPresent(temp).catch(() => {});
    throw toBakeliteError(err, "IO", `restoring ${db} into ${dirname(output)}`);
  }
}

/**
 * The re-read makes a page view and a few BigInts per page (proof.ts), about
 * 50 MB of short-lived objects per GiB in a loop that rarely waits, and the
 * collector let the heap grow with them: the restore's peak memory rose by
 * 10-25 MB at 1 GiB in this phase alone. A young-generation collection every
 * 32 reads (1 MiB each) keeps the peak at the apply phase's level, and the
 * re-read got faster too (146-159 ms per GiB instead of 176-228).
 */
const REREAD_GC_EVERY = 32;

/** fsyncs the temp file, then re-reads it and compares its checksum with the verified one. */
async function prove(
  file: FileHandle,
  applier: ChainApplier,
  checkAbort: () => void,
  progress: (p: RestoreProgress) => void,
): Promise<void> {
  const pages = applier.dbPages;
  await file.sync();
  progress({ phase: "verify", done: 0, total: pages });
  let reads = 0;
  const onDisk = await fileChecksum(file, applier.pageSize, pages, (done) => {
    if (++reads % REREAD_GC_EVERY === 0) Bun.gc(false);
    checkAbort();
    progress({ phase: "verify", done, total: pages });
  });
  if (onDisk !== applier.dbChecksum) {
    throw new BakeliteError("CHECKSUM_MISMATCH", "the restored file read back from disk differs from the verified pages", {
      hint: "The disk returned other bytes than were written; check the filesystem.",
    });
  }
}

/**
 * The snapshot's bytes, through reused read buffers when the backend can (the
 * file backend), so reading leaves no garbage. applySnapshot reads one chunk
 * ahead and copies each chunk before it asks for the second after it, as
 * getStreamReusing requires; abortable() holds none.
 */
function snapshotBody(backend: Backend, key: string): AsyncIterable<Uint8Array> {
  return backend.getStreamReusing?.(key) ?? backend.getStream(key);
}

/** Checks for cancellation between chunks so a large snapshot download stops promptly. */
async function* abortable(chunks: AsyncIterable<Uint8Array>, check: () => void): AsyncIterable<Uint8Array> {
  for await (const chunk of chunks) {
    check();
    yield chunk;
  }
}

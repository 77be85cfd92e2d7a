/**
 * @module engine/ship
 * Turns WAL frames into a change-set object, and a whole database state into
 * a snapshot object, and uploads them. Both stream: pages are read from the
 * -wal and database files as the upload consumes them, one block in memory.
 * A body is produced by a function, not held, so a retried upload re-reads
 * the (R-protected) files instead of buffering the object.
 */
import { closeSync, fstatSync, openSync } from "node:fs";
import type { Backend, ObjectRole } from "../backends/types.ts";
import { withRetry } from "../backends/retry.ts";
import { DbChecksum } from "../format/db-checksum.ts";
import type { Sealer } from "../format/keyring.ts";
import { ObjectWriter } from "../format/object-writer.ts";
import type { Compression, ObjectFooter, ObjectHeader, PageEntry } from "../format/types.ts";
import { log } from "../ops/log.ts";
import { statePages, type PageSource } from "./page-reader.ts";
import { assertSameFile } from "./control.ts";
import type { Cursor } from "./cursor.ts";
import type { WalGeneration } from "./generation.ts";
import { readFramePage, type WalSalts } from "./wal.ts";

export type HeaderInit = Omit<ObjectHeader, "version">;

export interface Uploaded {
  footer: ObjectFooter;
  bytes: number;
}

const PUT_ATTEMPTS = 4;

/**
 * Uploads the object made of the pages `produce` yields (its return value is
 * the database checksum after them), retrying transient failures. `produce`
 * is called once per attempt and must yield the same pages each time.
 * `workers` blocks compress at once (ObjectWriter.encode).
 */
async function upload(
  backend: Backend,
  key: string,
  role: ObjectRole,
  header: HeaderInit,
  produce: () => Generator<PageEntry, bigint>,
  options: { signal?: AbortSignal; seal?: Sealer | null; workers?: number },
): Promise<Uploaded> {
  const { signal, seal, workers = 1 } = options;
  return withRetry(
    async () => {
      const writer = new ObjectWriter(header, { seal });
      let bytes = 0;
      async function* body(): AsyncGenerator<Uint8Array> {
        for await (const part of writer.encode(produce(), workers)) {
          bytes += part.byteLength;
          yield part;
        }
      }
      await backend.put(key, body(), { role, signal });
      return { footer: writer.footer, bytes };
    },
    {
      attempts: PUT_ATTEMPTS,
      baseMs: 200,
      maxMs: 5_000,
      signal,
      onRetry: (err, attempt, delay) => log.debug(`upload of ${key} failed (attempt ${attempt}), retrying in ${delay} ms: ${String(err)}`),
    },
  );
}

/**
 * Where a change-set's pages come from: the newest frame of each page in the
 * -wal (read while uploading, and again on a retry), or page images captured
 * earlier (captureFrames), when the frames may be gone by the time the upload
 * runs.
 */
export type ChangesetPages = { frames: Map<number, number> } | { images: Map<number, Uint8Array> };

/** A change-set of the pending commits, made ready to upload (Replicator.prepareChangeset; its pages may be captured). */
export interface PreparedChangeset {
  gen: WalGeneration;
  cursor: Cursor;
  header: HeaderInit;
  key: string;
  pages: ChangesetPages;
  /** The last commit it covers. */
  end: { endOffset: number; checksum1: number; checksum2: number };
}

export interface ChangesetInput {
  backend: Backend;
  key: string;
  header: HeaderInit;
  walPath: string;
  /** Salts of the generation the frames belong to (each frame is checked as it is read). */
  salts: WalSalts;
  /** The replicator's long-lived database descriptor: the -wal must belong to this file. */
  dbFd: number;
  pages: ChangesetPages;
  /** Checksum of the shipped state; not modified. */
  before: DbChecksum;
  signal?: AbortSignal;
  /** Seals the object when encryption is configured (header.encrypted must agree). */
  seal?: Sealer | null;
}

/** Uploads a change-set and returns it with the checksum of the state after it. */
export async function shipChangeset(input: ChangesetInput): Promise<Uploaded & { after: DbChecksum }> {
  const { header, pages } = input;
  const numbers = "frames" in pages ? pages.frames.keys() : pages.images.keys();
  const order = [...numbers].filter((p) => p <= header.dbPages).sort((a, b) => a - b);
  let after = input.before;
  const walFd = "frames" in pages ? openWalBeside(input.walPath, input.dbFd) : null;
  try {
    const result = await upload(
      input.backend,
      input.key,
      "changeset",
      header,
      function* () {
        after = input.before.clone();
        const page = new Uint8Array(header.pageSize);
        for (const pgno of order) {
          let data: Uint8Array = page;
          if ("frames" in pages) readFramePage(walFd!, pages.frames.get(pgno)!, header.pageSize, page, input.salts, pgno);
          else data = pages.images.get(pgno)!;
          after.set(pgno, data);
          yield { pgno, data };
        }
        after.resize(header.dbPages);
        return after.value;
      },
      { signal: input.signal, seal: input.seal },
    );
    return { ...result, after };
  } finally {
    if (walFd !== null) closeSync(walFd);
  }
}

/**
 * Reads the page image of each frame now (pgno -> frame offset), for a
 * change-set uploaded later. Only called with the application's writer lock
 * held (Checkpointer.lockWithAllShipped): nothing can restart the WAL then, so
 * the frames are read without the per-frame check.
 */
export function captureFrames(walPath: string, dbFd: number, frames: Map<number, number>, pageSize: number): Map<number, Uint8Array> {
  const walFd = openWalBeside(walPath, dbFd);
  try {
    const images = new Map<number, Uint8Array>();
    for (const [pgno, offset] of frames) {
      const page = new Uint8Array(pageSize);
      readFramePage(walFd, offset, pageSize, page, null, pgno);
      images.set(pgno, page);
    }
    return images;
  } finally {
    closeSync(walFd);
  }
}

export interface SnapshotInput {
  backend: Backend;
  key: string;
  header: HeaderInit;
  /** The replicator's long-lived database descriptor (never closed here: see control.ts). */
  dbFd: number;
  walPath: string;
  overlay: Map<number, number> | null;
  /** Salts of the overlay's generation (required with an overlay). */
  salts: WalSalts | null;
  signal?: AbortSignal;
  /** Seals the object when encryption is configured (header.encrypted must agree). */
  seal?: Sealer | null;
  /** Blocks compressed at once ([daemon] snapshot_workers); default 1. */
  workers?: number;
}

/** Streams every page of the current state into a snapshot; returns it with the state's checksum. */
export async function shipSnapshot(input: SnapshotInput): Promise<Uploaded & { checksum: DbChecksum }> {
  const { header } = input;
  let checksum = new DbChecksum(header.pageSize);
  const fds = openState(input.dbFd, input.walPath, input.overlay);
  try {
    const source: PageSource = { ...fds, overlay: input.overlay, salts: input.salts, pageSize: header.pageSize, pages: header.dbPages };
    const result = await upload(
      input.backend,
      input.key,
      "snapshot",
      header,
      function* () {
        checksum = new DbChecksum(header.pageSize);
        for (const page of statePages(source)) {
          checksum.set(page.pgno, page.data);
          yield page;
        }
        checksum.resize(header.dbPages);
        return checksum.value;
      },
      { signal: input.signal, seal: input.seal, workers: input.workers },
    );
    return { ...result, checksum };
  } finally {
    closeState(fds);
  }
}

/** Checksum of a state without uploading anything (resume and continuity proofs). */
export function checksumState(
  dbFd: number,
  walPath: string,
  overlay: Map<number, number> | null,
  salts: WalSalts | null,
  pageSize: number,
  pages: number,
): DbChecksum {
  const checksum = new DbChecksum(pageSize);
  const fds = openState(dbFd, walPath, overlay);
  try {
    for (const { pgno, data } of statePages({ ...fds, overlay, salts, pageSize, pages })) checksum.set(pgno, data);
    checksum.resize(pages);
    return checksum;
  } finally {
    closeState(fds);
  }
}

/** Opens the -wal file beside the (borrowed, long-lived) database descriptor when the state needs frames from it. */
function openState(dbFd: number, walPath: string, overlay: Map<number, number> | null): { dbFd: number; walFd: number | null } {
  const walFd = overlay && overlay.size > 0 ? openWalBeside(walPath, dbFd) : null;
  return { dbFd, walFd };
}

/**
 * Opens the -wal file (it carries no SQLite locks) to read frames that belong
 * to the database `dbFd` holds. The -wal is opened by path, so if the
 * database file was replaced since the replicator last looked, its offsets
 * would point into the new file's frames: the file at the database path must
 * still be ours once the -wal is open (then both descriptors stay with the
 * same database, whatever is renamed later).
 */
function openWalBeside(walPath: string, dbFd: number): number {
  const walFd = openSync(walPath, "r");
  try {
    assertSameFile(walPath.slice(0, -"-wal".length), fstatSync(dbFd).ino);
  } catch (err) {
    closeSync(walFd);
    throw err;
  }
  return walFd;
}

function closeState(fds: { dbFd: number; walFd: number | null }): void {
  if (fds.walFd !== null) closeSync(fds.walFd);
}

export function compressionOf(name: string): Compression {
  return name === "lz4" || name === "none" ? name : "zstd";
}

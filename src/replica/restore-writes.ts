/**
 * @module replica/restore-writes
 * Writes restored pages into restore's temp file. A run of consecutive pages
 * goes out as one positioned writev straight from the decoded blocks (no
 * copy). The file is flushed to disk in the background as it fills
 * (BackgroundSync), so the fsync of restore's proof finds little left to
 * write; a flush error is reported like a write's.
 *
 * The writes are synchronous on purpose, as the file backend's are for a
 * snapshot: a write into the page cache takes a fraction of a millisecond,
 * while Bun's asynchronous writes queue on the thread pool that decompresses
 * the next blocks, and each waited behind decompressions. Measured on 1 GiB,
 * ten alternating pairs: the apply phase took 1,879 against 1,957 ms on
 * average, faster in seven, with about a quarter less system time and page
 * faults (docs/performance.md). Decompression keeps running on the pool while
 * the main thread writes.
 */
import type { FileHandle } from "node:fs/promises";
import { writevSync } from "node:fs";
import { BackgroundSync } from "../backends/background-sync.ts";
import { BakeliteError } from "../errors.ts";
import type { PageEntry } from "../format/types.ts";

/** Linux's IOV_MAX: the most buffers one writev takes. */
const MAX_RUN_PAGES = 1024;

export class PageWrites {
  readonly #fd: number;
  readonly #pageSize: number;
  readonly #flushes: BackgroundSync;

  constructor(file: FileHandle, pageSize: number) {
    this.#fd = file.fd;
    this.#pageSize = pageSize;
    this.#flushes = new BackgroundSync(file);
  }

  /**
   * Writes `pages` (ascending pgno); throws the first error of a write or of
   * a background flush. With `release`, the buffers the pages are views of
   * belong to these pages alone: they are detached once written, which frees
   * their memory at once instead of at some later collection.
   */
  write(pages: PageEntry[], release = false): void {
    this.#flushes.check();
    for (let i = 0; i < pages.length; ) {
      const first = pages[i].pgno;
      const run: Uint8Array[] = [];
      while (i < pages.length && pages[i].pgno === first + run.length && run.length < MAX_RUN_PAGES) run.push(pages[i++].data);
      writeRun(this.#fd, run, (first - 1) * this.#pageSize);
      this.#flushes.wrote(run.length * this.#pageSize);
    }
    if (release) for (const buffer of new Set(pages.map((page) => page.data.buffer as ArrayBuffer))) detach(buffer);
  }

  /** Waits for the background flush in flight; throws its error, if any. */
  async settle(): Promise<void> {
    await this.#flushes.settle();
  }
}

/** A short write is not an error by itself: write the rest, and a full disk then fails with ENOSPC (DISK_FULL). */
function writeRun(fd: number, run: Uint8Array[], position: number): void {
  let pieces = run;
  let at = position;
  while (pieces.length > 0) {
    const written = writevSync(fd, pieces, at);
    if (written === 0) throw new BakeliteError("IO", `write made no progress at byte ${at}`);
    at += written;
    pieces = after(pieces, written);
  }
}

/** What is left of `pieces` once their first `bytes` are written. */
function after(pieces: Uint8Array[], bytes: number): Uint8Array[] {
  let skip = bytes;
  let i = 0;
  while (i < pieces.length && skip >= pieces[i].byteLength) skip -= pieces[i++].byteLength;
  const rest = pieces.slice(i);
  if (rest.length > 0 && skip > 0) rest[0] = rest[0].subarray(skip);
  return rest;
}

/** Frees a buffer's memory now; one that cannot be detached is left to the collector. */
function detach(buffer: ArrayBuffer): void {
  try {
    buffer.transfer(0);
  } catch {
    // not detachable (e.g. pinned by the runtime): nothing is lost but the early release
  }
}

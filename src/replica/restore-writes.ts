/**
 * @module replica/restore-writes
 * Writes restored pages into restore's temp file without waiting for each
 * write, so decoding the next blocks overlaps with the disk. A run of
 * consecutive pages goes out as one positioned writev straight from the
 * decoded blocks (no copy); at most WRITES_IN_FLIGHT runs are pending, which
 * bounds the memory they hold. The file is flushed to disk in the background
 * as it fills (BackgroundSync), so the fsync of restore's proof finds little
 * left to write; a flush error is reported like a write's.
 */
import type { FileHandle } from "node:fs/promises";
import { BackgroundSync } from "../backends/background-sync.ts";
import { BakeliteError } from "../errors.ts";
import type { PageEntry } from "../format/types.ts";

const WRITES_IN_FLIGHT = 4;
/** Linux's IOV_MAX: the most buffers one writev takes. */
const MAX_RUN_PAGES = 1024;

export class PageWrites {
  readonly #file: FileHandle;
  readonly #pageSize: number;
  readonly #pending = new Set<Promise<void>>();
  #error: unknown = null;
  readonly #flushes: BackgroundSync;

  constructor(file: FileHandle, pageSize: number) {
    this.#file = file;
    this.#pageSize = pageSize;
    this.#flushes = new BackgroundSync(file);
  }

  /**
   * Starts writing `pages` (ascending pgno). Resolves once they are handed to
   * the file, waiting only while WRITES_IN_FLIGHT writes are pending; throws
   * the first error of any earlier write. The pages' bytes must stay unchanged
   * until settle(). With `release`, the buffers the pages are views of belong
   * to these pages alone: they are detached once written, which frees their
   * memory at once instead of at some later collection.
   */
  async write(pages: PageEntry[], release = false): Promise<void> {
    const runs: Promise<void>[] = [];
    for (let i = 0; i < pages.length; ) {
      const first = pages[i].pgno;
      const run: Uint8Array[] = [];
      while (i < pages.length && pages[i].pgno === first + run.length && run.length < MAX_RUN_PAGES) run.push(pages[i++].data);
      while (this.#pending.size >= WRITES_IN_FLIGHT) await Promise.race(this.#pending);
      this.#check();
      runs.push(this.#track(this.#writeRun(run, (first - 1) * this.#pageSize)));
      this.#flushes.wrote(run.length * this.#pageSize);
    }
    if (release) {
      const buffers = new Set(pages.map((page) => page.data.buffer as ArrayBuffer));
      void Promise.all(runs).then(() => {
        for (const buffer of buffers) detach(buffer);
      });
    }
  }

  /** Waits for every write and background flush; throws the first error. */
  async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
    await this.#flushes.drain();
    this.#check();
  }

  #check(): void {
    if (this.#error !== null) throw this.#error;
    this.#flushes.check();
  }

  #record(err: unknown): void {
    this.#error ??= err;
  }

  /** Adds a write to the pending ones; the promise returned settles with it and never rejects. */
  #track(write: Promise<void>): Promise<void> {
    const tracked = write.catch((err) => this.#record(err)).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
    return tracked;
  }

  /** A short write is not an error by itself: write the rest, and a full disk then fails with ENOSPC (DISK_FULL). */
  async #writeRun(run: Uint8Array[], position: number): Promise<void> {
    let pieces = run;
    let at = position;
    while (pieces.length > 0) {
      const { bytesWritten } = await this.#file.writev(pieces, at);
      if (bytesWritten === 0) throw new BakeliteError("IO", `write made no progress at byte ${at}`);
      at += bytesWritten;
      pieces = after(pieces, bytesWritten);
    }
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

/**
 * @module backends/background-sync
 * Flushes a file being written to disk in the background, every so many bytes,
 * so that the fsync that makes it durable finds little left to write and the
 * disk works while the writer computes the next bytes (a snapshot's
 * compression, a restore's decompression). The first error is kept and
 * reported by check() and settle(): Linux reports a writeback error to an
 * fsync once, so a later fsync on the same file could succeed and hide it.
 */
import type { FileHandle } from "node:fs/promises";

/** Measured on restore and snapshot alike: 64 MiB overlaps well and keeps one flush in flight. */
export const BACKGROUND_SYNC_BYTES = 64 * 1024 * 1024;

export class BackgroundSync {
  readonly #file: FileHandle;
  readonly #everyBytes: number;
  #unsynced = 0;
  #running: Promise<void> | null = null;
  #error: unknown = null;

  constructor(file: FileHandle, everyBytes = BACKGROUND_SYNC_BYTES) {
    this.#file = file;
    this.#everyBytes = everyBytes;
  }

  /** Counts bytes handed to the file; starts a flush when enough are unflushed and none is running. */
  wrote(bytes: number): void {
    this.#unsynced += bytes;
    if (this.#unsynced < this.#everyBytes || this.#running) return;
    this.#unsynced = 0;
    this.#running = this.#file.datasync().then(
      () => {
        this.#running = null;
      },
      (err) => {
        this.#error ??= err;
        this.#running = null;
      },
    );
  }

  /** Throws the first error of a background flush, if one failed. */
  check(): void {
    if (this.#error !== null) throw this.#error;
  }

  /** Waits for the flush in flight; then check(). */
  async settle(): Promise<void> {
    await this.#running;
    this.check();
  }

  /** Waits for the flush in flight without reporting its error (cleanup after another failure). */
  async drain(): Promise<void> {
    await this.#running;
  }
}

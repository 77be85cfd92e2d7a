/**
 * @module backends/file
 * A replica in a local (or mounted) directory: key "a/b/c" is the file
 * <root>/a/b/c. Writes go to a temp file beside the target, are fsynced,
 * renamed over the key and the directory is fsynced, so a reader (or a crash)
 * sees the old object or the whole new one and a resolved put survives power
 * loss. Readers read from an open descriptor, so an overwrite never tears a
 * read in progress.
 */
import { writeSync } from "node:fs";
import { mkdir, open, rename, rmdir, stat, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { BakeliteError } from "../errors.ts";
import { assertValidKey } from "./types.ts";
import type { Backend, BackendCapabilities, Body, ByteRange, ObjectInfo, PutOptions } from "./types.ts";
import { assertValidPrefix } from "./keys.ts";
import { MISSING_CODES, errnoOf, fileError } from "./file-errors.ts";
import { sweepTempFiles, tempNameFor, walkObjects, type SweepResult, type TempFileSweeper, type TempSweepOptions } from "./file-walk.ts";
import { BackgroundSync } from "./background-sync.ts";
import { BodyError, bodyChunks } from "./body.ts";

/** Objects hold whole databases, often unencrypted: owner-only by default. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const READ_CHUNK = 1 << 20;
/** A temp file untouched this long belongs to a writer that died. */
export const STALE_TEMP_MS = 60 * 60 * 1000;


export class FileBackend implements Backend, TempFileSweeper {
  readonly type = "file";
  readonly describe: string;
  readonly capabilities: BackendCapabilities = { atomicPut: true, streamingPut: true, multipartReclaim: false };
  /** Absolute directory the replica lives in. */
  readonly root: string;
  /** Directories known to exist; an entry may go stale when delete prunes it (put then retries). */
  private knownDirs = new Set<string>();

  constructor(root: string) {
    if (typeof root !== "string" || root.trim() === "") {
      throw new BakeliteError("CONFIG_INVALID", "file backend path is empty", {
        hint: 'Set path = "/var/backups/bakelite" (an absolute directory) in the backend block.',
      });
    }
    this.root = resolve(root);
    this.describe = `file:${this.root}`;
  }

  async put(key: string, body: Body, options: PutOptions = {}): Promise<void> {
    const path = this.pathOf(key);
    const dir = dirname(path);
    options.signal?.throwIfAborted();
    for (let attempt = 1; ; attempt++) {
      await this.ensureDir(dir, key);
      const temp = join(dir, tempNameFor(basename(path)));
      let handle: FileHandle | undefined;
      try {
        handle = await open(temp, "wx", FILE_MODE);
      } catch (err) {
        // A concurrent delete may have pruned the directory we thought existed.
        if (errnoOf(err) === "ENOENT" && attempt < 3) {
          this.knownDirs.clear();
          continue;
        }
        throw fileError(err, "put", key, temp, this.root);
      }
      try {
        const written = await writeBody(handle, body, options.signal);
        if (options.size !== undefined && written !== options.size) {
          throw new BakeliteError("BACKEND_IO", `file backend: put ${key}: body was ${written} bytes, expected ${options.size}`, {
            retryable: false,
          });
        }
        await handle.sync();
        await handle.close();
        handle = undefined;
        await rename(temp, path);
      } catch (err) {
        await handle?.close().catch(() => undefined);
        await unlink(temp).catch(() => undefined);
        if (err instanceof BodyError) throw err.error;
        if (options.signal?.aborted) throw options.signal.reason;
        throw fileError(err, "put", key, path, this.root);
      }
      // Without this the rename itself may not survive a power cut.
      await fsyncDir(dir).catch((err) => {
        throw fileError(err, "put", key, dir, this.root);
      });
      return;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    checkRange(range);
    const handle = await this.openForRead(key);
    try {
      const [start, end] = span((await handle.stat()).size, range);
      const out = new Uint8Array(end - start);
      let filled = 0;
      while (filled < out.length) {
        const { bytesRead } = await handle.read(out, filled, out.length - filled, start + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return filled === out.length ? out : out.subarray(0, filled);
    } catch (err) {
      throw fileError(err, "get", key, this.pathOf(key), this.root);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  getStream(key: string, range?: ByteRange): AsyncGenerator<Uint8Array> {
    return this.readChunks(key, range, (size) => new Uint8Array(size));
  }

  /**
   * getStream() into two read buffers used in turn, so a long read leaves no
   * garbage behind (JavaScriptCore frees fresh 1 MiB chunks late, and restore's
   * peak memory was mostly those). A chunk is overwritten by the read after the
   * next one: the caller may ask for one chunk ahead, and must be done with a
   * chunk (e.g. have copied it) before asking for the second after it.
   */
  getStreamReusing(key: string, range?: ByteRange): AsyncGenerator<Uint8Array> {
    const buffers = [new Uint8Array(READ_CHUNK), new Uint8Array(READ_CHUNK)];
    let turn = 0;
    return this.readChunks(key, range, (size) => buffers[turn++ % 2].subarray(0, size));
  }

  private async *readChunks(key: string, range: ByteRange | undefined, buffer: (size: number) => Uint8Array): AsyncGenerator<Uint8Array> {
    checkRange(range);
    const handle = await this.openForRead(key);
    try {
      let [at, end] = span((await handle.stat()).size, range);
      while (at < end) {
        const chunk = buffer(Math.min(READ_CHUNK, end - at));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, at).catch((err) => {
          throw fileError(err, "get", key, this.pathOf(key), this.root);
        });
        if (bytesRead === 0) return;
        at += bytesRead;
        yield bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead);
      }
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const path = this.pathOf(key);
    try {
      const st = await stat(path);
      return st.isFile() ? { key, size: st.size, modified: st.mtime } : null;
    } catch (err) {
      if (MISSING_CODES.has(errnoOf(err) ?? "")) return null;
      throw fileError(err, "stat", key, path, this.root);
    }
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    return walkObjects(this.root, prefix);
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (err) {
      // EISDIR: the key names a directory of other objects, so no object "key" exists.
      const code = errnoOf(err) ?? "";
      if (!MISSING_CODES.has(code) && code !== "EISDIR") throw fileError(err, "delete", key, path, this.root);
    }
    // Deletes are not fsynced: an object that reappears after a crash is deleted again by retention.
    await this.pruneEmptyDirs(dirname(path));
  }

  async close(): Promise<void> {
    this.knownDirs.clear();
  }

  /** Removes temp files left by writers that died (see STALE_TEMP_MS). openBackend calls it. */
  sweepStaleTemps(olderThanMs = STALE_TEMP_MS): Promise<SweepResult> {
    return sweepTempFiles(this.root, { olderThanMs });
  }

  /** See TempFileSweeper: without an age it removes every temp file under the prefix. */
  sweepTempFiles(options: TempSweepOptions): Promise<SweepResult> {
    return sweepTempFiles(this.root, options);
  }

  private pathOf(key: string): string {
    assertValidKey(key);
    return join(this.root, key);
  }

  private async openForRead(key: string): Promise<FileHandle> {
    const path = this.pathOf(key);
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (err) {
      const code = errnoOf(err) ?? "";
      if (MISSING_CODES.has(code) || code === "EISDIR") throw notFound(key);
      throw fileError(err, "get", key, path, this.root);
    }
    const st = await handle.stat().catch(() => null);
    if (!st?.isFile()) {
      await handle.close().catch(() => undefined);
      throw notFound(key);
    }
    return handle;
  }

  /** mkdir -p that also fsyncs each parent whose entry it creates, so new directories survive a crash. */
  private async ensureDir(dir: string, key: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    const missing: string[] = [];
    for (let d = dir; ; d = dirname(d)) {
      try {
        if ((await stat(d)).isDirectory()) break;
        throw Object.assign(new Error(`not a directory: ${d}`), { code: "ENOTDIR" });
      } catch (err) {
        if (errnoOf(err) !== "ENOENT" || dirname(d) === d) throw fileError(err, "put", key, d, this.root);
        missing.push(d);
      }
    }
    for (const d of missing.reverse()) {
      try {
        await mkdir(d, DIR_MODE);
      } catch (err) {
        if (errnoOf(err) !== "EEXIST") throw fileError(err, "put", key, d, this.root);
      }
      await fsyncDir(dirname(d)).catch((err) => {
        throw fileError(err, "put", key, dirname(d), this.root);
      });
    }
    if (this.knownDirs.size > 10_000) this.knownDirs.clear();
    this.knownDirs.add(dir);
  }

  private async pruneEmptyDirs(from: string): Promise<void> {
    for (let d = from; d.startsWith(`${this.root}/`); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return; // not empty, already gone, or not ours to remove: stop climbing
      }
      this.knownDirs.delete(d);
    }
  }
}

function notFound(key: string): BakeliteError {
  return new BakeliteError("NOT_FOUND", `object not found: ${key}`);
}

function checkRange(range: ByteRange | undefined): void {
  if (!range) return;
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
    throw new TypeError(`invalid byte range ${JSON.stringify(range)}`);
  }
}

/** [start, end) of `range` clipped to an object of `size` bytes. */
function span(size: number, range: ByteRange | undefined): [number, number] {
  if (!range) return [0, size];
  const start = Math.min(range.offset, size);
  const end = range.length === undefined ? size : Math.min(size, range.offset + range.length);
  return [start, Math.max(start, end)];
}

/** Writes a put's body; a BackgroundSync flushes it to disk as it goes (the caller's fsync then finds little left). */
async function writeBody(handle: FileHandle, body: Body, signal: AbortSignal | undefined): Promise<number> {
  let total = 0;
  const flushes = new BackgroundSync(handle);
  try {
    for await (const chunk of bodyChunks(body)) {
      signal?.throwIfAborted();
      flushes.check();
      writeAll(handle, chunk);
      total += chunk.byteLength;
      flushes.wrote(chunk.byteLength);
    }
  } catch (err) {
    await flushes.drain();
    throw err;
  }
  await flushes.settle();
  return total;
}

/**
 * Synchronous on purpose: a write into the page cache takes a fraction of a
 * millisecond, and Bun's asynchronous writes queue on the thread pool that
 * compresses the very bytes being written, so each one waited behind
 * compressions: a 1 GiB snapshot with two workers took 6-8% longer on
 * average over 13 alternating pairs, slower in 10 of them.
 */
function writeAll(handle: FileHandle, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.byteLength) at += writeSync(handle.fd, bytes, at, bytes.byteLength - at);
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } catch (err) {
    // Some filesystems cannot fsync a directory; their renames are as durable as they get.
    if (errnoOf(err) !== "EINVAL") throw err;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * @module engine/wal
 * Reads SQLite's -wal file directly and decides which frames are committed.
 *
 * A WAL is a 32-byte header (magic, version, page size, checkpoint sequence,
 * two salts, a checksum) followed by frames of a 24-byte header (pgno, database
 * size after commit or 0, the salts, a cumulative checksum) and one page. A
 * frame counts only if its salts match the header and the cumulative checksum
 * chain holds; only frames up to the last valid commit frame are committed.
 * Anything after that is a transaction in progress or stale bytes from an
 * earlier generation of the file.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { BakeliteError } from "../errors.ts";

export const WAL_HEADER_BYTES = 32;
export const FRAME_HEADER_BYTES = 24;
const MAGIC_LE = 0x377f0682;
const MAGIC_BE = 0x377f0683;

export interface WalHeader {
  /** True when checksums are computed over big-endian words. */
  bigEndian: boolean;
  pageSize: number;
  ckptSeq: number;
  salt1: number;
  salt2: number;
  checksum1: number;
  checksum2: number;
}

/** Parses and validates a WAL header; null when the bytes are not a valid header. */
export function parseWalHeader(bytes: Uint8Array): WalHeader | null {
  if (bytes.byteLength < WAL_HEADER_BYTES) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, WAL_HEADER_BYTES);
  const magic = view.getUint32(0);
  if (magic !== MAGIC_LE && magic !== MAGIC_BE) return null;
  const bigEndian = magic === MAGIC_BE;
  const pageSizeField = view.getUint32(8);
  const pageSize = pageSizeField === 1 ? 65536 : pageSizeField;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return null;
  const [c1, c2] = walChecksum(bytes.subarray(0, 24), bigEndian, 0, 0);
  const checksum1 = view.getUint32(24);
  const checksum2 = view.getUint32(28);
  if (c1 !== checksum1 || c2 !== checksum2) return null;
  return {
    bigEndian,
    pageSize,
    ckptSeq: view.getUint32(12),
    salt1: view.getUint32(16),
    salt2: view.getUint32(20),
    checksum1,
    checksum2,
  };
}

/**
 * SQLite's WAL checksum over `data` (a multiple of 8 bytes), continuing from
 * (s1, s2). Words are native-endian when the WAL says little-endian; on the
 * little-endian hosts bakelite targets that is a plain typed-array view.
 *
 * The arithmetic stays in signed 32-bit integers (`| 0` after every
 * addition) and only the result is turned unsigned: the same sums modulo
 * 2^32 as SQLite's u32 arithmetic, but the JIT keeps them in integer
 * registers. With `>>> 0` after each step the values above 2^31 became
 * doubles and the loop ran at ~0.5 GB/s instead of 4-6 GB/s; the daemon
 * checks every byte of every frame, so this was most of its CPU time under
 * a busy writer.
 */
export function walChecksum(data: Uint8Array, bigEndian: boolean, s1: number, s2: number): [number, number] {
  const n = data.byteLength >>> 2;
  let words: Int32Array;
  if (!bigEndian && (data.byteOffset & 3) === 0) {
    words = new Int32Array(data.buffer, data.byteOffset, n);
  } else {
    words = new Int32Array(n);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (let i = 0; i < n; i++) words[i] = view.getInt32(i * 4, !bigEndian);
  }
  let a = s1 | 0;
  let b = s2 | 0;
  for (let i = 0; i < n; i += 2) {
    a = (((a + words[i]) | 0) + b) | 0;
    b = (((b + words[i + 1]) | 0) + a) | 0;
  }
  return [a >>> 0, b >>> 0];
}

/** Where a scan starts: a frame boundary and the running checksum there. */
export interface ScanStart {
  offset: number;
  checksum1: number;
  checksum2: number;
}

export interface CommitPoint {
  /** Byte offset just past the commit frame. */
  endOffset: number;
  /** Database size in pages after this commit. */
  dbPages: number;
  checksum1: number;
  checksum2: number;
}

export interface WalScan {
  header: WalHeader;
  /** Committed frames found after the start, in order. Empty when nothing new committed. */
  commits: CommitPoint[];
  /** For each page changed by the committed frames scanned: offset of its newest frame. */
  pages: Map<number, number>;
  /** Size of the -wal file when scanned. */
  fileSize: number;
}

const SCAN_CHUNK_FRAMES = 256;

/**
 * Scans committed frames from `start` to the last valid commit frame. The
 * caller must already have checked that the file's header is the generation
 * it expects; the header is passed in so the salts are compared, not re-read.
 * Returns null when the -wal file is missing.
 */
export function scanWal(walPath: string, header: WalHeader, start: ScanStart): WalScan | null {
  const fd = openIfExists(walPath);
  if (fd === null) return null;
  try {
    const fileSize = fstatSync(fd).size;
    const frameBytes = FRAME_HEADER_BYTES + header.pageSize;
    const buf = new Uint8Array(frameBytes * SCAN_CHUNK_FRAMES);
    const view = new DataView(buf.buffer);
    const commits: CommitPoint[] = [];
    const committed = new Map<number, number>();
    const pending = new Map<number, number>();
    let s1 = start.checksum1;
    let s2 = start.checksum2;
    let offset = start.offset;
    outer: while (offset + frameBytes <= fileSize) {
      const want = Math.min(buf.byteLength, Math.floor((fileSize - offset) / frameBytes) * frameBytes);
      const got = readFully(fd, buf, want, offset);
      const frames = Math.floor(got / frameBytes);
      if (frames === 0) break;
      for (let f = 0; f < frames; f++) {
        const at = f * frameBytes;
        const pgno = view.getUint32(at);
        const commitSize = view.getUint32(at + 4);
        if (view.getUint32(at + 8) !== header.salt1 || view.getUint32(at + 12) !== header.salt2) break outer;
        if (pgno === 0) break outer;
        let [c1, c2] = walChecksum(buf.subarray(at, at + 8), header.bigEndian, s1, s2);
        [c1, c2] = walChecksum(buf.subarray(at + FRAME_HEADER_BYTES, at + frameBytes), header.bigEndian, c1, c2);
        if (c1 !== view.getUint32(at + 16) || c2 !== view.getUint32(at + 20)) break outer;
        s1 = c1;
        s2 = c2;
        const frameOffset = offset + at;
        pending.set(pgno, frameOffset);
        if (commitSize !== 0) {
          for (const [p, o] of pending) committed.set(p, o);
          pending.clear();
          commits.push({ endOffset: frameOffset + frameBytes, dbPages: commitSize, checksum1: s1, checksum2: s2 });
        }
      }
      offset += frames * frameBytes;
    }
    return { header, commits, pages: committed, fileSize };
  } finally {
    closeSync(fd);
  }
}

/** Reads the WAL header of the file at `walPath`; null when missing or not (yet) valid. */
export function readWalHeader(walPath: string): WalHeader | null {
  const fd = openIfExists(walPath);
  if (fd === null) return null;
  try {
    const buf = new Uint8Array(WAL_HEADER_BYTES);
    const got = readFully(fd, buf, WAL_HEADER_BYTES, 0);
    return got === WAL_HEADER_BYTES ? parseWalHeader(buf) : null;
  } finally {
    closeSync(fd);
  }
}

/** A WAL generation's salts: every frame of the generation carries them. */
export type WalSalts = Pick<WalHeader, "salt1" | "salt2">;

/**
 * Reads one page image out of the frame that starts at `frameOffset`.
 *
 * With `salts`, the frame's header is read after the page and must still
 * carry the generation's salts and page `pgno`, or the read fails
 * (WAL_OVERWRITTEN). A frame can be overwritten after the scan that found it
 * when R's read transaction does not protect it: a reader that began on a
 * fully backfilled WAL sits on read slot 0, which blocks backfill but not a
 * restart, and the next application commit then writes a new generation over
 * the old frames (DESIGN.md §4.5; docs/design.md, "Frames are checked when
 * read"). SQLite writes a frame's header before its page, so a header read
 * after the page that still shows the old salts proves the page was not yet
 * rewritten when it was read. A restart changes the salts, so the old values
 * never come back. `salts` may be null only where no restart can happen
 * during the read: with the application's writer lock held.
 */
export function readFramePage(fd: number, frameOffset: number, pageSize: number, into: Uint8Array, salts: WalSalts | null, pgno: number): void {
  const got = readFully(fd, into, pageSize, frameOffset + FRAME_HEADER_BYTES);
  if (got !== pageSize) throw overwritten(frameOffset, "the -wal file ends before it");
  if (salts === null) return;
  if (readFully(fd, frameHead, FRAME_HEADER_BYTES, frameOffset) !== FRAME_HEADER_BYTES) throw overwritten(frameOffset, "the -wal file ends before it");
  if (frameHeadView.getUint32(8) !== salts.salt1 || frameHeadView.getUint32(12) !== salts.salt2 || frameHeadView.getUint32(0) !== pgno) {
    throw overwritten(frameOffset, "the WAL was restarted and the frame rewritten");
  }
}

/** readFramePage's frame header buffer, reused: reads are synchronous, so one is enough. */
const frameHead = new Uint8Array(FRAME_HEADER_BYTES);
const frameHeadView = new DataView(frameHead.buffer);

function overwritten(frameOffset: number, why: string): BakeliteError {
  // Not retried in place: the frame is gone. The daemon reopens, sees the new WAL generation and starts a new backup.
  return new BakeliteError("WAL_OVERWRITTEN", `WAL frame at offset ${frameOffset} changed while bakelite read it (${why}); starting over`, {
    retryable: false,
  });
}

export function readFully(fd: number, buf: Uint8Array, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** A read-only descriptor, or null when the file does not exist (a WAL comes and goes). */
function openIfExists(path: string): number | null {
  try {
    return openSync(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

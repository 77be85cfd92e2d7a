/**
 * @module engine/page-reader
 * Streams the pages of a database state: the database file with the newest
 * committed WAL frame of each page laid over it. Under R's read transaction no
 * checkpoint can write a page into the file that is not also among those
 * frames, so the image is consistent while it streams (DESIGN.md §4.5).
 * R protects the frames themselves only from a read mark, so each frame is
 * checked against its generation as it is read (wal.ts readFramePage).
 * Memory: one chunk of pages, whatever the database size.
 */
import { fstatSync } from "node:fs";
import { readFramePage, readFully, type WalSalts } from "./wal.ts";

export interface DbFileInfo {
  pageSize: number;
  /** Pages in the database according to its header (or its size when the header count is stale). */
  pages: number;
}

/** Page size and page count of a database file; null when the file is empty or not a database. */
export function readDbFileInfo(fd: number): DbFileInfo | null {
  const head = new Uint8Array(100);
  if (readFully(fd, head, 100, 0) < 100) return null;
  if (new TextDecoder().decode(head.subarray(0, 15)) !== "SQLite format 3") return null;
  const view = new DataView(head.buffer);
  const raw = view.getUint16(16);
  const pageSize = raw === 1 ? 65536 : raw;
  const fileSize = fstatSync(fd).size;
  const filePages = Math.floor(fileSize / pageSize);
  const headerPages = view.getUint32(28);
  const valid = view.getUint32(24) === view.getUint32(92) && headerPages > 0;
  return { pageSize, pages: valid ? headerPages : filePages };
}

export interface PageSource {
  dbFd: number;
  /** -wal file descriptor, required when `overlay` is not empty. */
  walFd: number | null;
  /** pgno -> offset of the newest committed frame holding it. */
  overlay: Map<number, number> | null;
  /** The salts of the overlay's generation: each frame is checked against them as it is read. */
  salts: WalSalts | null;
  pageSize: number;
  /** Pages in the state (database size after the last commit). */
  pages: number;
}

const CHUNK_BYTES = 1 << 20;

/**
 * Yields pages 1..source.pages in order. Each yielded buffer is reused for the
 * next chunk: consume (or copy) it before asking for more.
 */
export function* statePages(source: PageSource): Generator<{ pgno: number; data: Uint8Array }> {
  const { pageSize, pages } = source;
  // Unchecked overlay frames could be pages of a later WAL generation (wal.ts readFramePage).
  if (source.overlay && source.overlay.size > 0 && !source.salts) throw new TypeError("an overlay needs its generation's salts");
  const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / pageSize));
  const chunk = new Uint8Array(perChunk * pageSize);
  const fileSize = fstatSync(source.dbFd).size;
  for (let first = 1; first <= pages; first += perChunk) {
    const count = Math.min(perChunk, pages - first + 1);
    const bytes = count * pageSize;
    const position = (first - 1) * pageSize;
    const available = Math.max(0, Math.min(bytes, fileSize - position));
    const got = available > 0 ? readFully(source.dbFd, chunk, available, position) : 0;
    if (got < bytes) chunk.fill(0, got, bytes);
    for (let i = 0; i < count; i++) {
      const pgno = first + i;
      const page = chunk.subarray(i * pageSize, (i + 1) * pageSize);
      const frame = source.overlay?.get(pgno);
      if (frame !== undefined) readFramePage(source.walFd!, frame, pageSize, page, source.salts, pgno);
      yield { pgno, data: page };
    }
  }
}


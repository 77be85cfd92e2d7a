/**
 * @module replica/proof
 * The last checks before a restored file is published: re-read the file from
 * disk and recompute the database checksum (so what is on disk, not only what
 * restore meant to write, equals the source), then let SQLite itself run
 * `PRAGMA integrity_check`. Both read in bounded memory.
 */
import { Database, constants } from "bun:sqlite";
import type { FileHandle } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { BakeliteError } from "../errors.ts";
import { pageHash } from "../format/db-checksum.ts";

const READ_BYTES = 1 << 20;

/**
 * SQLite's page cache for integrity_check. With the default (about 2 MB) the
 * check re-reads each page of a big database about ten times, one pread of a
 * page each: 1 GiB took 11-13 s, 7-8 s of it system time, on a machine whose
 * syscalls cost about 3 us. 32 MiB brought that to 6.4-9.2 s for about
 * 14 MB more peak RSS (64 MiB: about 6 s for 60 MB more). Bounded, so the
 * restore's memory stays flat in the database size.
 */
const INTEGRITY_CACHE_KIB = 32 * 1024;

/**
 * XOR of pageHash over pages 1..pages as read back from `file`, the same sum
 * DbChecksum keeps, without its per-page array. A short file is an error, not
 * zero pages: restore set the size itself.
 */
export async function fileChecksum(
  file: FileHandle,
  pageSize: number,
  pages: number,
  onPages?: (done: number) => void,
): Promise<bigint> {
  const perRead = Math.max(1, Math.floor(READ_BYTES / pageSize));
  // Two buffers in turn: the next read runs on the thread pool while this one is hashed.
  const buffers = [new Uint8Array(perRead * pageSize), new Uint8Array(perRead * pageSize)];
  const readRun = async (buffer: Uint8Array, pgno: number, count: number): Promise<void> => {
    const want = count * pageSize;
    let got = 0;
    while (got < want) {
      const { bytesRead } = await file.read(buffer, got, want - got, (pgno - 1) * pageSize + got);
      if (bytesRead === 0) throw new BakeliteError("IO", `restored file ends before page ${pgno + Math.floor(got / pageSize)}`);
      got += bytesRead;
    }
  };
  let value = 0n;
  let turn = 0;
  let next: Promise<void> | null = pages > 0 ? readRun(buffers[0], 1, Math.min(perRead, pages)) : null;
  for (let pgno = 1; pgno <= pages; turn ^= 1) {
    const count = Math.min(perRead, pages - pgno + 1);
    await next;
    const following = pgno + count;
    next = following <= pages ? readRun(buffers[turn ^ 1], following, Math.min(perRead, pages - following + 1)) : null;
    next?.catch(() => undefined); // awaited on the next turn; a failure must not go unhandled meanwhile
    const buffer = buffers[turn];
    for (let i = 0; i < count; i++) value ^= pageHash(pgno + i, buffer.subarray(i * pageSize, (i + 1) * pageSize));
    pgno = following;
    onPages?.(pgno - 1);
  }
  return value;
}

/**
 * Runs `PRAGMA integrity_check` on a file that nothing else has open. The file
 * is opened `immutable`: SQLite reads exactly its bytes, takes no locks and
 * creates no -wal/-shm beside it, even when the header says WAL mode.
 */
export function integrityCheck(path: string): void {
  const uri = `${pathToFileURL(path).href}?immutable=1`;
  let problems: string[];
  try {
    const db = new Database(uri, constants.SQLITE_OPEN_READONLY | constants.SQLITE_OPEN_URI);
    try {
      db.run(`PRAGMA cache_size = -${INTEGRITY_CACHE_KIB}`);
      const rows = db.query("PRAGMA integrity_check(20)").values();
      problems = rows.map((row) => String(row[0]));
    } finally {
      db.close();
    }
  } catch (err) {
    throw new BakeliteError("INTEGRITY_CHECK_FAILED", `integrity_check could not run: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (problems.length !== 1 || problems[0] !== "ok") {
    const shown = problems.slice(0, 3).join("; ");
    throw new BakeliteError("INTEGRITY_CHECK_FAILED", `integrity_check: ${shown}${problems.length > 3 ? " …" : ""}`, {
      hint: "The replica's pages verify but SQLite rejects the result; run bakelite verify --deep and keep the replica.",
    });
  }
}

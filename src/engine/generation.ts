/**
 * @module engine/generation
 * One generation of the -wal file (from a restart to the next) as the daemon
 * has read it: the newest committed frame of every page (to lay over the
 * database file when a snapshot or a checksum pass reads the whole state), and
 * what has been committed but not yet shipped.
 */
import { WAL_HEADER_BYTES, scanWal, type CommitPoint, type ScanStart, type WalHeader } from "./wal.ts";

export class WalGeneration {
  /** pgno -> offset of its newest committed frame, over the whole generation scanned so far. */
  readonly index = new Map<number, number>();
  /** pgno -> offset of its newest frame among the committed but unshipped frames. */
  readonly unshipped = new Map<number, number>();
  /** Commits scanned but not shipped, in order. */
  pending: CommitPoint[] = [];
  /** Position after the last committed frame scanned. */
  scanned: ScanStart;
  /** Position after the last shipped commit (the start of the generation when none). */
  shipped: ScanStart;
  /** Database size in pages after the last scanned commit; null before the first commit. */
  dbPages: number | null = null;
  /** Size of the -wal file at the last scan. */
  fileSize = 0;

  constructor(readonly header: WalHeader) {
    const start = { offset: WAL_HEADER_BYTES, checksum1: header.checksum1, checksum2: header.checksum2 };
    this.scanned = start;
    this.shipped = start;
  }

  sameFileAs(header: WalHeader | null): boolean {
    return header !== null && header.salt1 === this.header.salt1 && header.salt2 === this.header.salt2 && header.ckptSeq === this.header.ckptSeq;
  }

  /** Reads newly committed frames; returns how many new commits it found (0 if the file is gone). */
  scan(walPath: string): number {
    const result = scanWal(walPath, this.header, this.scanned);
    if (result === null) return 0;
    this.fileSize = result.fileSize;
    if (result.commits.length === 0) return 0;
    for (const [pgno, offset] of result.pages) {
      this.index.set(pgno, offset);
      this.unshipped.set(pgno, offset);
    }
    for (const commit of result.commits) this.pending.push(commit); // not push(...): millions of commits overflow the argument stack
    const last = result.commits[result.commits.length - 1];
    this.scanned = { offset: last.endOffset, checksum1: last.checksum1, checksum2: last.checksum2 };
    this.dbPages = last.dbPages;
    return result.commits.length;
  }

  /**
   * Declares everything up to the commit ending at `offset` as already shipped
   * (resuming from a cursor). Returns false when no scanned commit ends there
   * with those checksums: the file is not what the cursor describes.
   */
  markShippedUpTo(offset: number, checksum1: number, checksum2: number): boolean {
    if (offset === WAL_HEADER_BYTES) return true;
    const at = this.pending.findIndex((c) => c.endOffset === offset);
    if (at < 0) return false;
    const commit = this.pending[at];
    if (commit.checksum1 !== checksum1 || commit.checksum2 !== checksum2) return false;
    this.pending = this.pending.slice(at + 1);
    for (const [pgno, frame] of this.unshipped) if (frame < offset) this.unshipped.delete(pgno);
    this.shipped = { offset, checksum1, checksum2 };
    return true;
  }

  /** After a change-set covering every pending commit is durable. */
  markAllShipped(): void {
    this.pending = [];
    this.unshipped.clear();
    this.shipped = this.scanned;
  }

  get hasUnshipped(): boolean {
    return this.pending.length > 0;
  }
}

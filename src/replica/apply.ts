/**
 * @module replica/apply
 * Applies one backup's chain to a temp file and proves every step: the envelope
 * (CRC, object hash: the format layer), the identity the key promised, the
 * lineage link to the previous object, a page size that never changes, and the
 * database checksum after each object. The snapshot streams (its pages land in
 * the temp file before its end is verified, which is why the file is disposable
 * until the whole chain checks out); change-sets are decoded and verified in
 * full before any of their pages is written.
 */
import type { FileHandle } from "node:fs/promises";
import { BakeliteError } from "../errors.ts";
import { DbChecksum } from "../format/db-checksum.ts";
import { bytesEqual, nextLineage, snapshotLineage } from "../format/lineage.ts";
import type { ObjectKeys } from "../format/keyring.ts";
import { ObjectStreamReader, decodeObject } from "../format/object-reader.ts";
import type { ObjectExpectation, ObjectHeader, PageEntry } from "../format/types.ts";
import { PageWrites } from "./restore-writes.ts";
import type { ObjectRef } from "./types.ts";

function expectationOf(ref: ObjectRef, db: string): ObjectExpectation {
  return { kind: ref.kind, dbName: db, backupId: ref.backupId, txidStart: ref.txidStart, txidEnd: ref.txidEnd, level: ref.level };
}

/** The one identity field the format layer does not check: the commit time spelled in the key. */
function checkTimestamp(header: ObjectHeader, ref: ObjectRef): void {
  if (header.timestampMs !== ref.timestampMs) {
    throw new BakeliteError(
      "CORRUPT_OBJECT",
      `unexpected identity: object claims timestamp ${header.timestampMs}, expected ${ref.timestampMs}`,
    );
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex").slice(0, 16);
}

export class ChainApplier {
  readonly #file: FileHandle;
  readonly #db: string;
  readonly #keys: ObjectKeys | undefined;
  #checksum: DbChecksum | null = null;
  #writes: PageWrites | null = null;
  #lineage: Uint8Array | null = null;
  #dbPages = 0;

  /** `keys` opens encrypted objects and carries the require_encrypted policy. */
  constructor(file: FileHandle, db: string, keys?: ObjectKeys) {
    this.#file = file;
    this.#db = db;
    this.#keys = keys;
  }

  get pageSize(): number {
    return this.#checksum?.pageSize ?? 0;
  }

  get dbPages(): number {
    return this.#dbPages;
  }

  /** Checksum of the database as applied so far (the value the final file must hash to). */
  get dbChecksum(): bigint {
    return this.#checksum?.value ?? 0n;
  }

  /**
   * Streams the snapshot into the file. `chunks` is the object's body; the next
   * chunk is read, blocks decompress and pages are written while this thread
   * takes the decoded blocks in order (format/stream-reader.ts pushAsync).
   */
  async applySnapshot(ref: ObjectRef, chunks: AsyncIterable<Uint8Array>, onChunk: (bytes: number) => void): Promise<void> {
    if (this.#lineage) throw new TypeError("applySnapshot() must come first");
    const reader = new ObjectStreamReader(expectationOf(ref, this.#db), this.#keys);
    try {
      for await (const chunk of readAhead(chunks)) {
        onChunk(chunk.byteLength);
        const pages = await reader.pushAsync(chunk);
        if (!this.#checksum && reader.header) {
          checkTimestamp(reader.header, ref);
          this.#start(reader.header.pageSize);
        }
        this.#apply(pages);
      }
      this.#apply(await reader.flush());
      await this.#writes?.settle();
    } catch (err) {
      await this.#writes?.settle().catch(() => {}); // never leave a flush running on a file the caller may close
      throw err;
    }
    const footer = reader.end();
    const header = reader.header!;
    if (!bytesEqual(footer.lineage, snapshotLineage(ref.backupId, footer.objectHash))) {
      throw new BakeliteError("LINEAGE_BROKEN", `snapshot lineage ${hex(footer.lineage)} does not belong to backup ${ref.backupId}`);
    }
    this.#checksum!.resize(header.dbPages);
    this.#assertChecksum(footer.dbChecksum, header.txidEnd);
    await this.#setSize(header);
    this.#lineage = footer.lineage;
  }

  #start(pageSize: number): void {
    this.#checksum = new DbChecksum(pageSize);
    this.#writes = new PageWrites(this.#file, pageSize);
  }

  /** Adds a snapshot's pages to the checksum and writes them; their blocks are freed once written. */
  #apply(pages: PageEntry[]): void {
    if (pages.length === 0) return;
    for (const page of pages) this.#checksum!.set(page.pgno, page.data);
    this.#writes!.write(pages, true);
  }

  /** Verifies a whole change-set, then applies it. */
  async applyChangeset(ref: ObjectRef, bytes: Uint8Array): Promise<void> {
    const previous = this.#lineage;
    if (!previous || !this.#checksum) throw new TypeError("applyChangeset() before applySnapshot()");
    const { header, footer, pages } = decodeObject(bytes, expectationOf(ref, this.#db), this.#keys);
    checkTimestamp(header, ref);
    if (header.pageSize !== this.#checksum.pageSize) {
      throw new BakeliteError(
        "CORRUPT_OBJECT",
        `page size ${header.pageSize} differs from the chain's ${this.#checksum.pageSize}`,
      );
    }
    if (!bytesEqual(header.lineageIn, previous)) {
      throw new BakeliteError(
        "LINEAGE_BROKEN",
        `does not follow the previous object (lineage ${hex(header.lineageIn)}, expected ${hex(previous)}): missing, reordered or substituted object`,
      );
    }
    // Compacted objects carry the lineage of the last object they replaced, which
    // cannot be recomputed from their own hash; their link in is what binds them.
    if (header.level === 0 && !bytesEqual(footer.lineage, nextLineage(previous, footer.objectHash))) {
      throw new BakeliteError("LINEAGE_BROKEN", `lineage ${hex(footer.lineage)} does not match its contents`);
    }
    for (const page of pages) this.#checksum.set(page.pgno, page.data);
    this.#checksum.resize(header.dbPages);
    this.#assertChecksum(footer.dbChecksum, header.txidEnd);
    this.#writes!.write(pages);
    await this.#writes!.settle();
    await this.#setSize(header);
    this.#lineage = footer.lineage;
  }

  async #setSize(header: ObjectHeader): Promise<void> {
    // Drops pages past a shrink and materializes trailing zero pages.
    await this.#file.truncate(header.dbPages * header.pageSize);
    this.#dbPages = header.dbPages;
  }

  #assertChecksum(expected: bigint, txid: number): void {
    const actual = this.#checksum!.value;
    if (actual !== expected) {
      throw new BakeliteError(
        "CHECKSUM_MISMATCH",
        `database checksum after txid ${txid} is ${actual.toString(16)}, object says ${expected.toString(16)}`,
      );
    }
  }

}

/** Asks for the next chunk before the current one is handed on, so reading overlaps with decoding. */
async function* readAhead(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const it = chunks[Symbol.asyncIterator]();
  let next = it.next();
  let finished = false;
  try {
    for (;;) {
      const result = await next;
      if (result.done) {
        finished = true;
        return;
      }
      next = it.next();
      next.catch(() => {}); // reported when awaited; dropped when the consumer stops first
      yield result.value;
    }
  } catch (err) {
    finished = true; // a throwing iterator is already closed
    throw err;
  } finally {
    if (!finished) await it.return?.().catch(() => undefined);
  }
}

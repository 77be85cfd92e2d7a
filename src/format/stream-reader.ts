/**
 * @module format/stream-reader
 * Decodes an object as it downloads, in memory bounded by a few blocks. push()
 * hands back the pages of every block its chunk completes; end() checks the
 * trailer CRC, the object hash and the counts. Pages are therefore seen before
 * the object is proven: callers write them somewhere disposable (restore's temp
 * file) and trust nothing until end() returns.
 *
 * pushAsync() is push() with the decompression on the thread pool: frames are
 * parsed and CRC'd here in order, up to `depth` blocks decompress at once, and
 * their results are taken in order (hash, entries, counts), so pages come out
 * exactly as push() gives them and every error surfaces at the same block.
 * Blocks still decompressing when pushAsync() returns stay in flight; flush()
 * waits for them before end().
 *
 * Telling the last block from the footer without knowing the total length: the
 * footer and trailer are the final TAIL_BYTES of every plaintext object
 * (SEALED_TAIL_BYTES of an encrypted one, known from the header), so a
 * position with more than that already buffered after it must start a block.
 *
 * A block that does not authenticate is not reported at once: the CRC is only
 * known at the end, and rot must read as CORRUPT_OBJECT (as it does for
 * plaintext, and as decodeObject, which checks the CRC first, reports it).
 * The reader stops returning pages, keeps the CRC running to the end, and
 * end() reports a CRC mismatch, or the authentication failure when the CRC
 * holds. A key that does not match fails at once: that is a configuration
 * problem, and waiting would download the whole object first.
 */
import { BakeliteError, isBakeliteError } from "../errors.ts";
import { type BlockContext, blockEntries, checkBlockFrame, loadFooter, openBlock, openBlockAsync } from "./block.ts";
import { crc32 } from "./crc.ts";
import { Blake3 } from "./hash.ts";
import { decodeHeader, headerPrefix } from "./header.ts";
import type { ObjectKeys } from "./keyring.ts";
import { BLOCK_HEADER_BYTES, TAIL_BYTES, TRAILER_BYTES, corrupt, tailBytesFor, view } from "./layout.ts";
import { type ObjectSeal, readerSeal } from "./seal.ts";
import type { ObjectExpectation, ObjectFooter, ObjectHeader, PageEntry } from "./types.ts";
import { checkExpectation, checkFooter } from "./verify.ts";

/** Blocks pushAsync() decompresses at once unless told otherwise: on 2 cores 3 restored fastest (2 and 4 within 10%). */
export const DEFAULT_DECODE_DEPTH = 3;

/** A block whose frame is parsed and CRC'd: its stored bytes, still a view of the reader's buffer. */
interface Frame {
  index: number;
  rawLength: number;
  stored: Uint8Array;
}

/** A block decompressing on the thread pool, from `copy` (a pooled buffer) into `raw`. */
interface InFlight {
  copy: Uint8Array;
  raw: Promise<Uint8Array>;
  settled: boolean;
}

export class ObjectStreamReader {
  readonly #expect: ObjectExpectation | undefined;
  readonly #keys: ObjectKeys | undefined;
  readonly #depth: number;
  #seal: ObjectSeal | undefined;
  #tail = TAIL_BYTES;
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #header: ObjectHeader | null = null;
  #crc = 0;
  #hasher = new Blake3();
  #pageCount = 0;
  /** Blocks whose pages were handed out; #framed counts those whose frames were taken. */
  #blockCount = 0;
  #framed = 0;
  #lastPgno = 0;
  #received = 0;
  #failed: BakeliteError | null = null;
  /** A block failed authentication; reported by end() unless the CRC shows rot. */
  #deferred: BakeliteError | null = null;
  #ended = false;
  /** pushAsync(): blocks decompressing, in block order, and buffers free for the next ones. */
  #inFlight: InFlight[] = [];
  #spares: Uint8Array[] = [];
  /** pushAsync(): a bad frame, reported once the blocks before it are taken (as push() would). */
  #badFrame: unknown = null;
  #pumping = false;

  /** `depth`: blocks pushAsync() decompresses at once (push() decodes one at a time). */
  constructor(expect?: ObjectExpectation, keys?: ObjectKeys, depth = DEFAULT_DECODE_DEPTH) {
    if (!Number.isInteger(depth) || depth < 1) throw new TypeError(`decode depth must be a positive integer, got ${depth}`);
    this.#expect = expect;
    this.#keys = keys;
    this.#depth = depth;
  }

  /** The header, once enough bytes have arrived to decode it. */
  get header(): ObjectHeader | null {
    return this.#header;
  }

  /** Size of the internal buffer: about one block plus one chunk, whatever the object's size. */
  get bufferBytes(): number {
    return this.#buf.byteLength;
  }

  /** Feeds the next chunk; returns the pages of every block it completed (unverified until end()). */
  push(chunk: Uint8Array): PageEntry[] {
    this.#guard();
    if (this.#inFlight.length > 0) throw new TypeError("ObjectStreamReader.push() while pushAsync() blocks are in flight");
    this.#guardIdle();
    try {
      this.#append(chunk);
      if (this.#deferred) return this.#skim();
      const pages: PageEntry[] = [];
      for (let frame = this.#nextFrame(); frame; frame = this.#nextFrame()) {
        const raw = openBlock(frame.stored, frame.rawLength, this.#context(frame.index));
        // "none" hands back our own buffer; copy so pages survive the next push's compaction.
        this.#accept(raw === frame.stored ? raw.slice() : raw, pages);
      }
      return pages;
    } catch (err) {
      return this.#deferOrFail(err);
    }
  }

  /**
   * push() with up to `depth` blocks decompressing on the thread pool. Returns
   * the pages of the blocks done so far, in order; the others stay in flight
   * (call pushAsync() again, or flush()). Waits only when `depth` blocks are in
   * flight and another is ready to start. Each block's pages are views of one
   * ArrayBuffer of that block's own, which the reader no longer touches: the
   * caller may detach it once done with the pages, to free it at once.
   */
  async pushAsync(chunk: Uint8Array): Promise<PageEntry[]> {
    this.#guard();
    this.#guardIdle();
    this.#append(chunk);
    return this.#pump(false);
  }

  /** Waits for every block still decompressing and returns their pages. Call before end() after pushAsync(). */
  async flush(): Promise<PageEntry[]> {
    this.#guard();
    this.#guardIdle();
    return this.#pump(true);
  }

  /** After a deferred failure: CRC everything but the last TRAILER_BYTES, return no pages. */
  #skim(): PageEntry[] {
    const spare = this.#end - this.#start - TRAILER_BYTES;
    if (spare > 0) this.#take(spare);
    return [];
  }

  /** A block that does not authenticate is deferred (see the module comment); anything else fails the reader. */
  #deferOrFail(err: unknown): PageEntry[] {
    this.#inFlight = []; // their CRC is counted; their results no longer matter
    this.#badFrame = null;
    if (isBakeliteError(err, "DECRYPT_FAILED") && this.#header !== null && !this.#deferred) {
      this.#deferred = err;
      return this.#skim();
    }
    throw this.#fail(err);
  }

  /** Declares the input complete and verifies it. Returns the footer; throws CORRUPT_OBJECT. */
  end(): ObjectFooter {
    this.#guard();
    if (this.#inFlight.length > 0) throw new TypeError("ObjectStreamReader.end() before flush()");
    this.#ended = true;
    try {
      if (this.#received === 0) throw corrupt("empty object (0 bytes)");
      if (!this.#header) throw corrupt(`truncated header (${this.#received} bytes)`);
      if (this.#deferred) {
        if (this.#end - this.#start < TRAILER_BYTES) throw corrupt(`truncated object (${this.#received} bytes)`);
        if (view(this.#buf).getUint32(this.#start, true) !== this.#crc) throw corrupt("crc mismatch (object is corrupt or truncated)");
        throw this.#deferred;
      }
      const avail = this.#end - this.#start;
      if (avail > this.#tail) throw corrupt(`truncated block ${this.#blockCount}`);
      if (avail < this.#tail) throw corrupt(`truncated object (${this.#received} bytes)`);
      const footerBytes = this.#take(this.#tail - TRAILER_BYTES);
      const trailer = view(this.#buf).getUint32(this.#start, true);
      if (trailer !== this.#crc) throw corrupt("crc mismatch (object is corrupt or truncated)");
      const footer = loadFooter(footerBytes.slice(), this.#seal, this.#blockCount);
      checkFooter(footer, { pageCount: this.#pageCount, blockCount: this.#blockCount, objectHash: this.#hasher.digest() });
      return footer;
    } catch (err) {
      throw this.#fail(err);
    }
  }

  #guard(): void {
    if (this.#failed) throw this.#failed;
    if (this.#ended) throw new TypeError("ObjectStreamReader used after end()");
  }

  #guardIdle(): void {
    if (this.#pumping) throw new TypeError("ObjectStreamReader: await each pushAsync() or flush() before the next call");
  }

  #fail(err: unknown): unknown {
    if (err instanceof BakeliteError) this.#failed = err;
    return err;
  }

  #append(chunk: Uint8Array): void {
    this.#received += chunk.byteLength;
    const avail = this.#end - this.#start;
    if (this.#end + chunk.byteLength > this.#buf.byteLength) {
      // Keep only unconsumed bytes; grow only when they truly do not fit.
      const need = avail + chunk.byteLength;
      const target = need > this.#buf.byteLength ? new Uint8Array(Math.max(need, this.#buf.byteLength * 2)) : this.#buf;
      if (target === this.#buf) target.copyWithin(0, this.#start, this.#end);
      else target.set(this.#buf.subarray(this.#start, this.#end), 0);
      this.#buf = target;
      this.#start = 0;
      this.#end = avail;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.byteLength;
  }

  /** Consumes n bytes (adding them to the running CRC) and returns a view of them. */
  #take(n: number): Uint8Array {
    const out = this.#buf.subarray(this.#start, this.#start + n);
    this.#crc = crc32(out, this.#crc);
    this.#start += n;
    return out;
  }

  #context(blockIndex: number): BlockContext {
    return { header: this.#header!, blockIndex, seal: this.#seal };
  }

  /** Decodes the header once it is all here; then takes the next block's frame once it is all here, else null. */
  #nextFrame(): Frame | null {
    if (!this.#header) {
      const pending = this.#buf.subarray(this.#start, this.#end);
      const length = headerPrefix(pending);
      if (length < 0 || pending.byteLength < length) return null;
      const decoded = decodeHeader(pending);
      checkExpectation(decoded.header, this.#expect);
      this.#seal = readerSeal(decoded, pending.subarray(0, length), this.#keys);
      this.#tail = tailBytesFor(decoded.header.encrypted);
      this.#take(length);
      this.#header = decoded.header;
    }
    if (this.#end - this.#start <= this.#tail) return null;
    const dv = view(this.#buf);
    const rawLength = dv.getUint32(this.#start, true);
    const storedLength = dv.getUint32(this.#start + 4, true);
    checkBlockFrame(rawLength, storedLength, this.#header.pageSize, this.#framed);
    if (this.#end - this.#start < BLOCK_HEADER_BYTES + storedLength) return null;
    this.#take(BLOCK_HEADER_BYTES);
    return { index: this.#framed++, rawLength, stored: this.#take(storedLength) };
  }

  /** Takes a decoded block, in block order: hash, entries, counts; its pages go onto `pages`. */
  #accept(raw: Uint8Array, pages: PageEntry[]): void {
    const header = this.#header!;
    this.#hasher.update(raw);
    const entries = blockEntries(raw, header.pageSize, this.#lastPgno, header.dbPages);
    this.#lastPgno = entries[entries.length - 1].pgno;
    this.#pageCount += entries.length;
    this.#blockCount++;
    for (const e of entries) pages.push(e);
  }

  /** Starts every complete block it may, takes the finished ones in order; `all` waits for every one. */
  async #pump(all: boolean): Promise<PageEntry[]> {
    this.#pumping = true;
    const pages: PageEntry[] = [];
    try {
      if (this.#deferred) return this.#skim();
      for (;;) {
        const waiting = this.#startBlocks();
        const head = this.#inFlight[0];
        if (!head) {
          if (this.#badFrame) throw this.#badFrame;
          return pages;
        }
        if (!head.settled && !waiting && !all) return pages;
        const raw = await head.raw;
        this.#inFlight.shift();
        // A block's pages must be views of a buffer of its own (see pushAsync): not the pooled copy ("none"), nor part of a larger one.
        const owned = raw.buffer === head.copy.buffer || raw.byteLength !== raw.buffer.byteLength ? raw.slice() : raw;
        this.#spares.push(head.copy);
        this.#accept(owned, pages);
      }
    } catch (err) {
      return this.#deferOrFail(err);
    } finally {
      this.#pumping = false;
    }
  }

  /** Starts blocks until `depth` are in flight; true when a complete one is left waiting. */
  #startBlocks(): boolean {
    while (this.#badFrame === null) {
      let frame: Frame | null;
      try {
        if (this.#inFlight.length >= this.#depth) return this.#nextFrameReady();
        frame = this.#nextFrame();
      } catch (err) {
        if (this.#inFlight.length === 0) throw err;
        this.#badFrame = err;
        return false;
      }
      if (!frame) return false;
      this.#inFlight.push(this.#open(frame));
    }
    return false;
  }

  /** True when the buffer holds a whole block frame (not yet taken). */
  #nextFrameReady(): boolean {
    if (this.#end - this.#start <= this.#tail) return false;
    return this.#end - this.#start >= BLOCK_HEADER_BYTES + view(this.#buf).getUint32(this.#start + 4, true);
  }

  #open(frame: Frame): InFlight {
    const size = frame.stored.byteLength;
    let copy = this.#spares.pop();
    if (!copy || copy.byteLength < size) copy = new Uint8Array(Math.max(size, copy?.byteLength ?? 0));
    copy.set(frame.stored);
    const raw = openBlockAsync(copy.subarray(0, size), frame.rawLength, this.#context(frame.index));
    const block: InFlight = { copy, raw, settled: false };
    // Also keeps a failure from being unhandled: it is reported when its turn comes, or dropped with the reader.
    const settle = () => (block.settled = true);
    raw.then(settle, settle);
    return block;
  }
}

/**
 * @module format/block
 * One payload block: raw bytes (`pgno u32 ‖ page` entries, ascending pgno)
 * turned into stored bytes and back, plus the footer. sealBlock/openBlock are
 * the single place raw bytes become stored bytes: compress, then (encrypted
 * objects) seal with the object's key, its header digest and the block index
 * as associated data (seal.ts). The footer of an encrypted object is sealed
 * the same way as the part after the last block.
 */
import { BakeliteError } from "../errors.ts";
import { compress, compressAsync, decompress, decompressAsync } from "./compression.ts";
import { type ObjectSeal, openPart, sealPart } from "./seal.ts";
import type { ObjectFooter, ObjectHeader, PageEntry } from "./types.ts";
import { BLOCK_HEADER_BYTES, FOOTER_BYTES, FOOTER_MAGIC, MAX_BLOCK_RAW_BYTES, corrupt, maxStoredBytes, view } from "./layout.ts";

export interface BlockContext {
  header: Omit<ObjectHeader, "version">;
  /** 0-based position of the block in the object. */
  blockIndex: number;
  /** Key and header digest; required exactly when header.encrypted. */
  seal?: ObjectSeal;
}

function requireSeal(ctx: BlockContext): ObjectSeal {
  if (!ctx.seal) throw new TypeError("an encrypted object needs its seal to encode or decode blocks");
  return ctx.seal;
}

/** Raw block bytes to stored bytes: compressed, then sealed when the object is encrypted. */
export function sealBlock(raw: Uint8Array, ctx: BlockContext, zstdLevel?: number): Uint8Array {
  const packed = compress(raw, ctx.header.compression, zstdLevel);
  return ctx.header.encrypted ? sealPart(requireSeal(ctx), ctx.blockIndex, "block", packed) : packed;
}

/** sealBlock() with the compression off the calling thread (the seal itself stays on it). */
export async function sealBlockAsync(raw: Uint8Array, ctx: BlockContext, zstdLevel?: number): Promise<Uint8Array> {
  const packed = await compressAsync(raw, ctx.header.compression, zstdLevel);
  return ctx.header.encrypted ? sealPart(requireSeal(ctx), ctx.blockIndex, "block", packed) : packed;
}

/** Stored bytes back to raw bytes; throws DECRYPT_FAILED, or CORRUPT_OBJECT unless they decode to exactly `rawLength` bytes. */
export function openBlock(stored: Uint8Array, rawLength: number, ctx: BlockContext): Uint8Array {
  const packed = ctx.header.encrypted ? openPart(requireSeal(ctx), ctx.blockIndex, "block", stored) : stored;
  try {
    return decompress(packed, ctx.header.compression, rawLength);
  } catch (err) {
    if (err instanceof BakeliteError) throw corrupt(`${err.message} (block ${ctx.blockIndex})`, err.cause);
    throw err;
  }
}

/** openBlock() with the decompression off the calling thread (authentication stays on it, before anything is decoded). */
export async function openBlockAsync(stored: Uint8Array, rawLength: number, ctx: BlockContext): Promise<Uint8Array> {
  const packed = ctx.header.encrypted ? openPart(requireSeal(ctx), ctx.blockIndex, "block", stored) : stored;
  try {
    return await decompressAsync(packed, ctx.header.compression, rawLength);
  } catch (err) {
    if (err instanceof BakeliteError) throw corrupt(`${err.message} (block ${ctx.blockIndex})`, err.cause);
    throw err;
  }
}

/** The footer as stored: plain, or sealed as part number `blockCount` (so dropping trailing blocks is caught). */
export function storeFooter(footer: ObjectFooter, seal: ObjectSeal | undefined): Uint8Array {
  const plain = encodeFooter(footer);
  return seal ? sealPart(seal, footer.blockCount, "footer", plain) : plain;
}

/** Reads a stored footer; `blockCount` is how many blocks the reader actually saw. */
export function loadFooter(stored: Uint8Array, seal: ObjectSeal | undefined, blockCount: number): ObjectFooter {
  return decodeFooter(seal ? openPart(seal, blockCount, "footer", stored) : stored);
}

/** `u32 rawLength ‖ u32 storedLength` before each block's stored bytes. */
export function blockFrameHeader(rawLength: number, storedLength: number): Uint8Array {
  const out = new Uint8Array(BLOCK_HEADER_BYTES);
  const dv = view(out);
  dv.setUint32(0, rawLength, true);
  dv.setUint32(4, storedLength, true);
  return out;
}

/** Validates a block frame header against the limits, before anything is allocated. */
export function checkBlockFrame(rawLength: number, storedLength: number, pageSize: number, blockIndex: number): void {
  const entry = 4 + pageSize;
  if (rawLength === 0 || rawLength % entry !== 0 || rawLength > Math.max(MAX_BLOCK_RAW_BYTES, entry)) {
    throw corrupt(`block ${blockIndex} declares an impossible raw length ${rawLength}`);
  }
  if (storedLength === 0 || storedLength > maxStoredBytes(rawLength)) {
    throw corrupt(`block ${blockIndex} declares an impossible stored length ${storedLength}`);
  }
}

/**
 * Splits a raw block into page entries (views into `raw`), checking that page
 * numbers ascend strictly from `prevPgno` and stay within the database size.
 */
export function blockEntries(raw: Uint8Array, pageSize: number, prevPgno: number, dbPages: number): PageEntry[] {
  const entry = 4 + pageSize;
  const dv = view(raw);
  const pages: PageEntry[] = [];
  let prev = prevPgno;
  for (let p = 0; p < raw.byteLength; p += entry) {
    const pgno = dv.getUint32(p, true);
    if (pgno === 0) throw corrupt("page number 0 in payload");
    if (pgno <= prev) throw corrupt(`page ${pgno} follows page ${prev} (pages must ascend)`);
    if (pgno > dbPages) throw corrupt(`page ${pgno} is past the database size of ${dbPages} pages`);
    pages.push({ pgno, data: raw.subarray(p + 4, p + entry) });
    prev = pgno;
  }
  return pages;
}

export function encodeFooter(f: ObjectFooter): Uint8Array {
  const out = new Uint8Array(FOOTER_BYTES);
  const dv = view(out);
  dv.setUint32(0, f.pageCount, true);
  dv.setUint32(4, f.blockCount, true);
  out.set(f.objectHash, 8);
  out.set(f.lineage, 40);
  dv.setBigUint64(72, f.dbChecksum, true);
  dv.setUint32(80, FOOTER_MAGIC, true);
  return out;
}

export function decodeFooter(bytes: Uint8Array): ObjectFooter {
  if (bytes.byteLength !== FOOTER_BYTES) throw corrupt("truncated footer");
  const dv = view(bytes);
  if (dv.getUint32(80, true) !== FOOTER_MAGIC) throw corrupt("bad footer magic");
  return {
    pageCount: dv.getUint32(0, true),
    blockCount: dv.getUint32(4, true),
    objectHash: bytes.slice(8, 40),
    lineage: bytes.slice(40, 72),
    dbChecksum: dv.getBigUint64(72, true),
  };
}

/**
 * @module format/compression
 * Block compression: zstd (Bun's built-in binding), lz4 (lz4-napi's block
 * format, which prefixes the raw size) or none. Decompression is told the raw
 * length the block header declares and refuses anything else *before*
 * allocating, so a corrupt or hostile size field cannot make a reader allocate
 * gigabytes (lz4-napi allocates whatever its prefix says, and zstd whatever the
 * frame header says).
 *
 * The async variants run on Bun's (or the addon's) thread pool, so several
 * blocks in flight use several cores: measured on 2 cores, zstd level 1
 * compression went from 339 to 576 MiB/s and decompression from 935 to about
 * 1,400 MiB/s with three or four blocks in flight (docs/performance.md).
 */
import {
  compress as lz4CompressAsync,
  compressSync as lz4Compress,
  uncompress as lz4UncompressAsync,
  uncompressSync as lz4Uncompress,
} from "lz4-napi";
import { BakeliteError } from "../errors.ts";
import type { Compression } from "./types.ts";

/** zstd level used when none is given; level 1 measured best for throughput (docs/design.md). */
export const DEFAULT_ZSTD_LEVEL = 1;

export function compress(data: Uint8Array, compression: Compression, level = DEFAULT_ZSTD_LEVEL): Uint8Array {
  switch (compression) {
    case "none":
      return data;
    case "zstd":
      return Bun.zstdCompressSync(data, { level });
    case "lz4":
      return lz4Compress(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    default:
      throw new TypeError(`unknown compression ${String(compression)}`);
  }
}

/** compress() off the calling thread; same bytes. */
export async function compressAsync(data: Uint8Array, compression: Compression, level = DEFAULT_ZSTD_LEVEL): Promise<Uint8Array> {
  switch (compression) {
    case "zstd":
      return Bun.zstdCompress(data, { level });
    case "lz4":
      return lz4CompressAsync(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    default:
      return compress(data, compression, level);
  }
}

function bad(what: string): BakeliteError {
  return new BakeliteError("CORRUPT_OBJECT", `corrupt ${what} block`);
}

/** Decompresses one block, which must decode to exactly `rawLength` bytes. */
export function decompress(data: Uint8Array, compression: Compression, rawLength: number): Uint8Array {
  let out: Uint8Array;
  switch (compression) {
    case "none":
      out = data;
      break;
    case "zstd":
      if (zstdFrameExtent(data, rawLength) !== data.byteLength) throw bad("zstd");
      out = tryDecode("zstd", () => Bun.zstdDecompressSync(data));
      break;
    case "lz4":
      checkLz4Prefix(data, rawLength);
      out = tryDecode("lz4", () => lz4Uncompress(data));
      break;
    default:
      throw new BakeliteError("CORRUPT_OBJECT", `unknown compression ${String(compression)}`);
  }
  if (out.byteLength !== rawLength) throw bad(compression);
  return out;
}

/** decompress() off the calling thread, with the same checks before anything is allocated. */
export async function decompressAsync(data: Uint8Array, compression: Compression, rawLength: number): Promise<Uint8Array> {
  let out: Uint8Array;
  switch (compression) {
    case "zstd":
      if (zstdFrameExtent(data, rawLength) !== data.byteLength) throw bad("zstd");
      out = await tryDecodeAsync("zstd", () => Bun.zstdDecompress(data));
      break;
    case "lz4":
      checkLz4Prefix(data, rawLength);
      out = await tryDecodeAsync("lz4", () => lz4UncompressAsync(data));
      break;
    default:
      return decompress(data, compression, rawLength);
  }
  if (out.byteLength !== rawLength) throw bad(compression);
  return out;
}

function checkLz4Prefix(data: Uint8Array, rawLength: number): void {
  if (data.byteLength < 4) throw bad("lz4");
  const declared = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
  if (declared !== rawLength) throw bad("lz4");
}

async function tryDecodeAsync(what: string, fn: () => Promise<Uint8Array>): Promise<Uint8Array> {
  try {
    return await fn();
  } catch (err) {
    throw new BakeliteError("CORRUPT_OBJECT", `corrupt ${what} block`, { cause: err });
  }
}

function tryDecode(what: string, fn: () => Uint8Array): Uint8Array {
  try {
    return fn();
  } catch (err) {
    throw new BakeliteError("CORRUPT_OBJECT", `corrupt ${what} block`, { cause: err });
  }
}

/**
 * Walks one zstd frame's headers (RFC 8878 §3.1.1) and returns its length in
 * bytes, or -1 when it is not a single frame whose declared content size is
 * `rawLength`. Cheap (a few block headers per MiB) and it means the decoder
 * only ever allocates `rawLength` bytes.
 */
function zstdFrameExtent(b: Uint8Array, rawLength: number): number {
  if (b.byteLength < 6 || b[0] !== 0x28 || b[1] !== 0xb5 || b[2] !== 0x2f || b[3] !== 0xfd) return -1;
  const fhd = b[4];
  if (fhd & 0x08) return -1; // reserved bit
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const dictBytes = [0, 1, 2, 4][fhd & 3];
  const fcsBytes = [single ? 1 : 0, 2, 4, 8][fcsFlag];
  if (fcsBytes === 0) return -1; // content size absent: refuse rather than trust the stream
  let p = 5 + (single ? 0 : 1) + dictBytes;
  if (p + fcsBytes > b.byteLength) return -1;
  let fcs = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) fcs = fcs * 256 + b[p + i];
  if (fcsBytes === 2) fcs += 256;
  if (fcs !== rawLength) return -1;
  p += fcsBytes;
  for (;;) {
    if (p + 3 > b.byteLength) return -1;
    const bh = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16);
    const last = bh & 1;
    const type = (bh >> 1) & 3;
    const size = bh >>> 3;
    if (type === 3) return -1;
    p += 3 + (type === 1 ? 1 : size); // RLE blocks store one byte
    if (p > b.byteLength) return -1;
    if (last) break;
  }
  if (fhd & 0x04) p += 4; // content checksum
  return p <= b.byteLength ? p : -1;
}

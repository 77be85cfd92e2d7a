/**
 * @module backends/gcs-upload
 * How the GCS backend stores one object. A buffer of up to 16 MiB goes up in
 * one multipart request carrying its MD5, which GCS checks before storing
 * anything. Anything larger, and every streamed body, goes through a
 * resumable upload session streamed in a single request (flat memory); the
 * client compares its MD5 with the one GCS reports at the end. Either way the
 * object appears only when the upload completes.
 *
 * The library sets no timer on an upload's data request, so this module
 * watches it: once a chunk has been handed to the client and not taken for
 * request_timeout (or the body has ended and the upload has not finished in
 * that time), the upload is abandoned as BACKEND_TIMEOUT. Time the producer
 * itself takes does not count.
 */
import { createHash } from "node:crypto";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { File } from "@google-cloud/storage";
import { BakeliteError } from "../errors.ts";
import type { Body } from "./types.ts";
import { MemoryGuard } from "./gcs-azure-shared.ts";
import { bodyChunks } from "./body.ts";

/** Buffers up to this size go in one request; past it a streamed resumable upload is cheaper than a huge multipart body. */
export const GCS_SINGLE_REQUEST_MAX = 16 << 20;

export interface GcsUploadOptions {
  /** Object resource fields: contentType, storageClass. */
  metadata: Record<string, string>;
  /** Declared size; a body of another size is refused before the upload completes. */
  size?: number;
  signal?: AbortSignal;
  /** request_timeout: how long an upload may make no progress. */
  idleMs: number;
}

/** Set as the upload goes: whether a resumable session was opened (the caller's error mapping depends on it). */
export interface GcsUploadState {
  sessionStarted: boolean;
}

export async function uploadGcsObject(file: File, key: string, body: Body, options: GcsUploadOptions, state: GcsUploadState): Promise<void> {
  const metadata = { ...options.metadata };
  if (body instanceof Uint8Array && body.byteLength <= GCS_SINGLE_REQUEST_MAX) {
    checkSize(key, body.byteLength, options.size);
    metadata.md5Hash = createHash("md5").update(body).digest("base64");
    // validation off: GCS itself rejects a body that does not match md5Hash, before storing it.
    await file.save(Buffer.from(body.buffer, body.byteOffset, body.byteLength), { resumable: false, validation: false, metadata });
    return;
  }
  const session = captureUploadStream(file);
  const upload = file.createWriteStream({ resumable: true, validation: "md5", metadata });
  upload.once("uri", () => (state.sessionStarted = true));
  const watch: UploadWatch = {};
  const { idleMs } = options;
  const timer = setInterval(() => {
    if (watch.since !== undefined && Date.now() - watch.since > idleMs) {
      upload.destroy(new BakeliteError("BACKEND_TIMEOUT", `gcs backend: put ${key} failed: the upload made no progress for ${idleMs} ms`, { retryable: true }));
    }
  }, Math.max(50, Math.min(1000, idleMs / 4)));
  try {
    await pipeline(Readable.from(sized(key, body, options.size, watch)), upload, { signal: options.signal });
  } catch (err) {
    session.abandon(err);
    throw err;
  } finally {
    clearInterval(timer);
  }
}

/**
 * Makes a failed streamed upload cancel its data request. The library's
 * resumable upload stream aborts its request only on an 'error' of its own,
 * and nothing hands it one: when the put fails, the library destroys it
 * through duplexify, which passes destroy() on without the error, and once
 * the body has ended (a stall while the last bytes go out) it is not
 * destroyed at all. Left alone, the socket and session stay open waiting for
 * bytes that never come. So the upload stream is captured as the library
 * creates it, given an error whenever it is destroyed before it finished,
 * destroyed with the put's error when the put fails, and kept from starting a
 * data request once destroyed (a failure while the session is being created).
 * An aborted request never sends the end of its body, so GCS never finalizes
 * a truncated object.
 */
function captureUploadStream(file: File): { abandon(reason: unknown): void } {
  let captured: UploadStream | undefined;
  const start = file.startResumableUpload_.bind(file);
  file.startResumableUpload_ = (dup, options) => {
    const setWritable = dup.setWritable.bind(dup);
    dup.setWritable = (writable) => {
      if (writable) captured = guardUploadStream(writable as UploadStream);
      setWritable(writable);
    };
    start(dup, options);
  };
  return {
    abandon(reason) {
      if (captured && !captured.destroyed && !captured.writableFinished) {
        captured.destroy(reason instanceof Error ? reason : new Error(String(reason)));
      }
    },
  };
}

/** The parts of the library's resumable Upload stream this module relies on. */
interface UploadStream extends Writable {
  startUploading(): Promise<void>;
}

function guardUploadStream(upload: UploadStream): UploadStream {
  const destroy = upload.destroy.bind(upload);
  upload.destroy = (err?: Error) => destroy(err ?? (upload.writableFinished ? undefined : new Error("upload abandoned")));
  const startUploading = upload.startUploading.bind(upload);
  upload.startUploading = async () => {
    if (!upload.destroyed) await startUploading();
  };
  // The put's failure reaches the caller through the write stream; this only keeps the abandoned stream's 'error' handled.
  upload.on("error", () => undefined);
  return upload;
}

function checkSize(key: string, actual: number, expected: number | undefined): void {
  if (expected !== undefined && actual !== expected) {
    throw new BakeliteError("BACKEND_IO", `gcs backend: put ${key}: body was ${actual} bytes, expected ${expected}`, { retryable: false });
  }
}

/** When the upload has been waiting on the network since (set while a chunk is with the client, cleared while the producer works). */
interface UploadWatch {
  since?: number;
}

/**
 * The body as Buffers; a producer error is wrapped so it can be told apart,
 * and a wrong size fails before the upload can complete. `watch` tells the
 * stall timer when the client, not the producer, is the one holding things up.
 */
async function* sized(key: string, body: Body, expected: number | undefined, watch: UploadWatch): AsyncGenerator<Buffer> {
  const hand = function* (chunk: Buffer) {
    watch.since = Date.now();
    yield chunk;
    watch.since = undefined;
  };
  if (body instanceof Uint8Array) {
    checkSize(key, body.byteLength, expected);
    for (let at = 0; at < body.byteLength; at += 1 << 20) {
      yield* hand(Buffer.from(body.buffer, body.byteOffset + at, Math.min(1 << 20, body.byteLength - at)));
    }
    watch.since = Date.now();
    return;
  }
  const guard = new MemoryGuard();
  let total = 0;
  for await (const chunk of bodyChunks(body)) {
    total += chunk.byteLength;
    guard.check();
    if (chunk.byteLength > 0) yield* hand(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  checkSize(key, total, expected);
  // From here the client finishes the upload: waiting for that counts too.
  watch.since = Date.now();
}

/**
 * @module backends/s3-multipart
 * Uploads one body to S3 in constant memory. A body that fits in one part
 * goes up as a single PutObject; anything larger becomes a multipart upload
 * of fixed-size parts, read from the body while the previous part is still
 * uploading (so at most two parts are held). S3 publishes a multipart object
 * only at CompleteMultipartUpload, so readers never see a partial object; on
 * any failure (the body throws, a part fails after retries, the caller
 * aborts) the upload is aborted at once so no billed parts are left behind.
 *
 * With `checksum`, every PutObject and every part carries a SHA-256 that S3
 * verifies on arrival (Object Lock buckets refuse uploads without one), and
 * CompleteMultipartUpload lists each part's checksum.
 */
import { createHash } from "node:crypto";
import type { S3Client, ServerSideEncryption, StorageClass } from "@aws-sdk/client-s3";
import { BakeliteError } from "../errors.ts";
import type { Body } from "./types.ts";
import { BodyError, bodyChunks } from "./body.ts";
import { errorNameOf } from "./s3-errors.ts";

export const MiB = 1024 * 1024;
/** S3 refuses parts below 5 MiB (except the last) and above 5 GiB, and more than 10,000 parts. */
export const MIN_PART_SIZE = 5 * MiB;
export const DEFAULT_PART_SIZE = 8 * MiB;
const MAX_PART_SIZE = 5 * 1024 * MiB;
const MAX_PARTS = 10_000;

/** Headers every new object gets (storage class, SSE, content type). */
export interface ObjectParams {
  Bucket: string;
  Key: string;
  ContentType: string;
  StorageClass?: StorageClass;
  ServerSideEncryption?: ServerSideEncryption;
  SSEKMSKeyId?: string;
}

export interface UploadJob {
  client: S3Client;
  params: ObjectParams;
  checksum: boolean;
  partSize: number;
  /** Expected total size, when the caller knows it. */
  size?: number;
  signal?: AbortSignal;
  /** Wraps every SDK call: error classification and the caller's signal. */
  send<T>(command: unknown): Promise<T>;
  /** Told when a multipart upload starts and ends, so a reclaim never aborts it. */
  track(uploadId: string, active: boolean): void;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("base64");
}

/** Part size for part number `n` (1-based): grows past 1000 parts so 10,000 parts reach ~55,000 × base. */
export function partSizeFor(n: number, base: number): number {
  return Math.min(MAX_PART_SIZE, base * (1 + Math.floor((n - 1) / 1000)));
}

/** A starting part size large enough for a body of known `size` to fit in 10,000 parts. */
export function basePartSize(requested: number, size: number | undefined): number {
  const base = Math.max(MIN_PART_SIZE, Math.min(MAX_PART_SIZE, requested));
  if (size === undefined) return base;
  const needed = Math.ceil(size / (MAX_PARTS - 1) / MiB) * MiB;
  return Math.min(MAX_PART_SIZE, Math.max(base, needed));
}

export async function uploadBody(job: UploadJob, body: Body): Promise<void> {
  const { PutObjectCommand } = await import("@aws-sdk/client-s3");
  const base = basePartSize(job.partSize, job.size);
  if (body instanceof Uint8Array && body.byteLength <= base) {
    checkSize(job, body.byteLength);
    await job.send(new PutObjectCommand({ ...job.params, Body: body, ...(job.checksum ? { ChecksumSHA256: sha256(body) } : {}) }));
    return;
  }
  const multipart = new MultipartUpload(job);
  const rssAtStart = process.memoryUsage.rss();
  let total = 0;
  try {
    // Two buffers, used in turn: when send() returns, the part before the one
    // just started has been acknowledged, so its buffer is free again. Reusing
    // them keeps memory flat instead of leaving garbage for a lagging GC.
    const pool = [new Uint8Array(partSizeFor(1, base))];
    let turn = 0;
    let buffer = pool[0];
    let filled = 0;
    for await (const chunk of bodyChunks(body)) {
      job.signal?.throwIfAborted();
      let at = 0;
      while (at < chunk.byteLength) {
        if (filled === buffer.byteLength) {
          // Only now is it certain more data follows, so the full buffer is not the last part.
          await multipart.send(buffer);
          relieveMemory(rssAtStart, base);
          turn ^= 1;
          const size = partSizeFor(multipart.parts + 1, base);
          if (pool[turn]?.byteLength !== size) pool[turn] = new Uint8Array(size);
          buffer = pool[turn];
          filled = 0;
        }
        const n = Math.min(chunk.byteLength - at, buffer.byteLength - filled);
        buffer.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
        total += n;
      }
    }
    checkSize(job, total);
    const last = buffer.subarray(0, filled);
    if (!multipart.started) {
      await job.send(new PutObjectCommand({ ...job.params, Body: last, ...(job.checksum ? { ChecksumSHA256: sha256(last) } : {}) }));
      return;
    }
    await multipart.send(last);
    await multipart.complete();
  } catch (err) {
    await multipart.abort();
    if (err instanceof BodyError) throw err.error;
    if (job.signal?.aborted) throw job.signal.reason;
    throw err;
  }
}

/**
 * The HTTP layer copies each part into memory the JS collector does not
 * weigh, so garbage from a fast upload piles up for a long while (measured:
 * +70 MiB over a 128 MiB upload; reads likewise). A full collection once
 * growth passes three parts keeps a large transfer's footprint flat (~30 MiB);
 * it costs ~30 ms, small beside moving 8 MiB.
 */
export function relieveMemory(rssAtStart: number, partSize: number): void {
  if (process.memoryUsage.rss() - rssAtStart > 3 * partSize) Bun.gc(true);
}

function checkSize(job: UploadJob, written: number): void {
  if (job.size !== undefined && written !== job.size) {
    throw new BakeliteError("BACKEND_IO", `s3 backend: put ${job.params.Key}: body was ${written} bytes, expected ${job.size}`, {
      retryable: false,
    });
  }
}


interface DonePart {
  PartNumber: number;
  ETag: string;
  ChecksumSHA256?: string;
}

/** One multipart upload, created lazily at the first part; at most one part in flight. */
class MultipartUpload {
  private uploadId: string | undefined;
  private done: DonePart[] = [];
  private inFlight: Promise<void> | undefined;
  /** Bytes handed to parts so far: the object's size once completed. */
  private bytes = 0;
  parts = 0;

  constructor(private readonly job: UploadJob) {}

  get started(): boolean {
    return this.uploadId !== undefined;
  }

  /** Starts uploading `bytes` as the next part; waits for the previous part first. */
  async send(bytes: Uint8Array): Promise<void> {
    const { CreateMultipartUploadCommand, UploadPartCommand } = await import("@aws-sdk/client-s3");
    if (!this.uploadId) {
      const created = await this.job.send<{ UploadId?: string }>(new CreateMultipartUploadCommand({
        ...this.job.params,
        ...(this.job.checksum ? { ChecksumAlgorithm: "SHA256" } : {}),
      }));
      if (!created.UploadId) throw new BakeliteError("BACKEND_IO", `s3 backend: put ${this.job.params.Key}: no upload id in the answer`);
      this.uploadId = created.UploadId;
      this.job.track(this.uploadId, true);
    }
    await this.inFlight;
    const PartNumber = ++this.parts;
    this.bytes += bytes.byteLength;
    if (PartNumber > MAX_PARTS) throw new BakeliteError("BACKEND_IO", `s3 backend: put ${this.job.params.Key}: more than ${MAX_PARTS} parts`, { retryable: false });
    const checksum = this.job.checksum ? sha256(bytes) : undefined;
    const { Bucket, Key } = this.job.params;
    const upload = this.job.send<{ ETag?: string; ChecksumSHA256?: string }>(new UploadPartCommand({
      Bucket, Key, UploadId: this.uploadId, PartNumber, Body: bytes, ...(checksum ? { ChecksumSHA256: checksum } : {}),
    })).then((answer) => {
      this.done.push({ PartNumber, ETag: answer.ETag ?? "", ...(checksum ? { ChecksumSHA256: checksum } : {}) });
    });
    // Surfaces at the next send/complete; a rejection is never left unobserved.
    upload.catch(() => undefined);
    this.inFlight = upload;
  }

  async complete(): Promise<void> {
    const { CompleteMultipartUploadCommand } = await import("@aws-sdk/client-s3");
    await this.inFlight;
    const { Bucket, Key } = this.job.params;
    const Parts = [...this.done].sort((a, b) => a.PartNumber - b.PartNumber);
    try {
      await this.job.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: this.uploadId, MultipartUpload: { Parts } }));
    } catch (err) {
      // The answer to a Complete that S3 carried out can be lost; the SDK's retry then finds the upload gone.
      // job.send has already classified the error; the SDK's is its cause.
      const sdkError = err instanceof BakeliteError ? err.cause : err;
      if (errorNameOf(sdkError) !== "NoSuchUpload" || !(await this.landed())) throw err;
    }
    this.job.track(this.uploadId!, false);
  }

  /**
   * After NoSuchUpload from Complete: true when the key now holds an object of
   * exactly the bytes sent. Keys of multipart objects (snapshots, large
   * change-sets) name one object each, so that object is this upload's.
   */
  private async landed(): Promise<boolean> {
    const { HeadObjectCommand } = await import("@aws-sdk/client-s3");
    const { Bucket, Key } = this.job.params;
    try {
      const head = await this.job.send<{ ContentLength?: number }>(new HeadObjectCommand({ Bucket, Key }));
      return head.ContentLength === this.bytes;
    } catch {
      return false;
    }
  }

  /** Best effort: a failed abort leaves an orphan for the periodic sweep, never a visible object. */
  async abort(): Promise<void> {
    if (!this.uploadId) return;
    const { AbortMultipartUploadCommand } = await import("@aws-sdk/client-s3");
    await this.inFlight?.catch(() => undefined);
    const { Bucket, Key } = this.job.params;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        // Not through job.send: the caller's signal may be the reason we are aborting.
        await this.job.client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: this.uploadId }));
        break;
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 404) break;
      }
    }
    this.job.track(this.uploadId, false);
  }
}

/**
 * @module backends/s3
 * A replica in an S3 bucket (AWS S3 or a compatible service: R2, B2, MinIO,
 * ...). Key "a/b" is the object "<prefix>/a/b". Uploads stream as multipart
 * in constant memory (s3-multipart.ts), reads resume after a dropped
 * connection (s3-read.ts), and every SDK error becomes a classified
 * BakeliteError (s3-errors.ts). The bucket-level extras used by `reclaim`,
 * `usage` and `doctor` (multipart uploads, versions, Object Lock) live in
 * s3-inspect.ts.
 *
 * S3 is strongly consistent for reads after writes and lists after writes,
 * and a PutObject or CompleteMultipartUpload is atomic: readers see the old
 * object or the whole new one, which is what the Backend contract asks.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { BakeliteError } from "../errors.ts";
import type { S3BackendConfig } from "../config/types.ts";
import { describeBackend } from "./open.ts";
import { assertValidPrefix, compareKeys } from "./keys.ts";
import { assertValidKey } from "./types.ts";
import type { Backend, BackendCapabilities, Body, ByteRange, ObjectInfo, PutOptions } from "./types.ts";
import { DEFAULT_MAX_RETRIES, buildS3Client, type CredentialSource } from "./s3-client.ts";
import type { ObjectLockStatus } from "./s3-inspect.ts";
import { classifyS3Error, httpStatusOf, isMissing, type S3Op } from "./s3-errors.ts";
import { DEFAULT_PART_SIZE, uploadBody, type ObjectParams } from "./s3-multipart.ts";
import { checkRange, readAll, resumableRead, type OpenedBody } from "./s3-read.ts";
import { backoffCeiling, sleep } from "./retry.ts";

export interface S3BackendOptions {
  /** Multipart part size (default 8 MiB, at least 5 MiB). */
  partSize?: number;
  /** Environment to read credentials and region from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Called when a read resumes after a transport failure. */
  onResume?(key: string, offset: number, err: BakeliteError): void;
}

/** Opens an S3 backend; fails at once (BACKEND_AUTH) when no credentials are available. */
export async function openS3Backend(config: S3BackendConfig, options: S3BackendOptions = {}): Promise<S3Backend> {
  const built = await buildS3Client(config, options.env);
  return new S3Backend(config, built.client, built.credentials, built.secrets, options);
}

export class S3Backend implements Backend {
  readonly type = "s3";
  readonly describe: string;
  readonly capabilities: BackendCapabilities = { atomicPut: true, streamingPut: true, multipartReclaim: true };
  readonly bucket: string;
  /** "<prefix>/" or "" : prepended to every key. */
  readonly root: string;
  readonly config: S3BackendConfig;
  /** True with keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; bucket inspection runs only then. */
  readonly staticCredentials: boolean;
  readonly client: S3Client;
  readonly secrets: readonly string[];
  private readonly partSize: number;
  private readonly onResume?: S3BackendOptions["onResume"];
  /** Multipart uploads this process is running: a reclaim must never abort them. */
  private readonly active = new Set<string>();
  private closed = false;
  /** The bucket was seen to exist (HeadBucket), so a HEAD's bare 404 means the key is missing. */
  private bucketSeen = false;

  constructor(config: S3BackendConfig, client: S3Client, credentials: CredentialSource, secrets: readonly string[], options: S3BackendOptions = {}) {
    this.config = config;
    this.client = client;
    this.bucket = config.bucket;
    this.root = config.prefix === "" ? "" : `${config.prefix}/`;
    this.describe = describeBackend(config);
    this.staticCredentials = credentials.kind === "static";
    this.secrets = secrets;
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.onResume = options.onResume;
  }

  async put(key: string, body: Body, options: PutOptions = {}): Promise<void> {
    const params = this.objectParams(this.fullKey(key), options.role);
    options.signal?.throwIfAborted();
    await uploadBody({
      client: this.client,
      params,
      checksum: this.config.checksum,
      partSize: this.partSize,
      size: options.size,
      signal: options.signal,
      send: (command) => this.send("put", key, command, options.signal),
      track: (uploadId, on) => (on ? this.active.add(uploadId) : this.active.delete(uploadId)),
    }, body);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return readAll(this.getStream(key, range));
  }

  async *getStream(key: string, range?: ByteRange): AsyncGenerator<Uint8Array> {
    const full = this.fullKey(key);
    checkRange(range);
    if (range?.length === 0) {
      // No HTTP range can ask for zero bytes; the contract still wants NOT_FOUND for a missing key.
      if ((await this.stat(key)) === null) throw notFound(key);
      return;
    }
    yield* resumableRead({
      open: (offset, length, etag) => this.openRead(key, full, offset, length, etag),
      classify: (err) => classifyS3Error(err, this.ctx("get", key)),
      maxResumes: (this.config.maxRetries ?? DEFAULT_MAX_RETRIES) + 2,
      pause: (n) => sleep(Math.floor(Math.random() * backoffCeiling(n, 100, 2000))),
      onResume: (offset, err) => this.onResume?.(key, offset, err),
    }, key, range);
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    const { HeadObjectCommand } = await import("@aws-sdk/client-s3");
    const full = this.fullKey(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: full }));
      return { key, size: head.ContentLength ?? 0, ...(head.LastModified ? { modified: head.LastModified } : {}) };
    } catch (err) {
      if (isMissing(err) && (await this.bucketExists())) return null; // a missing bucket throws in bucketExists
      throw classifyS3Error(err, this.ctx("stat", key));
    }
  }

  /**
   * Asked after a HEAD's bare 404, which cannot tell a missing bucket from a
   * missing key: throws the bucket error when HeadBucket says the bucket is
   * not there, else true. Any other answer (no permission to ask, a network
   * error) leaves the 404 meaning "no such key", as before. A bucket seen once
   * is not asked about again.
   */
  private async bucketExists(): Promise<true> {
    if (this.bucketSeen) return true;
    const { HeadBucketCommand } = await import("@aws-sdk/client-s3");
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      this.bucketSeen = true;
    } catch (err) {
      if (httpStatusOf(err) === 404) {
        const missing = { name: "NoSuchBucket", Code: "NoSuchBucket", message: "The specified bucket does not exist", $metadata: { httpStatusCode: 404 } };
        throw classifyS3Error(missing, this.ctx("stat"));
      }
    }
    return true;
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    assertValidPrefix(prefix);
    const { ListObjectsV2Command } = await import("@aws-sdk/client-s3");
    let token: string | undefined;
    let last: string | undefined;
    do {
      const page = await this.send<{ Contents?: Array<{ Key?: string; Size?: number; LastModified?: Date }>; NextContinuationToken?: string; IsTruncated?: boolean }>(
        "list", prefix, new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.root + prefix, ContinuationToken: token }),
      );
      // Stopping here would return a short listing that looks whole; the replica's chains would be built from it.
      if (page.IsTruncated && !page.NextContinuationToken) {
        throw new BakeliteError("BACKEND_IO", `s3 backend: list ${prefix}: the server said the listing continues but sent no continuation token`, {
          retryable: false,
          hint: "This S3-compatible service pages listings in a way bakelite cannot follow; a partial listing is never used.",
        });
      }
      const infos: ObjectInfo[] = [];
      for (const item of page.Contents ?? []) {
        const key = item.Key?.slice(this.root.length);
        // Console "folder" markers ("a/") and foreign names break the key rules: not bakelite objects.
        if (!key || !item.Key!.startsWith(this.root) || !isValidKey(key)) continue;
        infos.push({ key, size: item.Size ?? 0, ...(item.LastModified ? { modified: item.LastModified } : {}) });
      }
      // S3 lists in UTF-8 byte order; sorting each page guards against servers that only nearly do.
      infos.sort((a, b) => compareKeys(a.key, b.key));
      if (last !== undefined && infos.length > 0 && compareKeys(infos[0].key, last) <= 0) {
        throw new BakeliteError("BACKEND_IO", `s3 backend: list ${prefix}: the server listed keys out of order (${infos[0].key} after ${last})`, {
          retryable: false,
          hint: "This S3-compatible service does not list keys in byte order, which bakelite needs.",
        });
      }
      for (const info of infos) yield info;
      if (infos.length > 0) last = infos[infos.length - 1].key;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    const { DeleteObjectCommand } = await import("@aws-sdk/client-s3");
    const full = this.fullKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: full }));
    } catch (err) {
      if (isMissing(err)) return;
      throw classifyS3Error(err, this.ctx("delete", key));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
  }

  /** Object Lock state of the bucket, for `doctor` when expect_object_lock is set. */
  async objectLockStatus(): Promise<ObjectLockStatus> {
    return (await import("./s3-inspect.ts")).objectLockStatus(this);
  }

  /** True while this process is uploading `uploadId`. */
  isUploading(uploadId: string): boolean {
    return this.active.has(uploadId);
  }

  /** Sends one SDK command, turning failures into classified BakeliteErrors. */
  async send<T>(op: S3Op, key: string | undefined, command: unknown, signal?: AbortSignal): Promise<T> {
    try {
      return (await this.client.send(command as never, { abortSignal: signal })) as T;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw classifyS3Error(err, this.ctx(op, key));
    }
  }

  ctx(op: S3Op, key?: string) {
    return { op, key, bucket: this.bucket, secrets: this.secrets };
  }

  /** Backend key to bucket key. */
  fullKey(key: string): string {
    assertValidKey(key);
    return this.root + key;
  }

  private objectParams(Key: string, role: PutOptions["role"]): ObjectParams {
    const cold = role === "snapshot" || role === "compacted";
    return {
      Bucket: this.bucket,
      Key,
      ContentType: "application/octet-stream",
      ...(cold && this.config.storageClass ? { StorageClass: this.config.storageClass as ObjectParams["StorageClass"] } : {}),
      ...(this.config.sse === "aes256" ? { ServerSideEncryption: "AES256" as const } : {}),
      ...(this.config.sse === "aws:kms" ? { ServerSideEncryption: "aws:kms" as const, SSEKMSKeyId: this.config.sseKmsKeyId } : {}),
    };
  }

  private async openRead(key: string, full: string, offset: number, length: number | undefined, etag: string | undefined): Promise<OpenedBody | "past-end" | "changed"> {
    const { GetObjectCommand } = await import("@aws-sdk/client-s3");
    const ranged = offset > 0 || length !== undefined;
    const Range = ranged ? `bytes=${offset}-${length === undefined ? "" : offset + length - 1}` : undefined;
    try {
      const answer = await this.client.send(new GetObjectCommand({
        Bucket: this.bucket, Key: full, Range, ...(etag ? { IfMatch: etag } : {}),
      }));
      const body = answer.Body as AsyncIterable<Uint8Array> | undefined;
      return { body: body ?? emptyBody(), length: answer.ContentLength ?? 0, etag: answer.ETag };
    } catch (err) {
      const status = httpStatusOf(err);
      if (status === 416 || (err as { name?: string }).name === "InvalidRange") return "past-end";
      if (status === 412) return "changed";
      if (isMissing(err)) throw notFound(key);
      throw classifyS3Error(err, this.ctx("get", key));
    }
  }
}

function notFound(key: string): BakeliteError {
  return new BakeliteError("NOT_FOUND", `object not found: ${key}`);
}

function isValidKey(key: string): boolean {
  try {
    assertValidKey(key);
    return true;
  } catch {
    return false;
  }
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {}

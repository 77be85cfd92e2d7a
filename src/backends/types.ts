/**
 * @module backends/types
 * The one storage interface every backend implements. The contract below is
 * enforced by tests/backends/conformance.ts, which every backend runs.
 *
 * Keys are '/'-separated relative paths (no leading '/', no '.' or '..'
 * segments, no empty segments) made of [A-Za-z0-9._@-]. A backend maps them
 * under its own configured root or prefix; callers never see that prefix.
 */

export interface ObjectInfo {
  /** Key relative to the backend root. */
  key: string;
  /** Size in bytes. */
  size: number;
  /** Last-modified time when the backend knows it. */
  modified?: Date;
}

export interface ByteRange {
  /** First byte, from 0. */
  offset: number;
  /** Number of bytes; omitted means "to the end". Reading past the end returns what exists. */
  length?: number;
}

/** What an object holds, so backends may route it (e.g. S3 storage classes). */
export type ObjectRole = "snapshot" | "changeset" | "compacted" | "meta";

export interface PutOptions {
  role?: ObjectRole;
  /** Total size when known up front (lets some backends avoid multipart). */
  size?: number;
  signal?: AbortSignal;
}

/** A body is a whole buffer or a stream of chunks (large snapshots stream in constant memory). */
export type Body = Uint8Array | AsyncIterable<Uint8Array>;

export interface BackendCapabilities {
  /** put() is atomic: readers see the old object or the whole new one, never a part. */
  atomicPut: boolean;
  /** Large bodies are uploaded in pieces without buffering the whole object. */
  streamingPut: boolean;
  /** Can abort orphaned multipart uploads (S3 only). */
  multipartReclaim: boolean;
}

export interface Backend {
  /** Backend type name: "file", "s3", "gcs", "azure", "sftp", "faulty", "fanout". */
  readonly type: string;
  /** Human description without secrets, e.g. "file:/var/backups/bakelite". */
  readonly describe: string;
  readonly capabilities: BackendCapabilities;

  /**
   * Stores `body` under `key`, replacing any existing object. Resolves only
   * once the object is durable. On failure nothing partial is visible under `key`.
   */
  put(key: string, body: Body, options?: PutOptions): Promise<void>;

  /**
   * Reads a whole object, or a byte range of it.
   * Throws BakeliteError("NOT_FOUND") when the key does not exist.
   */
  get(key: string, range?: ByteRange): Promise<Uint8Array>;

  /**
   * Streams an object (or a range) in chunks. Throws BakeliteError("NOT_FOUND")
   * before yielding anything when the key does not exist.
   */
  getStream(key: string, range?: ByteRange): AsyncIterable<Uint8Array>;

  /**
   * Optional capability: getStream() into a few buffers the backend owns and
   * reuses, so a long read leaves no garbage behind (restore's memory stays
   * flat). A chunk stays valid only until the read after the next one: the
   * caller may ask for one chunk ahead, and must be done with a chunk (have
   * copied or consumed it) before it asks for the second after it. Bytes,
   * ranges and errors are exactly getStream()'s.
   *
   * A caller that keeps chunks longer uses getStream(). One that keeps to the
   * rule uses this when the backend has it and getStream() when it does not:
   * `backend.getStreamReusing?.(key) ?? backend.getStream(key)`. A wrapping
   * backend offers it only when the backend it wraps does.
   */
  getStreamReusing?(key: string, range?: ByteRange): AsyncIterable<Uint8Array>;

  /** Size and time of an object, or null when it does not exist. */
  stat(key: string): Promise<ObjectInfo | null>;

  /**
   * Every object whose key starts with `prefix` (a plain string prefix, not a
   * directory), recursively, in ascending byte order of key. An empty result
   * is not an error.
   */
  list(prefix: string): AsyncIterable<ObjectInfo>;

  /** Removes an object. Deleting a missing key succeeds. */
  delete(key: string): Promise<void>;

  /** Releases connections and handles. Idempotent. */
  close(): Promise<void>;
}

const KEY_SEGMENT = /^[A-Za-z0-9._@-]+$/;

/** Throws when a key breaks the key rules above. Backends call this on every key. */
export function assertValidKey(key: string): void {
  if (key.length === 0 || key.length > 1024) throw new TypeError(`invalid object key (length ${key.length})`);
  for (const segment of key.split("/")) {
    if (segment === "" || segment === "." || segment === ".." || !KEY_SEGMENT.test(segment)) {
      throw new TypeError(`invalid object key ${JSON.stringify(key)}`);
    }
  }
}

/** Collects a body into one buffer (for backends that cannot stream). */
export async function bodyToBytes(body: Body): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body;
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of body) {
    parts.push(part);
    total += part.byteLength;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

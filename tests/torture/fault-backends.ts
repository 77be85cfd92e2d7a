/**
 * @module tests/torture/fault-backends
 * Backend wrappers the fault runner stacks over the real file backend, beside
 * src/backends/faulty.ts (random faults and outages):
 * - CrashPointBackend acts at one seeded write boundary: on the n-th put of a
 *   kind of object, before it reaches the backend, after it resolved, or in
 *   the middle of its streamed body, it SIGKILLs its own process (nothing
 *   after that line runs: no cleanup, no cursor, no status) or arms a
 *   FaultyBackend fault for that very put.
 * - WormBackend refuses what a locked (WORM / Object Lock) bucket refuses:
 *   deleting or overwriting a data object. CURRENT and manifests may be
 *   rewritten, as new versions on a versioned bucket are.
 * Both only wrap; the bytes always land in the real backend underneath.
 */
import type { Backend, Body, ByteRange, ObjectInfo, PutOptions } from "../../src/backends/types.ts";
import type { FaultKind, FaultyBackend } from "../../src/backends/faulty.ts";
import { BakeliteError } from "../../src/errors.ts";
import { parseKey } from "../../src/replica/names.ts";

/** Which puts a crash point counts: data objects (snapshots and change-sets) or one kind. */
export type PutTarget = "data" | "snapshot" | "changeset" | "manifest" | "current";

export interface CrashPoint {
  on: PutTarget;
  /** The n-th matching put of this process, from 1. */
  nth: number;
  /** before: the put never reaches the backend; after: it resolved; midway: `chunks` chunks of its body were consumed and the put has not completed. */
  when: "before" | "after" | "midway";
  chunks?: number;
  /** SIGKILL the process, or make that put fail with a FaultyBackend fault. */
  action: "kill" | FaultKind;
}

/** What the crash point did, as the runner reports it. */
export interface CrashEvent {
  point: string;
  key: string;
  /** Chunks of the body consumed when it fired (midway). */
  chunks?: number;
  atMs: number;
}

export function describePoint(p: CrashPoint): string {
  const where = p.when === "midway" ? `after ${p.chunks ?? 1} chunk(s) of` : p.when;
  return `${p.action} ${where} put #${p.nth} of ${p.on}`;
}

function kindOfKey(key: string): Exclude<PutTarget, "data"> | null {
  const k = parseKey(key);
  return k ? k.kind : null;
}

export function isDataKey(key: string): boolean {
  const k = kindOfKey(key);
  return k === "snapshot" || k === "changeset";
}

function matches(target: PutTarget, key: string): boolean {
  return target === "data" ? isDataKey(key) : kindOfKey(key) === target;
}

/** Passes every call through; subclasses override what they change. */
abstract class Wrapper implements Backend {
  /** Offered exactly when the wrapped backend offers it, so restores under torture read the way they do in production. */
  readonly getStreamReusing?: (key: string, range?: ByteRange) => AsyncIterable<Uint8Array>;

  constructor(readonly inner: Backend) {
    if (inner.getStreamReusing) this.getStreamReusing = (key, range) => inner.getStreamReusing!(key, range);
  }
  get type(): string {
    return this.inner.type;
  }
  get describe(): string {
    return this.inner.describe;
  }
  get capabilities() {
    return this.inner.capabilities;
  }
  put(key: string, body: Body, options?: PutOptions): Promise<void> {
    return this.inner.put(key, body, options);
  }
  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.inner.get(key, range);
  }
  getStream(key: string, range?: ByteRange): AsyncIterable<Uint8Array> {
    return this.inner.getStream(key, range);
  }
  stat(key: string): Promise<ObjectInfo | null> {
    return this.inner.stat(key);
  }
  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

export interface CrashHooks {
  /** Called synchronously right before the process kills itself: the last chance to record why. */
  onFire(event: CrashEvent): void;
  /** Needed for fault actions: the FaultyBackend somewhere below this wrapper. */
  faulty?: FaultyBackend;
  /** Test seam: how to die (default: SIGKILL this process, then never return). */
  kill?: () => Promise<never>;
}

async function killSelf(): Promise<never> {
  process.kill(process.pid, "SIGKILL");
  return new Promise<never>(() => {});
}

export class CrashPointBackend extends Wrapper {
  private seen = 0;
  private fired = false;

  constructor(inner: Backend, readonly point: CrashPoint, private readonly hooks: CrashHooks) {
    super(inner);
    if (!Number.isInteger(point.nth) || point.nth < 1) throw new TypeError(`crash point: nth must be >= 1, got ${point.nth}`);
    if (point.action !== "kill" && !hooks.faulty) throw new TypeError("crash point: a fault action needs the FaultyBackend below");
    if (point.action === "partialWrite" && point.when !== "before") throw new TypeError("crash point: partialWrite is armed before the put");
  }

  override async put(key: string, body: Body, options?: PutOptions): Promise<void> {
    if (this.fired || !matches(this.point.on, key) || ++this.seen !== this.point.nth) return this.inner.put(key, body, options);
    this.fired = true;
    const { when, action } = this.point;
    if (action !== "kill") {
      // "after" faults land the object and then fail; "before" ones never reach it.
      this.hooks.faulty!.failNext("put", 1, action);
      this.hooks.onFire(this.event(key));
      return this.inner.put(key, body, options);
    }
    if (when === "before") return this.die(key);
    if (when === "after") {
      await this.inner.put(key, body, options);
      return this.die(key);
    }
    return this.inner.put(key, this.cut(key, body, this.point.chunks ?? 1), options);
  }

  /** The body as the backend pulls it; once `limit` chunks are taken (or the body ends first), the next pull dies. */
  private async *cut(key: string, body: Body, limit: number): AsyncGenerator<Uint8Array> {
    let taken = 0;
    const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = body instanceof Uint8Array ? [body] : body;
    for await (const chunk of chunks) {
      if (taken >= limit) break;
      yield chunk;
      taken++;
    }
    await this.die(key, taken);
  }

  private event(key: string, chunks?: number): CrashEvent {
    return { point: describePoint(this.point), key, atMs: Date.now(), ...(chunks === undefined ? {} : { chunks }) };
  }

  private die(key: string, chunks?: number): Promise<never> {
    this.hooks.onFire(this.event(key, chunks));
    return (this.hooks.kill ?? killSelf)();
  }
}

export interface WormStats {
  dataPuts: number;
  refusedOverwrites: number;
  refusedDeletes: number;
  /** Keys refused, first few, for the report. */
  refused: string[];
}

/**
 * A locked bucket: a data object, once written, cannot be replaced or
 * removed. The refusal is what S3 answers for a locked version (AccessDenied:
 * BACKEND_AUTH, not retryable); retrying cannot help.
 */
export class WormBackend extends Wrapper {
  private readonly counts: WormStats = { dataPuts: 0, refusedOverwrites: 0, refusedDeletes: 0, refused: [] };

  constructor(inner: Backend, private readonly onRefuse: () => void = () => {}) {
    super(inner);
  }

  stats(): WormStats {
    return { ...this.counts, refused: [...this.counts.refused] };
  }

  override async put(key: string, body: Body, options?: PutOptions): Promise<void> {
    if (!isDataKey(key)) return this.inner.put(key, body, options);
    if ((await this.inner.stat(key)) !== null) {
      this.counts.refusedOverwrites++;
      throw this.refuse(`overwrite ${key}`);
    }
    await this.inner.put(key, body, options);
    this.counts.dataPuts++;
  }

  override async delete(key: string): Promise<void> {
    if (!isDataKey(key)) return this.inner.delete(key);
    this.counts.refusedDeletes++;
    throw this.refuse(`delete ${key}`);
  }

  private refuse(what: string): BakeliteError {
    if (this.counts.refused.length < 5) this.counts.refused.push(what);
    this.onRefuse();
    return new BakeliteError("BACKEND_AUTH", `worm: ${what} refused: the object is locked`, { retryable: false });
  }
}

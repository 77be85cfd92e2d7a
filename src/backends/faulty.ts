/**
 * @module backends/faulty
 * The only fake backend: it wraps a real one and injects faults, so crash and
 * retry tests exercise real storage. Random faults come from a seeded PRNG
 * (same seed and same call order, same faults); `failNext` forces faults
 * deterministically; `setOutage` makes every call fail until switched off.
 *
 * Fault kinds, and what the caller can conclude from each:
 * - errorBefore / timeoutBefore: the inner backend was not called.
 * - errorAfter / timeoutAfter: the inner call completed (a put is durable),
 *   yet the caller sees a failure. This is the ambiguous failure every
 *   writer must survive. On getStream and list the error comes after the
 *   first chunk or entry, like a connection dropped mid-transfer.
 * - partialWrite (put only): part of the body reaches the inner backend's
 *   put and then the stream fails; on an atomic backend nothing is visible.
 * - slow: the call is delayed by `slowMs`, then proceeds (and may still fault).
 *
 * Every call draws exactly three numbers from the PRNG, whatever happens, so
 * the fault sequence depends only on the seed and the order of calls.
 *
 * getStreamReusing is offered exactly when the inner backend offers it, and
 * faults it like getStream (op "get"). Hiding it would send every restore
 * under test down the plain getStream path, leaving the reusing read that
 * production uses on the file backend untried under faults; passing it
 * through keeps restore on its real path while each read still draws and
 * injects faults the same way.
 */
import { BakeliteError } from "../errors.ts";
import type { Backend, Body, ByteRange, ObjectInfo, PutOptions } from "./types.ts";
import { sleep } from "./retry.ts";

export type FaultOp = "put" | "get" | "list" | "stat" | "delete";
export type FaultKind = "errorBefore" | "errorAfter" | "timeoutBefore" | "timeoutAfter" | "partialWrite";

export interface FaultyOptions {
  seed: number;
  /** Share of calls failing with BACKEND_IO, half before and half after the inner call. */
  errorRate?: number;
  /** Share of calls failing with BACKEND_TIMEOUT after `timeoutMs`, half before and half after. */
  timeoutRate?: number;
  /** Share of puts that stream part of the body and then fail. */
  partialWriteRate?: number;
  /** Share of calls delayed by `slowMs` (independent of the faults above). */
  slowRate?: number;
  slowMs?: number;
  /** How long an injected timeout waits before failing (default 20 ms). */
  timeoutMs?: number;
  /** Start in an outage: every call fails until setOutage(false). */
  outage?: boolean;
  /** Operations random faults apply to (default all); "get" covers get, getStream and getStreamReusing. */
  ops?: FaultOp[];
}

export interface FaultStats extends Record<FaultKind, number> {
  /** Calls seen, faulted or not. */
  calls: number;
  slow: number;
  outage: number;
}

interface Plan {
  kind: FaultKind | "outage" | null;
  slow: boolean;
}

const kindOf = new WeakMap<object, FaultKind | "outage">();

/** The kind of fault an error was injected as, or undefined for a real error. */
export function faultKindOf(err: unknown): FaultKind | "outage" | undefined {
  return typeof err === "object" && err !== null ? kindOf.get(err) : undefined;
}

/** mulberry32: tiny, fast, and good enough to spread faults; not for secrets. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rate(name: string, value: number | undefined): number {
  const v = value ?? 0;
  if (!(v >= 0 && v <= 1)) throw new TypeError(`FaultyBackend: ${name} must be within [0, 1], got ${value}`);
  return v;
}

export class FaultyBackend implements Backend {
  readonly type = "faulty";
  readonly inner: Backend;
  /** Present when the inner backend has it; see the module comment. */
  declare getStreamReusing?: (key: string, range?: ByteRange) => AsyncIterable<Uint8Array>;
  private readonly random: () => number;
  private readonly errorRate: number;
  private readonly timeoutRate: number;
  private readonly partialWriteRate: number;
  private readonly slowRate: number;
  private readonly slowMs: number;
  private readonly timeoutMs: number;
  private readonly ops: Set<FaultOp>;
  private outage: boolean;
  private forced = new Map<FaultOp, FaultKind[]>();
  private counts: FaultStats = {
    calls: 0, errorBefore: 0, errorAfter: 0, timeoutBefore: 0, timeoutAfter: 0, partialWrite: 0, slow: 0, outage: 0,
  };

  constructor(inner: Backend, options: FaultyOptions) {
    if (!Number.isInteger(options.seed)) throw new TypeError(`FaultyBackend: seed must be an integer, got ${options.seed}`);
    this.inner = inner;
    this.random = prng(options.seed);
    this.errorRate = rate("errorRate", options.errorRate);
    this.timeoutRate = rate("timeoutRate", options.timeoutRate);
    this.partialWriteRate = rate("partialWriteRate", options.partialWriteRate);
    if (this.errorRate + this.timeoutRate + this.partialWriteRate > 1) {
      throw new TypeError("FaultyBackend: errorRate + timeoutRate + partialWriteRate must not exceed 1");
    }
    this.slowRate = rate("slowRate", options.slowRate);
    this.slowMs = options.slowMs ?? 50;
    this.timeoutMs = options.timeoutMs ?? 20;
    this.outage = options.outage ?? false;
    this.ops = new Set(options.ops ?? ["put", "get", "list", "stat", "delete"]);
    if (inner.getStreamReusing) {
      const reusing = inner.getStreamReusing.bind(inner);
      // Same as getStream: decided at the call, the error-after fault after the first chunk.
      this.getStreamReusing = (key, range) =>
        this.stream(this.decide("get"), "get", key, () => reusing(key, range));
    }
  }

  get describe(): string {
    return `faulty(${this.inner.describe})`;
  }

  get capabilities() {
    return this.inner.capabilities;
  }

  /** The next `count` calls of `op` fail with `kind`, ahead of any random fault. */
  failNext(op: FaultOp, count: number, kind: FaultKind = "errorBefore"): void {
    if (kind === "partialWrite" && op !== "put") throw new TypeError("FaultyBackend: partialWrite applies to put only");
    const queue = this.forced.get(op) ?? [];
    for (let i = 0; i < count; i++) queue.push(kind);
    this.forced.set(op, queue);
  }

  setOutage(on: boolean): void {
    this.outage = on;
  }

  /** Counters of calls and injected faults by kind (a copy). */
  stats(): FaultStats {
    return { ...this.counts };
  }

  async put(key: string, body: Body, options: PutOptions = {}): Promise<void> {
    const plan = this.decide("put");
    if (plan.kind !== "partialWrite") return this.run(plan, "put", key, () => this.inner.put(key, body, options), options.signal);
    if (plan.slow) await sleep(this.slowMs, options.signal);
    await this.inner.put(key, truncate(body, options.size, key), { ...options, size: undefined }).catch(() => undefined);
    throw this.injected("partialWrite", "put", key);
  }

  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.run(this.decide("get"), "get", key, () => this.inner.get(key, range));
  }

  getStream(key: string, range?: ByteRange): AsyncIterable<Uint8Array> {
    // Decide now, not at the first next(), so the fault order follows the call order.
    return this.stream(this.decide("get"), "get", key, () => this.inner.getStream(key, range));
  }

  stat(key: string): Promise<ObjectInfo | null> {
    return this.run(this.decide("stat"), "stat", key, () => this.inner.stat(key));
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.stream(this.decide("list"), "list", prefix, () => this.inner.list(prefix));
  }

  delete(key: string): Promise<void> {
    return this.run(this.decide("delete"), "delete", key, () => this.inner.delete(key));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private decide(op: FaultOp): Plan {
    const [r1, r2, r3] = [this.random(), this.random(), this.random()];
    this.counts.calls++;
    let kind: Plan["kind"] = null;
    const forced = this.forced.get(op);
    if (this.outage) kind = "outage";
    else if (forced && forced.length > 0) kind = forced.shift()!;
    else if (this.ops.has(op)) {
      if (r1 < this.errorRate) kind = r2 < 0.5 ? "errorBefore" : "errorAfter";
      else if (r1 < this.errorRate + this.timeoutRate) kind = r2 < 0.5 ? "timeoutBefore" : "timeoutAfter";
      else if (op === "put" && r1 < this.errorRate + this.timeoutRate + this.partialWriteRate) kind = "partialWrite";
    }
    const slow = kind !== "outage" && this.ops.has(op) && r3 < this.slowRate;
    if (slow) this.counts.slow++;
    return { kind, slow };
  }

  private injected(kind: FaultKind | "outage", op: FaultOp, key: string): BakeliteError {
    const what = `${op} ${key}`.trim();
    const err =
      kind === "outage"
        ? new BakeliteError("BACKEND_IO", `faulty backend: outage, ${what} refused`, { retryable: true })
        : kind === "timeoutBefore" || kind === "timeoutAfter"
          ? new BakeliteError("BACKEND_TIMEOUT", `faulty backend: injected ${kind} on ${what} after ${this.timeoutMs} ms`, { retryable: true })
          : new BakeliteError("BACKEND_IO", `faulty backend: injected ${kind} on ${what}`, { retryable: true });
    kindOf.set(err, kind);
    // Counted when delivered: an after-fault whose inner call failed first never reaches the caller.
    this.counts[kind]++;
    return err;
  }

  private async run<T>(plan: Plan, op: FaultOp, key: string, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (plan.kind === "outage") throw this.injected("outage", op, key);
    if (plan.slow) await sleep(this.slowMs, signal);
    switch (plan.kind) {
      case "errorBefore":
        throw this.injected(plan.kind, op, key);
      case "timeoutBefore":
        await sleep(this.timeoutMs, signal);
        throw this.injected(plan.kind, op, key);
      case "errorAfter":
        await call();
        throw this.injected(plan.kind, op, key);
      case "timeoutAfter":
        await call();
        await sleep(this.timeoutMs, signal);
        throw this.injected(plan.kind, op, key);
      default:
        return call();
    }
  }

  private async *stream<T>(plan: Plan, op: FaultOp, key: string, open: () => AsyncIterable<T>): AsyncGenerator<T> {
    if (plan.kind === "outage") throw this.injected("outage", op, key);
    if (plan.slow) await sleep(this.slowMs);
    if (plan.kind === "errorBefore") throw this.injected(plan.kind, op, key);
    if (plan.kind === "timeoutBefore") {
      await sleep(this.timeoutMs);
      throw this.injected(plan.kind, op, key);
    }
    const failMidway = plan.kind === "errorAfter" || plan.kind === "timeoutAfter";
    for await (const item of open()) {
      yield item;
      if (failMidway) break;
    }
    if (plan.kind === "timeoutAfter") await sleep(this.timeoutMs);
    if (failMidway) throw this.injected(plan.kind as FaultKind, op, key);
  }
}

/** About half of `body`, then a failure: what a dropped connection does to an upload. */
async function* truncate(body: Body, size: number | undefined, key: string): AsyncGenerator<Uint8Array> {
  const fail = () => new BakeliteError("BACKEND_IO", `faulty backend: connection dropped during put ${key}`, { retryable: true });
  if (body instanceof Uint8Array) {
    const half = Math.floor(body.byteLength / 2);
    if (half > 0) yield body.subarray(0, half);
    throw fail();
  }
  const limit = size === undefined ? undefined : Math.floor(size / 2);
  let sent = 0;
  for await (const chunk of body) {
    if (limit === undefined) {
      yield chunk; // unknown length: one chunk gets through
      break;
    }
    if (sent + chunk.byteLength >= limit) {
      if (limit > sent) yield chunk.subarray(0, limit - sent);
      break;
    }
    yield chunk;
    sent += chunk.byteLength;
  }
  throw fail();
}

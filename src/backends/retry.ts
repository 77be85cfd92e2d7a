/**
 * @module backends/retry
 * Retrying backend calls. `withRetry` is for one operation that may hit a
 * transient fault (a few attempts, full jitter so many writers do not retry in
 * step). `Backoff` is the daemon's long-running delay between failed sync
 * rounds; it also remembers how long the failure streak has lasted for status
 * output.
 *
 * Only errors that say `retryable === true` are retried: a retry cannot fix a
 * wrong key, a bad config or corrupt data, and retrying a plain Error (a bug)
 * would only hide it.
 */

export interface RetryOptions {
  /** Total attempts, the first included (>= 1). */
  attempts: number;
  /** Cap of the first retry's delay; doubles per retry. */
  baseMs: number;
  /** No delay exceeds this. */
  maxMs: number;
  /** Aborting stops waiting and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called before each wait; `attempt` is the attempt that just failed (1-based). */
  onRetry?(err: unknown, attempt: number, delayMs: number): void;
  /** Source of randomness in [0, 1); tests pass a fixed one. */
  random?: () => number;
}

export function isRetryable(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { retryable?: unknown }).retryable === true;
}

/** The exponential ceiling for retry number `n` (0-based), capped at `maxMs`. */
export function backoffCeiling(n: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(n, 52));
}

export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const { attempts, baseMs, maxMs, signal, onRetry } = options;
  if (!Number.isInteger(attempts) || attempts < 1) throw new TypeError(`withRetry: attempts must be >= 1, got ${attempts}`);
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isRetryable(err)) throw err;
      signal?.throwIfAborted();
      // Full jitter: uniformly anywhere below the ceiling.
      const delay = Math.floor(random() * backoffCeiling(attempt - 1, baseMs, maxMs));
      onRetry?.(err, attempt, delay);
      await sleep(delay, signal);
    }
  }
}

/** The longest delay one timer can take; setTimeout fires at once for longer ones. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * Resolves after `ms`, or rejects with the signal's reason as soon as it
 * aborts. Any length works: a wait longer than one timer can take (about 24.8
 * days, e.g. a multipart_sweep_interval of "30d") is made of several.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    let timer: ReturnType<typeof setTimeout>;
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const wait = (left: number) => {
      timer = setTimeout(() => {
        if (left > LONGEST_TIMER_MS) return wait(left - LONGEST_TIMER_MS);
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, Math.min(left, LONGEST_TIMER_MS));
    };
    wait(ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Delays for a loop that keeps failing (the daemon against an unreachable
 * backend). Uses "equal jitter": half the ceiling fixed plus half random, so
 * a long outage is never hammered with near-zero delays the way full jitter
 * occasionally would, while many daemons still spread out.
 */
export class Backoff {
  private count = 0;
  private started: number | null = null;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {
    if (!(baseMs > 0) || !(maxMs >= baseMs)) throw new TypeError(`Backoff: need 0 < baseMs <= maxMs, got ${baseMs}, ${maxMs}`);
  }

  /** Records one more failure and returns how long to wait before the next try. */
  next(): number {
    if (this.started === null) this.started = this.now();
    const ceiling = backoffCeiling(this.count, this.baseMs, this.maxMs);
    this.count++;
    return Math.floor(ceiling / 2 + this.random() * (ceiling / 2));
  }

  /** A success ends the streak. */
  reset(): void {
    this.count = 0;
    this.started = null;
  }

  /** Consecutive failures so far. */
  get streak(): number {
    return this.count;
  }

  /** When the current failure streak began (ms since the epoch), or null when not failing. */
  get since(): number | null {
    return this.started;
  }
}

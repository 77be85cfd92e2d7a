import { describe, expect, test } from "bun:test";
import { BakeliteError } from "../../src/errors.ts";
import { Backoff, sleep, withRetry } from "../../src/backends/retry.ts";

const transient = (n: number) => new BakeliteError("BACKEND_IO", `transient ${n}`);

describe("withRetry", () => {
  test("retries retryable errors until the call succeeds, reporting each retry and its delay", async () => {
    let calls = 0;
    const retries: Array<[string, number, number]> = [];
    const value = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw transient(calls);
        return 7;
      },
      { attempts: 5, baseMs: 4, maxMs: 100, random: () => 0.5, onRetry: (err, attempt, delay) => retries.push([(err as Error).message, attempt, delay]) },
    );
    expect(value).toBe(7);
    expect(calls).toBe(3);
    expect(retries).toEqual([["transient 1", 1, 2], ["transient 2", 2, 4]]);
  });

  test("delays use full jitter under a ceiling that doubles and is capped", async () => {
    const delays: number[] = [];
    const options = { attempts: 6, baseMs: 8, maxMs: 20, onRetry: (_e: unknown, _a: number, d: number) => delays.push(d) };
    await withRetry(() => Promise.reject(transient(0)), { ...options, random: () => 0.5 }).catch(() => undefined);
    expect(delays).toEqual([4, 8, 10, 10, 10]);
    delays.length = 0;
    await withRetry(() => Promise.reject(transient(0)), { ...options, random: () => 0 }).catch(() => undefined);
    expect(delays).toEqual([0, 0, 0, 0, 0]);
  });

  test("gives up after the last attempt and throws the last error", async () => {
    let calls = 0;
    const err = await withRetry(() => Promise.reject(transient(++calls)), { attempts: 3, baseMs: 1, maxMs: 1 }).catch((e) => e);
    expect(calls).toBe(3);
    expect(err.message).toBe("transient 3");
  });

  test("errors that are not retryable are thrown at once", async () => {
    for (const thrown of [
      new BakeliteError("CORRUPT_OBJECT", "bad crc"),
      new BakeliteError("BACKEND_IO", "permission denied", { retryable: false }),
      new Error("a bug"),
      "a string",
    ]) {
      let calls = 0;
      const err = await withRetry(() => {
        calls++;
        return Promise.reject(thrown);
      }, { attempts: 5, baseMs: 1, maxMs: 1 }).catch((e) => e);
      expect(err).toBe(thrown);
      expect(calls).toBe(1);
    }
  });

  test("aborting stops the wait at once with the abort reason", async () => {
    const ctrl = new AbortController();
    const started = performance.now();
    const err = await withRetry(() => Promise.reject(transient(1)), {
      attempts: 5, baseMs: 60_000, maxMs: 60_000, random: () => 0.99, signal: ctrl.signal,
      onRetry: () => queueMicrotask(() => ctrl.abort(new Error("shutting down"))),
    }).catch((e) => e);
    expect(err.message).toBe("shutting down");
    expect(performance.now() - started).toBeLessThan(5_000);
    await expect(withRetry(async () => 1, { attempts: 1, baseMs: 1, maxMs: 1, signal: ctrl.signal })).rejects.toThrow("shutting down");
  });

  test("fewer than one attempt is a programming error", async () => {
    await expect(withRetry(async () => 1, { attempts: 0, baseMs: 1, maxMs: 1 })).rejects.toBeInstanceOf(TypeError);
  });
});

describe("Backoff", () => {
  test("delays grow from the base to the cap with equal jitter, never below half the ceiling", () => {
    const low = new Backoff(100, 1000, () => 0);
    expect(Array.from({ length: 6 }, () => low.next())).toEqual([50, 100, 200, 400, 500, 500]);
    const high = new Backoff(100, 1000, () => 0.999999);
    expect(Array.from({ length: 6 }, () => high.next())).toEqual([99, 199, 399, 799, 999, 999]);
  });

  test("tracks the failure streak and when it began, and a reset ends it", () => {
    let now = 1_000;
    const backoff = new Backoff(10, 100, () => 0, () => now);
    expect(backoff.streak).toBe(0);
    expect(backoff.since).toBeNull();
    backoff.next();
    now = 5_000;
    backoff.next();
    expect(backoff.streak).toBe(2);
    expect(backoff.since).toBe(1_000);
    backoff.reset();
    expect(backoff.streak).toBe(0);
    expect(backoff.since).toBeNull();
    expect(backoff.next()).toBe(5);
    expect(backoff.since).toBe(5_000);
  });

  test("a very long streak stays at the cap", () => {
    const backoff = new Backoff(1, 60_000, () => 0.5);
    let last = 0;
    for (let i = 0; i < 2000; i++) last = backoff.next();
    expect(last).toBe(45_000);
  });

  test("nonsensical bounds are refused", () => {
    expect(() => new Backoff(0, 10)).toThrow(TypeError);
    expect(() => new Backoff(10, 5)).toThrow(TypeError);
  });
});

describe("sleep", () => {
  test("a wait longer than one timer (2^31-1 ms) is made of several, and still ends", async () => {
    const real = globalThis.setTimeout;
    const armed: number[] = [];
    // Record each delay and run the callback at once, so 30 days pass in a moment.
    globalThis.setTimeout = ((fn: () => void, ms: number) => {
      armed.push(ms);
      return real(fn, 0);
    }) as typeof setTimeout;
    try {
      await sleep(30 * 86_400_000);
    } finally {
      globalThis.setTimeout = real;
    }
    const longest = 2 ** 31 - 1;
    expect(armed).toEqual([longest, 30 * 86_400_000 - longest]);
  });

  test("a short wait is one timer, and an abort ends a long one with the signal's reason", async () => {
    const started = performance.now();
    await sleep(20);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    const controller = new AbortController();
    const waiting = sleep(30 * 86_400_000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
  });
});

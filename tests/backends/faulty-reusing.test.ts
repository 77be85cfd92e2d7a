/**
 * The faulty wrapper passes getStreamReusing through when the backend it wraps
 * has it, and injects faults into it exactly as into getStream (op "get").
 * Chunks of a reusing read are copied as they arrive: the next read but one
 * overwrites them.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import path from "node:path";
import { BakeliteError } from "../../src/errors.ts";
import { FileBackend } from "../../src/backends/file.ts";
import { FaultyBackend, faultKindOf } from "../../src/backends/faulty.ts";
import { withRetry } from "../../src/backends/retry.ts";
import type { Backend } from "../../src/backends/types.ts";
import { MiB, pattern } from "./conformance-helpers.ts";
import { rmTree, tempDir } from "./file-fixtures.ts";

/** Copies each chunk as it arrives, as a reusing read requires. */
async function copied(stream: AsyncIterable<Uint8Array>, chunks: Uint8Array[] = []): Promise<Buffer> {
  for await (const chunk of stream) chunks.push(chunk.slice());
  return Buffer.concat(chunks);
}

/** `inner` behind an object that has every Backend method but getStreamReusing. */
function withoutReusing(inner: Backend): Backend {
  return {
    type: inner.type,
    describe: inner.describe,
    capabilities: inner.capabilities,
    put: (key, body, options) => inner.put(key, body, options),
    get: (key, range) => inner.get(key, range),
    getStream: (key, range) => inner.getStream(key, range),
    stat: (key) => inner.stat(key),
    list: (prefix) => inner.list(prefix),
    delete: (key) => inner.delete(key),
    close: () => inner.close(),
  };
}

async function outcome(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return "ok";
  } catch (err) {
    if (!(err instanceof BakeliteError)) throw err;
    return `${err.code} ${faultKindOf(err) ?? "real"}`;
  }
}

describe("faulty backend: getStreamReusing", () => {
  let dir: string;
  let inner: FileBackend;
  const big = pattern(3 * MiB + 4321, 7);
  beforeEach(async () => {
    dir = tempDir();
    inner = new FileBackend(path.join(dir, "replica"));
    await inner.put("db/big", big);
  });
  afterEach(() => rmTree(dir));

  test("is offered exactly when the wrapped backend offers it, and reads what it reads, ranges included", async () => {
    const plain = new FaultyBackend(withoutReusing(inner), { seed: 1 });
    expect("getStreamReusing" in plain).toBe(false);
    expect(await copied(plain.getStream("db/big"))).toEqual(Buffer.from(big));

    const faulty = new FaultyBackend(inner, { seed: 1 });
    expect(await copied(faulty.getStreamReusing!("db/big"))).toEqual(Buffer.from(big));
    const range = { offset: 999, length: 2 * MiB + 1 };
    expect(await copied(faulty.getStreamReusing!("db/big", range))).toEqual(Buffer.from(big.subarray(999, 999 + range.length)));
    expect(faulty.stats().calls).toBe(2);
  });

  test("a forced get fault fails it before the first chunk or after it, like getStream", async () => {
    const faulty = new FaultyBackend(inner, { seed: 1, timeoutMs: 1 });
    const chunks: Uint8Array[] = [];
    faulty.failNext("get", 1, "errorBefore");
    expect(await outcome(() => copied(faulty.getStreamReusing!("db/big"), chunks))).toBe("BACKEND_IO errorBefore");
    expect(chunks.length).toBe(0);

    faulty.failNext("get", 1, "errorAfter");
    expect(await outcome(() => copied(faulty.getStreamReusing!("db/big"), chunks))).toBe("BACKEND_IO errorAfter");
    expect(chunks.length).toBe(1);
    expect(Buffer.from(chunks[0])).toEqual(Buffer.from(big.subarray(0, MiB)));

    faulty.failNext("get", 1, "timeoutBefore");
    expect(await outcome(() => copied(faulty.getStreamReusing!("db/big")))).toBe("BACKEND_TIMEOUT timeoutBefore");
    faulty.setOutage(true);
    expect(await outcome(() => copied(faulty.getStreamReusing!("db/big")))).toBe("BACKEND_IO outage");
    faulty.setOutage(false);
    expect(await copied(faulty.getStreamReusing!("db/big"))).toEqual(Buffer.from(big));
  });

  test("a seed faults the same reads whichever of getStream and getStreamReusing the reader calls", async () => {
    const script = async (read: (b: FaultyBackend) => AsyncIterable<Uint8Array>) => {
      const faulty = new FaultyBackend(inner, { seed: 5, errorRate: 0.3, timeoutRate: 0.2, timeoutMs: 1 });
      const seen: string[] = [];
      for (let i = 0; i < 30; i++) seen.push(await outcome(() => copied(read(faulty))));
      return seen;
    };
    const plain = await script((b) => b.getStream("db/big"));
    expect(plain.filter((o) => o !== "ok").length).toBeGreaterThan(5);
    expect(await script((b) => b.getStreamReusing!("db/big"))).toEqual(plain);
  });

  test("retries ride out random faults on it and end with the whole object", async () => {
    const faulty = new FaultyBackend(inner, { seed: 11, errorRate: 0.4, timeoutRate: 0.1, timeoutMs: 1 });
    const retry = { attempts: 30, baseMs: 1, maxMs: 2 };
    for (let i = 0; i < 10; i++) {
      expect(await withRetry(() => copied(faulty.getStreamReusing!("db/big")), retry)).toEqual(Buffer.from(big));
    }
    const stats = faulty.stats();
    expect(stats.errorBefore + stats.errorAfter + stats.timeoutBefore + stats.timeoutAfter).toBeGreaterThan(3);
  });
});

/**
 * @module tests/backends/conformance
 * The one suite every backend runs: the Backend contract of
 * src/backends/types.ts, stated as tests. A backend that cannot meet a case
 * skips it by id with a reason, which shows in the test name; an unknown id
 * in `skip` is an error so a typo cannot silently disable a case.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import type { Backend } from "../../src/backends/types.ts";
import {
  MiB, RssProbe, byteSorted, collect, expectNotFound, isWholeValue, listKeys, pattern, pool, wholeValue,
} from "./conformance-helpers.ts";

export const conformanceCases = [
  "round-trip",
  "round-trip-stream",
  "reusing-stream",
  "overwrite-replaces",
  "range-reads",
  "stat",
  "list-prefix",
  "list-many",
  "list-empty",
  "delete",
  "not-found",
  "atomic-overwrite",
  "failed-put-invisible",
  "large-stream",
  "concurrent-writers",
  "invalid-keys",
  "key-charset",
  "close-idempotent",
] as const;
export type ConformanceCase = (typeof conformanceCases)[number];

export interface ConformanceFixture {
  backend: Backend;
  cleanup(): Promise<void>;
}

export function runConformance(
  name: string,
  make: () => Promise<ConformanceFixture>,
  caps: { skip?: Partial<Record<ConformanceCase, string>> } = {},
): void {
  const skip: Record<string, string | undefined> = caps.skip ?? {};
  for (const id of Object.keys(skip)) {
    if (!(conformanceCases as readonly string[]).includes(id)) throw new Error(`runConformance(${name}): unknown case "${id}" in skip`);
    if (!skip[id]) throw new Error(`runConformance(${name}): skipping "${id}" needs a reason`);
  }

  describe(`backend conformance: ${name}`, () => {
    let fixture: ConformanceFixture;
    let b: Backend;
    beforeEach(async () => {
      fixture = await make();
      b = fixture.backend;
    });
    afterEach(async () => {
      await b.close();
      await fixture.cleanup();
    });
    const it = (id: ConformanceCase, title: string, fn: () => Promise<void>, timeoutMs?: number) => {
      const reason = skip[id];
      if (reason) test.skip(`${id}: ${title} (skipped: ${reason})`, fn);
      else test(`${id}: ${title}`, fn, timeoutMs);
    };

    it("round-trip", "put then get returns the same bytes for empty, 1-byte and 5 MiB objects", async () => {
      for (const [key, body] of [["rt/empty", new Uint8Array(0)], ["rt/one", new Uint8Array([0xa5])], ["rt/big", pattern(5 * MiB, 1)]] as const) {
        await b.put(key, body);
        expect(Buffer.from(await b.get(key)).equals(Buffer.from(body))).toBe(true);
        expect((await b.stat(key))?.size).toBe(body.length);
      }
    });

    it("round-trip-stream", "a body streamed in uneven chunks reads back whole, through get and getStream", async () => {
      const whole = pattern(3 * MiB + 17, 2);
      async function* chunks() {
        for (let at = 0, n = 1; at < whole.length; at += n, n = n * 3 + 1) yield whole.slice(at, at + n);
      }
      await b.put("rts/obj", chunks(), { size: whole.length, role: "snapshot" });
      expect(Buffer.from(await b.get("rts/obj")).equals(Buffer.from(whole))).toBe(true);
      expect(Buffer.from(await collect(b.getStream("rts/obj"))).equals(Buffer.from(whole))).toBe(true);
    });

    it("reusing-stream", "getStreamReusing, where a backend offers it, reads what getStream reads, and a chunk holds until the read after the next", async () => {
      const reusing = b.getStreamReusing?.bind(b);
      if (!reusing) return; // an optional capability: callers fall back to getStream
      const data = pattern(3 * MiB + 4321, 8);
      await b.put("rs/obj", data);
      for (const range of [undefined, { offset: 0, length: 10 }, { offset: MiB - 3, length: 2 * MiB }, { offset: 2 * MiB + 5 }, { offset: 5 * MiB }]) {
        const start = Math.min(range?.offset ?? 0, data.length);
        const end = range?.length === undefined ? data.length : Math.min(data.length, start + range.length);
        // Keep to the rule at its limit: hold a chunk while the next is read, then check it is still intact.
        const got: Uint8Array[] = [];
        const it = reusing("rs/obj", range)[Symbol.asyncIterator]();
        let held = await it.next();
        let at = start;
        while (!held.done) {
          const next = await it.next();
          const chunk = held.value;
          expect(Buffer.from(chunk).equals(Buffer.from(data.subarray(at, at + chunk.byteLength)))).toBe(true);
          got.push(chunk.slice());
          at += chunk.byteLength;
          held = next;
        }
        expect(at).toBe(end);
        expect(Buffer.from(await collect(b.getStream("rs/obj", range))).equals(Buffer.concat(got))).toBe(true);
      }
      await expectNotFound(async () => {
        for await (const _ of reusing("rs/missing")) throw new Error("a missing key yielded data");
      });
    });

    it("overwrite-replaces", "an overwrite replaces the whole object, shorter or longer, leaving no stale tail", async () => {
      await b.put("ow/CURRENT", pattern(100, 3));
      await b.put("ow/CURRENT", pattern(10, 4));
      expect(Buffer.from(await b.get("ow/CURRENT")).equals(Buffer.from(pattern(10, 4)))).toBe(true);
      await b.put("ow/CURRENT", pattern(300, 5));
      expect(Buffer.from(await b.get("ow/CURRENT")).equals(Buffer.from(pattern(300, 5)))).toBe(true);
      expect(await listKeys(b, "ow/")).toEqual(["ow/CURRENT"]);
    });

    it("range-reads", "ranges read from the start, the middle, to the end and past the end", async () => {
      const data = pattern(1000, 6);
      await b.put("rr/obj", data);
      const cases: Array<[{ offset: number; length?: number }, number, number]> = [
        [{ offset: 0, length: 10 }, 0, 10],
        [{ offset: 500, length: 100 }, 500, 600],
        [{ offset: 990 }, 990, 1000],
        [{ offset: 995, length: 100 }, 995, 1000],
        [{ offset: 1000 }, 1000, 1000],
        [{ offset: 2000, length: 10 }, 1000, 1000],
        [{ offset: 3, length: 0 }, 3, 3],
      ];
      for (const [range, start, end] of cases) {
        const want = Buffer.from(data.subarray(start, end));
        expect(Buffer.from(await b.get("rr/obj", range)).equals(want)).toBe(true);
        expect(Buffer.from(await collect(b.getStream("rr/obj", range))).equals(want)).toBe(true);
      }
    });

    it("stat", "stat reports size and time of an object, and null for a missing key or a mere prefix", async () => {
      const before = Date.now();
      await b.put("st/dir/obj", pattern(1234, 7));
      const info = await b.stat("st/dir/obj");
      expect(info?.key).toBe("st/dir/obj");
      expect(info?.size).toBe(1234);
      if (info?.modified !== undefined) {
        expect(info.modified).toBeInstanceOf(Date);
        // Clocks of remote stores drift; a day either way still catches garbage.
        expect(Math.abs(info.modified.getTime() - before)).toBeLessThan(86_400_000);
      }
      expect(await b.stat("st/missing")).toBeNull();
      expect(await b.stat("st/dir")).toBeNull();
      expect(await b.stat("st")).toBeNull();
    });

    it("list-prefix", "list matches a plain string prefix, recursively, in ascending byte order", async () => {
      const keys = ["db/a-b", "db/a.b", "db/a/x/y", "db/ab", "db/abc/1", "db/abd", "db/b", "dbx", "other/ab"];
      for (const [i, key] of [...keys].reverse().entries()) await b.put(key, pattern(i + 1, i));
      expect(await listKeys(b, "")).toEqual(byteSorted(keys));
      expect(await listKeys(b, "db/ab")).toEqual(["db/ab", "db/abc/1", "db/abd"]);
      expect(await listKeys(b, "db/a")).toEqual(["db/a-b", "db/a.b", "db/a/x/y", "db/ab", "db/abc/1", "db/abd"]);
      expect(await listKeys(b, "db/")).toEqual(["db/a-b", "db/a.b", "db/a/x/y", "db/ab", "db/abc/1", "db/abd", "db/b"]);
      expect(await listKeys(b, "db")).toEqual(["db/a-b", "db/a.b", "db/a/x/y", "db/ab", "db/abc/1", "db/abd", "db/b", "dbx"]);
      expect(await listKeys(b, "db/a/")).toEqual(["db/a/x/y"]);
      expect(await listKeys(b, "db/a/x/y")).toEqual(["db/a/x/y"]);
      const sizes = new Map<string, number>();
      for await (const info of b.list("db/ab")) sizes.set(info.key, info.size);
      const reversed = [...keys].reverse();
      expect(sizes.get("db/abc/1")).toBe(reversed.indexOf("db/abc/1") + 1);
    });

    it("list-many", "more than 1000 keys list completely, once each, in order (pagination)", async () => {
      const keys = Array.from({ length: 1100 }, (_, i) => `many/k-${i.toString(16).padStart(4, "0")}`);
      await pool(keys.length, 32, (i) => b.put(keys[i], new Uint8Array([i & 0xff])));
      await b.put("manz", new Uint8Array([1]));
      const listed = await listKeys(b, "many/");
      expect(listed.length).toBe(1100);
      expect(listed).toEqual(keys);
    }, 120_000);

    it("list-empty", "listing a prefix with no objects yields nothing and does not fail", async () => {
      expect(await listKeys(b, "")).toEqual([]);
      expect(await listKeys(b, "nothing/here/")).toEqual([]);
      await b.put("le/x", new Uint8Array([1]));
      expect(await listKeys(b, "le/y")).toEqual([]);
      expect(await listKeys(b, "le/x/")).toEqual([]);
    });

    it("delete", "delete removes an object, leaves siblings, and succeeds for a missing key", async () => {
      await b.put("del/a/one", new Uint8Array([1]));
      await b.put("del/a/two", new Uint8Array([2]));
      await b.delete("del/a/one");
      await expectNotFound(() => b.get("del/a/one"));
      expect(await b.stat("del/a/one")).toBeNull();
      expect(await listKeys(b, "del/")).toEqual(["del/a/two"]);
      await b.delete("del/a/one");
      await b.delete("del/never/was");
      await b.delete("del/a/two");
      expect(await listKeys(b, "del/")).toEqual([]);
      await b.put("del/a/one", new Uint8Array([3]));
      expect(Array.from(await b.get("del/a/one"))).toEqual([3]);
    });

    it("not-found", "get and getStream of a missing key throw NOT_FOUND and yield no data", async () => {
      await b.put("nf/dir/obj", new Uint8Array([1, 2, 3]));
      for (const key of ["nf/missing", "nf/dir", "nf/dir/obj/deeper"]) {
        await expectNotFound(() => b.get(key));
        await expectNotFound(() => b.get(key, { offset: 1, length: 1 }));
        const seen: Uint8Array[] = [];
        await expectNotFound(async () => {
          for await (const chunk of b.getStream(key)) seen.push(chunk);
        });
        expect(seen).toEqual([]);
      }
    });

    it("atomic-overwrite", "readers racing overwrites of a small object only ever see a whole old or whole new value", async () => {
      const key = "at/CURRENT";
      await b.put(key, wholeValue(1));
      let stop = false;
      const bad: string[] = [];
      let reads = 0;
      const check = (bytes: Uint8Array) => {
        reads++;
        if (!isWholeValue(bytes)) bad.push(`torn read: ${bytes.length} bytes starting ${bytes[0]}`);
      };
      const reader = async (streaming: boolean) => {
        while (!stop) {
          try {
            check(streaming ? await collect(b.getStream(key)) : await b.get(key));
          } catch (err) {
            bad.push(`read failed: ${(err as Error).message}`);
          }
          await Promise.resolve();
        }
      };
      const readers = [reader(false), reader(true), reader(false)];
      for (let round = 0; round < 150; round++) await b.put(key, wholeValue(1 + (round % 20)));
      stop = true;
      await Promise.all(readers);
      expect(bad).toEqual([]);
      expect(reads).toBeGreaterThan(20);
    }, 120_000);

    it("failed-put-invisible", "a put whose body fails midway leaves nothing visible and an old value intact", async () => {
      const boom = new Error("producer failed");
      async function* failing() {
        yield pattern(64 * 1024, 8);
        yield pattern(64 * 1024, 9);
        throw boom;
      }
      await expect(b.put("fp/new", failing())).rejects.toBeDefined();
      await expectNotFound(() => b.get("fp/new"));
      expect(await b.stat("fp/new")).toBeNull();
      expect(await listKeys(b, "fp/")).toEqual([]);

      await b.put("fp/old", pattern(500, 10));
      await expect(b.put("fp/old", failing())).rejects.toBeDefined();
      expect(Buffer.from(await b.get("fp/old")).equals(Buffer.from(pattern(500, 10)))).toBe(true);
      expect(await listKeys(b, "fp/")).toEqual(["fp/old"]);
    });

    it("large-stream", "a 128 MiB object streams in and out with memory well below its size", async () => {
      // 128 MiB: the runtime's own allocator and GC lag let RSS wander by 25-40 MiB
      // (measured with a producer feeding a null sink), so the object must be large
      // enough that buffering it is unmistakable.
      const chunks = 128;
      const sent = createHash("sha256");
      const probe = new RssProbe();
      async function* body() {
        for (let i = 0; i < chunks; i++) {
          const chunk = new Uint8Array(MiB).fill(i & 0xff);
          chunk[0] = i;
          sent.update(chunk);
          // Collect now and then: the check is about what the backend retains, not how lazily the GC runs
          // (in a long test process, garbage from earlier files made RSS wander past the limit).
          if (i % 8 === 7) Bun.gc(true);
          probe.sample();
          yield chunk;
        }
      }
      await b.put("ls/snapshot", body(), { size: chunks * MiB, role: "snapshot" });
      probe.sample();
      const got = createHash("sha256");
      let size = 0;
      for await (const chunk of b.getStream("ls/snapshot")) {
        got.update(chunk);
        size += chunk.length;
        if ((size / MiB) % 8 === 0) Bun.gc(true);
        probe.sample();
      }
      expect(size).toBe(chunks * MiB);
      expect(got.digest("hex")).toBe(sent.digest("hex"));
      expect((await b.stat("ls/snapshot"))?.size).toBe(chunks * MiB);
      // Half the object: room for that noise plus part buffers; buffering the whole object exceeds it.
      expect(probe.peakDelta).toBeLessThan((chunks * MiB) / 2);
    }, 180_000);

    it("concurrent-writers", "concurrent puts to different keys all land intact", async () => {
      const n = 32;
      await Promise.all(Array.from({ length: n }, (_, i) => b.put(`cw/${i % 4}/obj-${i}`, pattern(10_000 + i, 100 + i))));
      const listed = await listKeys(b, "cw/");
      expect(listed.length).toBe(n);
      for (let i = 0; i < n; i++) {
        expect(Buffer.from(await b.get(`cw/${i % 4}/obj-${i}`)).equals(Buffer.from(pattern(10_000 + i, 100 + i)))).toBe(true);
      }
    });

    it("invalid-keys", "keys breaking the key rules are rejected by every operation and nothing is written", async () => {
      const bad = ["", "/a", "a/", "a//b", "./a", "a/./b", "a/../b", "..", "a b", "a\\b", "é", "a:b", "a?b", "a~b", "x".repeat(1025)];
      for (const key of bad) {
        await expect(b.put(key, new Uint8Array([1]))).rejects.toBeInstanceOf(TypeError);
        await expect(b.get(key)).rejects.toBeInstanceOf(TypeError);
        await expect(b.stat(key)).rejects.toBeInstanceOf(TypeError);
        await expect(b.delete(key)).rejects.toBeInstanceOf(TypeError);
        await expect(collect(b.getStream(key))).rejects.toBeInstanceOf(TypeError);
      }
      expect(await listKeys(b, "")).toEqual([]);
    });

    it("key-charset", "every allowed key character round-trips, including leading dots and '@'", async () => {
      const keys = [".hidden", "a/.b/c", "A-Z_a.z@0-9/x", "db/L0/00000000000000a1-00000000000000b2", "x/..y", "x/y.."];
      for (const [i, key] of keys.entries()) await b.put(key, pattern(i + 3, i));
      expect(await listKeys(b, "")).toEqual(byteSorted(keys));
      for (const [i, key] of keys.entries()) expect(Buffer.from(await b.get(key)).equals(Buffer.from(pattern(i + 3, i)))).toBe(true);
    });

    it("close-idempotent", "close can be called more than once", async () => {
      await b.put("cl/x", new Uint8Array([1]));
      await b.close();
      await b.close();
    });
  });
}


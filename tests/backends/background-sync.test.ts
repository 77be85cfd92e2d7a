/**
 * BackgroundSync starts a flush once enough bytes are unflushed, keeps one in
 * flight at a time, and keeps its first error for check() and settle(): a
 * writeback error is reported to one fsync only, so dropping it would let a
 * later fsync succeed over lost data.
 */
import { expect, test } from "bun:test";
import type { FileHandle } from "node:fs/promises";
import { BackgroundSync } from "../../src/backends/background-sync.ts";

function fakeFile(outcomes: Array<"ok" | "fail">) {
  const calls: Array<() => void> = [];
  const file = {
    datasync: () =>
      new Promise<void>((resolve, reject) => {
        const outcome = outcomes.shift() ?? "ok";
        calls.push(() => (outcome === "ok" ? resolve() : reject(new Error("EIO: writeback failed"))));
      }),
  } as unknown as FileHandle;
  return { file, calls };
}

test("a flush starts once the interval is written, one at a time", async () => {
  const { file, calls } = fakeFile(["ok", "ok"]);
  const sync = new BackgroundSync(file, 100);
  sync.wrote(60);
  expect(calls.length).toBe(0);
  sync.wrote(60);
  expect(calls.length).toBe(1);
  sync.wrote(500); // one is running: no second flush yet
  expect(calls.length).toBe(1);
  calls[0]();
  await sync.settle();
  sync.wrote(100);
  expect(calls.length).toBe(2);
  calls[1]();
  await sync.settle();
});

test("a failed background flush is reported by check() and settle(), not dropped", async () => {
  const { file, calls } = fakeFile(["fail"]);
  const sync = new BackgroundSync(file, 10);
  sync.wrote(10);
  calls[0]();
  await sync.drain();
  expect(() => sync.check()).toThrow("EIO: writeback failed");
  await expect(sync.settle()).rejects.toThrow("EIO: writeback failed");
});

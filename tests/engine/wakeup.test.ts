/**
 * Wakeup: the directory watch opens a coalescing window, wakes the loop when
 * it closes, is dropped during the window (so the application's writes cost
 * no inotify events) and is back before the sync, so a commit landing during
 * the sync still opens the next window.
 */
import { afterEach, expect, test } from "bun:test";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Wakeup } from "../../src/engine/wakeup.ts";
import { tempDir } from "../helpers/fixtures.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function setup(debounceMs: number) {
  const t = tempDir("wakeup");
  cleanups.push(t.cleanup);
  const db = join(t.dir, "app.db");
  writeFileSync(db, "");
  writeFileSync(`${db}-wal`, "");
  const wakeup = new Wakeup(debounceMs);
  wakeup.watch(db);
  cleanups.push(() => wakeup.close());
  return { wakeup, wal: `${db}-wal`, other: join(t.dir, "unrelated.log") };
}

/** Resolves with the ms until the wakeup fired, or null when `timeoutMs` passed first. */
async function timed(wakeup: Wakeup, timeoutMs: number, during?: () => void): Promise<number | null> {
  const started = performance.now();
  let woke = false;
  const waiting = wakeup.wait(timeoutMs).then(() => (woke = true));
  during?.();
  await waiting;
  const ms = performance.now() - started;
  return woke && ms < timeoutMs - 5 ? ms : null;
}

test("a write to the -wal wakes the loop when the window closes; writes inside it do not extend it", async () => {
  const { wakeup, wal } = setup(200);
  await Bun.sleep(50); // let the watch settle
  const writes: Promise<void>[] = [];
  const ms = await timed(wakeup, 3_000, () => {
    appendFileSync(wal, "x");
    for (let i = 1; i <= 4; i++) writes.push(Bun.sleep(i * 30).then(() => appendFileSync(wal, "y")));
  });
  await Promise.all(writes);
  expect(ms).not.toBeNull();
  expect(ms!).toBeGreaterThanOrEqual(190);
  expect(ms!).toBeLessThan(1_000);
});

test("a commit landing during the sync (after the window closed) opens the next window", async () => {
  const { wakeup, wal } = setup(100);
  await Bun.sleep(50);
  expect(await timed(wakeup, 3_000, () => appendFileSync(wal, "first"))).not.toBeNull();
  // The "sync" runs now; the application commits meanwhile.
  appendFileSync(wal, "during the sync");
  expect(await timed(wakeup, 3_000)).not.toBeNull();
  // And once more, with nothing written: no wakeup until the timeout.
  expect(await timed(wakeup, 400)).toBeNull();
});

test("eager wakes on the first change at once, then windows resume", async () => {
  const { wakeup, wal } = setup(300);
  await Bun.sleep(50);
  wakeup.eager = true;
  const ms = await timed(wakeup, 3_000, () => appendFileSync(wal, "x"));
  expect(ms).not.toBeNull();
  expect(ms!).toBeLessThan(250);
  expect(wakeup.eager).toBe(false);
  // (A write in the same instant as the first can be folded into its event by the runtime's watcher; the sync that
  // the eager wakeup starts reads the WAL after it, so it is covered. A later one opens a window as usual.)
  await Bun.sleep(100);
  const next = await timed(wakeup, 3_000, () => appendFileSync(wal, "y"));
  expect(next!).toBeGreaterThanOrEqual(290);
});

test("writes to other files in the directory are ignored", async () => {
  const { wakeup, other } = setup(50);
  await Bun.sleep(50);
  expect(await timed(wakeup, 400, () => appendFileSync(other, "noise"))).toBeNull();
});

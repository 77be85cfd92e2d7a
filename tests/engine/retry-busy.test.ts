/**
 * retryBusy: tries again while SQLite says busy, gives up with DB_BUSY at its
 * deadline, and runs `whileBusy` between tries (the checkpoint reads the
 * frames committed meanwhile there, so that little is left to read once it
 * holds the writer lock).
 */
import { expect, test } from "bun:test";
import { retryBusy } from "../../src/engine/control.ts";
import { BakeliteError } from "../../src/errors.ts";

const busy = () => Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });

test("whileBusy runs once after each busy try, never after the try that succeeds", async () => {
  const events: string[] = [];
  let tries = 0;
  const value = await retryBusy(
    () => {
      events.push(`try ${++tries}`);
      if (tries < 3) throw busy();
      return "locked";
    },
    5_000,
    "take the writer lock",
    () => events.push("while busy"),
  );
  expect(value).toBe("locked");
  expect(events).toEqual(["try 1", "while busy", "try 2", "while busy", "try 3"]);
});

test("an error from whileBusy ends the wait with that error", async () => {
  const err = await retryBusy(
    () => {
      throw busy();
    },
    5_000,
    "take the writer lock",
    () => {
      throw new Error("the -wal file is gone");
    },
  ).catch((e) => e);
  expect(err.message).toBe("the -wal file is gone");
});

test("a lock that stays busy ends in DB_BUSY at the deadline; other errors are not retried", async () => {
  const started = Date.now();
  const err = await retryBusy(() => {
    throw busy();
  }, 30, "take the writer lock").catch((e) => e);
  expect(err).toBeInstanceOf(BakeliteError);
  expect(err.code).toBe("DB_BUSY");
  expect(Date.now() - started).toBeGreaterThanOrEqual(30);
  let calls = 0;
  const other = await retryBusy(() => {
    calls++;
    throw new Error("disk I/O error");
  }, 1_000, "x").catch((e) => e);
  expect(other.message).toBe("disk I/O error");
  expect(calls).toBe(1);
});

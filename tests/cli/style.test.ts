import { describe, expect, test } from "bun:test";
import { restoreProgress } from "../../src/cli/progress.ts";
import { painter, stripAnsi, table, useColor, utc } from "../../src/cli/style.ts";

describe("colour", () => {
  test("is on only for a terminal without NO_COLOR or TERM=dumb", () => {
    expect(useColor({ isTTY: true }, {})).toBe(true);
    expect(useColor({ isTTY: false }, {})).toBe(false);
    expect(useColor({}, {})).toBe(false);
    expect(useColor({ isTTY: true }, { NO_COLOR: "1" })).toBe(false);
    expect(useColor({ isTTY: true }, { NO_COLOR: "yes" })).toBe(false);
    expect(useColor({ isTTY: true }, { TERM: "dumb" })).toBe(false);
  });

  test("a painter for a pipe returns the text unchanged", () => {
    const paint = painter({ isTTY: false });
    expect(paint.enabled).toBe(false);
    expect(paint("red", "x")).toBe("x");
  });
});

describe("table", () => {
  test("aligns columns by visible width, ignoring colour codes, and trims trailing spaces", () => {
    const red = (t: string) => `\x1b[31m${t}\x1b[39m`;
    const out = table([["A", "BB", "C"], [red("long"), "1", ""], ["x", "22", "z"]], ["left", "right", "left"]);
    expect(stripAnsi(out).split("\n")).toEqual(["A     BB  C", "long   1", "x     22  z"]);
  });
});

describe("utc", () => {
  test("keeps milliseconds, so a printed time pasted into --timestamp is exact", () => {
    expect(utc(Date.UTC(2026, 4, 30, 11, 55, 3, 512))).toBe("2026-05-30T11:55:03.512Z");
    expect(utc(null)).toBe("-");
  });
});

describe("restore progress", () => {
  function fakeStream(isTTY: boolean) {
    const writes: string[] = [];
    return { writes, stream: { isTTY, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream };
  }

  test("draws nothing when stderr is not a terminal", () => {
    const { writes, stream } = fakeStream(false);
    const view = restoreProgress("app", true, stream);
    view.update({ phase: "download", done: 10, total: 100 });
    view.done();
    expect(writes).toEqual([]);
  });

  test("draws nothing under --quiet", () => {
    const { writes, stream } = fakeStream(true);
    const view = restoreProgress("app", false, stream);
    view.update({ phase: "apply", done: 1, total: 2 });
    expect(writes).toEqual([]);
  });

  test("on a terminal draws one rewritten line and clears it at the end", () => {
    const { writes, stream } = fakeStream(true);
    const view = restoreProgress("app", true, stream);
    view.update({ phase: "download", done: 512, total: 1024 });
    view.done();
    expect(writes[0]).toStartWith("\r\x1b[K");
    expect(writes[0]).toContain("restoring app:");
    expect(writes[0]).toContain(" 50%");
    expect(writes.at(-1)).toBe("\r\x1b[K");
  });

  test("says so at once when SQLite's integrity_check starts, which shows no progress of its own", () => {
    const { writes, stream } = fakeStream(true);
    const view = restoreProgress("app", true, stream);
    view.update({ phase: "verify", done: 100, total: 100 });
    view.update({ phase: "integrity", done: 0, total: 1 });
    expect(writes.at(-1)).toContain("checking app: SQLite integrity_check of 100 pages");
    view.update({ phase: "integrity", done: 1, total: 1 });
    expect(writes.at(-1)).not.toContain("integrity_check");
    view.done();
  });
});

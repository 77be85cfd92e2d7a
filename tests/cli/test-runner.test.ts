import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
// @ts-expect-error plain .mjs module without type declarations
import { parseConsoleSummary, parseJunit } from "../../scripts/lib/junit.mjs";
import { repoRoot, tempDir } from "./helpers.ts";

// Each case runs scripts/test.mjs, which runs a nested `bun test`.
setDefaultTimeout(60_000);

describe("JUnit and console summary parsing", () => {
  test("counts passed, failed (failure or error) and skipped test cases", () => {
    const xml = `<testsuites><testsuite>
      <testcase name="a" />
      <testcase name="b"><failure message="x">boom</failure></testcase>
      <testcase name="c"><error message="y" /></testcase>
      <testcase name="d"><skipped /></testcase>
      <testcase name="e"><skipped message="TODO" /></testcase>
    </testsuite></testsuites>`;
    expect(parseJunit(xml)).toEqual({ passed: 1, failed: 2, skipped: 2 });
  });

  test("reads bun's closing count lines, colour codes and all", () => {
    const text = "noise\n\x1b[32m 3 pass\x1b[0m\n 1 skip\n 2 todo\n 4 fail\n 1 error\n 9 expect() calls\nRan 10 tests across 2 files. [5.00ms]\n";
    expect(parseConsoleSummary(text)).toEqual({ pass: 3, fail: 4, skip: 1, todo: 2, error: 1 });
    expect(parseConsoleSummary("Segmentation fault")).toBeNull();
  });
});

describe("npm test (scripts/test.mjs)", () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  function runner(files: Record<string, string>): { code: number; lastLine: string; before: string } {
    const paths = Object.entries(files).map(([name, body]) => {
      const file = join(tmp.dir, name);
      writeFileSync(file, `import { test, expect } from "bun:test";\n${body}\n`);
      return file;
    });
    const r = Bun.spawnSync(["node", join(repoRoot, "scripts", "test.mjs"), ...paths], { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
    const lines = r.stdout.toString().trimEnd().split("\n");
    return { code: r.exitCode, lastLine: lines.at(-1) ?? "", before: lines.at(-2) ?? "" };
  }

  test("ends with exactly `N passed, N failed`, skipped counted the line before, and exits 1 when a test fails", () => {
    const r = runner({ "mixed.test.ts": 'test("ok", () => {});\ntest("bad", () => { expect(1).toBe(2); });\ntest.skip("later", () => {});' });
    expect(r).toEqual({ code: 1, lastLine: "1 passed, 1 failed", before: "1 skipped" });
  });

  test("exits 0 when everything passes, without a skipped count when none were skipped", () => {
    const r = runner({ "green.test.ts": 'test("one", () => {});\ntest("two", () => {});' });
    expect({ code: r.code, lastLine: r.lastLine }).toEqual({ code: 0, lastLine: "2 passed, 0 failed" });
    expect(r.before).not.toMatch(/skipped/);
  });

  test("counts a test file that throws while loading as a failure (bun leaves it out of the JUnit file)", () => {
    const r = runner({ "broken.test.ts": 'throw new Error("cannot load");' });
    expect({ code: r.code, lastLine: r.lastLine }).toEqual({ code: 1, lastLine: "0 passed, 1 failed" });
  });

  test("fails when no test ran, even if bun itself is content", () => {
    expect(runner({ "skipped.test.ts": 'test.skip("later", () => {});' })).toEqual({ code: 1, lastLine: "0 passed, 0 failed", before: "1 skipped" });
    const empty = runner({ "empty.test.ts": "" });
    expect(empty.code).toBe(1);
    expect(empty.lastLine).toMatch(/^0 passed, \d+ failed$/);
  });
});

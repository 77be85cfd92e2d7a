import { describe, expect, test } from "bun:test";
import { levelFromEnv } from "../../src/ops/log.ts";

const [error, warn, info, debug, trace] = [0, 1, 3, 4, 5];

describe("BAKELITE_LOG", () => {
  test("empty or unusable means info", () => {
    for (const value of ["", "loud", "constructor", "aws_sdk=warn", ",,"]) expect(levelFromEnv(value)).toBe(info);
  });

  test("a bare level, in any case, with spaces", () => {
    expect(levelFromEnv("debug")).toBe(debug);
    expect(levelFromEnv(" WARN ")).toBe(warn);
    expect(levelFromEnv("silent")).toBeLessThan(error);
  });

  test("a filter: the entry for bakelite wins wherever it is, other targets are ignored", () => {
    expect(levelFromEnv("info, bakelite=debug")).toBe(debug);
    expect(levelFromEnv("bakelite=debug,aws_sdk=warn")).toBe(debug);
    expect(levelFromEnv("bakelite=trace,error")).toBe(trace);
    expect(levelFromEnv("aws_sdk=trace,warn")).toBe(warn);
  });
});

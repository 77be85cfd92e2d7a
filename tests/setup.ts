/**
 * Test-wide environment: deterministic time zone, no colour, quiet logs. The per-test timeout is
 * passed as `--timeout` by scripts/test.mjs; setting it here reaches only the first test file (Bun 1.4.5).
 */
import { afterAll, setDefaultTimeout } from "bun:test";
import { removeRunScratchDirs } from "./helpers/scratch.ts";

process.env.TZ = "UTC";
process.env.NO_COLOR = "1";
process.env.BAKELITE_LOG ??= "silent";
setDefaultTimeout(60_000);

// A global afterAll in the preload runs once, after the last test file.
afterAll(removeRunScratchDirs);

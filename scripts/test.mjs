#!/usr/bin/env node
/**
 * @module scripts/test
 * `npm test`: bootstraps Bun (see lib/bootstrap.mjs), runs `bun test` with a
 * JUnit report beside the normal console output, and ends with one line
 * `N passed, N failed` (skipped tests, if any, are counted on the line
 * before it, so the last line keeps that exact shape). Extra arguments go to `bun test`
 * (`npm test -- tests/config` runs a subset).
 *
 * Why both the JUnit file and the console: bun 1.4.5 writes JUnit only for
 * tests that ran. A test file that throws while loading is counted as a
 * failure on the console ("1 fail / 1 error") but is missing from the XML,
 * and when it is the only file no XML is written at all. So the summary takes
 * the larger failure count of the two and never trusts a zero when bun itself
 * exited non-zero.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureBun, installDependencies, ensureDebianPackages, repoRoot, say } from "./lib/bootstrap.mjs";
import { parseJunit, parseConsoleSummary } from "./lib/junit.mjs";

/** Hard ceiling for one `bun test` run; well under CI's 30 minutes. */
const RUN_TIMEOUT_MS = Number(process.env.BAKELITE_TEST_TIMEOUT_MS ?? 20 * 60 * 1000);
/** Console tail kept for the summary lines (they come last). */
const TAIL_BYTES = 64 * 1024;

function main() {
  let bun;
  try {
    bun = ensureBun();
    installDependencies(bun);
    ensureDebianPackages();
  } catch (err) {
    say(`error: ${err.message}`);
    finish({ passed: 0, failed: 1, skipped: 0 }, "bootstrap failed");
    return;
  }

  const workDir = mkdtempSync(path.join(os.tmpdir(), "bakelite-test-"));
  const junitPath = path.join(workDir, "junit.xml");
  // --timeout: Bun's setDefaultTimeout() in a preload only reaches the first test file, so the per-test limit is set here.
  const args = ["test", "--timeout=60000", "--reporter=junit", `--reporter-outfile=${junitPath}`, ...process.argv.slice(2)];
  // Own process group, so a timeout can take down bun and every child a test spawned.
  const child = spawn(bun, args, { cwd: repoRoot, stdio: ["inherit", "inherit", "pipe"], detached: true });
  let tail = "";
  child.stderr.on("data", (chunk) => {
    process.stderr.write(chunk);
    tail = (tail + chunk.toString("utf8")).slice(-TAIL_BYTES);
  });

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    say(`error: bun test exceeded ${Math.round(RUN_TIMEOUT_MS / 60000)} minutes; killing it`);
    killGroup(child.pid, "SIGTERM");
    setTimeout(() => killGroup(child.pid, "SIGKILL"), 10_000).unref();
  }, RUN_TIMEOUT_MS);

  const forward = (signal) => killGroup(child.pid, signal);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);

  child.on("error", (err) => {
    clearTimeout(timer);
    say(`error: could not start bun: ${err.message}`);
    finish({ passed: 0, failed: 1, skipped: 0 }, "bun did not start");
  });
  child.on("close", (code, signal) => {
    clearTimeout(timer);
    const xml = existsSync(junitPath) ? readFileSync(junitPath, "utf8") : null;
    rmSync(workDir, { recursive: true, force: true });
    finish(...summarize({ xml, tail, code, signal, timedOut }));
  });
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Combines the JUnit counts, the console summary and bun's exit status into one verdict. */
function summarize({ xml, tail, code, signal, timedOut }) {
  const junit = xml ? parseJunit(xml) : null;
  const consoleCounts = parseConsoleSummary(tail);
  const counts = {
    passed: junit?.passed ?? consoleCounts?.pass ?? 0,
    failed: Math.max(junit?.failed ?? 0, consoleCounts?.fail ?? 0),
    skipped: junit?.skipped ?? (consoleCounts ? consoleCounts.skip + consoleCounts.todo : 0),
  };
  if (timedOut) return [{ ...counts, failed: counts.failed + 1 }, "timed out"];
  if (signal) return [{ ...counts, failed: counts.failed + 1 }, `bun was killed by ${signal}`];
  if (code !== 0 && counts.failed === 0) return [{ ...counts, failed: 1 }, `bun test exited with code ${code}`];
  if (counts.passed + counts.failed === 0) return [counts, "no tests ran"];
  return [counts, null];
}

function finish(counts, problem) {
  if (problem) say(`error: ${problem}`);
  const skipped = counts.skipped > 0 ? `${counts.skipped} skipped\n` : "";
  const line = `${skipped}${counts.passed} passed, ${counts.failed} failed`;
  const code = counts.failed > 0 || problem ? 1 : 0;
  // Pipes are asynchronous in Node: let bun's forwarded stderr drain first so
  // the summary really is the last line when both streams share one log.
  process.stderr.write("", () => {
    process.stdout.write(`${line}\n`, () => process.exit(code));
  });
}

main();

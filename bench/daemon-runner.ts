/**
 * @module bench/daemon-runner
 * `bun bench/daemon-runner.ts <config.toml>`: the daemon as its own process,
 * exactly as `bakelite daemon` runs it (runDaemon with SIGTERM/SIGINT
 * handling), without the CLI's flag parsing, so the benchmark measures the
 * engine and keeps working while the CLI changes. It must be a separate
 * process: bun:sqlite is synchronous, and a writer in the same process that
 * waits on a lock would stall the daemon's event loop and the measurement.
 *
 * Exit status: 0 after a clean stop, 1 with a one-line message otherwise.
 */
import { tuneAllocator } from "../src/cli/allocator.ts";

// As `bakelite daemon` runs: restarted once with the allocator tuned
// (src/cli/allocator.ts), before the engine's modules are loaded (the CLI's
// entry point likewise loads only its parser first).
tuneAllocator("daemon");
const { loadConfig } = await import("../src/config/load.ts");
const { runDaemon } = await import("../src/engine/daemon.ts");
const { toBakeliteError } = await import("../src/errors.ts");

const configPath = process.argv[2];
if (!configPath) {
  console.error("usage: bun bench/daemon-runner.ts <config.toml>");
  process.exit(2);
}

try {
  const config = await loadConfig(configPath);
  await runDaemon(config, { databases: config.databases, handleSignals: true });
  process.exit(0);
} catch (err) {
  const e = toBakeliteError(err, "IO");
  console.error(`daemon-runner: ${e.message}${e.hint ? ` (${e.hint})` : ""}`);
  process.exit(e.exitCode);
}

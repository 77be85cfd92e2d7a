import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { existsSync, readFileSync } from "node:fs";
import { repoRoot, runCli, sqliteCount, sqliteIntegrity, startDaemon, tempDir, waitFor } from "./helpers.ts";
import { makeReplica, type ReplicaFixture } from "./replica-fixture.ts";

// Real daemons and child processes: more than bun's 5 s default on a loaded machine.
setDefaultTimeout(30_000);

// The release artefact is the compiled executable, so the whole user path
// (daemon, list, restore) runs through a freshly built one at least once.
const build = tempDir();
const binary = join(build.dir, "bakelite");
let fx: ReplicaFixture;
let buildOutput = "";

beforeAll(async () => {
  const proc = Bun.spawnSync([process.execPath, join(repoRoot, "scripts", "build.ts"), "--outfile", binary], { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
  buildOutput = proc.stdout.toString() + proc.stderr.toString();
  if (proc.exitCode !== 0) throw new Error(`build failed:\n${buildOutput}`);
  fx = await makeReplica([20, 20], [], { binary });
}, 120_000);

afterAll(() => {
  fx?.cleanup();
  build.cleanup();
});

describe("the compiled binary", () => {
  test("the build smoke-tests it and reports size, native addons and start-up time", () => {
    expect(buildOutput).toMatch(/built .*bakelite: [\d.]+ MiB, native addons ok, --version in \d+ ms/);
  });

  test("prints its version without package.json nearby", async () => {
    const r = await runCli(["--version"], { binary, cwd: build.dir });
    expect(r).toEqual({ code: 0, stdout: `bakelite ${pkg.version}\n`, stderr: "" });
  });

  test("runs daemon, list and restore end to end", async () => {
    const list = await runCli(["list", "--json", "--config", fx.config], { binary, cwd: build.dir });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).databases[0].latestTxid).toBe(fx.batches.at(-1)!.txid);
    const output = join(fx.dir, "restored.db");
    const r = await runCli(["restore", "--db", "app", "--output", output, "--config", fx.config], { binary, cwd: build.dir });
    expect(r.code).toBe(0);
    expect(sqliteCount(output)).toBe(40);
    expect(sqliteIntegrity(output)).toBe("ok");
    const pit = join(fx.dir, "pit.db");
    const p = await runCli(["restore", "--db", "app", "--output", pit, "--txid", String(fx.batches[0].txid), "--config", fx.config], { binary, cwd: build.dir });
    expect(p.code).toBe(0);
    expect(sqliteCount(pit)).toBe(20);
  });

  test("reports errors the same way as the source CLI", async () => {
    const r = await runCli(["restore", "--bogus"], { binary, cwd: build.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: unknown flag --bogus for bakelite restore");
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  // src/cli/allocator.ts: the daemon restarts itself with execve, so the service manager's pid stays its pid.
  test.skipIf(!existsSync("/proc/self/environ"))("the daemon restarts itself once with the allocator tuned, keeping its pid; a value the user set is kept", async () => {
    const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
    for (const [given, expected] of [[undefined, "MIMALLOC_PURGE_DELAY=1000"], ["250", "MIMALLOC_PURGE_DELAY=250"]] as const) {
      const daemon = startDaemon(["--config", fx.config, "--db", "app"], { binary, cwd: build.dir, env: { MIMALLOC_PURGE_DELAY: given } });
      try {
        await waitFor("the daemon to start", () => daemon.log().includes("daemon started for app"));
        expect(environ(daemon.proc.pid)).toContain(expected);
      } finally {
        expect(await daemon.stop()).toBe(0);
      }
    }
  });

  test("BAKELITE_SELF_CHECK=native reports the addons it loaded", async () => {
    const r = await runCli([], { binary, cwd: build.dir, env: { BAKELITE_SELF_CHECK: "native" } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ blake3: "native", lz4: "ok" });
  });
});

/**
 * When a command restarts itself with the allocator tuned (src/cli/allocator.ts),
 * and with which arguments. The restart itself is checked end to end with the
 * compiled binary in binary.test.ts.
 */
import { expect, test } from "bun:test";
import { PURGE_DELAY_ENV, allocatorReexec } from "../../src/cli/allocator.ts";

const fromSource = {
  env: { PATH: "/usr/bin" } as Record<string, string | undefined>,
  platform: "linux" as NodeJS.Platform,
  execPath: "/usr/local/bin/bun",
  execArgv: ["--smol"],
  argv: ["/usr/local/bin/bun", "/src/cli/main.ts", "restore", "--db", "app"],
  argv0: "bun",
};
const compiled = { ...fromSource, execPath: "/usr/local/bin/bakelite", execArgv: [], argv: ["bun", "/$bunfs/root/bakelite", "daemon", "--config", "x.toml"], argv0: "bakelite" };

test("the commands that stream whole databases restart with the purge delay set; the others do not", () => {
  for (const command of ["daemon", "restore", "verify", "compact", "reencrypt"]) {
    expect(allocatorReexec(command, fromSource, "/src/cli/main.ts")?.env[PURGE_DELAY_ENV]).toBe("1000");
  }
  for (const command of [undefined, "list", "status", "init", "doctor", "keygen", "usage", "reclaim", "repair"]) {
    expect(allocatorReexec(command, fromSource, "/src/cli/main.ts")).toBeNull();
  }
});

test("a value already in the environment (the user's, or the restart's own) is kept: no restart, no loop", () => {
  expect(allocatorReexec("daemon", { ...fromSource, env: { [PURGE_DELAY_ENV]: "250" } }, "/src/cli/main.ts")).toBeNull();
  expect(allocatorReexec("daemon", { ...fromSource, env: { [PURGE_DELAY_ENV]: "" } }, "/src/cli/main.ts")).toBeNull();
});

test("no restart where there is no execve", () => {
  expect(allocatorReexec("daemon", { ...fromSource, platform: "win32" }, "/src/cli/main.ts")).toBeNull();
});

test("the same program, arguments and environment otherwise, from source and compiled", () => {
  expect(allocatorReexec("restore", fromSource, "/src/cli/main.ts")).toEqual({
    file: "/usr/local/bin/bun",
    args: ["bun", "--smol", "/src/cli/main.ts", "restore", "--db", "app"],
    env: { PATH: "/usr/bin", [PURGE_DELAY_ENV]: "1000" },
  });
  expect(allocatorReexec("daemon", compiled, "/$bunfs/root/bakelite")).toEqual({
    file: "/usr/local/bin/bakelite",
    args: ["bakelite", "daemon", "--config", "x.toml"],
    env: { PATH: "/usr/bin", [PURGE_DELAY_ENV]: "1000" },
  });
});

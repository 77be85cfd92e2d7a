import { describe, expect, test } from "bun:test";
import { COMMANDS } from "../../src/cli/registry.ts";
import { runCli } from "./helpers.ts";

const ALL = ["init", "daemon", "list", "status", "usage", "reclaim", "restore", "compact", "verify", "repair", "keygen", "reencrypt", "doctor"];
const planned = COMMANDS.filter((c) => !c.implemented).map((c) => c.name);

describe("bakelite --help", () => {
  test("lists every command of the reference and the global flags, on stdout, exit 0", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    for (const name of ALL) expect(r.stdout).toMatch(new RegExp(`^  ${name}\\s`, "m"));
    for (const flag of ["--config", "--json", "--verbose", "--quiet", "--version"]) expect(r.stdout).toContain(flag);
    expect(r.stderr).toBe("");
  });

  test("marks the commands this build does not run yet, and only those", async () => {
    const r = await runCli(["-h"]);
    for (const name of ALL) {
      const line = r.stdout.split("\n").find((l) => l.startsWith(`  ${name} `))!;
      expect(line.endsWith("(not implemented yet)")).toBe(planned.includes(name));
    }
  });

  test("without a command prints the help to stderr and exits 2", async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("COMMANDS");
    expect(r.stdout).toBe("");
  });

  test("has no colour codes when NO_COLOR is set or stdout is a pipe", async () => {
    const r = await runCli(["--help"], { env: { NO_COLOR: undefined } });
    expect(r.stdout).not.toContain("\x1b[");
  });
});

describe("bakelite <command> --help", () => {
  for (const name of ALL) {
    test(`${name} --help names the command, its flags and the global flags, exit 0`, async () => {
      const r = await runCli([name, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toStartWith(`bakelite ${name}: `);
      expect(r.stdout).toContain(`USAGE bakelite ${name}`);
      expect(r.stdout).toContain("GLOBAL OPTIONS");
    });
  }

  test("restore --help shows every restore flag", async () => {
    const r = await runCli(["restore", "--help"]);
    for (const flag of ["--db <name>", "--output <path>", "--timestamp <time>", "--txid <n>", "--if-db-not-exists", "--if-replica-exists", "--force"]) {
      expect(r.stdout).toContain(flag);
    }
  });

  test("daemon --help shows its flags and that --db repeats", async () => {
    const r = await runCli(["daemon", "--help"]);
    expect(r.stdout).toContain("--max-concurrent-snapshots <n>");
    expect(r.stdout).toContain("--metrics-addr <host:port>");
    expect(r.stdout).toMatch(/--db <name>.*\(repeatable\)/);
  });

  test("help works before the command and with -h after it", async () => {
    const before = await runCli(["--help", "list"]);
    const after = await runCli(["list", "-h"]);
    expect(before.code).toBe(0);
    expect(before.stdout).toStartWith("bakelite list: ");
    expect(after.stdout).toBe(before.stdout);
  });

  test("help wins over invalid flags, so a user can always read it", async () => {
    const r = await runCli(["restore", "--no-such-flag", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("bakelite restore: ");
  });

  test("help wins over mistakes the global flags catch: a flag before the command, a short flag, --verbose with --quiet", async () => {
    const root = (await runCli(["--help"])).stdout;
    for (const args of [["--bogus", "--help"], ["-x", "--help"], ["-x", "-h"]]) {
      const r = await runCli(args);
      expect([r.code, r.stderr]).toEqual([0, ""]);
      expect(r.stdout).toBe(root);
    }
    const list = await runCli(["list", "--help", "--verbose", "--quiet"]);
    expect([list.code, list.stderr]).toEqual([0, ""]);
    expect(list.stdout).toStartWith("bakelite list: ");
  });

  test("-h is help even right after a flag that wants a value", async () => {
    const r = await runCli(["list", "--config", "-h"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("bakelite list: ");
  });

  test("--help after the -- end of options is not help", async () => {
    const r = await runCli(["list", "--", "--help"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith('error: unexpected argument "--help"');
  });
});

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { runCli, tempDir } from "./helpers.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const missing = join(tmp.dir, "nowhere.toml");

describe("--version", () => {
  test("prints `bakelite <package.json version>` and exits 0", async () => {
    const r = await runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`bakelite ${pkg.version}\n`);
    expect(pkg.version).toBe("0.1.0");
  });

  test("also works after a command", async () => {
    const r = await runCli(["list", "--version"]);
    expect(r.stdout).toBe(`bakelite ${pkg.version}\n`);
  });
});

describe("global flags", () => {
  // The config path shows in the not-found error, so it proves which flag won.
  test("--config is accepted before the command", async () => {
    const r = await runCli(["--config", missing, "list"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`config file not found: ${missing}`);
  });

  test("--config is accepted after the command, also as --config=PATH", async () => {
    expect((await runCli(["list", "--config", missing])).stderr).toContain(missing);
    expect((await runCli(["list", `--config=${missing}`])).stderr).toContain(missing);
  });

  test("--config beats BAKELITE_CONFIG, which beats the default", async () => {
    const other = join(tmp.dir, "from-env.toml");
    expect((await runCli(["list", "--config", missing], { env: { BAKELITE_CONFIG: other } })).stderr).toContain(missing);
    expect((await runCli(["list"], { env: { BAKELITE_CONFIG: other } })).stderr).toContain(other);
  });

  // Only meaningful where no real config is installed; skipped (not passed) elsewhere.
  test.skipIf(existsSync("/etc/bakelite/bakelite.toml"))("without --config or BAKELITE_CONFIG the default is /etc/bakelite/bakelite.toml", async () => {
    const r = await runCli(["list"], { env: { BAKELITE_CONFIG: undefined } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("config file not found: /etc/bakelite/bakelite.toml");
  });

  test("--json, --verbose and --quiet are accepted on either side of the command", async () => {
    for (const args of [["--json", "--quiet", "list"], ["list", "--json", "--verbose"], ["--verbose", "list", "--json"]]) {
      const r = await runCli([...args, "--config", missing]);
      expect(r.stderr).toContain("config file not found");
      expect(r.stderr).not.toContain("unknown flag");
    }
  });

  test("--verbose and --quiet together are a usage error", async () => {
    const r = await runCli(["list", "--verbose", "--quiet"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith("error: --verbose and --quiet cannot be used together");
  });

  test("--verbose with --quiet is reported in one line: the conflict does not turn on stack traces", async () => {
    const r = await runCli(["list", "--verbose", "--quiet"]);
    expect(r.stderr).toBe("error: --verbose and --quiet cannot be used together\n");
  });

  test("a global flag given twice is refused, like a command flag", async () => {
    const cases: Array<[string, string[]]> = [
      ["config", ["list", "--config", "a.toml", "--config", "b.toml"]],
      ["json", ["--json", "list", "--json"]],
      ["quiet", ["list", "--quiet", "--quiet"]],
    ];
    for (const [flag, args] of cases) {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`error: --${flag} was given more than once\n`);
    }
  });

  test("--config without a value is a usage error", async () => {
    const r = await runCli(["list", "--config"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: --config needs a value");
  });
});

describe("usage errors exit 2 with a hint", () => {
  test("an unknown command suggests the closest one", async () => {
    const r = await runCli(["restor"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: unknown command "restor"\nhint: Did you mean bakelite restore? Run bakelite --help to see the commands.\n');
  });

  test("an unknown command with nothing close still points at --help", async () => {
    const r = await runCli(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("hint: Run bakelite --help to see the commands.");
  });

  test("an unknown flag names the command and suggests the closest flag", async () => {
    const r = await runCli(["restore", "--if-db-not-exist"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "error: unknown flag --if-db-not-exist for bakelite restore\nhint: Did you mean --if-db-not-exists? Run bakelite restore --help to see its flags.\n",
    );
  });

  test("a command flag before the command is refused with a hint to move it", async () => {
    const r = await runCli(["--db", "app", "restore"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: unknown flag --db before the command");
    expect(r.stderr).toContain("hint: Command flags go after the command name");
  });

  test("short flags other than -h are refused", async () => {
    const r = await runCli(["list", "-v"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: unknown flag -v");
  });

  test("a stray positional argument is refused", async () => {
    const r = await runCli(["restore", "app"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: unexpected argument "app" for bakelite restore');
  });

  test("a value flag without its value is refused", async () => {
    const r = await runCli(["restore", "--db"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: --db needs a value");
  });

  test("a value flag followed by another flag is refused rather than eating it", async () => {
    const r = await runCli(["restore", "--output", "--force"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: --output needs a value");
  });

  test("an empty value is refused like a missing one, for command and global flags", async () => {
    for (const args of [["restore", "--db", "app", "--output", ""], ["restore", "--db", "app", "--output="]]) {
      const r = await runCli([...args, "--config", missing]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe("error: --output needs a value\nhint: Try: --output <path>\n");
    }
    const r = await runCli(["list", "--config", ""]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: --config needs a value\nhint: Try: --config <path>\n");
  });

  test("a negative number or duration is the flag's value, so the flag's own check explains what is wrong", async () => {
    const txid = await runCli(["restore", "--db", "app", "--txid", "-1", "--config", missing]);
    expect(txid.code).toBe(2);
    expect(txid.stderr).toStartWith('error: --txid "-1": expected a whole number');
    expect((await runCli(["restore", "--db", "app", "--txid=-1", "--config", missing])).stderr).toBe(txid.stderr);
    const lag = await runCli(["status", "--max-lag", "-5m", "--config", missing]);
    expect(lag.code).toBe(2);
    expect(lag.stderr).toContain("a duration cannot be negative");
  });

  test("a negative number that follows no flag is still an unknown short flag", async () => {
    const r = await runCli(["restore", "-1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: unknown flag -1");
  });

  test("a boolean flag with a value is refused", async () => {
    const r = await runCli(["restore", "--force=false"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: --force takes no value");
  });

  test("a non-repeatable flag given twice is refused", async () => {
    const r = await runCli(["restore", "--txid", "1", "--txid", "2"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: --txid was given more than once");
  });

  test("restore --timestamp and --txid together are refused before anything is read", async () => {
    const r = await runCli(["restore", "--db", "app", "--timestamp", "1 hour ago", "--txid", "3", "--config", missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith("error: --timestamp and --txid cannot be used together");
  });

  test("restore --timestamp that is not a time says which forms work", async () => {
    const r = await runCli(["restore", "--db", "app", "--timestamp", "yesterday", "--config", missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: invalid time "yesterday"');
    expect(r.stderr).toContain("1 hour ago");
  });

  test("restore --txid must be a whole number", async () => {
    const r = await runCli(["restore", "--db", "app", "--txid", "-3", "--config", missing]);
    expect(r.code).toBe(2);
    const s = await runCli(["restore", "--db", "app", "--txid=1.5", "--config", missing]);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('error: --txid "1.5": expected a whole number');
  });

  test("daemon --max-concurrent-snapshots must be at least 1", async () => {
    const r = await runCli(["daemon", "--max-concurrent-snapshots", "0", "--config", missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("error: --max-concurrent-snapshots \"0\": expected a whole number of at least 1");
  });

  test("daemon --metrics-addr must look like host:port", async () => {
    const r = await runCli(["daemon", "--metrics-addr", "9090", "--config", missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("expected host:port");
  });
});

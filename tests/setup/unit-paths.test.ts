import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UNIT_FILES, unitText } from "../../src/setup/systemd.ts";
import { execArg, renderUnit, repointLines, SHIPPED_PATHS } from "../../src/setup/unit-paths.ts";

const analyze = Bun.which("systemd-analyze");
const scratch = mkdtempSync(join(tmpdir(), "bakelite-unit-paths-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const target = { configPath: "/srv/app/bakelite.toml", envFile: "/srv/app/bakelite.env" };

describe("rendering the shipped units with init's paths", () => {
  test("replaces the executable, the config and the env file, and nothing else", () => {
    const text = unitText("bakelite-verify-deep.service", { binary: "/opt/bin/bakelite", ...target });
    expect(text).toContain("\nExecStart=/opt/bin/bakelite verify --deep --config /srv/app/bakelite.toml\n");
    expect(text).toContain("\nEnvironmentFile=-/srv/app/bakelite.env\n");
    expect(text.replace(/^(ExecStart|EnvironmentFile)=.*$/gm, "")).toBe(UNIT_FILES["bakelite-verify-deep.service"].replace(/^(ExecStart|EnvironmentFile)=.*$/gm, ""));
  });

  test("the shipped paths render the shipped unit unchanged", () => {
    for (const unit of Object.keys(UNIT_FILES)) expect(unitText(unit, SHIPPED_PATHS)).toBe(UNIT_FILES[unit]);
  });

  test("ExecStart arguments escape specifiers and variables, and are quoted when they hold a blank or a quote", () => {
    expect(execArg("/etc/bakelite/bakelite.toml")).toBe("/etc/bakelite/bakelite.toml");
    expect(execArg("/srv/100%/a$b.toml")).toBe("/srv/100%%/a$$b.toml");
    expect(execArg("/opt/100%/bake$lite", true)).toBe("/opt/100%%/bake$lite");
    expect(execArg('/srv/my app/"x".toml')).toBe('"/srv/my app/\\"x\\".toml"');
  });

  test.skipIf(!analyze)("systemd reads the awkward paths back as the files they name (skipped without systemd-analyze)", () => {
    const dir = join(scratch, "my 100% dir");
    mkdirSync(dir, { recursive: true });
    const binary = join(dir, "bake$lite");
    writeFileSync(binary, "#!/bin/sh\nexit 0\n");
    chmodSync(binary, 0o755);
    const unit = join(scratch, "bakelite.service");
    writeFileSync(unit, renderUnit(UNIT_FILES["bakelite.service"], { binary, configPath: join(dir, "bakelite.toml"), envFile: join(dir, "bakelite.env") }));
    // verify fails when ExecStart's executable does not exist, so a badly quoted path would show here.
    const r = Bun.spawnSync([analyze!, "verify", unit], { cwd: scratch, env: { ...process.env, SYSTEMD_LOG_COLOR: "0" } });
    expect(r.stdout.toString() + r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    // The drop-in that re-points this installed unit is read without a warning too (verify reads <unit>.d/, as a bad key shows).
    const lines = repointLines(readFileSync(unit, "utf8"), { configPath: join(dir, "a $b.toml"), envFile: join(dir, "other.env") });
    expect(lines).toHaveLength(4);
    mkdirSync(join(scratch, "bakelite.service.d"));
    const verify = (extra: string[]) => {
      writeFileSync(join(scratch, "bakelite.service.d", "20-bakelite-paths.conf"), ["[Service]", ...lines, ...extra, ""].join("\n"));
      const v = Bun.spawnSync([analyze!, "verify", unit], { cwd: scratch, env: { ...process.env, SYSTEMD_LOG_COLOR: "0" } });
      return v.stdout.toString() + v.stderr.toString();
    };
    expect(verify(["BogusKey=1"])).toContain("Unknown key 'BogusKey'");
    expect(verify([])).toBe("");
  });
});

describe("re-pointing an installed unit", () => {
  test("restates every ExecStart with only --config changed, and moves only the bakelite.env EnvironmentFile", () => {
    const unit = [
      "[Unit]",
      "Description=x",
      "ExecStart=/not/a/service/line --config /a",
      "[Service]",
      "Type=oneshot",
      "ExecStart=/usr/bin/bakelite verify --config=/etc/bakelite/bakelite.toml",
      "ExecStart=/usr/bin/bakelite verify --deep \\",
      "  --config '/etc/bakelite/old file.toml'",
      "EnvironmentFile=/etc/default/other",
      "EnvironmentFile=-/etc/bakelite/bakelite.env",
      "",
    ].join("\n");
    expect(repointLines(unit, target)).toEqual([
      "ExecStart=",
      "ExecStart=/usr/bin/bakelite verify --config /srv/app/bakelite.toml",
      "ExecStart=/usr/bin/bakelite verify --deep --config /srv/app/bakelite.toml",
      "EnvironmentFile=",
      "EnvironmentFile=/etc/default/other",
      "EnvironmentFile=-/srv/app/bakelite.env",
    ]);
  });

  test("a unit that already runs those paths needs nothing; one without --config gets it appended", () => {
    expect(repointLines(unitText("bakelite.service", { ...SHIPPED_PATHS, ...target }), target)).toEqual([]);
    expect(repointLines("[Service]\nExecStart=/usr/bin/bakelite daemon\n", target)).toEqual(["ExecStart=", "ExecStart=/usr/bin/bakelite daemon --config /srv/app/bakelite.toml"]);
  });
});

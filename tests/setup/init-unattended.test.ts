import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { parseEnvFile } from "../../src/config/env-file.ts";
import { generateKeyString, readKeyFile } from "../../src/format/key-string.ts";
import { RECIPES } from "../../src/setup/recipes.ts";
import { PATHS_DROP_IN_NAME, SERVICES, UNIT_FILES, unitText } from "../../src/setup/systemd.ts";
import { SHIPPED_PATHS } from "../../src/setup/unit-paths.ts";
import { openAppDb, tempDir } from "../helpers/fixtures.ts";
import { runCli } from "../ops/cli.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** A temporary root: etc and systemd directories redirected, a WAL database owned by nobody. */
function root() {
  const t = tempDir("init");
  cleanups.push(t.cleanup);
  const data = join(t.dir, "data");
  mkdirSync(data);
  const dbPath = join(data, "app.db");
  const db = openAppDb(dbPath);
  db.exec("CREATE TABLE t (x)");
  db.close();
  Bun.spawnSync(["chown", "-R", "nobody:nogroup", data]);
  const env = { BAKELITE_ETC_DIR: join(t.dir, "etc"), BAKELITE_SYSTEMD_DIR: join(t.dir, "systemd") };
  return { dir: t.dir, env, dbPath, backups: join(t.dir, "backups"), etc: env.BAKELITE_ETC_DIR, systemd: env.BAKELITE_SYSTEMD_DIR };
}

const uidOf = (user: string) => Number(Bun.spawnSync(["id", "-u", user]).stdout.toString());
const owner = (path: string) => statSync(path).uid;
const mode = (path: string) => statSync(path).mode & 0o777;

/**
 * What systemd would run for `key` (ExecStart, EnvironmentFile) of `unit`:
 * the unit's assignments, then each drop-in's in name order, where an empty
 * assignment empties the list.
 */
function effective(systemdDir: string, unit: string, key: string): string[] {
  const dropInDir = join(systemdDir, `${unit}.d`);
  const dropIns = existsSync(dropInDir) ? readdirSync(dropInDir).filter((f) => f.endsWith(".conf")).sort().map((f) => join(dropInDir, f)) : [];
  let values: string[] = [];
  for (const file of [join(systemdDir, unit), ...dropIns]) {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      if (!line.startsWith(`${key}=`)) continue;
      const value = line.slice(key.length + 1);
      values = value === "" ? [] : [...values, value];
    }
  }
  return values;
}

/** The command each shipped service runs, without its executable and --config (e.g. "verify --deep"). */
const shippedCommand = (unit: string) => /^ExecStart=\S+ (.*) --config \S+$/m.exec(UNIT_FILES[unit])![1];

function fullArgs(r: ReturnType<typeof root>, extra: string[] = []): string[] {
  return ["init", "--yes", "--db-path", r.dbPath, "--backup-dir", r.backups, "--encrypt", "--service-user", "nobody", "--enable", ...extra];
}

describe("init --yes --db-path (unattended local setup)", () => {
  test("writes a valid config, a 0600 key re-homed to the service user, the backup dir, units and drop-ins, then passes doctor", async () => {
    const r = root();
    const res = await runCli(fullArgs(r), r.env);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const configPath = join(r.etc, "bakelite.toml");
    const config = await loadConfig(configPath, { env: {} });
    expect(config.databases.map((d) => [d.name, d.path])).toEqual([["app", r.dbPath]]);
    expect(config.databases[0].backends).toEqual([expect.objectContaining({ type: "file", path: r.backups })]);
    expect(config.databases[0].encryption?.keyFile).toBe(join(r.etc, "key.txt"));

    const keyFile = join(r.etc, "key.txt");
    expect(readKeyFile(keyFile)).toHaveLength(32);
    expect(mode(keyFile)).toBe(0o600);
    expect(owner(keyFile)).toBe(uidOf("nobody"));
    expect(mode(r.backups)).toBe(0o700);
    expect(owner(r.backups)).toBe(uidOf("nobody"));

    expect(readdirSync(r.systemd).filter((f) => !f.endsWith(".d")).sort()).toEqual([
      "bakelite-check.service", "bakelite-check.timer", "bakelite-verify-deep.service", "bakelite-verify-deep.timer",
      "bakelite-verify.service", "bakelite-verify.timer", "bakelite.service",
    ]);
    expect(res.stdout).toContain("systemd: not installing bakelite-repair.service, bakelite-repair.timer: this build has no bakelite repair");
    for (const unit of SERVICES) {
      const dropIn = readFileSync(join(r.systemd, `${unit}.d`, "10-bakelite-init.conf"), "utf8");
      expect(dropIn).toContain("[Service]\nUser=nobody\nGroup=nogroup\n");
      expect(dropIn).toContain(`ReadWritePaths=${join(r.dir, "data")} ${r.backups}\n`);
    }
    expect(res.stdout).toContain(`systemd: not enabling (the units went to ${r.systemd}, not the system directory); would run: systemctl daemon-reload && systemctl enable --now bakelite.service`);
    expect(res.stdout).toMatch(/^ {2}ok\s+backend\s/m);
    expect(res.stdout).not.toMatch(/FAIL/);
  });

  test("a re-run with the same flags changes nothing and keeps the key", async () => {
    const r = root();
    expect((await runCli(fullArgs(r), r.env)).code).toBe(0);
    const key = readFileSync(join(r.etc, "key.txt"), "utf8");
    const again = await runCli(fullArgs(r), r.env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("key: kept the existing");
    expect(again.stdout).toContain(`config: unchanged ${join(r.etc, "bakelite.toml")}`);
    expect(again.stdout.match(/^systemd: unchanged /gm)).toHaveLength(SERVICES.length);
    expect(again.stdout).not.toContain("installed");
    expect(readFileSync(join(r.etc, "key.txt"), "utf8")).toBe(key);
  });

  test("a different setup is refused without --force; --force replaces the config (keeping a .bak) but never the key", async () => {
    const r = root();
    expect((await runCli(fullArgs(r), r.env)).code).toBe(0);
    const configPath = join(r.etc, "bakelite.toml");
    const before = readFileSync(configPath, "utf8");
    const key = readFileSync(join(r.etc, "key.txt"), "utf8");
    const refused = await runCli(fullArgs(r, ["--db-name", "other"]), r.env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`error: ${configPath} already exists with different contents; not overwriting it`);
    expect(refused.stderr).toContain("hint: Re-run with --force");
    expect(readFileSync(configPath, "utf8")).toBe(before);

    const forced = await runCli(fullArgs(r, ["--db-name", "other", "--force"]), r.env);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`config: replaced ${configPath} (previous kept as ${configPath}.bak)`);
    expect(readFileSync(`${configPath}.bak`, "utf8")).toBe(before);
    expect((await loadConfig(configPath, { env: {} })).databases[0].name).toBe("other");
    expect(readFileSync(join(r.etc, "key.txt"), "utf8")).toBe(key);
  });

  test("a masked bakelite.service is unmasked", async () => {
    const r = root();
    mkdirSync(r.systemd, { recursive: true });
    symlinkSync("/dev/null", join(r.systemd, "bakelite.service"));
    const res = await runCli(fullArgs(r), r.env);
    expect(res.stdout).toContain("systemd: unmasked bakelite.service");
    expect(lstatSync(join(r.systemd, "bakelite.service")).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(r.systemd, "bakelite.service"), "utf8")).toBe(
      unitText("bakelite.service", { ...SHIPPED_PATHS, configPath: join(r.etc, "bakelite.toml"), envFile: join(r.etc, "bakelite.env") }),
    );
  });

  test("every unit it installs runs the config it wrote and reads the env file beside it, wherever --config and BAKELITE_ETC_DIR put them", async () => {
    const r = root();
    const configPath = join(r.dir, "custom", "bakelite.toml");
    const res = await runCli(fullArgs(r, ["--config", configPath]), r.env);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    for (const unit of SERVICES) {
      expect(effective(r.systemd, unit, "ExecStart")).toEqual([`${SHIPPED_PATHS.binary} ${shippedCommand(unit)} --config ${configPath}`]);
      expect(effective(r.systemd, unit, "EnvironmentFile")).toEqual([`-${join(r.etc, "bakelite.env")}`]);
    }
    // Written into the units themselves: nothing is left pointing at /etc/bakelite.
    for (const file of readdirSync(r.systemd).filter((f) => !f.endsWith(".d"))) {
      expect(readFileSync(join(r.systemd, file), "utf8")).not.toContain("/etc/bakelite/");
    }
    expect(existsSync(join(r.systemd, "bakelite.service.d", PATHS_DROP_IN_NAME))).toBe(false);
  });

  test("units already installed with the shipped paths (as install.sh leaves them) are pointed at the config by a drop-in; a re-run leaves it alone", async () => {
    const r = root();
    mkdirSync(r.systemd, { recursive: true });
    for (const unit of Object.keys(UNIT_FILES)) writeFileSync(join(r.systemd, unit), UNIT_FILES[unit]);
    const configPath = join(r.dir, "my config", "bakelite.toml");
    const res = await runCli(fullArgs(r, ["--config", configPath]), r.env);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).not.toContain("systemd: installed");
    for (const unit of SERVICES) {
      expect(readFileSync(join(r.systemd, unit), "utf8")).toBe(UNIT_FILES[unit]);
      // The executable and flags stay as installed; only the config (quoted: it has a space) and env file change.
      expect(effective(r.systemd, unit, "ExecStart")).toEqual([`${SHIPPED_PATHS.binary} ${shippedCommand(unit)} --config "${configPath}"`]);
      expect(effective(r.systemd, unit, "EnvironmentFile")).toEqual([`-${join(r.etc, "bakelite.env")}`]);
      expect(res.stdout).toContain(`systemd: created ${join(r.systemd, `${unit}.d`, PATHS_DROP_IN_NAME)} (runs ${configPath})`);
    }
    const again = await runCli(fullArgs(r, ["--config", configPath]), r.env);
    expect(again.code).toBe(0);
    expect(again.stdout.match(/^systemd: unchanged .*20-bakelite-paths\.conf/gm)).toHaveLength(SERVICES.length);
  });

  test("a paths drop-in the unit no longer needs is removed only with --force (kept as .bak)", async () => {
    const r = root();
    mkdirSync(r.systemd, { recursive: true });
    for (const unit of Object.keys(UNIT_FILES)) writeFileSync(join(r.systemd, unit), UNIT_FILES[unit]);
    expect((await runCli(fullArgs(r), r.env)).code).toBe(0);
    const dropIn = join(r.systemd, "bakelite.service.d", PATHS_DROP_IN_NAME);
    const before = readFileSync(dropIn, "utf8");
    // The admin edits the units to name the config themselves.
    const own = { ...SHIPPED_PATHS, configPath: join(r.etc, "bakelite.toml"), envFile: join(r.etc, "bakelite.env") };
    for (const unit of Object.keys(UNIT_FILES)) writeFileSync(join(r.systemd, unit), unitText(unit, own));
    const refused = await runCli(fullArgs(r), r.env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`error: ${dropIn} points bakelite.service at another config than the one init wrote; not removing it`);
    expect(readFileSync(dropIn, "utf8")).toBe(before);
    const forced = await runCli(fullArgs(r, ["--force"]), r.env);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`systemd: removed ${dropIn} (the unit names the config itself); previous kept as ${dropIn}.bak`);
    expect(existsSync(dropIn)).toBe(false);
    expect(effective(r.systemd, "bakelite.service", "ExecStart")).toEqual([`${SHIPPED_PATHS.binary} daemon --config ${own.configPath}`]);
  });

  test("an earlier install's repair timer is reported, not enabled or touched", async () => {
    const r = root();
    mkdirSync(r.systemd, { recursive: true });
    const timer = join(r.systemd, "bakelite-repair.timer");
    writeFileSync(timer, "[Timer]\nOnCalendar=weekly\n");
    const res = await runCli(fullArgs(r), r.env);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`warning: ${timer} (from an earlier install) runs bakelite repair, which this build does not have; keep it disabled: systemctl disable --now bakelite-repair.timer`);
    expect(readFileSync(timer, "utf8")).toBe("[Timer]\nOnCalendar=weekly\n");
    expect(existsSync(join(r.systemd, "bakelite-repair.service.d"))).toBe(false);
  });

  test("without --service-user it writes no drop-in; with an existing --key-file it uses that key", async () => {
    const r = root();
    const keyFile = join(r.dir, "my.key");
    writeFileSync(keyFile, "BAKELITE-KEY-V1-nonsense\n");
    const bad = await runCli(["init", "--yes", "--db-path", r.dbPath, "--backup-dir", r.backups, "--key-file", keyFile], r.env);
    expect(bad.code).toBe(2);
    expect(existsSync(join(r.etc, "bakelite.toml"))).toBe(false);
    writeFileSync(keyFile, `${generateKeyString()}\n`, { mode: 0o600 });
    const plain = await runCli(["init", "--yes", "--db-path", r.dbPath, "--backup-dir", r.backups, "--key-file", keyFile], r.env);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(`key: using ${keyFile}`);
    expect((await loadConfig(join(r.etc, "bakelite.toml"), { env: {} })).databases[0].encryption?.keyFile).toBe(keyFile);
    expect(existsSync(r.systemd)).toBe(false);
    expect(existsSync(join(r.etc, "key.txt"))).toBe(false);
  });

  test("bad input is a usage error that writes nothing", async () => {
    const r = root();
    const cases: Array<[string[], string]> = [
      [["init", "--db-path", r.dbPath], "--db-path runs the unattended setup; add --yes"],
      [["init", "--yes", "--db-path", r.dbPath, "--encrypt", "--key-file", "/k"], "give --encrypt or --key-file, not both"],
      [["init", "--yes", "--db-path", r.dbPath, "--service-user", "no-such-user-xyz"], "no such user: no-such-user-xyz"],
      [["init", "--yes", "--db-path", r.dbPath, "--service-group", "nogroup"], "--service-group needs --service-user"],
      [["init", "--yes", "--db-path", r.dbPath, "--db-name", "a/b"], 'database name "a/b" is not usable'],
      [["init", "--yes", "--db-path", r.dbPath, "--recipe", "s3"], "--recipe s3 cannot be expressed with flags"],
    ];
    for (const [args, message] of cases) {
      const res = await runCli(args, r.env);
      expect(res.code).toBe(2);
      expect(res.stderr).toContain(message);
    }
    expect(existsSync(r.etc)).toBe(false);
  });

  test("the setup it writes runs: the daemon replicates with it and status --check passes", async () => {
    const r = root();
    expect((await runCli(["init", "--yes", "--db-path", r.dbPath, "--backup-dir", r.backups], r.env)).code).toBe(0);
    const configPath = join(r.etc, "bakelite.toml");
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "..", "helpers", "daemon-runner.ts"), configPath], { stdout: "ignore", stderr: "pipe", env: { ...process.env, BAKELITE_LOG: "silent" } });
    try {
      const deadline = Date.now() + 20_000;
      let check = await runCli(["status", "--check", "--config", configPath], r.env);
      while (check.code !== 0 && Date.now() < deadline) {
        await Bun.sleep(100);
        check = await runCli(["status", "--check", "--config", configPath], r.env);
      }
      expect(check).toEqual({ code: 0, stdout: "", stderr: "" });
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
    }
  });
});

describe("init --recipe NAME --yes (starter config)", () => {
  test("every recipe scaffolds a config the loader accepts", async () => {
    for (const recipe of RECIPES) {
      const r = root();
      const res = await runCli(["init", "--recipe", recipe.name, "--yes"], r.env);
      expect(res.code).toBe(0);
      const config = await loadConfig(join(r.etc, "bakelite.toml"), { env: {} });
      const expected: string = ["file", "gcs", "azure", "sftp"].includes(recipe.name) ? recipe.name : "s3";
      expect(config.databases[0].backends[0].type as string).toBe(expected);
    }
  });

  test("s3 also writes a 0600 env file of commented placeholders; a re-run is unchanged, a changed config needs --force", async () => {
    const r = root();
    const res = await runCli(["init", "--recipe", "s3", "--yes"], r.env);
    expect(res.stdout).toContain(`credentials: created ${join(r.etc, "bakelite.env")} (mode 0600) with placeholders for AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY`);
    const envFile = join(r.etc, "bakelite.env");
    expect(mode(envFile)).toBe(0o600);
    const text = readFileSync(envFile, "utf8");
    expect(text).toContain("#AWS_SECRET_ACCESS_KEY=");
    expect(parseEnvFile(text, envFile)).toEqual([]);
    expect((await runCli(["init", "--recipe", "s3", "--yes"], r.env)).stdout).toContain("config: unchanged");
    const other = await runCli(["init", "--recipe", "gcs", "--yes"], r.env);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("already exists with different contents");
  });

  test("an unknown recipe names the ones that exist", async () => {
    const r = root();
    const res = await runCli(["init", "--recipe", "dropbox", "--yes"], r.env);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('unknown recipe "dropbox"');
    expect(res.stderr).toContain("Recipes: file, s3, r2, b2, minio, gcs, azure, sftp.");
  });
});

describe("init --yes --service-user against an existing config", () => {
  test("writes drop-ins whose ReadWritePaths come from the config's databases and local destinations", async () => {
    const r = root();
    expect((await runCli(["init", "--yes", "--db-path", r.dbPath, "--backup-dir", r.backups], r.env)).code).toBe(0);
    const res = await runCli(["init", "--yes", "--service-user", "nobody"], r.env);
    expect(res.code).toBe(0);
    const dropIn = readFileSync(join(r.systemd, "bakelite.service.d", "10-bakelite-init.conf"), "utf8");
    expect(dropIn).toContain(`ReadWritePaths=${join(r.dir, "data")} ${r.backups}\n`);
    expect(effective(r.systemd, "bakelite.service", "ExecStart")).toEqual([`${SHIPPED_PATHS.binary} daemon --config ${join(r.etc, "bakelite.toml")}`]);
  });

  test("without a config it says how to write one", async () => {
    const r = root();
    const res = await runCli(["init", "--yes", "--service-user", "nobody"], r.env);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("no config at");
  });

  test("the wizard refuses to run without a terminal", async () => {
    const r = root();
    const res = await runCli(["init"], r.env);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("the init wizard needs a terminal");
  });
});

import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { readKeyFile } from "../../src/format/key-string.ts";
import { SERVICES } from "../../src/setup/systemd.ts";
import { openAppDb, tempDir } from "../helpers/fixtures.ts";
import { Terminal } from "./tmux.ts";

setDefaultTimeout(60_000);
const mainTs = resolve(import.meta.dir, "..", "..", "src", "cli", "main.ts");
const hasTmux = Bun.which("tmux") !== null;

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function root() {
  const t = tempDir("wizard");
  cleanups.push(t.cleanup);
  const data = join(t.dir, "data");
  mkdirSync(data);
  const dbPath = join(data, "app.db");
  const db = openAppDb(dbPath);
  db.exec("CREATE TABLE t (x)");
  db.close();
  Bun.spawnSync(["chown", "-R", "nobody:nogroup", data]);
  const etc = join(t.dir, "etc");
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: t.dir, TZ: "UTC", BAKELITE_LOG: "warn",
    BAKELITE_ETC_DIR: etc, BAKELITE_SYSTEMD_DIR: join(t.dir, "systemd"),
  };
  return { dir: t.dir, dbPath, etc, systemd: env.BAKELITE_SYSTEMD_DIR, backups: join(t.dir, "backups"), env };
}

function terminal(r: ReturnType<typeof root>): Terminal {
  const term = new Terminal(`${process.execPath} ${mainTs} init`, r.env);
  cleanups.push(() => term.close());
  return term;
}

const nobody = Number(Bun.spawnSync(["id", "-u", "nobody"]).stdout.toString());

describe.skipIf(!hasTmux)("bakelite init wizard, driven through tmux (skipped without tmux)", () => {
  test("a first run asks, writes a validated config, a key, the drop-ins and the backup directory, then runs doctor", async () => {
    const r = root();
    const term = terminal(r);
    await term.answer(/Database file to back up/, r.dbPath);
    await term.answer(/Name for this database/, null);
    await term.answer(/Where should backups go\?/, null);
    await term.answer(/Backup directory/, r.backups);
    await term.answer(/Encrypt backups at rest\?/, null, "Down", "Enter");
    await term.answer(/Write this config to .*bakelite\.toml\?/, null);
    await term.answer(/Generate the key .*key\.txt/, null);
    await term.answer(/Set up the systemd service/, null);
    // The proposed service user is the database file's owner.
    const screen = await term.waitFor(/Run the service as user/);
    expect(screen).toMatch(/Run the service as user.*\(nobody\)/);
    term.keys("Enter");
    await term.answer(/Group/, null);
    await term.answer(/Write this drop-in for/, null);
    await term.answer(/Create\/chown .* to nobody:nogroup/, null);
    expect(await term.exitCode()).toBe(0);
    const out = term.screen();
    expect(out).toMatch(/^ {2}ok\s+backend\s/m);
    expect(out).toContain("would run: systemctl daemon-reload && systemctl enable --now bakelite.service");

    const config = await loadConfig(join(r.etc, "bakelite.toml"), { env: {} });
    expect(config.databases[0]).toMatchObject({ name: "app", path: r.dbPath });
    expect(config.databases[0].backends[0]).toMatchObject({ type: "file", path: r.backups });
    const keyFile = join(r.etc, "key.txt");
    expect(config.databases[0].encryption?.keyFile).toBe(keyFile);
    expect(readKeyFile(keyFile)).toHaveLength(32);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(keyFile).uid).toBe(nobody);
    expect(statSync(r.backups).uid).toBe(nobody);
    for (const unit of SERVICES) {
      expect(readFileSync(join(r.systemd, `${unit}.d`, "10-bakelite-init.conf"), "utf8")).toContain("User=nobody\nGroup=nogroup\n");
      // The units run the config the wizard wrote (and doctor checked), not the shipped default.
      expect(readFileSync(join(r.systemd, unit), "utf8")).toMatch(new RegExp(`^ExecStart=\\S+ .* --config ${join(r.etc, "bakelite.toml")}$`, "m"));
    }
    expect(existsSync(join(r.systemd, "bakelite-repair.timer"))).toBe(false);
  });

  test("a re-run keeps the existing config unless told otherwise, and declining the service writes nothing there", async () => {
    const r = root();
    const first = terminal(r);
    await first.answer(/Database file to back up/, r.dbPath);
    await first.answer(/Name for this database/, null);
    await first.answer(/Where should backups go\?/, null);
    await first.answer(/Backup directory/, r.backups);
    await first.answer(/Encrypt backups at rest\?/, null);
    await first.answer(/Write this config to/, null);
    await first.answer(/Set up the systemd service/, "n");
    expect(await first.exitCode()).toBe(0);
    const config = readFileSync(join(r.etc, "bakelite.toml"), "utf8");
    expect(existsSync(r.systemd)).toBe(false);

    const again = terminal(r);
    await again.answer(/bakelite\.toml exists\. Replace it\?/, null);
    await again.answer(/Set up the systemd service/, "n");
    expect(await again.exitCode()).toBe(0);
    expect(again.screen()).toContain(`config: kept ${join(r.etc, "bakelite.toml")}`);
    expect(readFileSync(join(r.etc, "bakelite.toml"), "utf8")).toBe(config);
    expect(existsSync(`${join(r.etc, "bakelite.toml")}.bak`)).toBe(false);
  });

  test("an S3 destination asks for credentials and stores them only in the 0600 env file", async () => {
    const r = root();
    const term = terminal(r);
    await term.answer(/Database file to back up/, r.dbPath);
    await term.answer(/Name for this database/, null);
    await term.answer(/Where should backups go\?/, null, "Down", "Enter");
    await term.answer(/Bucket name/, "my-bucket");
    await term.answer(/Key prefix/, "");
    await term.answer(/Region/, "eu-west-1");
    await term.answer(/AWS_ACCESS_KEY_ID/, "AKIDEXAMPLE");
    await term.answer(/AWS_SECRET_ACCESS_KEY/, "s3cr3t'value");
    await term.answer(/Encrypt backups at rest\?/, null);
    await term.answer(/Write this config to/, null);
    await term.answer(/Create .*bakelite\.env \(mode 0600\) with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY\?/, null);
    await term.answer(/Set up the systemd service/, "n");
    await term.exitCode();
    const screen = term.screen();
    expect(screen).not.toContain("s3cr3t");
    const envFile = join(r.etc, "bakelite.env");
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(envFile, "utf8")).toContain("AWS_SECRET_ACCESS_KEY=\"s3cr3t'value\"");
    const configText = readFileSync(join(r.etc, "bakelite.toml"), "utf8");
    expect(configText).not.toContain("s3cr3t");
    expect((await loadConfig(join(r.etc, "bakelite.toml"), { env: {} })).databases[0].backends[0]).toMatchObject({ type: "s3", bucket: "my-bucket", region: "eu-west-1" });
  });

  test("Ctrl-C at the first question stops with exit 2 and writes nothing", async () => {
    const r = root();
    const term = terminal(r);
    await term.waitFor(/Database file to back up/);
    term.keys("C-c");
    expect(await term.exitCode()).toBe(2);
    expect(term.screen()).toContain("init cancelled");
    expect(existsSync(r.etc)).toBe(false);
  });
});

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { copyExtras, writeChecksums } from "../../packaging/build-all.ts";
import { Terminal } from "../setup/tmux.ts";

setDefaultTimeout(60_000);

const repoRoot = resolve(import.meta.dir, "..", "..");
const installSh = join(repoRoot, "packaging", "install.sh");
const hostTarget = `${process.platform}-${process.arch}`;
const binaryName = `bakelite-${hostTarget}`;
/** The host executable again under the macOS name, for installs that are told (by a fake uname) they run on a Mac. */
const darwinName = `bakelite-darwin-${process.arch}`;
const work = mkdtempSync(join(tmpdir(), "bakelite-install-"));
const release = join(work, "release");
/** Files the server hands out instead of the release's own (to simulate tampering). */
const overrides = new Map<string, Uint8Array>();
let server: ReturnType<typeof Bun.serve>;
let baseUrl = "";

beforeAll(() => {
  mkdirSync(release);
  // A freshly built executable for this machine, smoke-tested by the build itself.
  const build = Bun.spawnSync([process.execPath, join(repoRoot, "scripts", "build.ts"), "--outfile", join(release, binaryName)], { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
  copyFileSync(join(release, binaryName), join(release, darwinName));
  writeChecksums(release, [binaryName, darwinName, ...copyExtras(release)]);
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const name = new URL(req.url).pathname.split("/").pop()!;
      const body = overrides.get(name) ?? (existsSync(join(release, name)) ? readFileSync(join(release, name)) : null);
      return body ? new Response(body) : new Response("not found", { status: 404 });
    },
  });
  baseUrl = `http://127.0.0.1:${server.port}/releases/v1`;
}, 180_000);

afterAll(() => {
  server?.stop(true);
  rmSync(work, { recursive: true, force: true });
});

interface Root {
  dir: string;
  bin: string;
  etc: string;
  systemd: string;
  share: string;
  env: Record<string, string>;
}

function newRoot(): Root {
  const dir = mkdtempSync(join(work, "root-"));
  const r = { dir, bin: join(dir, "bin"), etc: join(dir, "etc"), systemd: join(dir, "systemd"), share: join(dir, "share") };
  return {
    ...r,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dir,
      TMPDIR: tmpdir(),
      BAKELITE_RELEASE_URL: baseUrl,
      BAKELITE_BIN_DIR: r.bin,
      BAKELITE_ETC_DIR: r.etc,
      BAKELITE_SYSTEMD_DIR: r.systemd,
      BAKELITE_SHARE_DIR: r.share,
      BAKELITE_NO_INIT: "1",
    },
  };
}

/** `curl -fsSL <release>/install.sh | sh`, exactly as the docs say. */
async function install(env: Record<string, string>, prefix: string[] = []) {
  const proc = Bun.spawn([...prefix, "sh", "-c", `curl -fsSL "${baseUrl}/install.sh" | sh`], { env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

// Not the repair unit and timer: this build has no `bakelite repair`.
const UNITS = ["bakelite.service", ...["check", "verify", "verify-deep"].flatMap((n) => [`bakelite-${n}.service`, `bakelite-${n}.timer`])];

/** A PATH whose uname says `system` (e.g. Darwin) and otherwise answers as the real one. */
function fakeUname(r: Root, system: string): string {
  const fake = join(r.dir, "fakebin");
  mkdirSync(fake, { recursive: true });
  writeFileSync(join(fake, "uname"), `#!/bin/sh\nif [ "$1" = -s ]; then echo ${system}; else exec ${Bun.which("uname")} "$@"; fi\n`);
  chmodSync(join(fake, "uname"), 0o755);
  return `${fake}:${r.env.PATH}`;
}

describe("install.sh", () => {
  test.skipIf(!Bun.which("shellcheck"))("is clean POSIX sh according to shellcheck (skipped without shellcheck)", () => {
    const r = Bun.spawnSync(["shellcheck", "-s", "sh", installSh]);
    expect(r.stdout.toString()).toBe("");
    expect(r.exitCode).toBe(0);
  });

  test("installs the verified executable, the units (pointing at it, not enabled) and a placeholder config", async () => {
    const r = newRoot();
    const res = await install(r.env);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const bin = join(r.bin, "bakelite");
    expect(statSync(bin).mode & 0o777).toBe(0o755);
    expect(Bun.spawnSync([bin, "--version"]).stdout.toString()).toBe(`bakelite ${pkg.version}\n`);
    expect(readdirSync(r.systemd).sort()).toEqual([...UNITS].sort());
    // BAKELITE_BIN_DIR and BAKELITE_ETC_DIR are where the units look.
    const daemonUnit = readFileSync(join(r.systemd, "bakelite.service"), "utf8");
    expect(daemonUnit).toContain(`\nExecStart=${bin} daemon --config ${join(r.etc, "bakelite.toml")}\n`);
    expect(daemonUnit).toContain(`\nEnvironmentFile=-${join(r.etc, "bakelite.env")}\n`);
    for (const unit of UNITS) expect(readFileSync(join(r.systemd, unit), "utf8")).not.toMatch(/\/etc\/bakelite\/|\/usr\/local\/bin\/bakelite/);
    // The cron copy finds the executable through its PATH, and runs the same config.
    const cron = readFileSync(join(r.share, "bakelite.cron"), "utf8");
    expect(cron).toMatch(new RegExp(`^PATH=${r.bin}:/usr/local/sbin:`, "m"));
    expect(cron).toContain(`bakelite verify --config ${join(r.etc, "bakelite.toml")} `);
    expect(cron).not.toContain("/etc/bakelite/");
    expect(res.stdout).toContain(`bakelite-install: done: bakelite ${pkg.version}`);
    expect(res.stdout).toContain("units are installed disabled");
    // The placeholder defines nothing, so a daemon started on it refuses with a clear message.
    const placeholder = join(r.etc, "bakelite.toml");
    const daemon = Bun.spawnSync([bin, "daemon", "--config", placeholder], { env: { PATH: r.env.PATH, HOME: r.dir } });
    expect(daemon.exitCode).toBe(2);
    expect(daemon.stderr.toString()).toContain("no [[database]] defined");
  });

  test("a re-run changes nothing and keeps the config the user wrote", async () => {
    const r = newRoot();
    expect((await install(r.env)).code).toBe(0);
    writeFileSync(join(r.etc, "bakelite.toml"), "# mine\n");
    const before = statSync(join(r.bin, "bakelite")).mtimeMs;
    const again = await install(r.env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`unchanged ${join(r.bin, "bakelite")}`);
    expect(again.stdout.match(/^bakelite-install: unchanged /gm)?.length).toBe(UNITS.length + 2);
    expect(again.stdout).toContain(`kept ${join(r.etc, "bakelite.toml")}`);
    expect(readFileSync(join(r.etc, "bakelite.toml"), "utf8")).toBe("# mine\n");
    expect(statSync(join(r.bin, "bakelite")).mtimeMs).toBe(before);
  });

  test("a download that does not match SHA256SUMS is refused and nothing is installed or replaced", async () => {
    const fresh = newRoot();
    const tampered = new Uint8Array(readFileSync(join(release, binaryName)));
    tampered[tampered.length - 100] ^= 0xff;
    overrides.set(binaryName, tampered);
    try {
      const res = await install(fresh.env);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`bakelite-install: error: checksum mismatch for ${binaryName}`);
      expect(res.stderr).toContain("nothing was installed");
      expect(existsSync(fresh.bin)).toBe(false);
      expect(existsSync(fresh.systemd)).toBe(false);
    } finally {
      overrides.delete(binaryName);
    }
    // A tampered unit file is refused just the same, before the executable is replaced.
    const installed = newRoot();
    expect((await install(installed.env)).code).toBe(0);
    const good = readFileSync(join(installed.bin, "bakelite"));
    overrides.set("bakelite.service", new TextEncoder().encode("[Service]\nExecStart=/bin/evil\n"));
    try {
      const res = await install(installed.env);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain("checksum mismatch for bakelite.service");
      expect(readFileSync(join(installed.bin, "bakelite")).equals(good)).toBe(true);
      expect(readFileSync(join(installed.systemd, "bakelite.service"), "utf8")).not.toContain("evil");
    } finally {
      overrides.delete("bakelite.service");
    }
  });

  test("an unsupported CPU or OS gets a clear error", async () => {
    const r = newRoot();
    const fake = join(r.dir, "fakebin");
    mkdirSync(fake);
    writeFileSync(join(fake, "uname"), '#!/bin/sh\nif [ "$1" = -m ]; then echo riscv64; else echo Linux; fi\n');
    chmodSync(join(fake, "uname"), 0o755);
    const res = await install({ ...r.env, PATH: `${fake}:${r.env.PATH}` });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("unsupported CPU riscv64; builds exist for x86_64 and arm64");
  });

  test.skipIf(!Bun.which("tmux"))("on a terminal it offers to run bakelite init, even when piped from curl, and leaves no download behind either way (skipped without tmux)", async () => {
    const r = newRoot();
    const scratch = join(r.dir, "tmp");
    mkdirSync(scratch);
    const { BAKELITE_NO_INIT: _, ...rest } = r.env;
    const env = { ...rest, TMPDIR: scratch };
    const downloads = () => readdirSync(scratch).filter((name) => name.startsWith("bakelite-install."));
    const declined = new Terminal(`sh -c 'curl -fsSL "${baseUrl}/install.sh" | sh'`, env);
    try {
      await declined.answer(/run 'bakelite init' now to set up a backup\? \[y\/N\]/, "n");
      expect(await declined.exitCode()).toBe(0);
      expect(declined.screen()).toContain(`later: sudo ${join(r.bin, "bakelite")} init`);
    } finally {
      declined.close();
    }
    expect(downloads()).toEqual([]);
    const accepted = new Terminal(`sh -c 'curl -fsSL "${baseUrl}/install.sh" | sh'`, env);
    try {
      await accepted.answer(/\[y\/N\]/, "y");
      // The wizard of the freshly installed binary takes over the terminal, and offers to replace the placeholder.
      await accepted.answer(/bakelite\.toml is the installer's placeholder\. Replace it\? \(Y\/n\)/, null);
      await accepted.waitFor(/Database file to back up/);
      // The installer's shell is gone (exec), and its downloads with it, while the wizard runs.
      expect(downloads()).toEqual([]);
      accepted.keys("C-c");
      expect(await accepted.exitCode()).toBe(2);
    } finally {
      accepted.close();
    }
  });

  test.skipIf(!Bun.which("setpriv"))("without root it installs into ~/.local/bin and leaves systemd and /etc alone (skipped without setpriv)", async () => {
    const r = newRoot();
    chmodSync(work, 0o755);
    chownSync(r.dir, 65534, 65534);
    const env = { PATH: r.env.PATH, HOME: r.dir, TMPDIR: r.dir, BAKELITE_RELEASE_URL: baseUrl, BAKELITE_NO_INIT: "1" };
    const res = await install(env, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(existsSync(join(r.dir, ".local", "bin", "bakelite"))).toBe(true);
    expect(existsSync(join(r.dir, ".local", "share", "bakelite", "bakelite.cron"))).toBe(true);
    const share = join(r.dir, ".local", "share", "bakelite");
    expect(res.stdout).toContain(`not root: systemd units not installed; run as root, or add the jobs in ${share}/bakelite.cron to your crontab (crontab -e: drop the user column`);
    expect(res.stdout).toContain("is not on your PATH");
    // ...so the cron file it points to must find bakelite there.
    expect(readFileSync(join(share, "bakelite.cron"), "utf8")).toMatch(new RegExp(`^PATH=${join(r.dir, ".local", "bin")}:`, "m"));
  });

  test("points the launchd agent at the executable it installed and the config directory it was given (on a Mac, faked here)", async () => {
    const r = newRoot();
    const res = await install({ ...r.env, PATH: fakeUname(r, "Darwin") });
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`installing ${darwinName}`);
    const script = "import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],'rb'))))";
    const plist = JSON.parse(Bun.spawnSync(["python3", "-c", script, join(r.share, "org.bakelite.daemon.plist")]).stdout.toString());
    expect(plist.ProgramArguments).toEqual([join(r.bin, "bakelite"), "daemon", "--config", join(r.etc, "bakelite.toml")]);
    expect(existsSync(r.systemd)).toBe(false);
  });

  test("tells about a repair timer an earlier install left, and installs no repair unit", async () => {
    const r = newRoot();
    mkdirSync(r.systemd, { recursive: true });
    writeFileSync(join(r.systemd, "bakelite-repair.timer"), "[Timer]\nOnCalendar=weekly\n");
    const res = await install(r.env);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`note: ${join(r.systemd, "bakelite-repair.timer")} (from an earlier install) runs 'bakelite repair', which this build does not have; keep it disabled`);
    expect(existsSync(join(r.systemd, "bakelite-repair.service"))).toBe(false);
  });

  test("refuses a relative BAKELITE_ETC_DIR before installing anything: the units need an absolute path", async () => {
    const r = newRoot();
    const res = await install({ ...r.env, BAKELITE_ETC_DIR: "etc" });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("bakelite-install: error: etc is not an absolute path");
    expect(existsSync(r.bin)).toBe(false);
  });
});

import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { COMMANDS, findCommand } from "../../src/cli/registry.ts";
import { DEFAULT_CONFIG_PATH } from "../../src/config/load.ts";
import { HELD_BACK_UNITS, UNIT_FILES } from "../../src/setup/systemd.ts";
import { runCli } from "../ops/cli.ts";

const packaging = resolve(import.meta.dir, "..", "..", "packaging");
const systemdDir = join(packaging, "systemd");
const units = readdirSync(systemdDir).filter((f) => f.endsWith(".service") || f.endsWith(".timer")).sort();
const services = units.filter((u) => u.endsWith(".service"));
const scheduled = ["bakelite-check", "bakelite-verify", "bakelite-verify-deep", "bakelite-repair"];
const analyze = Bun.which("systemd-analyze");

const scratch = mkdtempSync(join(tmpdir(), "bakelite-units-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function read(name: string): string {
  return readFileSync(join(systemdDir, name), "utf8");
}

/** The key=value lines of one [section] (comments dropped). */
function section(text: string, name: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("[")) current = line.slice(1, -1);
    else if (current === name && line && !line.startsWith("#")) {
      const eq = line.indexOf("=");
      const key = line.slice(0, eq);
      out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
    }
  }
  return out;
}

/** The command a unit runs, without the binary's directory. */
function execCommand(service: string): string {
  return section(read(service), "Service").get("ExecStart")![0].replace(/^\/usr\/local\/bin\//, "");
}

function analyzeRun(args: string[]): { code: number; output: string } {
  const r = Bun.spawnSync([analyze!, ...args], { cwd: scratch, env: { ...process.env, SYSTEMD_LOG_COLOR: "0", SYSTEMD_PAGER: "" } });
  return { code: r.exitCode, output: (r.stdout.toString() + r.stderr.toString()).trim() };
}

/** `systemd-analyze calendar`'s normalized form of an OnCalendar expression. */
function normalized(expr: string): string {
  const r = analyzeRun(["calendar", expr]);
  const m = /Normalized form: (.*)/.exec(r.output);
  if (!m) throw new Error(`systemd-analyze calendar ${expr}: ${r.output}`);
  return m[1].trim();
}

describe("systemd units", () => {
  test("ship the daemon and four service/timer pairs", () => {
    expect(units).toEqual([...scheduled.flatMap((n) => [`${n}.service`, `${n}.timer`]), "bakelite.service"].sort());
  });

  test.skipIf(!analyze)("every unit passes `systemd-analyze verify` without a single warning (skipped without systemd-analyze)", () => {
    // verify checks that ExecStart= exists, so point the copies at a stub executable.
    const stub = join(scratch, "bakelite");
    writeFileSync(stub, "#!/bin/sh\nexit 0\n");
    chmodSync(stub, 0o755);
    for (const unit of units) writeFileSync(join(scratch, unit), read(unit).replaceAll("/usr/local/bin/bakelite", stub));
    const r = analyzeRun(["verify", ...units.map((u) => `./${u}`)]);
    expect(r.output).toBe("");
    expect(r.code).toBe(0);
    // The check can fail: an unknown key is reported.
    writeFileSync(join(scratch, "broken.service"), `[Service]\nExecStart=${stub}\nProtectSystm=strict\n`);
    expect(analyzeRun(["verify", "./broken.service"]).output).toContain("Unknown key 'ProtectSystm'");
  });

  test("the daemon is hardened, reads the optional env file, restarts on failure and carries a commented OnFailure line", () => {
    const text = read("bakelite.service");
    const svc = section(text, "Service");
    expect(svc.get("ExecStart")).toEqual(["/usr/local/bin/bakelite daemon --config /etc/bakelite/bakelite.toml"]);
    expect(svc.get("EnvironmentFile")).toEqual(["-/etc/bakelite/bakelite.env"]);
    for (const [key, value] of [["ProtectSystem", "strict"], ["NoNewPrivileges", "yes"], ["PrivateTmp", "yes"], ["Restart", "on-failure"], ["KillSignal", "SIGTERM"]]) {
      expect(svc.get(key)).toEqual([value]);
    }
    expect(svc.has("MemoryDenyWriteExecute")).toBe(false);
    expect(text).toMatch(/^#OnFailure=notify-failure@%n\.service$/m);
    expect(section(text, "Install").get("WantedBy")).toEqual(["multi-user.target"]);
  });

  test("every scheduled service is a hardened oneshot with a commented OnFailure line, started only by its timer", () => {
    for (const name of scheduled) {
      const text = read(`${name}.service`);
      const svc = section(text, "Service");
      expect(svc.get("Type")).toEqual(["oneshot"]);
      expect(svc.get("ProtectSystem")).toEqual(["strict"]);
      expect(svc.get("EnvironmentFile")).toEqual(["-/etc/bakelite/bakelite.env"]);
      expect(text).toMatch(/^#OnFailure=notify-failure@%n\.service$/m);
      expect(section(text, "Install").size).toBe(0);
      expect(section(read(`${name}.timer`), "Install").get("WantedBy")).toEqual(["timers.target"]);
    }
    expect(execCommand("bakelite-check.service")).toBe("bakelite status --check --max-lag 10m --max-verify-age 36h --config /etc/bakelite/bakelite.toml");
    expect(execCommand("bakelite-verify-deep.service")).toBe("bakelite verify --deep --config /etc/bakelite/bakelite.toml");
  });

  test.skipIf(!analyze)("timers: check every 5 minutes, verify daily, deep verify weekly, repair weekly after the deep verify (skipped without systemd-analyze)", () => {
    const calendar = (name: string) => normalized(section(read(`${name}.timer`), "Timer").get("OnCalendar")![0]);
    expect(calendar("bakelite-check")).toBe("*-*-* *:00/5:00");
    expect(calendar("bakelite-verify")).toBe("*-*-* 03:00:00");
    expect(calendar("bakelite-verify-deep")).toBe("Sun *-*-* 03:30:00");
    expect(calendar("bakelite-repair")).toBe("Sun *-*-* 05:30:00");
    for (const name of ["bakelite-verify", "bakelite-verify-deep", "bakelite-repair"]) {
      expect(section(read(`${name}.timer`), "Timer").get("Persistent")).toEqual(["true"]);
    }
  });
});

const DOW = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const ranges: Array<[number, number]> = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];

// A cron field: "*", "*/n", a number, a range or a list, inside its bounds.
function validField(field: string, [lo, hi]: [number, number]): boolean {
  return field.split(",").every((part) => {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) return false;
    const nums = [m[2], m[3]].filter((x) => x !== undefined).map(Number);
    return nums.every((n) => n >= lo && n <= hi) && (m[4] === undefined || Number(m[4]) > 0);
  });
}

/** The OnCalendar equivalent of the simple cron schedules we ship. */
function cronToCalendar([min, hour, dom, mon, dow]: string[]): string {
  if (dom !== "*" || mon !== "*") throw new Error("only daily/weekly schedules are shipped");
  const minute = min.startsWith("*/") ? `00/${min.slice(2)}` : min;
  return `${dow === "*" ? "" : `${DOW[Number(dow) % 7]} `}*-*-* ${hour}:${minute}:00`;
}

/** A job line, active or commented out ("#30 5 ..."; prose comments have a space after #): time fields, user, command. */
const JOB = /^(#?)(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*)$/;

interface CronJob {
  active: boolean;
  fields: string[];
  user: string;
  /** The rest of the line, which cron hands to the shell. */
  command: string;
  /** The bakelite command inside it, as a unit's ExecStart names it ("bakelite verify --config ..."). */
  bakelite: string;
  /** The line above it. */
  above: string;
}

/** What cron runs for `command`: Vixie cron and cronie end it at an unescaped % (the rest is stdin) and turn \% into %; busybox crond passes it on as it is. */
function cronCommand(command: string, cron: "vixie" | "busybox"): string {
  if (cron === "busybox") return command;
  let out = "";
  for (let i = 0; i < command.length; i++) {
    if (command[i] === "\\" && command[i + 1] === "%") out += command[++i];
    else if (command[i] === "%") break;
    else out += command[i];
  }
  return out;
}

describe("bakelite.cron", () => {
  const text = readFileSync(join(packaging, "cron", "bakelite.cron"), "utf8");
  const lines = text.split("\n");
  const env = lines.filter((l) => /^[A-Z_]+=/.test(l));
  const cronPath = env.find((l) => l.startsWith("PATH="))!.slice("PATH=".length);
  const jobs: CronJob[] = lines.flatMap((line, i) => {
    const m = JOB.exec(line);
    if (!m || !validField(m[2], ranges[0])) return [];
    const bakelite = /(?:^|[\s{;(])(bakelite [^>|;&]*?)\s*>/.exec(m[8]);
    return [{ active: m[1] === "", fields: m.slice(2, 7), user: m[7], command: m[8], bakelite: bakelite ? bakelite[1] : "", above: lines[i - 1] }];
  });
  const active = jobs.filter((j) => j.active);

  test("sets SHELL, PATH and MAILTO", () => {
    expect(env.map((l) => l.split("=")[0])).toEqual(["SHELL", "PATH", "MAILTO"]);
    expect(cronPath).toContain("/usr/local/bin");
  });

  test("every job has five valid time fields, a user column and a bakelite command that every cron passes on unchanged", () => {
    expect(active).toHaveLength(3);
    for (const job of jobs) {
      job.fields.forEach((field, i) => expect(validField(field, ranges[i])).toBe(true));
      expect(job.user).toMatch(/^[a-z_][a-z0-9_-]*$/);
      expect(job.bakelite).toStartWith("bakelite ");
      // Vixie cron and cronie read % as a newline; busybox crond reads # as the start of a comment.
      expect(job.command).not.toMatch(/[%#]/);
      expect(cronCommand(job.command, "vixie")).toBe(job.command);
    }
    expect(validField("61", ranges[0])).toBe(false);
  });

  test("a job is active exactly when this build has its command; repair waits, commented out with the reason above it", () => {
    for (const job of jobs) {
      const name = job.bakelite.split(" ")[1];
      expect({ name, active: job.active }).toEqual({ name, active: findCommand(name)!.implemented });
    }
    const repair = jobs.find((j) => j.bakelite.startsWith("bakelite repair "))!;
    expect(repair.active).toBe(false);
    expect(repair.above).toMatch(/^# .*bakelite repair.*not implemented yet/);
  });

  test.skipIf(!analyze)("runs exactly what the systemd units run, on the same schedules (skipped without systemd-analyze)", () => {
    const byCommand = new Map(scheduled.map((n) => [execCommand(`${n}.service`), n]));
    expect(jobs.map((j) => byCommand.get(j.bakelite))).toEqual(scheduled);
    for (const job of jobs) {
      const unit = byCommand.get(job.bakelite)!;
      const timer = section(read(`${unit}.timer`), "Timer").get("OnCalendar")![0];
      expect(normalized(cronToCalendar(job.fields))).toBe(normalized(timer));
    }
  });

  test("each job prints nothing when its command succeeds, and all it printed when it fails, under Vixie cron, cronie and busybox crond", () => {
    const dir = mkdtempSync(join(scratch, "cron-"));
    const stubDir = join(dir, "bin");
    const tmp = join(dir, "tmp");
    mkdirSync(stubDir);
    mkdirSync(tmp);
    // A bakelite that talks on both streams, like verify's summary and a log line, and exits as told.
    writeFileSync(join(stubDir, "bakelite"), '#!/bin/sh\necho "bakelite $*"\necho "a warning" >&2\nexit "$STUB_EXIT"\n');
    chmodSync(join(stubDir, "bakelite"), 0o755);
    const run = (command: string, exit: number) => {
      const r = Bun.spawnSync(["/bin/sh", "-c", command], { env: { PATH: `${stubDir}:${cronPath}`, HOME: dir, TMPDIR: tmp, STUB_EXIT: String(exit) }, stdout: "pipe", stderr: "pipe" });
      // cron mails both streams.
      return r.stdout.toString() + r.stderr.toString();
    };
    for (const job of active) {
      for (const cron of ["vixie", "busybox"] as const) {
        const command = cronCommand(job.command, cron);
        expect(run(command, 0)).toBe("");
        for (const exit of [1, 3]) expect(run(command, exit)).toBe(`${job.bakelite}\na warning\n`);
      }
    }
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe("what install.sh and init install", () => {
  /** Whether this build has the command a unit (or a timer's service) runs. */
  const built = (unit: string) => findCommand(execCommand(unit.replace(/\.timer$/, ".service")).split(" ")[1])!.implemented;

  test("exactly the shipped units whose command this build has: the repair unit and timer wait for repair", () => {
    const installSh = readFileSync(join(packaging, "install.sh"), "utf8");
    const listed = /^units="([^"]*)"$/m.exec(installSh)![1].split(" ");
    const wanted = units.filter(built);
    expect(wanted).not.toContain("bakelite-repair.timer");
    expect([...listed].sort()).toEqual(wanted);
    expect(Object.keys(UNIT_FILES).sort()).toEqual(wanted);
    expect([...HELD_BACK_UNITS].sort()).toEqual(units.filter((u) => !built(u)));
    for (const unit of HELD_BACK_UNITS) expect(read(unit)).toContain("NOT INSTALLED YET");
  });

  test("a held-back unit's command exits 2 and names every command this build has", async () => {
    const names = COMMANDS.filter((c) => c.implemented).map((c) => c.name);
    const [, ...args] = execCommand("bakelite-repair.service").split(" ");
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: repair is not implemented yet\nhint: This build has ${names.slice(0, -1).join(", ")} and ${names.at(-1)}; see docs/cli.md.\n`);
    expect(names).toContain("verify");
  });
});

describe("launchd agent", () => {
  test("parses as a property list that runs the daemon at load and restarts it after a crash", () => {
    const script = "import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],'rb'))))";
    const r = Bun.spawnSync(["python3", "-c", script, join(packaging, "launchd", "org.bakelite.daemon.plist")]);
    expect(r.stderr.toString()).toBe("");
    const plist = JSON.parse(r.stdout.toString());
    expect(plist.Label).toBe("org.bakelite.daemon");
    // The config every command (and init's own agent) uses by default.
    expect(plist.ProgramArguments).toEqual(["/usr/local/bin/bakelite", "daemon", "--config", DEFAULT_CONFIG_PATH]);
    expect(plist.RunAtLoad).toBe(true);
    expect(plist.KeepAlive).toEqual({ SuccessfulExit: false });
    for (const key of ["StandardOutPath", "StandardErrorPath"]) expect(plist[key]).toStartWith("/");
  });
});

describe("Dockerfile", () => {
  const text = readFileSync(join(packaging, "docker", "Dockerfile"), "utf8");
  const joined = text.replace(/\\\n\s*/g, " ");
  const instructions = joined.split("\n").filter((l) => l.trim() && !l.startsWith("#"));
  const finalStage = instructions.slice(instructions.findLastIndex((l) => l.startsWith("FROM ")));

  test("the final stage is distroless and runs nothing through a shell", () => {
    expect(finalStage[0]).toMatch(/^FROM gcr\.io\/distroless\/cc-debian12/);
    expect(finalStage.some((l) => l.startsWith("RUN "))).toBe(false);
    for (const key of ["ENTRYPOINT", "CMD"]) {
      const line = finalStage.find((l) => l.startsWith(`${key} `))!;
      expect(Array.isArray(JSON.parse(line.slice(key.length + 1)))).toBe(true);
    }
  });

  test("the healthcheck uses the exec form and runs status --check", () => {
    const line = finalStage.find((l) => l.startsWith("HEALTHCHECK "))!;
    const cmd = /\bCMD (\[.*\])\s*$/.exec(line);
    expect(cmd).not.toBeNull();
    expect(JSON.parse(cmd![1])).toEqual(["/usr/local/bin/bakelite", "status", "--check"]);
    expect(line).not.toContain("CMD-SHELL");
  });
});

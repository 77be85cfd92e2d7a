/**
 * @module setup/systemd
 * The systemd half of init: install the shipped units when the host has
 * none (the binary carries them), rendered with the config and env file init
 * wrote; re-point units that were already installed with other paths (a
 * drop-in, see unit-paths.ts); unmask a masked daemon unit; write one
 * drop-in per unit with User=/Group=/ReadWritePaths=; and enable the daemon,
 * but only when systemd is really running this host and the files went to
 * its real directory; otherwise say exactly what would have run.
 */
import { existsSync, lstatSync, readFileSync, readlinkSync, renameSync, unlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import daemonUnit from "../../packaging/systemd/bakelite.service" with { type: "text" };
import checkService from "../../packaging/systemd/bakelite-check.service" with { type: "text" };
import checkTimer from "../../packaging/systemd/bakelite-check.timer" with { type: "text" };
import verifyService from "../../packaging/systemd/bakelite-verify.service" with { type: "text" };
import verifyTimer from "../../packaging/systemd/bakelite-verify.timer" with { type: "text" };
import deepService from "../../packaging/systemd/bakelite-verify-deep.service" with { type: "text" };
import deepTimer from "../../packaging/systemd/bakelite-verify-deep.timer" with { type: "text" };
import { BakeliteError } from "../errors.ts";
import { backupPath, readIfExists, writeSetupFile, type WriteOutcome } from "./files.ts";
import type { SetupPaths } from "./paths.ts";
import { renderUnit, repointLines, SHIPPED_PATHS, type UnitPaths } from "./unit-paths.ts";

/**
 * The units init installs. packaging/systemd also ships bakelite-repair.service
 * and .timer, held back until `bakelite repair` is built: installed now, the
 * timer would fail every week with "not implemented yet".
 */
export const UNIT_FILES: Readonly<Record<string, string>> = {
  "bakelite.service": daemonUnit,
  "bakelite-check.service": checkService,
  "bakelite-check.timer": checkTimer,
  "bakelite-verify.service": verifyService,
  "bakelite-verify.timer": verifyTimer,
  "bakelite-verify-deep.service": deepService,
  "bakelite-verify-deep.timer": deepTimer,
};
export const HELD_BACK_UNITS: readonly string[] = ["bakelite-repair.service", "bakelite-repair.timer"];

/** Every service that needs the daemon's identity: they read and write the same state files. */
export const SERVICES = Object.keys(UNIT_FILES).filter((u) => u.endsWith(".service"));
export const DROP_IN_NAME = "10-bakelite-init.conf";
/** The drop-in that re-points an already installed unit at init's config and env file. */
export const PATHS_DROP_IN_NAME = "20-bakelite-paths.conf";
const VENDOR_DIRS = ["/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"];

/** What the units init writes should run: this executable, and the config and env file init wrote (absolute). */
export function unitPaths(paths: Pick<SetupPaths, "configPath" | "envFile">, binary?: string): UnitPaths {
  return { binary: binary ?? SHIPPED_PATHS.binary, configPath: resolve(paths.configPath), envFile: resolve(paths.envFile) };
}

/** A shipped unit as init installs it: the shipped paths replaced by `paths`. */
export function unitText(unit: string, paths: UnitPaths = SHIPPED_PATHS): string {
  return renderUnit(UNIT_FILES[unit], paths);
}

function isMask(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink() && readlinkSync(path) === "/dev/null";
  } catch {
    return false;
  }
}

/** The unit file for `unit` that systemd would load: in `dir`, or (for the real directory) a vendor directory. */
function installedUnit(dir: string, unit: string, real: boolean): string | null {
  const local = join(dir, unit);
  if (existsSync(local) && !isMask(local)) return local;
  return (real && VENDOR_DIRS.map((d) => join(d, unit)).find((p) => existsSync(p))) || null;
}

/** Removes a /dev/null mask of `unit` in `dir` (what `systemctl unmask` does); returns whether there was one. */
export function unmask(dir: string, unit: string): boolean {
  const path = join(dir, unit);
  if (!isMask(path)) return false;
  unlinkSync(path);
  return true;
}

/** Writes the shipped units that are not installed yet, running `paths`; returns their names. Installed units are never touched. */
export function installUnits(dir: string, real: boolean, paths: UnitPaths = SHIPPED_PATHS): string[] {
  const written: string[] = [];
  for (const unit of Object.keys(UNIT_FILES)) {
    if (installedUnit(dir, unit, real) !== null) continue;
    writeSetupFile(join(dir, unit), unitText(unit, paths));
    written.push(unit);
  }
  return written;
}

/** What init says about the units: what it installed, what it held back, and held-back units an earlier install left. */
export function installReport(dir: string, installed: string[]): string[] {
  const lines: string[] = [];
  if (installed.length > 0) {
    lines.push(`systemd: installed ${installed.join(", ")} in ${dir} (disabled)`);
    lines.push(`systemd: not installing ${HELD_BACK_UNITS.join(", ")}: this build has no bakelite repair, so the timer would fail every week`);
  }
  const stale = HELD_BACK_UNITS.filter((u) => u.endsWith(".timer") && existsSync(join(dir, u)) && !isMask(join(dir, u)));
  for (const unit of stale) {
    lines.push(`warning: ${join(dir, unit)} (from an earlier install) runs bakelite repair, which this build does not have; keep it disabled: systemctl disable --now ${unit}`);
  }
  return lines;
}

export interface ServiceIdentity {
  user: string;
  group: string;
  readWritePaths: string[];
}

/** Paths in ReadWritePaths= are space-separated; a path with a space must be quoted. */
function unitPath(path: string): string {
  return /[\s"\\]/.test(path) ? JSON.stringify(path) : path;
}

export function dropInText(id: ServiceIdentity): string {
  return [
    "# Written by `bakelite init` (re-running it with the same answers leaves it unchanged).",
    "# The daemon and the check and verify units share one identity: they read",
    "# and write the same state files beside the database.",
    "[Service]",
    `User=${id.user}`,
    `Group=${id.group}`,
    `ReadWritePaths=${[...new Set(id.readWritePaths)].map(unitPath).join(" ")}`,
    "",
  ].join("\n");
}

export function dropInPath(dir: string, unit: string, name = DROP_IN_NAME): string {
  return join(dir, `${unit}.d`, name);
}

/** Writes the drop-in for every service; a different existing drop-in is replaced only with `overwrite`. */
export function writeDropIns(dir: string, id: ServiceIdentity, overwrite: boolean): Array<{ path: string; outcome: WriteOutcome }> {
  const text = dropInText(id);
  return SERVICES.map((unit) => {
    const path = dropInPath(dir, unit);
    return { path, ...writeSetupFile(path, text, { overwrite, overwriteHint: "Re-run with --force to replace it (the old one is kept as .bak)." }) };
  });
}

export interface PathsDropIn {
  unit: string;
  path: string;
  /** The drop-in's text, or null when the installed unit already runs init's config and env file. */
  text: string | null;
}

function pathsDropInText(unit: string, target: UnitPaths, lines: string[]): string {
  return [
    `# Written by \`bakelite init\`: ${unit} as installed runs another config or env file`,
    `# than the ones init wrote; this points it at ${target.configPath}`,
    `# and ${target.envFile}. Remove it if you edit the unit to name them itself.`,
    "[Service]",
    ...lines,
    "",
  ].join("\n");
}

/** For each service, the drop-in (if any) that makes the unit systemd would load run init's config and env file. */
export function planPathsDropIns(dir: string, real: boolean, target: UnitPaths): PathsDropIn[] {
  return SERVICES.map((unit) => {
    const file = installedUnit(dir, unit, real);
    // A unit that is not installed yet will be installed with init's paths already.
    const lines = file === null ? [] : repointLines(readFileSync(file, "utf8"), target);
    return { unit, path: dropInPath(dir, unit, PATHS_DROP_IN_NAME), text: lines.length > 0 ? pathsDropInText(unit, target, lines) : null };
  });
}

export type PathsOutcome = WriteOutcome | "removed";

/**
 * Writes the planned drop-ins. One that is no longer needed (the unit now
 * names init's paths itself) would still point the unit elsewhere, so it is
 * removed; like a different one, only with `overwrite`, keeping a .bak.
 */
export function writePathsDropIns(plan: PathsDropIn[], overwrite: boolean): Array<{ path: string; outcome: PathsOutcome; backup?: string }> {
  const hint = "Re-run with --force to replace it (the old one is kept as .bak).";
  const out: Array<{ path: string; outcome: PathsOutcome; backup?: string }> = [];
  for (const p of plan) {
    if (p.text !== null) {
      out.push({ path: p.path, ...writeSetupFile(p.path, p.text, { overwrite, overwriteHint: hint }) });
    } else if (readIfExists(p.path) !== null) {
      if (!overwrite) {
        throw new BakeliteError("OUTPUT_EXISTS", `${p.path} points ${p.unit} at another config than the one init wrote; not removing it`, { hint: "Re-run with --force to remove it (it is kept as .bak)." });
      }
      const backup = backupPath(p.path);
      renameSync(p.path, backup);
      out.push({ path: p.path, outcome: "removed", backup });
    }
  }
  return out;
}

/** The report line for one paths drop-in. */
export function pathsReport(r: { path: string; outcome: PathsOutcome; backup?: string }, target: UnitPaths): string {
  const what = r.outcome === "removed" ? "the unit names the config itself" : `runs ${target.configPath}`;
  return `systemd: ${r.outcome} ${r.path} (${what})${r.backup ? `; previous kept as ${r.backup}` : ""}`;
}

/**
 * The unit half of every form of init: unmask the daemon, install the units
 * that are missing (running `paths`' config and env file), and re-point the
 * ones already installed with other paths. `overwrite` as for drop-ins.
 */
export function setupUnits(paths: SetupPaths, binary: string | undefined, overwrite: boolean, say: (line: string) => void): void {
  const dir = paths.systemdDir;
  if (unmask(dir, "bakelite.service")) say("systemd: unmasked bakelite.service");
  const target = unitPaths(paths, binary);
  for (const line of installReport(dir, installUnits(dir, paths.realSystemd, target))) say(line);
  for (const r of writePathsDropIns(planPathsDropIns(dir, paths.realSystemd, target), overwrite)) say(pathsReport(r, target));
}

/** sd_booted(): systemd is the init system of this host. */
export function systemdBooted(): boolean {
  return existsSync("/run/systemd/system");
}

export const ENABLE_COMMANDS: readonly string[][] = [
  ["systemctl", "daemon-reload"],
  ["systemctl", "enable", "--now", "bakelite.service"],
];

/**
 * Enables and starts the daemon when systemd runs this host and the units are
 * in its real directory; otherwise reports the commands it would have run.
 */
export function enableDaemon(target: { systemdDir: string; realSystemd: boolean }, say: (line: string) => void): void {
  if (systemdBooted() && target.realSystemd) {
    runSystemctl();
    say("systemd: enabled and started bakelite.service");
    return;
  }
  const why = target.realSystemd ? "systemd is not running this host" : `the units went to ${target.systemdDir}, not the system directory`;
  say(`systemd: not enabling (${why}); would run: ${ENABLE_COMMANDS.map((c) => c.join(" ")).join(" && ")}`);
}

/** Runs the enable commands; throws IO naming the one that failed. */
export function runSystemctl(commands: readonly string[][] = ENABLE_COMMANDS): void {
  for (const cmd of commands) {
    const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) {
      throw new BakeliteError("IO", `${cmd.join(" ")} failed (exit ${r.exitCode}): ${r.stderr.toString().trim()}`, {
        hint: "See journalctl -u bakelite for why the service did not start.",
      });
    }
  }
}

/**
 * @module setup/launchd
 * The macOS counterpart of the systemd drop-ins: a launchd agent that runs
 * the daemon for the logged-in user on the config init wrote, written with
 * the real absolute paths (launchd expands neither ~ nor variables). It
 * restarts the daemon after a crash but not after a clean stop, and gives
 * it five minutes to drain.
 */
import { join } from "node:path";

export const AGENT_LABEL = "org.bakelite.daemon";

export interface AgentSpec {
  binary: string;
  configPath: string;
  logPath: string;
  /**
   * An env file bakelite would not find by itself (it reads
   * /etc/bakelite/bakelite.env and ~/.config/bakelite/bakelite.env): passed
   * as BAKELITE_ENV_FILE, so the agent sees the credentials init wrote.
   */
  envFile?: string;
}

const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function agentPath(home: string): string {
  return join(home, "Library", "LaunchAgents", `${AGENT_LABEL}.plist`);
}

export function agentPlist(spec: AgentSpec): string {
  const str = (s: string) => `<string>${escapeXml(s)}</string>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    "<!-- Written by `bakelite init`. Load: launchctl bootstrap gui/$(id -u) <this file> -->",
    '<plist version="1.0">',
    "<dict>",
    `  <key>Label</key>${str(AGENT_LABEL)}`,
    "  <key>ProgramArguments</key>",
    `  <array>${[spec.binary, "daemon", "--config", spec.configPath].map(str).join("")}</array>`,
    ...(spec.envFile === undefined ? [] : [`  <key>EnvironmentVariables</key><dict><key>BAKELITE_ENV_FILE</key>${str(spec.envFile)}</dict>`]),
    "  <key>RunAtLoad</key><true/>",
    "  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>",
    "  <key>ThrottleInterval</key><integer>10</integer>",
    "  <key>ExitTimeOut</key><integer>300</integer>",
    `  <key>ProcessType</key>${str("Background")}`,
    `  <key>StandardOutPath</key>${str(spec.logPath)}`,
    `  <key>StandardErrorPath</key>${str(spec.logPath)}`,
    "</dict>",
    "</plist>",
    "",
  ].join("\n");
}

/** The commands that load (or reload) the agent for user `uid`. */
export function loadCommands(uid: number, path: string): string[][] {
  return [
    ["launchctl", "bootout", `gui/${uid}/${AGENT_LABEL}`],
    ["launchctl", "bootstrap", `gui/${uid}`, path],
  ];
}

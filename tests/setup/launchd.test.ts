import { describe, expect, test } from "bun:test";
import { agentPath, agentPlist, loadCommands } from "../../src/setup/launchd.ts";

function parsePlist(text: string): Record<string, unknown> {
  const script = "import json,plistlib,sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))";
  const r = Bun.spawnSync(["python3", "-c", script], { stdin: new TextEncoder().encode(text) });
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return JSON.parse(r.stdout.toString());
}

describe("launchd agent writer", () => {
  test("renders a property list with the absolute paths it was given, restarting only after a crash", () => {
    const plist = parsePlist(agentPlist({ binary: "/Users/me/.local/bin/bakelite", configPath: "/Users/me/.config/bakelite/bakelite.toml", logPath: "/Users/me/Library/Logs/bakelite.log" }));
    expect(plist).toEqual({
      Label: "org.bakelite.daemon",
      ProgramArguments: ["/Users/me/.local/bin/bakelite", "daemon", "--config", "/Users/me/.config/bakelite/bakelite.toml"],
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 10,
      ExitTimeOut: 300,
      ProcessType: "Background",
      StandardOutPath: "/Users/me/Library/Logs/bakelite.log",
      StandardErrorPath: "/Users/me/Library/Logs/bakelite.log",
    });
  });

  test("names an env file bakelite would not find by itself as BAKELITE_ENV_FILE, and sets no variable otherwise", () => {
    const spec = { binary: "/usr/local/bin/bakelite", configPath: "/Users/me/bk/bakelite.toml", logPath: "/l" };
    expect(parsePlist(agentPlist({ ...spec, envFile: "/Users/me/bk/bakelite.env" })).EnvironmentVariables).toEqual({ BAKELITE_ENV_FILE: "/Users/me/bk/bakelite.env" });
    expect(parsePlist(agentPlist(spec))).not.toHaveProperty("EnvironmentVariables");
  });

  test("escapes XML in paths", () => {
    const plist = parsePlist(agentPlist({ binary: "/opt/a&b/<bakelite>", configPath: '/c/"x".toml', logPath: "/l" }));
    expect(plist.ProgramArguments).toEqual(["/opt/a&b/<bakelite>", "daemon", "--config", '/c/"x".toml']);
  });

  test("lives in the user's LaunchAgents and is loaded into their GUI domain", () => {
    expect(agentPath("/Users/me")).toBe("/Users/me/Library/LaunchAgents/org.bakelite.daemon.plist");
    expect(loadCommands(501, "/p.plist")).toEqual([
      ["launchctl", "bootout", "gui/501/org.bakelite.daemon"],
      ["launchctl", "bootstrap", "gui/501", "/p.plist"],
    ]);
  });
});

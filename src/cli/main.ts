#!/usr/bin/env bun
/**
 * @module cli/main
 * The `bakelite` entry point: split off the global flags, find the command,
 * check its flags strictly, run it through citty, and turn any error into
 * `error:`/`hint:` lines and an exit code (src/errors.ts ExitCode).
 *
 * Start-up cost matters (the binary runs from cron, healthchecks and boot
 * scripts), so this file imports only the parser, the registry and the error
 * type; help text, commands and everything they use load on demand.
 */
import { runCommand } from "citty";
import { ExitCode } from "../errors.ts";
import { tuneAllocator } from "./allocator.ts";
import { parseCommandFlags, splitGlobals, unknownCommand } from "./argv.ts";
import type { RunData } from "./command.ts";
import { COMMANDS, findCommand } from "./registry.ts";
import { reportError } from "./report.ts";
import { VERSION } from "./version.ts";

/** Runs one command line and returns the exit code; never throws. */
export async function main(argv: string[]): Promise<number> {
  let verbose = false;
  try {
    const { command, globals, rest, error } = splitGlobals(argv);
    // --verbose with --quiet is itself the mistake, not a request for stack traces.
    verbose = globals.verbose && !globals.quiet;
    // Help wins over any other mistake on the line, so a user can always read it.
    if (error && !globals.help) throw error;
    if (command === undefined) {
      if (globals.version && !globals.help) {
        process.stdout.write(`bakelite ${VERSION}\n`);
        return ExitCode.ok;
      }
      const { rootHelp } = await import("./help.ts");
      // Asked for: stdout and success. Not asked for (no command): a usage error.
      if (globals.help) {
        process.stdout.write(rootHelp());
        return ExitCode.ok;
      }
      process.stderr.write(rootHelp());
      return ExitCode.usage;
    }
    const entry = findCommand(command);
    if (!entry) throw unknownCommand(command, COMMANDS.map((c) => c.name));
    const cli = await entry.load();
    if (globals.help) {
      const { commandHelp } = await import("./help.ts");
      process.stdout.write(await commandHelp(cli));
      return ExitCode.ok;
    }
    if (globals.version) {
      process.stdout.write(`bakelite ${VERSION}\n`);
      return ExitCode.ok;
    }
    const args = typeof cli.def.args === "function" ? await cli.def.args() : await cli.def.args;
    const flags = parseCommandFlags(rest, { name: command, args: args ?? {}, repeatable: cli.repeatable });
    const { applyLogLevel } = await import("./context.ts");
    await applyLogLevel(globals);
    const data: RunData = { globals, flags };
    const { result } = await runCommand(cli.def, { rawArgs: rest, data });
    return typeof result === "number" ? result : ExitCode.ok;
  } catch (err) {
    return reportError(err, { verbose });
  }
}

/** Resolves once everything written to `stream` has been handed to the OS. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write("", () => resolve()));
}

/** The command a command line will run, when it will run one (not for help, version or a usage error). */
function commandToRun(argv: string[]): string | undefined {
  const { command, globals, error } = splitGlobals(argv);
  return error || globals.help || globals.version ? undefined : command;
}

/** What the executable runs: the native self-check when asked for, else one command line. */
async function entry(argv: string[]): Promise<number> {
  if (process.env.BAKELITE_SELF_CHECK === "native") return (await import("./self-check.ts")).nativeSelfCheck();
  // A command that streams whole databases restarts itself here, once, with the allocator tuned (allocator.ts).
  tuneAllocator(commandToRun(argv));
  return main(argv);
}

if (import.meta.main) {
  const code = await entry(process.argv.slice(2));
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  // Explicit exit: a finished command must not linger on a stray timer or watcher.
  process.exit(code);
}

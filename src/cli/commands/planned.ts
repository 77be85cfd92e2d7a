/**
 * @module cli/commands/planned
 * The commands of the reference that this build registers but does not run
 * yet. They take their documented flags, so `--help` already shows what they
 * will do and a script that calls one fails with "not implemented yet"
 * (exit 2) rather than with a confusing "unknown flag".
 */
import { defineCommand, type ArgsDef } from "citty";
import { BakeliteError } from "../../errors.ts";
import type { CliCommand } from "../command.ts";
import { COMMANDS } from "../registry.ts";

const db = { type: "string", valueHint: "name", description: "Only this database (default: every configured database)" } as const;
const dryRun = { type: "boolean", description: "Report what would change; change nothing" } as const;

interface Planned {
  description: string;
  args: ArgsDef;
  repeatable?: string[];
  examples: string[];
}

const PLANNED: Record<string, Planned> = {
  compact: {
    description: "Merge the replica's older change-sets into fewer objects",
    args: { db },
    examples: ["bakelite compact --db app"],
  },
  repair: {
    description: "Rewrite corrupt or missing objects from a healthy copy on another destination",
    args: { db, "dry-run": dryRun },
    examples: ["bakelite repair --db app --dry-run"],
  },
};

/** "a, b and c": the commands this build runs, from the registry, so the hint cannot go stale. */
export function builtCommands(): string {
  const names = COMMANDS.filter((c) => c.implemented).map((c) => c.name);
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

export function plannedCommand(name: string): CliCommand {
  const p = PLANNED[name];
  if (!p) throw new Error(`no planned command ${name}`);
  return {
    def: defineCommand({
      meta: { name, description: `${p.description} (not implemented yet)` },
      args: p.args,
      run() {
        throw new BakeliteError("NOT_IMPLEMENTED", `${name} is not implemented yet`, {
          hint: `This build has ${builtCommands()}; see docs/cli.md.`,
        });
      },
    }),
    repeatable: p.repeatable,
    examples: p.examples,
  };
}

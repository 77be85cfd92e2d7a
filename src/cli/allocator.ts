/**
 * @module cli/allocator
 * Bun's allocator (mimalloc) hands memory that has been free for 100 ms back
 * to the OS. A snapshot or a restore allocates and frees a block's buffers
 * (zstd's context and its output) about a thousand times per GiB, spread over
 * the thread pool, so with that default much of it comes back as new memory:
 * a page fault for every 4 KiB, which on some virtual machines costs 10 µs
 * or more. With a purge delay of one second, freed memory is reused while a
 * stream runs and still goes back to the OS soon after it ends. Measured on
 * 1 GiB (docs/performance.md, "Allocator"): snapshot 2.03-2.24 s against
 * 2.23-2.46 s, restore without integrity_check 1.5-2.0 s against 1.7-2.3 s,
 * system time halved, peak memory a few MB higher.
 *
 * mimalloc reads its options from the environment once, when the process
 * starts, so a command that streams whole databases re-executes itself at
 * once with MIMALLOC_PURGE_DELAY set: same process id, arguments, descriptors
 * and environment otherwise, so a service manager sees nothing. A value the
 * user set is left alone (and is also what keeps this from looping).
 */
import { isCompiled } from "./executable.ts";

/** The commands that stream whole databases through compression and hashing. */
const STREAMING_COMMANDS = new Set(["daemon", "restore", "verify", "compact", "reencrypt"]);

export const PURGE_DELAY_ENV = "MIMALLOC_PURGE_DELAY";
export const PURGE_DELAY_MS = 1000;

/** Bun has Node's process.execve; the Node type definitions installed here predate it. */
type WithExecve = { execve(file: string, args: string[], env: Record<string, string | undefined>): never };

export interface Reexec {
  file: string;
  args: string[];
  env: Record<string, string | undefined>;
}

/**
 * How to start this process again with the tuned allocator, or null when it
 * needs no restart: not a streaming command, the variable already set, or
 * an OS without execve.
 */
export function allocatorReexec(
  command: string | undefined,
  proc: Pick<NodeJS.Process, "env" | "platform" | "execPath" | "execArgv" | "argv" | "argv0"> = process,
  main: string = Bun.main,
): Reexec | null {
  if (command === undefined || !STREAMING_COMMANDS.has(command)) return null;
  if (proc.env[PURGE_DELAY_ENV] !== undefined || proc.platform === "win32") return null;
  // A compiled executable sees argv as ["bun", "/$bunfs/root/<name>", ...user arguments];
  // `bun main.ts ...` sees [bun, main.ts, ...], with bun's own flags in execArgv.
  const args = isCompiled(main) ? [proc.argv0, ...proc.argv.slice(2)] : [proc.argv0, ...proc.execArgv, ...proc.argv.slice(1)];
  return { file: proc.execPath, args, env: { ...proc.env, [PURGE_DELAY_ENV]: String(PURGE_DELAY_MS) } };
}

/**
 * Re-executes this process with the tuned allocator when `command` streams
 * whole databases. Returns only when no restart was needed or execve failed
 * (the command then runs with the default allocator settings, no worse off).
 */
export function tuneAllocator(command: string | undefined): void {
  const reexec = allocatorReexec(command);
  if (!reexec) return;
  try {
    (process as unknown as WithExecve).execve(reexec.file, reexec.args, reexec.env);
  } catch {
    // Not fatal: the allocator's defaults only cost speed.
  }
}

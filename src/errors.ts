/**
 * @module errors
 * The one error family every layer throws. A `BakeliteError` carries a stable
 * `code` (scripts match on it), a one-line message, an optional hint ("Try: …"),
 * whether a retry could help (drives the daemon's backoff) and the process exit
 * code the CLI uses when the error ends a command.
 */

/** Exit codes, documented in docs/cli.md. */
export const ExitCode = {
  ok: 0,
  /** Runtime failure: backend unreachable, I/O error, anything not below. */
  failure: 1,
  /** Bad flags, bad config, a command that does not exist yet. */
  usage: 2,
  /** Data problem: a corrupt, missing or out-of-order object; verify found problems. */
  integrity: 3,
  /** Another bakelite process holds the database's lock. */
  locked: 4,
  /** Nothing to act on: unknown database, no backup on the backend. */
  notFound: 5,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Stable error codes. Add new ones at the end of a group; never rename. */
export type ErrorCode =
  // usage and configuration
  | "USAGE"
  | "NOT_IMPLEMENTED"
  | "NOT_SUPPORTED_YET"
  | "CONFIG_NOT_FOUND"
  | "CONFIG_INVALID"
  | "UNKNOWN_DATABASE"
  // local files and the live database
  | "DB_NOT_FOUND"
  | "DB_NOT_WAL"
  | "DB_BUSY"
  | "LOCKED"
  | "OUTPUT_EXISTS"
  | "DISK_FULL"
  | "IO"
  | "DB_REPLACED"
  | "WAL_OVERWRITTEN"
  // backends
  | "NOT_FOUND"
  | "BACKEND_IO"
  | "BACKEND_AUTH"
  | "BACKEND_TIMEOUT"
  // replica contents
  | "NO_BACKUP"
  | "CORRUPT_OBJECT"
  | "UNSUPPORTED_FORMAT"
  | "LINEAGE_BROKEN"
  | "CHAIN_GAP"
  | "CHECKSUM_MISMATCH"
  | "INTEGRITY_CHECK_FAILED"
  | "DECRYPT_FAILED"
  | "TARGET_UNREACHABLE";

const exitFor: Record<ErrorCode, ExitCodeValue> = {
  USAGE: ExitCode.usage,
  NOT_IMPLEMENTED: ExitCode.usage,
  NOT_SUPPORTED_YET: ExitCode.usage,
  CONFIG_NOT_FOUND: ExitCode.usage,
  CONFIG_INVALID: ExitCode.usage,
  UNKNOWN_DATABASE: ExitCode.usage,
  DB_NOT_FOUND: ExitCode.failure,
  DB_NOT_WAL: ExitCode.failure,
  DB_BUSY: ExitCode.failure,
  LOCKED: ExitCode.locked,
  OUTPUT_EXISTS: ExitCode.failure,
  DISK_FULL: ExitCode.failure,
  IO: ExitCode.failure,
  DB_REPLACED: ExitCode.failure,
  WAL_OVERWRITTEN: ExitCode.failure,
  NOT_FOUND: ExitCode.notFound,
  BACKEND_IO: ExitCode.failure,
  BACKEND_AUTH: ExitCode.failure,
  BACKEND_TIMEOUT: ExitCode.failure,
  NO_BACKUP: ExitCode.notFound,
  CORRUPT_OBJECT: ExitCode.integrity,
  UNSUPPORTED_FORMAT: ExitCode.integrity,
  LINEAGE_BROKEN: ExitCode.integrity,
  CHAIN_GAP: ExitCode.integrity,
  CHECKSUM_MISMATCH: ExitCode.integrity,
  INTEGRITY_CHECK_FAILED: ExitCode.integrity,
  DECRYPT_FAILED: ExitCode.integrity,
  TARGET_UNREACHABLE: ExitCode.notFound,
};

/** Codes a retry can fix; everything else is fatal for the operation. */
const retryableCodes = new Set<ErrorCode>(["BACKEND_IO", "BACKEND_TIMEOUT", "DB_BUSY", "IO", "DISK_FULL", "DB_REPLACED"]);

export interface ErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Overrides the default for the code. */
  retryable?: boolean;
}

export class BakeliteError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "BakeliteError";
    this.code = code;
    this.hint = options.hint;
    this.retryable = options.retryable ?? retryableCodes.has(code);
  }

  get exitCode(): ExitCodeValue {
    return exitFor[this.code];
  }
}

export function isBakeliteError(err: unknown, code?: ErrorCode): err is BakeliteError {
  return err instanceof BakeliteError && (code === undefined || err.code === code);
}

/** Wraps anything thrown into a BakeliteError, keeping the original as `cause`. */
export function toBakeliteError(err: unknown, fallback: ErrorCode = "IO", context?: string): BakeliteError {
  if (err instanceof BakeliteError) return err;
  const sys = err as NodeJS.ErrnoException | undefined;
  const base = err instanceof Error ? err.message : String(err);
  const message = context ? `${context}: ${base}` : base;
  if (sys?.code === "ENOSPC" || sys?.code === "EDQUOT") {
    return new BakeliteError("DISK_FULL", message, { cause: err, hint: "Free disk space, then retry." });
  }
  if (sys?.code === "ENOENT") return new BakeliteError(fallback === "IO" ? "NOT_FOUND" : fallback, message, { cause: err });
  return new BakeliteError(fallback, message, { cause: err });
}

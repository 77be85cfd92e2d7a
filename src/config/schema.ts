/**
 * @module config/schema
 * The single list of configuration keys: kind, default, meaning and whether a
 * feature acts on it yet. The validator reads defaults and kinds from here and
 * docs/configuration.md's key tables are generated from it
 * (config/reference.ts), so code and docs cannot drift apart. Backend keys
 * live in config/backend-schema.ts.
 */
import { type Kind, MAX_TIMER_MS } from "./check.ts";

export interface KeySpec {
  key: string;
  /** Property of the validated object this key fills. */
  field: string;
  kind: Kind;
  /** Default as it would be written in TOML; parsed by the same reader as user input. */
  default?: unknown;
  /** Shown in the docs instead of `default` when the default is conditional. */
  defaultText?: string;
  required?: boolean;
  /** Never echoed in error messages. */
  secret?: boolean;
  meaning: string;
  /**
   * Accepted and validated, but this build does not act on it yet. For keys
   * config/support.ts reports, a non-default value makes the engine refuse.
   */
  pending?: boolean;
}

const duration = (positive = false): Kind => ({ type: "duration", positive });
/** A duration that arms a timer, so it has a ceiling (MAX_TIMER_MS). */
const timer = (positive = false): Kind => ({ type: "duration", positive, max: MAX_TIMER_MS });
const size = (positive = false): Kind => ({ type: "size", positive });
const count: Kind = { type: "integer", min: 0 };
const bool: Kind = { type: "boolean" };

/** Every per-database tunable; settable under [defaults] and overridable in each [[database]]. */
export const tunableKeys: KeySpec[] = [
  { key: "debounce", field: "debounceMs", kind: timer(), default: "250ms",
    meaning: "Wait this long after a write for more writes, so a burst ships as one change-set. Must not exceed max_batch_delay; when it is not set anywhere, a max_batch_delay under 250ms lowers it to match." },
  { key: "max_batch_delay", field: "maxBatchDelayMs", kind: timer(true), default: "1s",
    meaning: "Longest a committed write waits before it is shipped, however busy the database is. This is roughly your recovery point objective." },
  { key: "safety_poll", field: "safetyPollMs", kind: duration(true), default: "30s",
    meaning: "Interval of a cheap check for changes a filesystem event may have missed." },
  { key: "busy_timeout", field: "busyTimeoutMs", kind: timer(), default: "5s",
    meaning: "SQLite busy timeout on bakelite's own connections to the database." },
  { key: "max_wal_size", field: "maxWalSize", kind: size(true), default: "16MiB",
    meaning: "When the WAL grows past this, bakelite ships everything and checkpoints so the WAL starts over." },
  { key: "manifest_flush", field: "manifestFlushMs", kind: duration(true), default: "10s",
    meaning: "How often the manifest (an index that saves listing the backend) is rewritten. The objects themselves are the truth; the manifest is also written at snapshots, checkpoints, compaction and shutdown." },
  { key: "snapshot_interval", field: "snapshotIntervalMs", kind: duration(true), default: "1d",
    meaning: "How often a new backup starts with a full snapshot. Shorter keeps restores quick; longer stores less." },
  { key: "retention", field: "retentionMs", kind: duration(), default: "0s", pending: true,
    meaning: 'Delete backups older than this; the current backup is always kept. "0s" keeps everything.' },
  { key: "compaction_levels", field: "compactionLevelsMs", kind: { type: "durations" }, default: ["30s", "5m", "1h"], pending: true,
    meaning: "Windows into which older change-sets are merged, one per level; each must be longer than the one before. [] turns compaction off." },
  { key: "compaction_keep_recent", field: "compactionKeepRecent", kind: count, default: 16, pending: true,
    meaning: "Number of newest change-sets left unmerged so recent point-in-time restores stay precise." },
  { key: "max_segments_per_snapshot", field: "maxSegmentsPerSnapshot", kind: count, default: 0,
    meaning: "Start a new backup after this many change-sets, bounding how much a restore replays even when snapshot_interval rarely fires. 0 turns it off." },
  { key: "max_total_size", field: "maxTotalSize", kind: size(), default: 0, pending: true,
    meaning: "Cap on bytes stored for the database; the oldest backups (never the current one) are deleted to stay under it. 0 means no cap." },
  { key: "max_backups", field: "maxBackups", kind: count, default: 0, pending: true,
    meaning: "Cap on the number of backups kept; the oldest (never the current one) are deleted. 0 means no cap." },
  { key: "multipart_sweep_interval", field: "multipartSweepIntervalMs", kind: duration(), default: "1h",
    meaning: 'S3 only: how often abandoned multipart uploads are aborted. "0s" turns the sweep off.' },
  { key: "multipart_min_age", field: "multipartMinAgeMs", kind: duration(), default: "1h",
    meaning: "S3 only: the sweep leaves multipart uploads younger than this alone, so an upload in progress is never aborted." },
  { key: "mirror_interval", field: "mirrorIntervalMs", kind: duration(true), default: "60s", pending: true,
    meaning: 'How often async destinations (mode = "async") are brought up to date.' },
  { key: "compression", field: "compression", kind: { type: "enum", values: ["zstd", "lz4", "none"] }, default: "zstd",
    meaning: "Compression of page data in every object." },
  { key: "validate_on_restore", field: "validateOnRestore", kind: bool, default: true, pending: true,
    meaning: "With two or more destinations, check each object while reading and fall back to another destination's copy when one is damaged." },
  { key: "on_incomplete_destination", field: "onIncompleteDestination",
    kind: { type: "enum", values: ["backfill", "refuse", "warn"] }, default: "backfill", pending: true,
    meaning: "With two or more destinations, what to do at start-up when one lacks part of the current backup: copy it over (backfill), stop (refuse) or log and continue (warn)." },
];

/** [daemon]: process-wide knobs; command-line flags override them. */
export const daemonKeys: KeySpec[] = [
  { key: "max_concurrent_snapshots", field: "maxConcurrentSnapshots", kind: count, default: 0,
    meaning: "How many databases may take a snapshot at the same time. 0 means automatic, which is one at a time." },
  { key: "snapshot_workers", field: "snapshotWorkers", kind: count, default: 0,
    meaning: "Blocks of one snapshot compressed at once, each on its own thread. 0 means automatic, which is one: compression then overlaps with reading the database but uses one core. Each extra worker costs one more core and about 5-9 MB of memory (peak RSS, measured) while a snapshot runs. With as many workers as cores (or more), one more block waits its turn so that no core idles between blocks." },
  { key: "metrics_addr", field: "metricsAddr", kind: { type: "addr" }, defaultText: "unset (no endpoint)",
    meaning: 'Address of the Prometheus metrics endpoint, e.g. "127.0.0.1:9090". Use "0.0.0.0:9090" to listen on every interface.' },
];

/** The keys of a [[database]] block besides the tunables and its sub-tables. */
export const databaseKeys: KeySpec[] = [
  { key: "name", field: "name", kind: { type: "string" }, required: true,
    meaning: "Unique name; used in commands (--db) and in object keys. Letters, digits, '.', '_' and '-', not starting with '.'." },
  { key: "path", field: "path", kind: { type: "path" }, required: true,
    meaning: "The SQLite database file. A relative path is taken relative to the config file's directory." },
];

/** [defaults.encryption] and [database.encryption]. */
export const encryptionKeys: KeySpec[] = [
  { key: "key_file", field: "keyFile", kind: { type: "path" },
    meaning: "File holding a key made by `bakelite keygen`." },
  { key: "passphrase", field: "passphrase", kind: { type: "string" }, secret: true,
    meaning: "Passphrase the key is derived from (Argon2id). Prefer passphrase_file or BAKELITE_PASSPHRASE on shared hosts." },
  { key: "passphrase_file", field: "passphraseFile", kind: { type: "path" },
    meaning: "File whose first line that is neither blank nor a # comment is the passphrase." },
  { key: "require_encrypted", field: "requireEncrypted", kind: bool, default: true,
    meaning: "Refuse to read any object that is not encrypted. Set to false only while migrating a replica that still holds plaintext objects." },
];

/** Tables allowed at the top level, for "unknown table" messages. */
export const topLevelKeys = ["defaults", "daemon", "database", "backends"] as const;

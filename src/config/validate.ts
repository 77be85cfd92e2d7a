/**
 * @module config/validate
 * Walks a parsed TOML document and produces the validated Config: rejects
 * unknown tables and keys, wrong types and contradictory settings, applies
 * built-in defaults, then [defaults], then each [[database]]'s overrides.
 * The first problem found is thrown as one CONFIG_INVALID line naming file,
 * table and key.
 */
import { dirname, resolve } from "node:path";
import type { BackendConfig, Config, DaemonConfig, DatabaseConfig } from "./types.ts";
import { readBackend, readKeys } from "./backends.ts";
import { checkKeys, isTable, typeName, Where, type Table } from "./check.ts";
import { encryptionFromEnv, readEncryptionBlock, resolveEncryption, type EncryptionBlock } from "./encryption.ts";
import { daemonKeys, databaseKeys, tunableKeys, topLevelKeys } from "./schema.ts";
import { formatDuration } from "./units.ts";

type Env = Record<string, string | undefined>;
type Tunables = Omit<DatabaseConfig, "name" | "path" | "backends" | "encryption">;

const names = (specs: { key: string }[]) => specs.map((s) => s.key);
const tunableNames = names(tunableKeys);
const daemonNames = names(daemonKeys);
const inDatabase = "it belongs in a [[database]] block";
const inDaemon = "it belongs in [daemon]";
const inTunables = "it belongs in [defaults] or a [[database]] block";

const builtIn: Tunables = (() => {
  const out: Record<string, unknown> = {};
  readKeys({}, tunableKeys, new Where("built-in defaults", "/"), out);
  return out as unknown as Tunables;
})();

/** A safe object-key segment and file name: it names state files and backend prefixes. */
const databaseName = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

function tableAt(doc: Table, key: string, where: Where, hint: string): Table | undefined {
  const value = doc[key];
  if (value === undefined) return undefined;
  if (!isTable(value)) throw where.fail(`${key}: expected a table, got ${typeName(value)}`, hint);
  return value;
}

function listAt(doc: Table, key: string, where: Where, hint: string): unknown[] | undefined {
  const value = doc[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw where.fail(`${key}: expected a list of tables, got ${typeName(value)}`, hint);
  return value;
}

/** Only the tunables the table sets; merging decides what wins. */
function readTunables(table: Table, where: Where): Partial<Tunables> {
  const present = tunableKeys.filter((spec) => table[spec.key] !== undefined);
  const out: Record<string, unknown> = {};
  readKeys(table, present, where, out);
  return out as Partial<Tunables>;
}

/**
 * Where debounce is set nowhere (not in [defaults], not in the database's
 * block), it is the built-in 250ms or max_batch_delay if that is shorter, so
 * setting only max_batch_delay (the RPO) below 250ms works. A debounce the
 * user set must fit under max_batch_delay.
 */
function settleDebounce(t: Tunables, debounceSet: boolean): Tunables {
  return debounceSet ? t : { ...t, debounceMs: Math.min(builtIn.debounceMs, t.maxBatchDelayMs) };
}

/** [defaults] as a database inherits it: the values, whether debounce was set there, and where it is. */
interface DefaultTunables {
  values: Tunables;
  debounceSet: boolean;
  where: Where;
}

function checkBatching(t: Tunables, where: Where): void {
  if (t.debounceMs > t.maxBatchDelayMs) {
    throw where.fail(
      `debounce ("${formatDuration(t.debounceMs)}") must not exceed max_batch_delay ("${formatDuration(t.maxBatchDelayMs)}")`,
      "max_batch_delay bounds how long a write may wait; raise it or lower debounce.",
    );
  }
}

function readDaemon(doc: Table, root: Where): DaemonConfig {
  const where = root.nest("[daemon]");
  const table = tableAt(doc, "daemon", root, "Write [daemon], not [[daemon]].") ?? {};
  checkKeys(table, daemonNames, where, Object.fromEntries(tunableNames.map((k) => [k, inTunables])));
  const out: Record<string, unknown> = {};
  readKeys(table, daemonKeys, where, out);
  return {
    maxConcurrentSnapshots: (out.maxConcurrentSnapshots as number) || 1,
    snapshotWorkers: (out.snapshotWorkers as number) || 1,
    ...(out.metricsAddr === undefined ? {} : { metricsAddr: out.metricsAddr as string }),
  };
}

function readBackendList(list: unknown[], where: Where, label: string): BackendConfig[] {
  return list.map((raw, i) => readBackend(raw, where.nest(`${label} #${i + 1}`)));
}

function readDatabase(raw: unknown, index: number, root: Where, defaults: DefaultTunables, shared: BackendConfig[] | undefined,
  defaultsEncryption: EncryptionBlock | undefined, env: Env): DatabaseConfig {
  let where = root.nest(`[[database]] #${index + 1}`);
  if (!isTable(raw)) throw where.fail(`expected a table, got ${typeName(raw)}`);
  const name = raw.name;
  if (name === undefined) throw where.fail('missing required key "name"');
  if (typeof name !== "string") throw where.fail(`name: expected a string, got ${typeName(name)}`);
  if (!databaseName.test(name)) {
    throw where.fail(`name = ${JSON.stringify(name)}: use 1-128 letters, digits, '.', '_' or '-', not starting with '.'`,
      "The name becomes part of object keys and local state file names.");
  }
  where = root.nest(`[[database]] ${JSON.stringify(name)}`);
  checkKeys(raw, [...names(databaseKeys), ...tunableNames, "backends", "encryption"], where,
    Object.fromEntries(daemonNames.map((k) => [k, inDaemon])));
  const ids: Record<string, unknown> = {};
  readKeys(raw, databaseKeys, where, ids);

  const own = readTunables(raw, where);
  const debounceSet = defaults.debounceSet || own.debounceMs !== undefined;
  const tunables = settleDebounce({ ...defaults.values, ...own }, debounceSet);
  // The conflict is reported where its values were written: here, or in [defaults] when this block sets neither.
  const ownBatching = own.debounceMs !== undefined || own.maxBatchDelayMs !== undefined;
  if (debounceSet) checkBatching(tunables, ownBatching ? where : defaults.where);

  const ownList = listAt(raw, "backends", where, "Write [[database.backends]], not [database.backends].");
  let backends: BackendConfig[];
  if (ownList !== undefined) {
    if (ownList.length === 0) throw where.fail("backends is empty; list at least one [[database.backends]]");
    backends = readBackendList(ownList, where, "[[database.backends]]");
  } else if (shared !== undefined) {
    // Copies, so nothing one database's engine does to its list reaches another's.
    backends = shared.map((b) => ({ ...b }));
  } else {
    throw where.fail("no backend: add a [[database.backends]] block, or a top-level [[backends]] shared by all databases");
  }
  if (!backends.some((b) => b.mode === "sync")) {
    throw where.fail('every backend is mode = "async"; at least one must be "sync" (the primary that replication waits for)');
  }

  const ownEncryption = raw.encryption === undefined ? undefined
    : readEncryptionBlock(raw.encryption, where.nest("[database.encryption]"));
  const encryption = resolveEncryption(ownEncryption, defaultsEncryption, encryptionFromEnv(env));
  return {
    name, path: ids.path as string, ...tunables, backends,
    ...(encryption === undefined ? {} : { encryption }),
  };
}

function checkUnique(databases: DatabaseConfig[], root: Where): void {
  databases.forEach((db, i) => {
    const earlier = databases.slice(0, i);
    const sameName = earlier.findIndex((d) => d.name === db.name);
    if (sameName >= 0) {
      throw root.nest(`[[database]] #${i + 1}`).fail(`name "${db.name}" is already used by [[database]] #${sameName + 1}`);
    }
    const samePath = earlier.find((d) => d.path === db.path);
    if (samePath) {
      throw root.nest(`[[database]] "${db.name}"`).fail(
        `path "${db.path}" is also the path of [[database]] "${samePath.name}"`,
        "Two entries for one file would run two replicators against the same WAL.",
      );
    }
  });
}

/** Turns a parsed TOML document into a Config. `source` names the file in messages; relative paths resolve against its directory. */
export function validateConfig(doc: Table, source: string, env: Env): Config {
  const root = new Where(source, dirname(resolve(source)));
  checkKeys(doc, topLevelKeys, root, {
    ...Object.fromEntries(tunableNames.map((k) => [k, inTunables])),
    ...Object.fromEntries(daemonNames.map((k) => [k, inDaemon])),
    name: inDatabase, path: inDatabase,
    encryption: "use [defaults.encryption] for every database or [database.encryption] for one",
  });

  const defaultsTable = tableAt(doc, "defaults", root, "Write [defaults], not [[defaults]].") ?? {};
  const defaultsWhere = root.nest("[defaults]");
  checkKeys(defaultsTable, [...tunableNames, "encryption"], defaultsWhere, {
    ...Object.fromEntries(daemonNames.map((k) => [k, inDaemon])),
    name: inDatabase, path: inDatabase,
    backends: "shared backends are a top-level [[backends]] list",
  });
  const defaultsOwn = readTunables(defaultsTable, defaultsWhere);
  const debounceSet = defaultsOwn.debounceMs !== undefined;
  const defaults: DefaultTunables = { values: settleDebounce({ ...builtIn, ...defaultsOwn }, debounceSet), debounceSet, where: defaultsWhere };
  const defaultsEncryption = defaultsTable.encryption === undefined ? undefined
    : readEncryptionBlock(defaultsTable.encryption, root.nest("[defaults.encryption]"));
  // Check the defaults block on its own too, so an empty one is reported as such.
  resolveEncryption(undefined, defaultsEncryption, encryptionFromEnv(env));

  const daemon = readDaemon(doc, root);
  const sharedList = listAt(doc, "backends", root, "Write [[backends]] (a list), not [backends].");
  const shared = sharedList === undefined ? undefined : readBackendList(sharedList, root, "[[backends]]");
  if (shared !== undefined && shared.length === 0) throw root.fail("backends is empty; list at least one [[backends]]");

  const list = listAt(doc, "database", root, "Write [[database]] (a list), not [database].");
  if (list === undefined || list.length === 0) {
    throw root.fail("no [[database]] defined", "Add a [[database]] block with name, path and a backend, or run `bakelite init`.");
  }
  const databases = list.map((raw, i) => readDatabase(raw, i, root, defaults, shared, defaultsEncryption, env));
  checkUnique(databases, root);
  return { source: resolve(source), databases, daemon };
}

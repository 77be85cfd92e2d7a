/**
 * @module backends/file-walk
 * The file backend's view of its directory tree: temp-file names, the sorted
 * recursive listing, and the sweep that removes temp files a crashed writer
 * left behind. The temp-file names and the sweep's shape (TempFileSweeper)
 * are shared with the SFTP backend, which writes the same way.
 *
 * Temp files are named `.<name>~<16 hex>.tmp`. '~' is not allowed in keys,
 * so a temp file can never collide with an object (keys may start with '.'),
 * and the listing, which skips every name that is not a valid key segment,
 * never shows one.
 */
import { lstat, readdir, rmdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Dirent, Stats } from "node:fs";
import type { Backend, ObjectInfo } from "./types.ts";
import { assertValidPrefix } from "./keys.ts";
import { MISSING_CODES, errnoOf, fileError } from "./file-errors.ts";

const KEY_SEGMENT = /^[A-Za-z0-9._@-]+$/;
const TEMP_NAME = /^\..*~[0-9a-f]{16}\.tmp$/;
const STAT_BATCH = 64;

/** A fresh temp name beside `name`; the name part is truncated to stay under NAME_MAX. */
export function tempNameFor(name: string): string {
  return `.${name.slice(0, 128)}~${randomBytes(8).toString("hex")}.tmp`;
}

export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

function isKeySegment(name: string): boolean {
  return name !== "." && name !== ".." && KEY_SEGMENT.test(name);
}

interface Entry {
  name: string;
  dir: boolean;
  /** The name as it sorts among its siblings: directories sort as "name/". */
  order: string;
}

async function readEntries(root: string, dirKey: string): Promise<Dirent[] | null> {
  const dir = join(root, dirKey);
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (MISSING_CODES.has(errnoOf(err) ?? "")) return null;
    throw fileError(err, "list", dirKey, dir, root);
  }
}

async function classify(root: string, dirKey: string, d: Dirent): Promise<Entry | null> {
  let dir = d.isDirectory();
  if (!dir && !d.isFile()) {
    // Symlinks (and filesystems that report no type) are resolved by stat.
    const st = await stat(join(root, dirKey, d.name)).catch(() => null);
    if (!st || (!st.isDirectory() && !st.isFile())) return null;
    dir = st.isDirectory();
  }
  return { name: d.name, dir, order: dir ? `${d.name}/` : d.name };
}

/**
 * Every object under `root` whose key starts with `prefix`, in ascending byte
 * order. Sorting each directory's entries with directories as "name/" makes a
 * depth-first walk come out in global key order ("a-b" < "a.b" < "a/x").
 */
export async function* walkObjects(root: string, prefix: string): AsyncGenerator<ObjectInfo> {
  const slash = prefix.lastIndexOf("/");
  yield* walkDir(root, slash < 0 ? "" : prefix.slice(0, slash), prefix.slice(slash + 1));
}

async function* walkDir(root: string, dirKey: string, namePrefix: string): AsyncGenerator<ObjectInfo> {
  const dirents = await readEntries(root, dirKey);
  if (!dirents) return;
  const wanted = dirents.filter((d) => isKeySegment(d.name) && d.name.startsWith(namePrefix));
  const entries = (await Promise.all(wanted.map((d) => classify(root, dirKey, d)))).filter((e): e is Entry => e !== null);
  entries.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));

  let batch: string[] = [];
  const flush = async function* (): AsyncGenerator<ObjectInfo> {
    const keys = batch;
    batch = [];
    const stats = await Promise.all(keys.map((key) => statObject(root, key)));
    for (let i = 0; i < keys.length; i++) {
      const st = stats[i];
      // A file deleted between readdir and stat is simply no longer there.
      if (st) yield { key: keys[i], size: st.size, modified: st.mtime };
    }
  };
  for (const entry of entries) {
    const key = dirKey === "" ? entry.name : `${dirKey}/${entry.name}`;
    if (entry.dir) {
      yield* flush();
      yield* walkDir(root, key, "");
    } else {
      batch.push(key);
      if (batch.length >= STAT_BATCH) yield* flush();
    }
  }
  yield* flush();
}

async function statObject(root: string, key: string): Promise<Stats | null> {
  const path = join(root, key);
  try {
    const st = await stat(path);
    return st.isFile() ? st : null;
  } catch (err) {
    if (MISSING_CODES.has(errnoOf(err) ?? "")) return null;
    throw fileError(err, "list", key, path, root);
  }
}

export interface SweepResult {
  /** Temp files removed (dry run: that would be). */
  removed: number;
  /** Their sizes in bytes. */
  bytes: number;
  /** Temp files that could not be removed (read-only replica, permissions). */
  failed: number;
}

export interface TempSweepOptions {
  /**
   * Only under this directory of keys, e.g. "app/" for one database; "" (the
   * default) is the whole replica. It must end in '/': a temp file's name
   * does not spell its key, so a sweep can be limited by directory only.
   */
  prefix?: string;
  /** Only temp files last modified more than this long ago; omitted: every one, whatever its age. */
  olderThanMs?: number;
  /** Count what would be removed and remove nothing. */
  dryRun?: boolean;
  /** Clock, for tests. */
  now?: number;
}

/**
 * A backend whose puts stream into temp files (file, SFTP). Without an age,
 * a sweep also removes the temp file of an upload still in flight, so a
 * caller omits it only for a prefix nothing is writing to (reencrypt, which
 * holds the database's lock).
 */
export interface TempFileSweeper {
  sweepTempFiles(options: TempSweepOptions): Promise<SweepResult>;
}

/** `backend` as a TempFileSweeper, or null when its puts leave no temp files (S3, GCS, Azure). */
export function tempFileSweeperOf(backend: Backend): (Backend & TempFileSweeper) | null {
  return typeof (backend as Partial<TempFileSweeper>).sweepTempFiles === "function" ? (backend as Backend & TempFileSweeper) : null;
}

/** Throws a TypeError unless `prefix` is "" or a directory of keys ending in '/'. */
export function assertSweepPrefix(prefix: string): void {
  assertValidPrefix(prefix);
  if (prefix !== "" && !prefix.endsWith("/")) throw new TypeError(`a temp-file sweep takes a directory prefix ending in '/', got ${JSON.stringify(prefix)}`);
}

/**
 * Removes the temp files under `root` (under `options.prefix` only, when
 * given) last modified more than `options.olderThanMs` ago, or all of them
 * without an age, and directories that this leaves empty (never `root`
 * itself). A writer still streaming into a temp file keeps touching its
 * mtime, so only a dead writer's file gets old. Best effort: nothing here
 * throws for a file it cannot remove, so a read-only replica can still be
 * opened for restore.
 */
export async function sweepTempFiles(root: string, options: TempSweepOptions = {}): Promise<SweepResult> {
  const prefix = options.prefix ?? "";
  assertSweepPrefix(prefix);
  const cutoff = options.olderThanMs === undefined ? Infinity : (options.now ?? Date.now()) - options.olderThanMs;
  const result: SweepResult = { removed: 0, bytes: 0, failed: 0 };
  await sweepDir(root, prefix.slice(0, -1), { cutoff, dryRun: options.dryRun ?? false }, result);
  return result;
}

async function sweepDir(root: string, dirKey: string, how: { cutoff: number; dryRun: boolean }, result: SweepResult): Promise<void> {
  const dirents = await readdir(join(root, dirKey), { withFileTypes: true }).catch(() => null);
  if (!dirents) return;
  let removedHere = false;
  for (const d of dirents) {
    const path = join(root, dirKey, d.name);
    if (d.isDirectory() && isKeySegment(d.name)) {
      await sweepDir(root, dirKey === "" ? d.name : `${dirKey}/${d.name}`, how, result);
    } else if (d.isFile() && isTempName(d.name)) {
      const st = await lstat(path).catch(() => null);
      if (!st || st.mtimeMs >= how.cutoff) continue;
      try {
        if (!how.dryRun) await unlink(path);
        result.removed++;
        result.bytes += st.size;
        removedHere = true;
      } catch (err) {
        if (errnoOf(err) !== "ENOENT") result.failed++;
      }
    }
  }
  // A crash during the first put into a new directory leaves it empty.
  if (removedHere && !how.dryRun && dirKey !== "") await rmdir(join(root, dirKey)).catch(() => undefined);
}

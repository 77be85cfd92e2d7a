/**
 * @module backends/sftp-walk
 * The recursive, sorted listing of an SFTP replica. One READDIR per
 * directory returns names with their attributes, so unlike the file backend
 * no per-object stat is needed. Each directory's entries are sorted with
 * directories as "name/", which makes the depth-first walk come out in global
 * key byte order ("a-b" < "a.b" < "a/x" < "ab").
 *
 * Temp files (`.<name>~<hex>.tmp`, see file-walk.ts) and names that cannot be
 * keys are never listed. Temp files older than the stale age are reported to
 * the caller, which removes them: a writer killed mid-put leaves one behind,
 * and the listing is the one place that sees them without extra requests.
 * sweepTemps walks the same way to remove them on demand; only the
 * directories the prefix reaches are read, so a sweep limited to one
 * database's prefix never meets another database's temp files.
 */
import type { FileEntryWithStats } from "ssh2";
import type { ObjectInfo } from "./types.ts";
import type { SftpSession } from "./sftp-session.ts";
import { assertSweepPrefix, isTempName, type SweepResult, type TempSweepOptions } from "./file-walk.ts";
import { isNoSuchFile, sftpError } from "./sftp-errors.ts";

const KEY_SEGMENT = /^[A-Za-z0-9._@-]+$/;

interface Entry {
  name: string;
  dir: boolean;
  size: number;
  mtime: number;
  order: string;
}

export interface WalkOptions {
  session: SftpSession;
  /** Absolute remote directory of the replica. */
  root: string;
  prefix: string;
  /** Temp files last modified before this time (ms since the epoch) are reported; Infinity: every one. */
  staleBefore: number;
  onStaleTemp(path: string, size: number): void;
}

export async function* walkObjects(options: WalkOptions): AsyncGenerator<ObjectInfo> {
  const slash = options.prefix.lastIndexOf("/");
  yield* walkDir(options, slash < 0 ? "" : options.prefix.slice(0, slash), options.prefix.slice(slash + 1));
}

async function readEntries(o: WalkOptions, dirKey: string, namePrefix: string): Promise<Entry[]> {
  const dir = dirKey === "" ? o.root : `${o.root}/${dirKey}`;
  let list: FileEntryWithStats[];
  try {
    list = await o.session.readdir(dir);
  } catch (err) {
    if (isNoSuchFile(err)) return []; // no such directory, or a file where the prefix expects one
    throw sftpError(err, "list", dirKey || o.prefix, o.session.where);
  }
  const entries: Entry[] = [];
  for (const { filename: name, attrs } of list) {
    if (isTempName(name)) {
      if (attrs.mtime * 1000 < o.staleBefore) o.onStaleTemp(`${dir}/${name}`, attrs.size);
      continue;
    }
    if (name === "." || name === ".." || !KEY_SEGMENT.test(name) || !name.startsWith(namePrefix)) continue;
    let st = attrs;
    if (st.isSymbolicLink()) {
      // READDIR reports the link itself; what it points at decides.
      const target = await o.session.stat(`${dir}/${name}`).catch(() => null);
      if (!target) continue;
      st = target;
    }
    if (!st.isDirectory() && !st.isFile()) continue;
    const isDir = st.isDirectory();
    entries.push({ name, dir: isDir, size: st.size, mtime: st.mtime, order: isDir ? `${name}/` : name });
  }
  return entries.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
}

async function* walkDir(o: WalkOptions, dirKey: string, namePrefix: string): AsyncGenerator<ObjectInfo> {
  for (const entry of await readEntries(o, dirKey, namePrefix)) {
    const key = dirKey === "" ? entry.name : `${dirKey}/${entry.name}`;
    if (entry.dir) yield* walkDir(o, key, "");
    else yield { key, size: entry.size, modified: new Date(entry.mtime * 1000) };
  }
}

/**
 * The SFTP backend's TempFileSweeper: walks `prefix` for temp files older
 * than the age (all of them without one) and removes them. Ages compare this
 * host's clock with the server's mtimes.
 */
export async function sweepTemps(session: SftpSession, root: string, options: TempSweepOptions): Promise<SweepResult> {
  const prefix = options.prefix ?? "";
  assertSweepPrefix(prefix);
  const staleBefore = options.olderThanMs === undefined ? Infinity : (options.now ?? Date.now()) - options.olderThanMs;
  const found: Array<{ path: string; size: number }> = [];
  const walk = walkObjects({ session, root, prefix, staleBefore, onStaleTemp: (path, size) => found.push({ path, size }) });
  for await (const _object of walk) {
    // Only the temp files the walk reports matter here.
  }
  const result: SweepResult = { removed: 0, bytes: 0, failed: 0 };
  for (const { path, size } of found) {
    try {
      if (!options.dryRun) await session.unlink(path);
      result.removed++;
      result.bytes += size;
    } catch (err) {
      if (!isNoSuchFile(err)) result.failed++;
    }
  }
  return result;
}

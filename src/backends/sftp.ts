/**
 * @module backends/sftp
 * A replica on any SSH server, over SFTP (the `ssh2` library, loaded only
 * when an sftp backend is opened). Key "a/b" is the remote file <path>/a/b;
 * a relative `path` is resolved against the login directory.
 *
 * A put streams into a temp file beside the target (`.<name>~<hex>.tmp`,
 * never a valid key, so never listed), fsyncs it with fsync@openssh.com when
 * the server offers it, and moves it over the key with
 * posix-rename@openssh.com, which is rename(2) on the server: readers see
 * the old object or the whole new one. (Plain SFTP rename refuses to replace
 * an existing file; see `replace` for servers without the extension.)
 *
 * One SSH connection carries every call. When it drops, calls in flight fail
 * as retryable and the next call connects again; a large read in progress
 * reconnects by itself and resumes at the byte it reached.
 */
import { posix } from "node:path";
import { BakeliteError } from "../errors.ts";
import { log } from "../ops/log.ts";
import type { SftpBackendConfig } from "../config/types.ts";
import { assertValidKey } from "./types.ts";
import type { Backend, BackendCapabilities, Body, ByteRange, ObjectInfo, PutOptions } from "./types.ts";
import { assertValidPrefix } from "./keys.ts";
import { tempNameFor, type SweepResult, type TempFileSweeper, type TempSweepOptions } from "./file-walk.ts";
import { describeBackend } from "./open.ts";
import { closedError, isFailure, isNoSuchFile, sftpError, type SftpWhere } from "./sftp-errors.ts";
import { connectSession, resolveCredentials, type ConnectSettings, type Env } from "./sftp-connect.ts";
import type { SftpSession } from "./sftp-session.ts";
import { BodyError } from "./body.ts";
import { readRange, writeBody } from "./sftp-transfer.ts";
import { sweepTemps, walkObjects } from "./sftp-walk.ts";

type Ssh2 = typeof import("ssh2");

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/**
 * A temp file untouched this long belongs to a writer that died. A day, not
 * the file backend's hour: the age is judged by our clock against the
 * server's mtimes, and the two clocks may disagree.
 */
export const SFTP_STALE_TEMP_MS = 24 * 60 * 60 * 1000;
/** Reconnects one read may make without getting a single byte further. */
const MAX_RESUMES = 3;

export interface SftpBackendOptions {
  /** Where the *_env variables and the BAKELITE_SFTP_* fallbacks are read; process.env by default. */
  env?: Env;
  /** Ignore extensions the server offers (for servers that advertise one but break it; tests use it too). */
  ignoreExtensions?: Array<"posix-rename" | "fsync">;
}

/** Validates credentials and returns a backend that connects on its first call. */
export async function openSftpBackend(config: SftpBackendConfig, options: SftpBackendOptions = {}): Promise<SftpBackend> {
  const ssh2 = await import("ssh2");
  const env = options.env ?? process.env;
  const credentials = resolveCredentials(config, env, ssh2.utils.parseKey);
  const backend = new SftpBackend(ssh2, { config, credentials, env, where: whereOf(config) }, options.ignoreExtensions ?? []);
  if (config.insecureSkipHostKeyCheck) {
    log.warn(`${backend.describe}: insecure_skip_host_key_check = true: the server's identity is not checked, so anyone on the path can receive these backups`);
  }
  return backend;
}

function whereOf(config: SftpBackendConfig): SftpWhere {
  return { server: `${config.user}@${config.host}:${config.port}`, user: config.user, host: config.host };
}

export class SftpBackend implements Backend, TempFileSweeper {
  readonly type = "sftp";
  readonly describe: string;
  private live: SftpSession | null = null;
  private pending: Promise<SftpSession> | null = null;
  private closed = false;
  private warned = new Set<string>();

  constructor(
    private readonly ssh2: Ssh2,
    private readonly settings: ConnectSettings,
    private readonly ignored: ReadonlyArray<"posix-rename" | "fsync"> = [],
  ) {
    this.describe = describeBackend(settings.config);
  }

  get capabilities(): BackendCapabilities {
    // Only a server without posix-rename makes overwrites non-atomic; until we know, assume OpenSSH.
    return { atomicPut: this.live ? this.canPosixRename(this.live) : true, streamingPut: true, multipartReclaim: false };
  }

  async put(key: string, body: Body, options: PutOptions = {}): Promise<void> {
    assertValidKey(key);
    options.signal?.throwIfAborted();
    const s = await this.session();
    const path = `${this.rootOf(s)}/${key}`;
    const dir = posix.dirname(path);
    const temp = `${dir}/${tempNameFor(posix.basename(path))}`;
    const handle = await this.openTemp(s, temp, dir, key);
    let open = true;
    try {
      const written = await writeBody(s, handle, body, key, options.signal);
      if (options.size !== undefined && written !== options.size) {
        throw new BakeliteError("BACKEND_IO", `sftp backend: put ${key}: body was ${written} bytes, expected ${options.size}`, { retryable: false });
      }
      if (this.canFsync(s)) await s.fsync(handle);
      open = false;
      await s.closeHandle(handle);
      await this.replace(s, temp, path);
    } catch (err) {
      if (open) await s.closeHandle(handle).catch(() => undefined);
      // On a dead session the temp file stays; it is invisible and a later listing sweeps it.
      await s.unlink(temp).catch(() => undefined);
      if (err instanceof BodyError) throw err.error;
      if (options.signal?.aborted) throw options.signal.reason;
      throw sftpError(err, "put", key, s.where);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const part of this.getStream(key, range)) parts.push(part);
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  async *getStream(key: string, range?: ByteRange): AsyncGenerator<Uint8Array> {
    checkRange(range);
    assertValidKey(key);
    let s = await this.session();
    const first = await this.openForRead(s, key);
    let handle = first.handle;
    // The session `handle` belongs to: after a reconnect whose reopen failed, the old handle's id
    // may name another reader's handle on the new session, so it is closed only on its own.
    let owner = s;
    const [start, end] = span(first.size, range);
    let at = start;
    let stalled = 0;
    try {
      while (at < end) {
        try {
          for await (const chunk of readRange(s, handle, at, end, key)) {
            at += chunk.length;
            stalled = 0;
            yield chunk;
          }
          return;
        } catch (err) {
          const e = sftpError(err, "get", key, s.where);
          if (!e.retryable || !s.dead || ++stalled > MAX_RESUMES) throw e;
          s = await this.session();
          handle = await this.reopenSame(s, key, first, e);
          owner = s;
        }
      }
    } finally {
      if (!owner.dead) await owner.closeHandle(handle).catch(() => undefined);
    }
  }

  async stat(key: string): Promise<ObjectInfo | null> {
    assertValidKey(key);
    const s = await this.session();
    try {
      const st = await s.stat(`${this.rootOf(s)}/${key}`);
      return st.isFile() ? { key, size: st.size, modified: new Date(st.mtime * 1000) } : null;
    } catch (err) {
      if (isNoSuchFile(err)) return null;
      throw sftpError(err, "stat", key, s.where);
    }
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    return this.walk(prefix);
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    const s = await this.session();
    const root = this.rootOf(s);
    const path = `${root}/${key}`;
    try {
      await s.unlink(path);
    } catch (err) {
      if (!isNoSuchFile(err)) {
        // A directory of other objects: there is no object "key" to delete.
        const st = await s.stat(path).catch(() => null);
        if (!st?.isDirectory()) throw sftpError(err, "delete", key, s.where);
      }
    }
    // Keep the tree tidy; a directory another writer just filled simply stays.
    for (let d = posix.dirname(path); d.startsWith(`${root}/`); d = posix.dirname(d)) {
      try {
        await s.rmdir(d);
      } catch {
        break;
      }
    }
  }

  /** See TempFileSweeper: without an age it removes every temp file under the prefix. */
  async sweepTempFiles(options: TempSweepOptions): Promise<SweepResult> {
    const s = await this.session();
    return sweepTemps(s, this.rootOf(s), options);
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = this.pending;
    this.live?.end();
    this.live = null;
    if (pending) await pending.then((s) => s.end(), () => undefined);
  }

  /** The live session, or a new one. Concurrent callers share one connection attempt. */
  private session(): Promise<SftpSession> {
    if (this.closed) return Promise.reject(closedError(this.settings.where));
    if (this.live && !this.live.dead) return Promise.resolve(this.live);
    if (this.pending) return this.pending;
    this.live = null;
    this.pending = connectSession(this.ssh2, this.settings).then((s) => {
      this.pending = null;
      if (this.closed) {
        s.end();
        throw closedError(this.settings.where);
      }
      this.live = s;
      if (!this.canFsync(s)) this.warnOnce("fsync", "the server does not offer fsync@openssh.com: a put is as durable as the server's own write-back makes it");
      if (!this.canPosixRename(s)) this.warnOnce("rename", "the server does not offer posix-rename@openssh.com: CURRENT and manifest are replaced by remove-then-rename, not atomically");
      return s;
    }, (err) => {
      this.pending = null;
      throw err;
    });
    return this.pending;
  }

  private canFsync(s: SftpSession): boolean {
    return s.canFsync && !this.ignored.includes("fsync");
  }

  private canPosixRename(s: SftpSession): boolean {
    return s.canPosixRename && !this.ignored.includes("posix-rename");
  }

  private warnOnce(id: string, message: string): void {
    if (this.warned.has(id)) return;
    this.warned.add(id);
    log.warn(`${this.describe}: ${message}`);
  }

  /** Absolute remote directory of the replica, without a trailing slash ("" for "/"). */
  private rootOf(s: SftpSession): string {
    // SFTP does not expand "~"; a "~/backups" meant the login directory, not a directory named "~".
    const path = this.settings.config.path.replace(/^~(\/|$)/, "");
    const abs = path.startsWith("/") ? path : posix.join(s.home, path);
    return posix.normalize(abs).replace(/\/+$/, "");
  }

  private async openTemp(s: SftpSession, temp: string, dir: string, key: string): Promise<Buffer> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await s.open(temp, "wx", FILE_MODE);
      } catch (err) {
        // A missing directory (never made, or pruned by a concurrent delete): make it and try again.
        if (!isNoSuchFile(err) || attempt >= 3) throw sftpError(err, "put", key, s.where);
        await this.mkdirs(s, dir, key);
      }
    }
  }

  /** mkdir -p, tolerating concurrent writers making the same directories. */
  private async mkdirs(s: SftpSession, dir: string, key: string): Promise<void> {
    const missing: string[] = [];
    for (let d = dir; ; d = posix.dirname(d)) {
      let isDir: boolean;
      try {
        isDir = (await s.stat(d)).isDirectory();
      } catch (err) {
        if (!isNoSuchFile(err) || posix.dirname(d) === d) throw sftpError(err, "put", key, s.where);
        missing.push(d);
        continue;
      }
      if (!isDir) throw inTheWay(key, d, s.where);
      break;
    }
    for (const d of missing.reverse()) {
      try {
        await s.mkdir(d, DIR_MODE);
      } catch (err) {
        const st = await s.stat(d).catch(() => null);
        if (st && !st.isDirectory()) throw inTheWay(key, d, s.where);
        if (!st) throw sftpError(err, "put", key, s.where);
      }
    }
  }

  /**
   * Moves the finished temp file over the key. Without posix-rename a plain
   * rename still places a new key atomically (every data object is new), but
   * replacing CURRENT or a manifest needs the old file removed first: a
   * reader may then briefly find neither, and both are hints that restore
   * reconciles by listing, never the only copy of anything.
   */
  private async replace(s: SftpSession, temp: string, path: string): Promise<void> {
    if (this.canPosixRename(s)) return s.posixRename(temp, path);
    try {
      await s.rename(temp, path);
    } catch (err) {
      if (!isFailure(err) || !(await s.stat(path).catch(() => null))) throw err;
      await s.unlink(path);
      await s.rename(temp, path);
    }
  }

  private async openForRead(s: SftpSession, key: string): Promise<{ handle: Buffer; size: number; mtime: number }> {
    let handle: Buffer;
    try {
      handle = await s.open(`${this.rootOf(s)}/${key}`, "r");
    } catch (err) {
      if (isNoSuchFile(err)) throw notFound(key);
      throw sftpError(err, "get", key, s.where);
    }
    try {
      const st = await s.fstat(handle);
      // Opening a directory for reading succeeds on Linux; it is not an object.
      if (!st.isFile()) throw notFound(key);
      return { handle, size: st.size, mtime: st.mtime };
    } catch (err) {
      await s.closeHandle(handle).catch(() => undefined);
      throw sftpError(err, "get", key, s.where);
    }
  }

  /**
   * Reopens `key` after a reconnect, but only if it is still the object we
   * were reading (same size and mtime); otherwise the caller must start over.
   * Objects big enough to need a resume are data objects, which never change.
   */
  private async reopenSame(s: SftpSession, key: string, was: { size: number; mtime: number }, cause: BakeliteError): Promise<Buffer> {
    const again = await this.openForRead(s, key).catch((err) => {
      throw new BakeliteError("BACKEND_IO", `sftp backend: get ${key}: the connection dropped mid-read and the object is gone now`, { cause: err, retryable: true });
    });
    if (again.size !== was.size || again.mtime !== was.mtime) {
      await s.closeHandle(again.handle).catch(() => undefined);
      throw new BakeliteError("BACKEND_IO", `sftp backend: get ${key}: the connection dropped mid-read and the object changed meanwhile`, { cause, retryable: true });
    }
    return again.handle;
  }

  private async *walk(prefix: string): AsyncGenerator<ObjectInfo> {
    const s = await this.session();
    const stale: string[] = [];
    yield* walkObjects({
      session: s,
      root: this.rootOf(s),
      prefix,
      staleBefore: Date.now() - SFTP_STALE_TEMP_MS,
      onStaleTemp: (path) => stale.push(path),
    });
    // Best effort: a read-only account simply keeps them.
    for (const path of stale) await s.unlink(path).catch(() => undefined);
  }
}

function notFound(key: string): BakeliteError {
  return new BakeliteError("NOT_FOUND", `object not found: ${key}`);
}

function inTheWay(key: string, path: string, where: SftpWhere): BakeliteError {
  return new BakeliteError("BACKEND_IO", `sftp backend: put ${key} failed: ${path} on ${where.server} is a file, not a directory`, {
    retryable: false,
    hint: `Another object is in the way at ${path}; a directory tree cannot hold both "a" and "a/b".`,
  });
}

function checkRange(range: ByteRange | undefined): void {
  if (!range) return;
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
    throw new TypeError(`invalid byte range ${JSON.stringify(range)}`);
  }
}

/** [start, end) of `range` clipped to an object of `size` bytes. */
function span(size: number, range: ByteRange | undefined): [number, number] {
  if (!range) return [0, size];
  const start = Math.min(range.offset, size);
  const end = range.length === undefined ? size : Math.min(size, range.offset + range.length);
  return [start, Math.max(start, end)];
}

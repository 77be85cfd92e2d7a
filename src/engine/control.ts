/**
 * @module engine/control
 * The daemon's three connections to a live database (DESIGN.md §4):
 *   R holds a read transaction open at all times, so nobody can backfill past
 *     its snapshot or restart the WAL over frames the daemon has not read;
 *   A takes the writer lock when the daemon checkpoints;
 *   B runs the PASSIVE checkpoint.
 * All three have wal_autocheckpoint=0. bun:sqlite is synchronous, so nothing
 * here waits inside SQLite: busy_timeout is 0 and busy lock attempts are
 * retried with short async sleeps, keeping one busy database from stalling the
 * daemon's other databases.
 */
import { Database } from "bun:sqlite";
import { closeSync, existsSync, fstatSync, openSync, statSync } from "node:fs";
import { BakeliteError } from "../errors.ts";

const SEQ_TABLE = "_bakelite_seq";

export function isBusy(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? "";
  return code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Longest pause between two tries for a busy lock. SQLite's locks are not
 * queued: whoever tries in the moment the lock is free gets it, and an
 * application committing in a loop leaves it free only briefly between
 * commits. Longer pauses let such a writer starve the daemon's checkpoint
 * (measured: a writer pausing 10 ms every 20 commits kept the lock from a
 * retry that backed off to 50 ms for its whole 400-commit run, on a loaded
 * machine). A try is one non-blocking lock call, so trying often is cheap.
 * Trying back to back instead (a 1 ms burst before each pause) took the lock
 * sooner but cost a flat-out writer a fifth of its commits in the benchmark
 * (0.79 -> 0.65 of its rate without the daemon): the burst takes a core the
 * writer needs, and every win sends the writer into SQLite's busy sleep.
 */
const MAX_BUSY_PAUSE_MS = 4;

/**
 * Runs `fn` until it stops failing with SQLITE_BUSY, for at most `timeoutMs`.
 * `whileBusy` runs after each busy try, before the pause.
 */
export async function retryBusy<T>(fn: () => T, timeoutMs: number, what: string, whileBusy?: () => void): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if (!isBusy(err)) throw err;
      if (Date.now() >= deadline) {
        throw new BakeliteError("DB_BUSY", `database busy: could not ${what} within ${timeoutMs} ms`, { cause: err });
      }
      whileBusy?.();
      await sleep(delay);
      delay = Math.min(delay * 2, MAX_BUSY_PAUSE_MS);
    }
  }
}

/** True when the file at `dbPath` is not inode `inode` (or is gone): the database was replaced. */
export function fileReplaced(dbPath: string, inode: number): boolean {
  try {
    return statSync(dbPath).ino !== inode;
  } catch {
    return true;
  }
}

/** Throws DB_REPLACED (retryable: the daemon reopens) when the file at `dbPath` is not inode `inode`. */
export function assertSameFile(dbPath: string, inode: number): void {
  if (fileReplaced(dbPath, inode)) {
    throw new BakeliteError("DB_REPLACED", `database ${dbPath} was replaced by another file; reopening`, { retryable: true });
  }
}

export interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

export class ControlConnections {
  readonly r: Database;
  readonly a: Database;
  readonly b: Database;
  /** Inode of the database file when opened: a different inode means it was replaced. */
  readonly inode: number;
  /**
   * The one raw descriptor the daemon reads database pages through. POSIX
   * advisory locks belong to the process and are all dropped when ANY
   * descriptor of the file is closed, so opening and closing the database file
   * beside live SQLite connections would silently release their locks (another
   * process would then think it is alone, checkpoint and delete the WAL). This
   * descriptor is closed only after the connections.
   */
  readonly dbFd: number;
  private reading = false;

  private constructor(
    readonly dbPath: string,
    readonly busyTimeoutMs: number,
  ) {
    if (!existsSync(dbPath)) {
      throw new BakeliteError("DB_NOT_FOUND", `database ${dbPath} does not exist (yet)`, {
        retryable: true,
        hint: "bakelite waits for the application to create it.",
      });
    }
    this.dbFd = openSync(dbPath, "r");
    this.inode = fstatSync(this.dbFd).ino;
    this.r = new Database(dbPath, { readwrite: true, create: false });
    this.a = new Database(dbPath, { readwrite: true, create: false });
    this.b = new Database(dbPath, { readwrite: true, create: false });
    for (const db of [this.r, this.a, this.b]) {
      db.exec("PRAGMA busy_timeout = 0");
      db.exec("PRAGMA wal_autocheckpoint = 0");
    }
    this.a.exec("PRAGMA journal_size_limit = 0");
  }

  /** Opens the connections, checks WAL mode, creates the seq table, and begins R's read. */
  static async open(dbPath: string, busyTimeoutMs: number): Promise<ControlConnections> {
    const conns = new ControlConnections(dbPath, busyTimeoutMs);
    try {
      const mode = await retryBusy(
        () => (conns.r.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode,
        busyTimeoutMs,
        "read the journal mode",
      );
      if (mode.toLowerCase() !== "wal") {
        throw new BakeliteError("DB_NOT_WAL", `database ${dbPath} is in "${mode}" journal mode, not WAL`, {
          retryable: true,
          hint: "Have the application run PRAGMA journal_mode=WAL once; bakelite never changes it for you.",
        });
      }
      // SQLite opens the -wal and -shm by path at a connection's first read, not when the
      // connection opens. A database file replaced in between would leave a connection
      // holding the old file's pages and the new file's WAL: its writes (our seq table)
      // would land in the new database as pages of the old one. So every connection reads
      // once now, and only then is the file at the path checked to be the one we hold.
      for (const db of [conns.r, conns.a, conns.b]) {
        await retryBusy(() => db.query("SELECT count(*) FROM sqlite_master").get(), busyTimeoutMs, "read the schema");
      }
      conns.assertNotReplaced();
      await conns.ensureSeqTable();
      await conns.beginRead();
      return conns;
    } catch (err) {
      conns.close();
      throw err;
    }
  }

  private async ensureSeqTable(): Promise<void> {
    const exists = await retryBusy(
      () => this.r.query("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?").get(SEQ_TABLE),
      this.busyTimeoutMs,
      "read the schema",
    );
    if (exists) return;
    await this.writeOnce([
      `CREATE TABLE IF NOT EXISTS ${SEQ_TABLE} (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL)`,
      `INSERT OR IGNORE INTO ${SEQ_TABLE} (id, seq) VALUES (1, 0)`,
    ]);
  }

  /** A: run `statements` in one write transaction of its own. */
  private async writeOnce(statements: string[]): Promise<void> {
    await this.lockWriter();
    try {
      for (const sql of statements) this.a.exec(sql);
      this.a.exec("COMMIT");
    } catch (err) {
      this.unlockWriter();
      throw err;
    }
  }

  /** R: begin a read transaction and actually take the read lock (a deferred BEGIN takes none). */
  async beginRead(): Promise<void> {
    if (this.reading) return;
    await retryBusy(
      () => {
        this.r.exec("BEGIN");
        try {
          this.r.query(`SELECT seq FROM ${SEQ_TABLE} WHERE id = 1`).get();
        } catch (err) {
          this.r.exec("ROLLBACK");
          throw err;
        }
      },
      this.busyTimeoutMs,
      "begin the read transaction",
    );
    this.reading = true;
  }

  endRead(): void {
    if (!this.reading) return;
    this.r.exec("COMMIT");
    this.reading = false;
  }

  /**
   * A: take the writer lock (BEGIN IMMEDIATE): the WAL cannot grow until
   * unlockWriter(). Every write and checkpoint of ours happens under it, so it
   * is also where a replaced database file is caught before we touch anything.
   */
  async lockWriter(timeoutMs = this.busyTimeoutMs, whileBusy?: () => void): Promise<void> {
    await retryBusy(() => this.a.exec("BEGIN IMMEDIATE"), timeoutMs, "take the writer lock", whileBusy);
    try {
      this.assertNotReplaced();
    } catch (err) {
      this.unlockWriter();
      throw err;
    }
  }

  unlockWriter(): void {
    if (this.a.inTransaction) this.a.exec("ROLLBACK");
  }

  /** B: a PASSIVE checkpoint. Never waits on readers or writers. */
  checkpointPassive(): CheckpointResult {
    this.assertNotReplaced();
    const row = this.b.query("PRAGMA wal_checkpoint(PASSIVE)").get() as Record<string, number>;
    const values = Object.values(row);
    return { busy: values[0], log: values[1], checkpointed: values[2] };
  }

  /**
   * A: a tiny write in its own transaction. Right after a complete backfill,
   * this is what restarts the WAL (new salts, checkpoint sequence + 1).
   */
  async bumpSeq(): Promise<void> {
    await this.writeOnce([`UPDATE ${SEQ_TABLE} SET seq = seq + 1 WHERE id = 1`]);
  }

  /** Throws DB_REPLACED (retryable: the daemon reopens) when the file at dbPath is not the one we hold. */
  assertNotReplaced(): void {
    assertSameFile(this.dbPath, this.inode);
  }

  /** True when the file at dbPath is no longer the one these connections hold open. */
  replaced(): boolean {
    return fileReplaced(this.dbPath, this.inode);
  }

  close(): void {
    for (const db of [this.a, this.b, this.r]) {
      try {
        if (db.inTransaction) db.exec("ROLLBACK");
      } catch {
        // closing anyway
      }
      try {
        db.close();
      } catch {
        // already closed
      }
    }
    this.reading = false;
    try {
      closeSync(this.dbFd);
    } catch {
      // already closed
    }
  }
}

/**
 * @module engine/replicator
 * One database's replication: open the control connections, resume or start a
 * backup, then on every wake-up read newly committed WAL frames and ship them
 * as a change-set, take snapshots when due, and checkpoint the WAL when it
 * grows past max_wal_size. Steps never interleave: the run loop (daemon.ts's
 * DatabaseLoop) calls them one at a time.
 *
 * Order of durability for every object: upload, then fsync the cursor, then
 * publish status. A crash between any two leaves a state resume understands.
 */
import type { Backend } from "../backends/types.ts";
import type { DatabaseConfig } from "../config/types.ts";
import type { DbChecksum } from "../format/db-checksum.ts";
import { type Keyring, keyringFor } from "../format/keyring.ts";
import { BakeliteError } from "../errors.ts";
import { log } from "../ops/log.ts";
import { backupIdTime, changesetKey, newBackupId, snapshotKey } from "../replica/names.ts";
import { writeCurrent } from "../replica/manifest.ts";
import { sealModeChange } from "../replica/seal-mode.ts";
import { Checkpointer } from "./checkpoint.ts";
import { ControlConnections } from "./control.ts";
import { cursorAfter, readCursor, writeCursor, type Cursor } from "./cursor.ts";
import { WalGeneration } from "./generation.ts";
import { positionOf } from "./hex.ts";
import { changesetHeader, snapshotHeader } from "./object-headers.ts";
import { ManifestKeeper } from "./manifest-keeper.ts";
import { readDbFileInfo } from "./page-reader.ts";
import { decideResume, retriedAtOpen, surveyReplica } from "./resume.ts";
import { type ChangesetPages, type PreparedChangeset, captureFrames, shipChangeset, shipSnapshot } from "./ship.ts";
import { WAL_HEADER_BYTES, readWalHeader } from "./wal.ts";

export interface ReplicatorStats {
  changesets: number;
  bytesShipped: number;
  lastSyncMs: number | null;
  /** Commit time of the newest shipped txid. */
  lastShippedCommitMs: number | null;
}

/** The daemon's snapshot budget: how many run at once, and how many blocks each compresses at once. */
export interface SnapshotSlots {
  acquire(): Promise<() => void>;
  /** [daemon] snapshot_workers. */
  readonly workers: number;
}

export class Replicator {
  readonly walPath: string;
  readonly stats: ReplicatorStats = { changesets: 0, bytesShipped: 0, lastSyncMs: null, lastShippedCommitMs: null };
  private conns: ControlConnections | null = null;
  private cursor: Cursor | null = null;
  private gen: WalGeneration | null = null;
  private checksum: DbChecksum | null = null;
  /** The shipped state equals the database file, and R has held slot 0 since (see DESIGN.md §4.3). */
  private baseIsDbFile = false;
  private needSnapshot = false;
  /** The newest backup known on the replica (a new one must sort after it). */
  private newestBackupId: string | null = null;
  /**
   * The highest txid on the replica or taken by an upload (a new backup's
   * snapshot goes above it). Listed at open, then raised before each upload:
   * an upload that fails may still have landed, and the next snapshot must
   * not share its txids. Kept across reopens, in case such an upload landed
   * after the listing.
   */
  private highestTxid = 0;
  private readonly manifest: ManifestKeeper;
  /** The steps under the application's writer lock: R's read mark and the checkpoint. */
  private readonly checkpointer: Checkpointer;
  /** Encryption of new objects; built once so a bad key file fails the start, not the first upload. */
  private readonly keys: Keyring;

  constructor(
    readonly config: DatabaseConfig,
    readonly backend: Backend,
    private readonly slots: SnapshotSlots,
    private readonly signal?: AbortSignal,
  ) {
    this.walPath = `${config.path}-wal`;
    this.manifest = new ManifestKeeper(backend, config.name, config.manifestFlushMs);
    this.keys = keyringFor(config.encryption);
    this.checkpointer = new Checkpointer({
      name: config.name,
      connections: () => this.requireOpen(),
      shipNew: () => this.shipNew(),
      scan: () => this.scan(),
      newBackupDue: () => this.needSnapshot,
      startNewBackup: () => {
        this.needSnapshot = true;
      },
      hasPending: () => this.gen?.hasUnshipped ?? false,
      pendingPageBytes: () => (this.gen ? this.gen.unshipped.size * this.gen.header.pageSize : 0),
      prepareChangeset: (capture) => this.prepareChangeset(capture),
      uploadChangeset: (prepared) => this.uploadChangeset(prepared),
      shipPending: () => this.shipPending(),
      setBaseIsDbFile: (value) => {
        this.baseIsDbFile = value;
      },
      flushManifest: () => this.manifest.flush(),
    });
  }

  private get headerContext() {
    return { dbName: this.name, compression: this.config.compression, encrypted: this.keys.encrypts };
  }

  get name(): string {
    return this.config.name;
  }

  /** R's read transaction may be on WAL read slot 0: the next commit should be shipped at once (see Checkpointer.moveReadMark). */
  get readerMaySitOnSlot0(): boolean {
    return this.isOpen && this.checkpointer.readerMaySitOnSlot0;
  }

  get backupId(): string | null {
    return this.cursor?.backupId ?? null;
  }

  get currentTxid(): number | null {
    return this.cursor?.txid ?? null;
  }

  /** Change-sets in the current backup (for status and metrics). */
  get backupChangesets(): number | null {
    return this.cursor?.changesets ?? null;
  }

  get isOpen(): boolean {
    return this.conns !== null;
  }

  /** Opens the database and decides whether to resume the cursor's backup. */
  async open(): Promise<void> {
    this.conns = await ControlConnections.open(this.config.path, this.config.busyTimeoutMs);
    try {
      this.cursor = readCursor(this.config.path, this.name);
      await this.establish();
    } catch (err) {
      this.close();
      throw err;
    }
  }

  private async establish(): Promise<void> {
    this.gen = null;
    this.checksum = null;
    this.baseIsDbFile = false;
    this.checkpointer.reset();
    const cursor = this.cursor;
    const replica = await surveyReplica(this.backend, this.name, cursor, this.signal);
    this.reserveTxids(Math.max(replica.highestTxid, cursor?.txid ?? 0));
    if (!cursor) {
      this.needSnapshot = true;
      this.newestBackupId = replica.newestBackup;
      log.info(`${this.name}: no cursor; starting a new backup`);
      return;
    }
    this.newestBackupId = replica.newerBackup ?? cursor.backupId;
    if (!replica.hasCursor) {
      this.needSnapshot = true;
      log.warn(`${this.name}: backup ${cursor.backupId} on ${this.backend.describe} lacks txid ${cursor.txid}; starting a new backup`);
      return;
    }
    const newer = replica.newerBackup;
    if (newer) {
      this.needSnapshot = true;
      log.warn(`${this.name}: backup ${newer} on ${this.backend.describe} is newer than ${cursor.backupId}, the one the cursor continues (a crash came between its snapshot and the cursor); starting a new backup so that restore's latest is where new commits go`);
      return;
    }
    const sealChange = await retriedAtOpen(() => sealModeChange(this.backend, cursor, this.keys), this.signal);
    if (sealChange) {
      this.needSnapshot = true;
      log.warn(`${this.name}: ${sealChange}; starting a new backup`);
      return;
    }
    const decision = decideResume(this.requireOpen().dbFd, this.walPath, cursor);
    if (decision.action === "new-backup") {
      this.needSnapshot = true;
      log.warn(`${this.name}: ${decision.reason}; starting a new backup`);
      return;
    }
    this.gen = decision.gen;
    this.checksum = decision.checksum;
    this.baseIsDbFile = decision.baseIsDbFile;
    this.needSnapshot = false;
    await this.manifest.resume(cursor);
    log.info(`${this.name}: resuming backup ${cursor.backupId} at txid ${cursor.txid} (${decision.how})`);
  }

  /** True when a new backup should start now. */
  snapshotDue(now = Date.now()): boolean {
    if (this.needSnapshot || !this.cursor) return true;
    const { snapshotIntervalMs, maxSegmentsPerSnapshot } = this.config;
    if (snapshotIntervalMs > 0 && now - backupIdTime(this.cursor.backupId) >= snapshotIntervalMs) return true;
    return maxSegmentsPerSnapshot > 0 && this.cursor.changesets >= maxSegmentsPerSnapshot;
  }

  /** Reads new commits and ships them; snapshots or checkpoints when due. */
  async sync(): Promise<void> {
    const conns = this.requireOpen();
    if (conns.replaced()) {
      log.warn(`${this.name}: the database file was replaced; reopening`);
      this.close();
      await this.open();
    }
    if (this.snapshotDue()) await this.snapshot();
    else await this.shipNew();
    this.stats.lastSyncMs = Date.now();
    // The logical end of the WAL, not the file size: a WAL restarted by an application connection keeps its old length.
    if (this.gen && this.gen.scanned.offset > this.config.maxWalSize && this.checkpointer.mayAttempt) {
      // The checkpoint ends with a commit of our own (_bakelite_seq); ship it too, so a sync (and a drain) leaves nothing behind.
      if (await this.checkpointer.checkpoint()) await this.shipNew();
    }
    if (this.checkpointer.readerMaySitOnSlot0 && this.gen && this.gen.shipped.offset > WAL_HEADER_BYTES) await this.checkpointer.moveReadMark();
    await this.manifest.maybeFlush();
  }

  /** Ships every commit not yet shipped (or starts a new backup when the WAL cannot be followed). */
  private async shipNew(): Promise<void> {
    this.scan();
    if (this.needSnapshot) await this.snapshot();
    else if (this.gen?.hasUnshipped) await this.shipPending();
  }

  /** Brings `gen` up to date with the -wal file, detecting a new generation. */
  private scan(): void {
    const header = readWalHeader(this.walPath);
    if (header === null) return;
    if (this.gen?.sameFileAs(header)) {
      this.gen.scan(this.walPath);
      return;
    }
    if (this.baseIsDbFile) {
      // R has held read slot 0 since the shipped state was the database file, so
      // nothing was backfilled and this generation starts from that state.
      this.gen = new WalGeneration(header);
      this.gen.scan(this.walPath);
      return;
    }
    log.warn(`${this.name}: the WAL was restarted by someone else while bakelite held it; starting a new backup`);
    this.needSnapshot = true;
  }

  private async shipPending(): Promise<void> {
    await this.uploadChangeset(this.prepareChangeset(false));
  }

  /**
   * The change-set of every pending commit: its header, key and pages. With
   * `capture` the page images are read now, for an upload after the writer
   * lock is let go (see lockWithAllShipped).
   */
  private prepareChangeset(capture: boolean): PreparedChangeset {
    const gen = this.gen!;
    const cursor = this.cursor!;
    const last = gen.pending[gen.pending.length - 1];
    const wal = positionOf(gen.header, last.endOffset, last.checksum1, last.checksum2);
    const header = changesetHeader(this.headerContext, cursor, gen.pending.length, last.dbPages, wal);
    const key = changesetKey(this.name, cursor.backupId, 0, header.txidStart, header.txidEnd, header.timestampMs);
    const pages: ChangesetPages = capture
      ? { images: captureFrames(this.walPath, this.requireOpen().dbFd, gen.unshipped, gen.header.pageSize) }
      : { frames: gen.unshipped };
    return { gen, cursor, header, key, pages, end: last };
  }

  private async uploadChangeset(prepared: PreparedChangeset): Promise<void> {
    const { gen, cursor, header, key, pages, end } = prepared;
    const { txidStart, txidEnd, timestampMs } = header;
    this.reserveTxids(txidEnd);
    const shipped = await shipChangeset({
      backend: this.backend,
      key,
      header,
      walPath: this.walPath,
      salts: gen.header,
      dbFd: this.requireOpen().dbFd,
      pages,
      before: this.checksum!,
      signal: this.signal,
      seal: this.keys.sealer(this.name),
    });
    this.checksum = shipped.after;
    gen.markShippedUpTo(end.endOffset, end.checksum1, end.checksum2);
    this.commitCursor(cursorAfter(header, shipped.footer.lineage, shipped.after.value, cursor));
    this.baseIsDbFile = false;
    this.stats.changesets += 1;
    this.stats.bytesShipped += shipped.bytes;
    this.manifest.recordChangeset(txidEnd, timestampMs, shipped.bytes);
    const captured = "images" in pages ? ", captured under the writer lock" : "";
    log.debug(`${this.name}: shipped txid ${txidStart}..${txidEnd} (${shipped.footer.pageCount} pages, ${shipped.bytes} bytes${captured})`);
  }

  /** Starts a new backup: streams the whole current state as a snapshot. */
  async snapshot(): Promise<void> {
    const release = await this.slots.acquire();
    try {
      const header = readWalHeader(this.walPath);
      const gen = header ? new WalGeneration(header) : null;
      gen?.scan(this.walPath);
      const info = readDbFileInfo(this.requireOpen().dbFd);
      const pageSize = header?.pageSize ?? info?.pageSize;
      const pages = gen?.dbPages ?? info?.pages ?? 0;
      if (!pageSize || pages === 0) {
        throw new BakeliteError("DB_NOT_FOUND", `database ${this.config.path} is empty; nothing to back up yet`, { retryable: true });
      }
      const wal = gen ? positionOf(gen.header, gen.scanned.offset, gen.scanned.checksum1, gen.scanned.checksum2) : null;
      // After the newest backup there is, even if the clock stepped back: restore's latest is the newest id.
      const floorMs = this.newestBackupId ? backupIdTime(this.newestBackupId) + 1 : 0;
      const state = { unshipped: gen?.pending.length ?? 0, highestTxid: this.highestTxid, pageSize, pages, wal };
      const objectHeader = snapshotHeader(this.headerContext, this.cursor, newBackupId, state, Math.max(Date.now(), floorMs));
      const { backupId, txidStart: txid, timestampMs } = objectHeader;
      // Taken from here on: an upload that fails (or lands but reports failure) must not share its time or txid with the next.
      this.newestBackupId = backupId;
      this.reserveTxids(txid);
      const started = Date.now();
      const shipped = await shipSnapshot({
        backend: this.backend,
        key: snapshotKey(this.name, backupId, txid, timestampMs),
        header: objectHeader,
        dbFd: this.requireOpen().dbFd,
        walPath: this.walPath,
        overlay: gen?.index ?? null,
        salts: gen?.header ?? null,
        signal: this.signal,
        seal: this.keys.sealer(this.name),
        workers: this.slots.workers,
      });
      await writeCurrent(this.backend, this.name, backupId);
      gen?.markAllShipped();
      this.gen = gen;
      this.checksum = shipped.checksum;
      this.commitCursor(cursorAfter(objectHeader, shipped.footer.lineage, shipped.checksum.value, null));
      this.needSnapshot = false;
      this.baseIsDbFile = gen === null;
      this.stats.bytesShipped += shipped.bytes;
      this.manifest.startBackup(backupId, txid, timestampMs, shipped.bytes);
      await this.manifest.flush();
      log.info(`${this.name}: new backup ${backupId}: snapshot at txid ${txid}, ${pages} pages, ${shipped.bytes} bytes in ${Date.now() - started} ms`);
    } finally {
      release();
    }
  }

  /** Every txid up to `txid` is used (or may be): a new backup's snapshot goes above it. */
  private reserveTxids(txid: number): void {
    this.highestTxid = Math.max(this.highestTxid, txid);
  }

  private commitCursor(next: Cursor): void {
    writeCursor(this.config.path, next);
    this.cursor = next;
    this.stats.lastShippedCommitMs = next.timestampMs;
  }

  /** Pending commits not yet shipped (for shutdown reporting). */
  get unshippedCommits(): number {
    return this.gen?.pending.length ?? 0;
  }

  async flushManifest(): Promise<void> {
    await this.manifest.flush();
  }

  private requireOpen(): ControlConnections {
    if (!this.conns) throw new Error(`${this.name}: replicator is not open`);
    return this.conns;
  }

  close(): void {
    this.conns?.close();
    this.conns = null;
  }
}


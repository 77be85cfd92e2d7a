/**
 * The ship functions read page images from the -wal by path beside the
 * replicator's long-lived database descriptor. If the database file was
 * replaced in between, the offsets they were given point into another
 * database's frames: they must refuse (DB_REPLACED) instead of uploading
 * pages of the new file as a continuation of the old backup.
 */
import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { closeSync, copyFileSync, openSync, renameSync } from "node:fs";
import { join } from "node:path";
import { FileBackend } from "../../src/backends/file.ts";
import { DbChecksum } from "../../src/format/db-checksum.ts";
import { ZERO_LINEAGE } from "../../src/format/lineage.ts";
import { shipChangeset, shipSnapshot } from "../../src/engine/ship.ts";
import { tempDir } from "../helpers/fixtures.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

test("a change-set or snapshot whose database file was replaced since it was opened is refused, nothing uploaded", async () => {
  const t = tempDir("ship");
  cleanups.push(t.cleanup);
  const path = join(t.dir, "app.db");
  const db = new Database(path);
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA wal_autocheckpoint = 0");
  db.run("CREATE TABLE t (v)");
  db.run("INSERT INTO t VALUES (randomblob(500))");
  const dbFd = openSync(path, "r");
  cleanups.push(() => closeSync(dbFd));
  // The operator's swap: another file takes the path (its own WAL comes with the application's next write).
  copyFileSync(path, join(t.dir, "other.db"));
  renameSync(join(t.dir, "other.db"), path);

  const backend = new FileBackend(join(t.dir, "replica"));
  const header = {
    kind: "changeset" as const, level: 0, dbName: "app", backupId: "20261122T000000000Z-00000000", txidStart: 2, txidEnd: 2,
    pageSize: 4096, dbPages: 2, timestampMs: Date.now(), compression: "zstd" as const, encrypted: false,
    lineageIn: ZERO_LINEAGE, wal: null,
  };
  const pages = new Map([[2, 32]]);
  const changeset = shipChangeset({ backend, key: "app/x/changeset", header, walPath: `${path}-wal`, salts: { salt1: 0, salt2: 0 }, dbFd, pages: { frames: pages }, before: new DbChecksum(4096) });
  expect(changeset).rejects.toMatchObject({ code: "DB_REPLACED" });
  const snapshot = shipSnapshot({ backend, key: "app/x/snapshot", header: { ...header, kind: "snapshot" }, dbFd, walPath: `${path}-wal`, overlay: pages, salts: { salt1: 0, salt2: 0 } });
  expect(snapshot).rejects.toMatchObject({ code: "DB_REPLACED" });
  await Promise.allSettled([changeset, snapshot]);
  const listed = [];
  for await (const o of backend.list("")) listed.push(o.key);
  expect(listed).toEqual([]);
  db.close();
});

/**
 * reencrypt on a real OpenSSH server: the temp files that puts killed before
 * encryption was enabled left under the database's prefix are removed
 * (reported with --dry-run and kept), whatever their age, and another
 * database's temp files on the same server are never touched.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { FileBackend } from "../../src/backends/file.ts";
import { tempNameFor } from "../../src/backends/file-walk.ts";
import { type SftpBackend, openSftpBackend } from "../../src/backends/sftp.ts";
import { newBackupId } from "../../src/replica/names.ts";
import { reencryptDatabase } from "../../src/replica/reencrypt.ts";
import { keySource, keyring } from "../format/crypto-fixtures.ts";
import { sftpBackendConfig, startSshd, type Sshd } from "../helpers/sshd.ts";
import { buildWorkload, tempDir } from "./helpers.ts";

const T0 = Date.UTC(2026, 4, 30, 12, 0, 0);
const ID = newBackupId(T0, 1);
const PLAINTEXT = Buffer.from("row 2 ".repeat(700));

let server: Sshd;
beforeAll(async () => {
  server = await startSshd();
});
afterAll(async () => {
  await server?.stop();
});

let root: string;
let work: string;
let sftp: SftpBackend;
beforeEach(async () => {
  root = fs.mkdtempSync(path.join(server.home, "reencrypt-"));
  work = tempDir();
  // The server is local, so a file backend over the same directory builds the replica.
  await buildWorkload(new FileBackend(root), work, "app", ID, T0);
  sftp = await openSftpBackend(sftpBackendConfig(server, { path: path.basename(root) }), { env: {} });
});
afterEach(async () => {
  await sftp.close();
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

/** Plants a temp file beside `key`, named the way a put names it, last modified `ageMs` ago. */
function plantTemp(key: string, ageMs = 0): string {
  const file = path.join(root, path.dirname(key), tempNameFor(path.basename(key)));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PLAINTEXT);
  const when = new Date(Date.now() - ageMs);
  fs.utimesSync(file, when, when);
  return file;
}

describe("reencrypt on sftp", () => {
  test("removes every temp file under the database's prefix, whatever its age, and none of another database's", async () => {
    // Younger than the listing's one-day sweep, so only reencrypt removes these.
    const ours = [plantTemp(`app/${ID}/snapshot-1`), plantTemp("app/CURRENT", 3600_000)];
    const theirs = [plantTemp(`app2/${ID}/snapshot-1`), plantTemp("other/CURRENT")];
    const keys = keyring(keySource("key A"), [], false); // the migration: require_encrypted = false

    const dry = await reencryptDatabase({ backend: sftp, db: "app", keys, dryRun: true });
    expect(dry.leftovers).toEqual({ kind: "temp-files", removed: 2, bytes: 2 * PLAINTEXT.byteLength, failed: 0 });
    for (const file of ours) expect(fs.existsSync(file)).toBe(true);

    const r = await reencryptDatabase({ backend: sftp, db: "app", keys });
    expect(r).toMatchObject({ rewritten: 6, failed: [] });
    expect(r.leftovers).toEqual({ kind: "temp-files", removed: 2, bytes: 2 * PLAINTEXT.byteLength, failed: 0 });
    for (const file of ours) expect(fs.existsSync(file)).toBe(false);
    for (const file of theirs) expect(fs.readFileSync(file).equals(PLAINTEXT)).toBe(true);
  });
});

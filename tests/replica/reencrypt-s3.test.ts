/**
 * reencrypt on a real S3 server: the incomplete multipart uploads under the
 * database's prefix (a snapshot upload killed before encryption was enabled
 * leaves one, its parts holding plaintext pages) are aborted whatever their
 * age, reported and kept with --dry-run, and another database's uploads on the
 * same bucket and prefix are never touched.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import { CreateMultipartUploadCommand } from "@aws-sdk/client-s3";
import type { S3Backend } from "../../src/backends/s3.ts";
import { abortMultipartUpload, listMultipartUploads } from "../../src/backends/s3-inspect.ts";
import { newBackupId, snapshotKey } from "../../src/replica/names.ts";
import { reencryptDatabase } from "../../src/replica/reencrypt.ts";
import { TEST_BUCKET, emptyBackend, openTestBackend, startS3Server, type S3Server } from "../backends/s3-server.ts";
import { keySource, keyring } from "../format/crypto-fixtures.ts";
import { buildWorkload, tempDir } from "./helpers.ts";

const T0 = Date.UTC(2026, 4, 30, 12, 0, 0);
const ID = newBackupId(T0, 1);

let server: S3Server;
let backend: S3Backend;
let work: string;
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  for await (const u of listMultipartUploads(backend)) await abortMultipartUpload(backend, u.key, u.uploadId);
  await emptyBackend(backend);
  await backend.close();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Leaves an upload behind the way a killed process does: created, never completed. */
async function orphan(key: string): Promise<string> {
  const created = await backend.client.send(new CreateMultipartUploadCommand({ Bucket: TEST_BUCKET, Key: backend.fullKey(key) }));
  return created.UploadId!;
}

async function uploadKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const u of listMultipartUploads(backend)) keys.push(u.key);
  return keys.sort();
}

describe("reencrypt on s3", () => {
  test("aborts every incomplete multipart upload under the database's prefix, and none of another database's", async () => {
    backend = await openTestBackend(server.endpoint);
    work = tempDir();
    await buildWorkload(backend, work, "app", ID, T0);
    await orphan(snapshotKey("app", ID, 7, T0 + 7000)); // just started: no age is needed under the lock
    await orphan(snapshotKey("app2", ID, 7, T0 + 7000));
    const keys = keyring(keySource("key A"), [], false); // the migration: require_encrypted = false

    const dry = await reencryptDatabase({ backend, db: "app", keys, dryRun: true });
    expect(dry.leftovers).toEqual({ kind: "multipart-uploads", removed: 1, bytes: 0, failed: 0 });
    expect(await uploadKeys()).toEqual([snapshotKey("app", ID, 7, T0 + 7000), snapshotKey("app2", ID, 7, T0 + 7000)]);

    const r = await reencryptDatabase({ backend, db: "app", keys });
    expect(r).toMatchObject({ rewritten: 6, failed: [] });
    expect(r.leftovers).toEqual({ kind: "multipart-uploads", removed: 1, bytes: 0, failed: 0 });
    expect(await uploadKeys()).toEqual([snapshotKey("app2", ID, 7, T0 + 7000)]);
  });
});

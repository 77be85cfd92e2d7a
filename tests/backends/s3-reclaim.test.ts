/**
 * Reclaiming orphaned multipart uploads on a real S3 server: old orphans go,
 * in-flight and young uploads stay, nothing outside bakelite's keys or its
 * prefix is touched, and the daemon's periodic sweep does the same.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateMultipartUploadCommand } from "@aws-sdk/client-s3";
import { FileBackend } from "../../src/backends/file.ts";
import type { S3Backend } from "../../src/backends/s3.ts";
import { openS3Backend } from "../../src/backends/s3.ts";
import { listMultipartUploads } from "../../src/backends/s3-inspect.ts";
import { snapshotKey, changesetKey } from "../../src/replica/names.ts";
import { reclaimMultipart, runMultipartSweep, type ReclaimResult } from "../../src/replica/reclaim.ts";
import { pattern } from "./conformance-helpers.ts";
import { TEST_BUCKET, emptyBackend, openTestBackend, s3Config, startS3Server, type S3Server } from "./s3-server.ts";

const MiB = 1 << 20;
const HOUR = 3600_000;
const ID = "20260101T000000000Z-0000abcd";
let server: S3Server;
const open: S3Backend[] = [];
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  for (const b of open.splice(0)) {
    for await (const u of listMultipartUploads(b)) await import("../../src/backends/s3-inspect.ts").then((m) => m.abortMultipartUpload(b, u.key, u.uploadId));
    await emptyBackend(b);
    await b.close();
  }
});

async function backend(prefix?: string): Promise<S3Backend> {
  const b = await openTestBackend(server.endpoint, prefix ? { prefix } : {}, { partSize: 5 * MiB });
  open.push(b);
  return b;
}

/** Leaves an upload behind the way a killed process does: created, one part, never completed. */
async function orphan(b: S3Backend, key: string): Promise<string> {
  const created = await b.client.send(new CreateMultipartUploadCommand({ Bucket: TEST_BUCKET, Key: b.fullKey(key) }));
  return created.UploadId!;
}

async function uploadIds(b: S3Backend): Promise<string[]> {
  const ids: string[] = [];
  for await (const u of listMultipartUploads(b)) ids.push(u.uploadId);
  return ids.sort();
}

const later = (ms: number) => () => Date.now() + ms;

describe("reclaimMultipart on S3", () => {
  test("aborts orphans older than min age and keeps younger ones", async () => {
    const b = await backend();
    const old = await orphan(b, snapshotKey("app", ID, 1, 1000));
    const result = await reclaimMultipart(b, { dryRun: false, minAgeMs: HOUR, now: later(2 * HOUR) });
    expect(result.aborted.map((u) => u.uploadId)).toEqual([old]);
    expect(result.aborted[0].key).toBe(snapshotKey("app", ID, 1, 1000));
    expect(result.aborted[0].initiated).toBeInstanceOf(Date);
    expect(result.skipped).toBe(0);
    expect(await uploadIds(b)).toEqual([]);

    const young = await orphan(b, snapshotKey("app", ID, 2, 2000));
    const second = await reclaimMultipart(b, { dryRun: false, minAgeMs: HOUR });
    expect(second).toEqual({ aborted: [], skipped: 1 });
    expect(await uploadIds(b)).toEqual([young]);
  });

  test("a dry run reports what it would abort and aborts nothing", async () => {
    const b = await backend();
    const id = await orphan(b, changesetKey("app", ID, 1, 1, 5, 1000));
    const result = await reclaimMultipart(b, { dryRun: true, minAgeMs: 0 });
    expect(result.aborted.map((u) => u.uploadId)).toEqual([id]);
    expect(await uploadIds(b)).toEqual([id]);
  });

  test("an upload this process is sending is never aborted, even with min age 0", async () => {
    const b = await backend();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let reached!: () => void;
    const midway = new Promise<void>((resolve) => (reached = resolve));
    async function* body() {
      for (let i = 0; i < 12; i++) yield pattern(MiB, i);
      reached();
      await gate;
      for (let i = 12; i < 14; i++) yield pattern(MiB, i);
    }
    const key = snapshotKey("app", ID, 3, 3000);
    const put = b.put(key, body(), { role: "snapshot" });
    await midway;
    expect((await uploadIds(b)).length).toBe(1);
    const result = await reclaimMultipart(b, { dryRun: false, minAgeMs: 0 });
    expect(result).toEqual({ aborted: [], skipped: 1 });
    release();
    await put;
    expect((await b.stat(key))?.size).toBe(14 * MiB);
  });

  test("uploads that are not bakelite objects, or lie outside the prefix, are left alone", async () => {
    const b = await backend();
    const sibling = await backend(`${b.config.prefix}x`);
    await orphan(b, "someone-else/video.mp4");
    const theirs = await orphan(sibling, snapshotKey("app", ID, 1, 1000));
    const result = await reclaimMultipart(b, { dryRun: false, minAgeMs: 0 });
    expect(result).toEqual({ aborted: [], skipped: 1 });
    expect(await uploadIds(sibling)).toEqual([theirs]);
  });

  test("a prefix limits the pass to one database", async () => {
    const b = await backend();
    const app = await orphan(b, snapshotKey("app", ID, 1, 1000));
    const other = await orphan(b, snapshotKey("other", ID, 1, 1000));
    const result = await reclaimMultipart(b, { dryRun: false, minAgeMs: 0, prefix: "app/" });
    expect(result.aborted.map((u) => u.uploadId)).toEqual([app]);
    expect(await uploadIds(b)).toEqual([other]);
  });

  test("is a no-op with a note on a file backend and on S3 without static credentials", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bakelite-"));
    try {
      const file = await reclaimMultipart(new FileBackend(dir), { dryRun: false, minAgeMs: 0 });
      expect(file.aborted).toEqual([]);
      expect(file.note).toContain("not an S3 backend");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const chained = await openS3Backend(s3Config(server.endpoint), { env: { BAKELITE_AWS_USE_DEFAULT_CREDENTIAL_CHAIN: "1" } });
    const result = await reclaimMultipart(chained, { dryRun: false, minAgeMs: 0 });
    expect(result.note).toStartWith("not inspected");
    await chained.close();
  });
});

describe("runMultipartSweep", () => {
  test("sweeps at once and then every interval until stopped, reporting each pass", async () => {
    const b = await backend();
    const first = await orphan(b, snapshotKey("app", ID, 1, 1000));
    const controller = new AbortController();
    const results: ReclaimResult[] = [];
    let next!: () => void;
    let passed = new Promise<void>((resolve) => (next = resolve));
    const loop = runMultipartSweep(b, {
      intervalMs: 30, minAgeMs: 0, signal: controller.signal,
      onResult: (r) => {
        results.push(r);
        next();
      },
    });
    await passed;
    expect(results[0].aborted.map((u) => u.uploadId)).toEqual([first]);
    passed = new Promise<void>((resolve) => (next = resolve));
    const second = await orphan(b, snapshotKey("app", ID, 2, 2000));
    while (!results.some((r) => r.aborted.some((u) => u.uploadId === second))) {
      await passed;
      passed = new Promise<void>((resolve) => (next = resolve));
    }
    controller.abort();
    await loop;
    expect(await uploadIds(b)).toEqual([]);
  });

  test("an interval longer than one timer (30 days) waits instead of sweeping nonstop", async () => {
    const b = await backend();
    const controller = new AbortController();
    let passes = 0;
    const loop = runMultipartSweep(b, { intervalMs: 30 * 86_400_000, minAgeMs: 0, signal: controller.signal, onResult: () => passes++ });
    await Bun.sleep(300);
    controller.abort();
    await loop;
    // Before sleep() split long waits, setTimeout fired at once and this was hundreds.
    expect(passes).toBe(1);
  });

  test("an interval of 0 disables it, and a file backend ends it after one no-op pass", async () => {
    const b = await backend();
    await orphan(b, snapshotKey("app", ID, 1, 1000));
    await runMultipartSweep(b, { intervalMs: 0, minAgeMs: 0, signal: new AbortController().signal });
    expect((await uploadIds(b)).length).toBe(1);
    const dir = mkdtempSync(join(tmpdir(), "bakelite-"));
    const notes: string[] = [];
    await runMultipartSweep(new FileBackend(dir), { intervalMs: 10, minAgeMs: 0, signal: new AbortController().signal, onResult: (r) => notes.push(r.note ?? "") });
    rmSync(dir, { recursive: true, force: true });
    expect(notes.length).toBe(1);
  });
});

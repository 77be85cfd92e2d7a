/**
 * The S3 backend through a fault proxy in front of a real S3 server: which
 * failures are retried, which stop with a clear error, how a broken download
 * resumes, and that a failed multipart upload never leaves parts behind.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { BakeliteError } from "../../src/errors.ts";
import type { S3Backend } from "../../src/backends/s3.ts";
import { listMultipartUploads } from "../../src/backends/s3-inspect.ts";
import type { S3BackendConfig } from "../../src/config/types.ts";
import { collect, pattern } from "./conformance-helpers.ts";
import { FaultProxy } from "./fault-proxy.ts";
import { TEST_ENV, emptyBackend, openTestBackend, startS3Server, type S3Server } from "./s3-server.ts";

const MiB = 1 << 20;
let server: S3Server;
let proxy: FaultProxy;
const open: S3Backend[] = [];

beforeAll(async () => {
  server = await startS3Server();
  proxy = await FaultProxy.start(server.endpoint);
});
afterAll(async () => {
  await proxy?.close();
  await server?.stop();
});
beforeEach(() => proxy.clear());
afterEach(async () => {
  proxy.clear();
  for (const b of open.splice(0)) {
    await emptyBackend(b).catch(() => undefined);
    await b.close();
  }
});

async function backend(overrides: Partial<S3BackendConfig> = {}, options: Parameters<typeof openTestBackend>[2] = {}): Promise<S3Backend> {
  const b = await openTestBackend(proxy.url, overrides, { partSize: 5 * MiB, ...options });
  open.push(b);
  return b;
}

async function failure(run: () => Promise<unknown>): Promise<BakeliteError> {
  const err = await run().then(() => undefined, (e) => e);
  expect(err).toBeInstanceOf(BakeliteError);
  return err as BakeliteError;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("base64");

describe("s3 retries and error classification", () => {
  for (const [status, code] of [[500, "InternalError"], [503, "SlowDown"], [429, "SlowDown"], [408, "RequestTimeout"]] as const) {
    test(`a ${status} ${code} answer is retried and the call succeeds`, async () => {
      const b = await backend();
      proxy.add({ method: "PUT", action: { kind: "status", status, code } });
      proxy.add({ method: "GET", path: /\/x$/, action: { kind: "status", status, code } });
      await b.put("x", pattern(1000, 1));
      expect(Buffer.from(await b.get("x")).equals(Buffer.from(pattern(1000, 1)))).toBe(true);
      expect(proxy.matching({ method: "PUT" }).length).toBe(2);
      expect(proxy.matching({ method: "GET", path: /\/x$/ }).length).toBe(2);
    });
  }

  test("a connection dropped before the server acted, or after, is retried and the put lands once", async () => {
    const b = await backend();
    proxy.add({ method: "PUT", action: { kind: "drop" } });
    await b.put("dropped", pattern(100, 2));
    proxy.add({ method: "PUT", action: { kind: "drop-after-upstream" } });
    await b.put("ambiguous", pattern(100, 3));
    expect(Array.from(await b.get("ambiguous"))).toEqual(Array.from(pattern(100, 3)));
    expect(Array.from(await b.get("dropped"))).toEqual(Array.from(pattern(100, 2)));
  });

  test("a service that keeps failing ends in a retryable BACKEND_IO naming the backend and key", async () => {
    const b = await backend({ maxRetries: 1 });
    proxy.add({ method: "PUT", times: Infinity, action: { kind: "status", status: 503 } });
    const err = await failure(() => b.put("db/x", new Uint8Array([1])));
    expect(err.code).toBe("BACKEND_IO");
    expect(err.retryable).toBe(true);
    expect(err.message).toStartWith("s3 backend: put db/x failed");
    expect(err.cause).toBeDefined();
    expect(proxy.matching({ method: "PUT" }).length).toBe(2);
  });

  for (const code of ["AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId"]) {
    test(`403 ${code} is BACKEND_AUTH, not retried, with a hint and no secret in the message`, async () => {
      const b = await backend();
      proxy.add({ method: "GET", times: Infinity, action: { kind: "status", status: 403, code } });
      const err = await failure(() => b.get("x"));
      expect(err.code).toBe("BACKEND_AUTH");
      expect(err.retryable).toBe(false);
      expect(err.hint).toContain("AWS_ACCESS_KEY_ID");
      expect(err.message).toContain(code);
      expect(`${err.message} ${err.hint}`).not.toContain(TEST_ENV.AWS_SECRET_ACCESS_KEY);
      expect(proxy.matching({ method: "GET" }).length).toBe(1);
    });
  }

  test("an answer slower than request_timeout is a retryable BACKEND_TIMEOUT", async () => {
    const b = await backend({ requestTimeoutMs: 300, maxRetries: 0 });
    proxy.add({ method: "HEAD", action: { kind: "delay", ms: 2000 } });
    const started = performance.now();
    const err = await failure(() => b.stat("slow"));
    expect(err.code).toBe("BACKEND_TIMEOUT");
    expect(err.retryable).toBe(true);
    expect(performance.now() - started).toBeLessThan(1500);
  });

  test("a listing page that says it is truncated but carries no continuation token is an error, never a short listing", async () => {
    const b = await backend();
    await b.put("a", new Uint8Array([1]));
    const xml = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>x</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated></ListBucketResult>`;
    proxy.add({ method: "GET", query: "list-type", action: { kind: "respond", status: 200, body: xml, headers: { "content-type": "application/xml" } } });
    const err = await failure(async () => {
      for await (const _ of b.list("")) void _;
    });
    expect([err.code, err.retryable]).toEqual(["BACKEND_IO", false]);
    expect(err.message).toContain("no continuation token");
  });

  test("a missing bucket is a non-retryable error that says to create it", async () => {
    const b = await backend({ bucket: "no-such-bucket" });
    const err = await failure(() => b.put("x", new Uint8Array([1])));
    expect(err.code).toBe("BACKEND_IO");
    expect(err.retryable).toBe(false);
    expect(err.hint).toContain("Create the bucket");
  });

  test("a missing bucket is the bucket error for stat, get and delete too, not a missing key", async () => {
    const b = await backend({ bucket: "no-such-bucket" });
    for (const op of [() => b.stat("x"), () => b.get("x"), () => b.delete("x")]) {
      const err = await failure(op);
      expect([err.code, err.retryable]).toEqual(["BACKEND_IO", false]);
      expect(err.message).toContain('bucket "no-such-bucket" does not exist');
    }
    // In a bucket that exists, a missing key is still just missing.
    const ok = await backend();
    expect(await ok.stat("no/such/key")).toBeNull();
    await ok.delete("no/such/key");
  });
});

describe("s3 resumable reads", () => {
  test("a download cut mid-body resumes with a range request from the byte reached, pinned to the ETag", async () => {
    const resumes: number[] = [];
    const b = await backend({}, { onResume: (_key, offset) => resumes.push(offset) });
    const data = pattern(6 * MiB, 4);
    await b.put("db/snapshot", data);
    proxy.clear();
    proxy.add({ method: "GET", path: /snapshot$/, times: 2, action: { kind: "cut-body", afterBytes: 1 * MiB + 123 } });
    const got = await collect(b.getStream("db/snapshot"));
    expect(got.length).toBe(data.length);
    expect(sha256(got)).toBe(sha256(data));
    const gets = proxy.matching({ method: "GET", path: /snapshot$/ });
    expect(gets.length).toBe(3);
    expect(gets[0].headers.range).toBeUndefined();
    expect(resumes.length).toBe(2);
    expect(gets[1].headers.range).toBe(`bytes=${resumes[0]}-`);
    expect(gets[2].headers.range).toBe(`bytes=${resumes[1]}-`);
    expect(resumes[0]).toBeGreaterThan(0);
    expect(resumes[1]).toBeGreaterThan(resumes[0]);
    expect(gets[1].headers["if-match"]).toBeDefined();
  });

  test("a ranged read resumes within its range and returns exactly the range", async () => {
    const b = await backend();
    const data = pattern(4 * MiB, 5);
    await b.put("r", data);
    proxy.add({ method: "GET", action: { kind: "cut-body", afterBytes: 256 * 1024 } });
    const got = await b.get("r", { offset: 1000, length: 2 * MiB });
    expect(sha256(got)).toBe(sha256(data.subarray(1000, 1000 + 2 * MiB)));
    const second = proxy.matching({ method: "GET" })[1];
    expect(second.headers.range).toMatch(new RegExp(`^bytes=\\d+-${1000 + 2 * MiB - 1}$`));
  });

  test("an object replaced while a read is resuming fails retryably instead of splicing two versions", async () => {
    const b = await backend();
    await b.put("CURRENT", pattern(3 * MiB, 6));
    proxy.add({ method: "GET", action: { kind: "cut-body", afterBytes: 512 * 1024 } });
    const it = b.getStream("CURRENT")[Symbol.asyncIterator]();
    await it.next();
    await b.put("CURRENT", pattern(3 * MiB, 7));
    const err = await failure(async () => {
      for (let r = await it.next(); !r.done; r = await it.next());
    });
    expect(err.code).toBe("BACKEND_IO");
    expect(err.retryable).toBe(true);
    expect(err.message).toContain("replaced while it was being read");
  });
});

describe("s3 multipart uploads", () => {
  async function openUploads(b: S3Backend): Promise<string[]> {
    const ids: string[] = [];
    for await (const u of listMultipartUploads(b)) ids.push(u.uploadId);
    return ids;
  }

  test("a 40 MiB streamed body goes up as 5 MiB parts, each with a SHA-256 S3 can check, and reads back", async () => {
    const b = await backend({ checksum: true });
    const hash = createHash("sha256");
    const parts: Uint8Array[] = [];
    async function* body() {
      for (let i = 0; i < 40; i++) {
        const chunk = pattern(MiB, 100 + i);
        hash.update(chunk);
        if (i < 5) parts.push(chunk);
        yield chunk;
      }
    }
    await b.put("db/big", body(), { role: "snapshot" });
    const create = proxy.matching({ method: "POST", query: "uploads" });
    expect(create.length).toBe(1);
    expect(create[0].headers["x-amz-checksum-algorithm"]).toBe("SHA256");
    const uploads = proxy.matching({ method: "PUT", query: "partNumber" });
    expect(uploads.length).toBe(8);
    for (const part of uploads) {
      expect(part.bodyBytes).toBe(5 * MiB);
      expect(part.headers["x-amz-checksum-sha256"]).toBe(part.bodySha256);
    }
    expect(uploads[0].bodySha256).toBe(sha256(Buffer.concat(parts)));
    expect(proxy.matching({ method: "POST", query: "uploadId" }).length).toBe(1);
    const got = createHash("sha256");
    for await (const chunk of b.getStream("db/big")) got.update(chunk);
    expect(got.digest("base64")).toBe(hash.digest("base64"));
    expect(await openUploads(b)).toEqual([]);
  }, 30_000);

  test("a Complete whose answer is lost after S3 carried it out is a put that landed, not a failure", async () => {
    const b = await backend();
    const data = pattern(12 * MiB, 9);
    proxy.add({ method: "POST", query: "uploadId", action: { kind: "drop-after-upstream" } });
    await b.put("db/completed", data, { role: "snapshot" });
    expect(proxy.matching({ method: "POST", query: "uploadId" }).length).toBeGreaterThanOrEqual(2);
    expect(Array.from(await b.get("db/completed")).length).toBe(data.length);
    expect(Buffer.from(await b.get("db/completed")).equals(Buffer.from(data))).toBe(true);
    expect(await openUploads(b)).toEqual([]);
  }, 30_000);

  test("a single-part put carries the SHA-256 of exactly the bytes sent", async () => {
    const b = await backend({ checksum: true });
    await b.put("db/small", pattern(3000, 8));
    const [put] = proxy.matching({ method: "PUT" });
    expect(put.headers["x-amz-checksum-sha256"]).toBe(sha256(pattern(3000, 8)));
    expect(put.bodySha256).toBe(sha256(pattern(3000, 8)));
  });

  test("a part that keeps failing aborts the upload: no object, no open upload, the error surfaces", async () => {
    const b = await backend({ maxRetries: 1 });
    proxy.add({ method: "PUT", query: "partNumber", path: /doomed$/, times: Infinity, action: { kind: "status", status: 500 } });
    const err = await failure(() => b.put("db/doomed", pattern(12 * MiB, 9)));
    expect(err.code).toBe("BACKEND_IO");
    expect(proxy.matching({ method: "DELETE", query: "uploadId" }).length).toBe(1);
    expect(await b.stat("db/doomed")).toBeNull();
    expect(await openUploads(b)).toEqual([]);
  });

  test("a body that throws after some parts aborts the upload and rethrows the producer's own error", async () => {
    const b = await backend();
    const boom = new Error("snapshot reader failed");
    async function* body() {
      for (let i = 0; i < 12; i++) yield pattern(MiB, i);
      throw boom;
    }
    const err = await b.put("db/partial", body()).then(() => undefined, (e) => e);
    expect(err).toBe(boom);
    expect(proxy.matching({ method: "PUT", query: "partNumber" }).length).toBeGreaterThanOrEqual(2);
    expect(proxy.matching({ method: "DELETE", query: "uploadId" }).length).toBe(1);
    expect(await b.stat("db/partial")).toBeNull();
    expect(await openUploads(b)).toEqual([]);
  });

  test("a caller's abort stops the upload and aborts it", async () => {
    const b = await backend();
    const controller = new AbortController();
    async function* body() {
      for (let i = 0; i < 20; i++) {
        if (i === 11) controller.abort(new Error("shutting down"));
        yield pattern(MiB, i);
      }
    }
    const err = await b.put("db/aborted", body(), { signal: controller.signal }).then(() => undefined, (e) => e);
    expect((err as Error).message).toBe("shutting down");
    expect(await openUploads(b)).toEqual([]);
    expect(await b.stat("db/aborted")).toBeNull();
  });

  test("a body of a size other than announced is refused and nothing is published", async () => {
    const b = await backend();
    const err = await failure(() => b.put("db/short", pattern(7 * MiB, 1), { size: 8 * MiB }));
    expect(err.retryable).toBe(false);
    expect(await b.stat("db/short")).toBeNull();
    expect(await openUploads(b)).toEqual([]);
  });

  test("storage_class goes on snapshots and compacted objects only; sse headers go on every new object", async () => {
    const b = await backend({ storageClass: "STANDARD_IA", sse: "aws:kms", sseKmsKeyId: "key-1234" });
    await b.put("db/snap", pattern(100, 1), { role: "snapshot" });
    await b.put("db/L1/c", pattern(100, 2), { role: "compacted" });
    await b.put("db/L0/c", pattern(100, 3), { role: "changeset" });
    await b.put("db/manifest", pattern(100, 4), { role: "meta" });
    await b.put("db/big-snap", pattern(6 * MiB, 5), { role: "snapshot" });
    const puts = proxy.matching({ method: "PUT" }).filter((r) => !r.query.has("partNumber"));
    const classOf = (suffix: string) => puts.find((r) => r.path.endsWith(suffix))?.headers["x-amz-storage-class"];
    expect(classOf("/snap")).toBe("STANDARD_IA");
    expect(classOf("/L1/c")).toBe("STANDARD_IA");
    expect(classOf("/L0/c")).toBeUndefined();
    expect(classOf("/manifest")).toBeUndefined();
    for (const r of puts) {
      expect(r.headers["x-amz-server-side-encryption"]).toBe("aws:kms");
      expect(r.headers["x-amz-server-side-encryption-aws-kms-key-id"]).toBe("key-1234");
    }
    const [create] = proxy.matching({ method: "POST", query: "uploads" });
    expect(create.headers["x-amz-storage-class"]).toBe("STANDARD_IA");
    expect(create.headers["x-amz-server-side-encryption"]).toBe("aws:kms");
  });
});

describe("s3 Object Lock status", () => {
  const lock = (rule: string) =>
    `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>${rule}</ObjectLockConfiguration>`;

  test("reports the mode and retention of a locked bucket, in days", async () => {
    const b = await backend();
    proxy.add({ method: "GET", query: "object-lock", action: { kind: "respond", status: 200, body: lock("<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>30</Days></DefaultRetention></Rule>") } });
    expect(await b.objectLockStatus()).toEqual({ enabled: true, mode: "COMPLIANCE", days: 30 });
    proxy.add({ method: "GET", query: "object-lock", action: { kind: "respond", status: 200, body: lock("<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Years>1</Years></DefaultRetention></Rule>") } });
    expect(await b.objectLockStatus()).toEqual({ enabled: true, mode: "GOVERNANCE", days: 365 });
    proxy.add({ method: "GET", query: "object-lock", action: { kind: "respond", status: 200, body: lock("") } });
    expect(await b.objectLockStatus()).toEqual({ enabled: true });
    expect(proxy.matching({ method: "GET", query: "object-lock" }).length).toBe(3);
  });

  test("a bucket without Object Lock is 'not enabled'; a refused check is 'unverifiable', never 'not enabled'", async () => {
    const b = await backend();
    expect(await b.objectLockStatus()).toEqual({ enabled: false });
    proxy.add({ method: "GET", query: "object-lock", action: { kind: "status", status: 403, code: "AccessDenied" } });
    expect(await b.objectLockStatus()).toBe("unverifiable");
  });
});

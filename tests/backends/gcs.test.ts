import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openGcsBackend, GCS_SINGLE_REQUEST_MAX } from "../../src/backends/gcs.ts";
import { resolveGcsCredentials } from "../../src/backends/gcs-auth.ts";
import { openBackend } from "../../src/backends/open.ts";
import type { ObjectRole } from "../../src/backends/types.ts";
import { BakeliteError } from "../../src/errors.ts";
import type { GcsBackendConfig } from "../../src/config/types.ts";
import { runConformance } from "./conformance.ts";
import { collect, pattern } from "./conformance-helpers.ts";
import { FaultProxy } from "./gcs-azure-proxy.ts";
import { startGcsServer, type GcsServer } from "./gcs-server.ts";
import { replicateAndRestore } from "./gcs-azure-round-trip.ts";

let server: GcsServer;
beforeAll(async () => {
  server = await startGcsServer();
});
afterAll(async () => {
  await server?.stop();
});

let bucketSeq = 0;
function config(extra: Partial<GcsBackendConfig> = {}): GcsBackendConfig {
  return { type: "gcs", mode: "sync", bucket: `bkt-${++bucketSeq}`, prefix: "bakelite", endpoint: server.url, ...extra };
}

runConformance("gcs (emulator)", async () => {
  const backend = await openGcsBackend(config(), { env: {} });
  return { backend, cleanup: async () => {} };
});

describe("gcs backend", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await FaultProxy.start(server.url);
  });
  afterAll(async () => {
    await proxy.stop();
  });
  afterEach(() => {
    proxy.requests.length = 0;
  });
  const viaProxy = (extra: Partial<GcsBackendConfig> = {}) => openGcsBackend(config({ endpoint: proxy.url, ...extra }), { env: {} });
  const isMediaGet = (req: { method?: string; url?: string }) => req.method === "GET" && /alt=media/.test(req.url ?? "");

  test("keys live under the prefix, and describe names bucket, prefix and endpoint host without secrets", async () => {
    const cfg = config({ prefix: "/team/bakelite/" });
    const b = await openGcsBackend(cfg, { env: {} });
    await b.put("db/CURRENT", new Uint8Array([1]));
    const raw = await openGcsBackend({ ...cfg, prefix: "" }, { env: {} });
    expect(await collectKeys(raw.list(""))).toEqual(["team/bakelite/db/CURRENT"]);
    expect(await collectKeys(b.list(""))).toEqual(["db/CURRENT"]);
    expect(b.describe).toBe(`gs://${cfg.bucket}/team/bakelite (${new URL(server.url).host})`);
  });

  test("storage_class is sent for snapshots and compacted change-sets only, in one-request and streamed uploads", async () => {
    const b = await viaProxy({ storageClass: "NEARLINE" });
    const roles: Array<ObjectRole | undefined> = ["snapshot", "compacted", "changeset", "meta", undefined];
    for (const role of roles) await b.put(`sc/small-${role}`, pattern(100, 1), { role });
    for (const role of roles) {
      await b.put(`sc/big-${role}`, (async function* () {
        yield pattern(1000, 2);
      })(), { role });
    }
    const classOf = (name: string) => {
      const req = proxy.requests.find((r) => r.method === "POST" && r.url.includes(`name=${encodeURIComponent(`bakelite/${name}`)}`));
      if (!req?.body) throw new Error(`no upload request for ${name}`);
      return /"storageClass":"(\w+)"/.exec(req.body.toString("latin1"))?.[1] ?? null;
    };
    for (const kind of ["small", "big"]) {
      expect(roles.map((role) => classOf(`sc/${kind}-${role}`))).toEqual(["NEARLINE", "NEARLINE", null, null, null]);
    }
  });

  test("a one-request upload carries the MD5 of its body for GCS to check on arrival", async () => {
    const b = await viaProxy();
    const body = pattern(5000, 3);
    await b.put("md5/obj", body);
    const upload = proxy.requests.find((r) => r.method === "POST" && /uploadType=multipart/.test(r.url));
    expect(upload?.body?.toString("latin1")).toContain(`"md5Hash":"${createHash("md5").update(body).digest("base64")}"`);
  });

  test("buffers past the one-request limit go up as a streamed resumable upload", async () => {
    const b = await viaProxy();
    const body = pattern(GCS_SINGLE_REQUEST_MAX + 1, 4);
    await b.put("big/obj", body);
    expect(proxy.requests.some((r) => r.method === "POST" && /uploadType=resumable/.test(r.url))).toBe(true);
    expect(proxy.requests.some((r) => r.method === "PUT" && r.bodyLength === body.length)).toBe(true);
    expect(Buffer.from(await b.get("big/obj")).equals(Buffer.from(body))).toBe(true);
  });

  test("a download cut off midway resumes from the byte it reached, pinned to the same generation", async () => {
    const b = await viaProxy();
    const data = pattern(3 << 20, 5);
    await b.put("rs/obj", data);
    proxy.requests.length = 0;
    proxy.dropNext(1 << 20, isMediaGet);
    expect(Buffer.from(await b.get("rs/obj")).equals(Buffer.from(data))).toBe(true);
    const gets = proxy.requests.filter(isMediaGet);
    expect(gets.length).toBe(2);
    const resumedAt = Number(/bytes=(\d+)-/.exec(String(gets[1].headers.range))?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(1 << 20);
    expect(gets[1].url).toMatch(/generation=\d+/);
  });

  test("a download that stalls is abandoned after request_timeout and resumed", async () => {
    const b = await viaProxy({ requestTimeoutMs: 400 });
    const data = pattern(2 << 20, 6);
    await b.put("st/obj", data);
    proxy.requests.length = 0;
    proxy.stallNext(300_000, isMediaGet);
    const started = Date.now();
    expect(Buffer.from(await collect(b.getStream("st/obj"))).equals(Buffer.from(data))).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(proxy.requests.filter(isMediaGet).length).toBe(2);
  });

  test("a streamed upload that stops moving fails after request_timeout as a retryable BACKEND_TIMEOUT, leaving nothing", async () => {
    const b = await viaProxy({ requestTimeoutMs: 500 });
    proxy.stallRequestNext((req) => req.method === "PUT");
    async function* body() {
      for (let i = 0; i < 48; i++) yield new Uint8Array(1 << 20).fill(i);
    }
    const started = Date.now();
    const err = await b.put("us/obj", body(), { role: "snapshot" }).catch((e) => e);
    expect([err.code, err.retryable]).toEqual(["BACKEND_TIMEOUT", true]);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await b.stat("us/obj")).toBeNull();
  });

  test("a streamed upload that fails (body error, abort, wrong size, stall) cancels its data request and stores nothing", async () => {
    const b = await viaProxy({ requestTimeoutMs: 500, maxRetries: 0 });
    const isPut = (r: { method?: string }) => r.method === "PUT";
    const putSeen = async () => {
      while (!proxy.requests.some(isPut)) await Bun.sleep(5);
    };
    /** 1 MiB, then (once the data request is open) whatever `after` does. */
    async function* body(after: () => Promise<void>) {
      yield pattern(1 << 20, 1);
      await putSeen();
      yield pattern(1 << 20, 2);
      await after();
    }
    const boom = new Error("snapshot source vanished");
    const aborter = new AbortController();
    const cases: Array<[string, () => Promise<unknown>]> = [
      ["body", () => b.put("cancel/body", body(async () => Promise.reject(boom)))],
      ["abort", () => b.put("cancel/abort", body(async () => {
        aborter.abort(new Error("stopped by caller"));
      }), { signal: aborter.signal })],
      ["size", () => b.put("cancel/size", body(async () => {}), { size: 3 << 20 })],
      ["stall", () => {
        proxy.stallRequestNext(isPut);
        return b.put("cancel/stall", body(async () => {}));
      }],
    ];
    for (const [name, put] of cases) {
      proxy.requests.length = 0;
      const err = await put().catch((e) => e);
      expect({ name, failed: err instanceof Error }).toEqual({ name, failed: true });
      const upload = proxy.requests.find(isPut);
      expect({ name, upload: upload !== undefined }).toEqual({ name, upload: true });
      const within = await Promise.race([upload!.closed.then(() => true), Bun.sleep(5000).then(() => false)]);
      expect({ name, cancelled: within }).toEqual({ name, cancelled: true });
      expect(await b.stat(`cancel/${name}`)).toBeNull();
    }
  });

  test("transient failures: a one-request upload and a download are retried; a broken upload session fails retryable", async () => {
    const b = await viaProxy({ maxRetries: 2 });
    proxy.failNext(1, 503, (req) => req.method === "POST");
    await b.put("tr/small", pattern(100, 1));
    proxy.failNext(1, 503, isMediaGet);
    expect(Buffer.from(await b.get("tr/small")).equals(Buffer.from(pattern(100, 1)))).toBe(true);
    // A streamed upload whose data request fails: the session cannot be resumed without the bytes already sent.
    proxy.failNext(1, 503, (req) => req.method === "PUT");
    const err = await b.put("tr/stream", (async function* () {
      yield pattern(1 << 20, 2);
    })()).catch((e) => e);
    expect(err).toBeInstanceOf(BakeliteError);
    expect([err.code, err.retryable]).toEqual(["BACKEND_IO", true]);
  });

  test("errors are classified: throttling and server faults retryable, refused credentials not, all prefixed and scrubbed", async () => {
    const b = await viaProxy({ maxRetries: 0 });
    const secretBody = JSON.stringify({ error: { code: 0, message: "denied for Bearer ya29.SECRET-TOKEN at https://x/upload?upload_id=SECRET-SESSION" } });
    const cases: Array<[number, string, boolean]> = [[503, "BACKEND_IO", true], [500, "BACKEND_IO", true], [429, "BACKEND_IO", true], [408, "BACKEND_TIMEOUT", true], [401, "BACKEND_AUTH", false], [403, "BACKEND_AUTH", false], [400, "BACKEND_IO", false]];
    for (const [status, code, retryable] of cases) {
      proxy.failNext(1, status, () => true, secretBody.replace('"code":0', `"code":${status}`));
      const err = await b.stat("x/y").catch((e) => e);
      expect(err).toBeInstanceOf(BakeliteError);
      expect({ status, code: err.code, retryable: err.retryable }).toEqual({ status, code, retryable });
      expect(err.message).toStartWith("gcs backend: stat x/y failed");
      expect(err.message).not.toContain("SECRET");
      expect(err.cause).toBeDefined();
      if (code === "BACKEND_AUTH") expect(err.hint).toContain(status === 403 ? "bkt-" : "GOOGLE_APPLICATION_CREDENTIALS");
    }
  });

  test("an unreachable endpoint is a retryable BACKEND_IO", async () => {
    const closed = await FaultProxy.start(server.url);
    const url = closed.url;
    await closed.stop();
    const b = await openGcsBackend(config({ endpoint: url, maxRetries: 0 }), { env: {} });
    const err = await b.stat("x").catch((e) => e);
    expect(err.code).toBe("BACKEND_IO");
    expect(err.retryable).toBe(true);
  });

  test("a list prefix that climbs out of the prefix or has empty segments is refused at once", async () => {
    const b = await openGcsBackend(config(), { env: {} });
    for (const bad of ["../", "a//", "/etc", "a b"]) expect(() => b.list(bad)).toThrow(TypeError);
  });

  test("openBackend loads the GCS backend for type = \"gcs\"", async () => {
    const b = await openBackend(config());
    expect(b.type).toBe("gcs");
    await b.put("ob/x", new Uint8Array([7]));
    expect(Array.from(await b.get("ob/x"))).toEqual([7]);
  });

  test("the daemon replicates to GCS and a restore from it equals the source", async () => {
    const cfg = config();
    await replicateAndRestore(() => openGcsBackend(cfg, { env: {} }));
  }, 60_000);
});

describe("gcs credentials", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "bakelite-gcs-cred-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
  const key = (email: string) => JSON.stringify({
    type: "service_account", project_id: "proj", private_key_id: "k1", client_email: email,
    private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  });
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  test("service_account_path wins, then GOOGLE_SERVICE_ACCOUNT, GOOGLE_SERVICE_ACCOUNT_KEY, GOOGLE_APPLICATION_CREDENTIALS", () => {
    const env = {
      GOOGLE_SERVICE_ACCOUNT: file("a.json", key("a@proj")),
      GOOGLE_SERVICE_ACCOUNT_KEY: key("b@proj"),
      GOOGLE_APPLICATION_CREDENTIALS: file("c.json", key("c@proj")),
    };
    const pick = (cfgPath: string | undefined, e: Record<string, string>) => {
      const c = resolveGcsCredentials({ serviceAccountPath: cfgPath }, e);
      return [c.source, c.credentials?.client_email];
    };
    expect(pick(file("cfg.json", key("cfg@proj")), env)).toEqual(["service_account_path", "cfg@proj"]);
    expect(pick(undefined, env)).toEqual(["GOOGLE_SERVICE_ACCOUNT", "a@proj"]);
    expect(pick(undefined, { ...env, GOOGLE_SERVICE_ACCOUNT: "" })).toEqual(["GOOGLE_SERVICE_ACCOUNT_KEY", "b@proj"]);
    expect(pick(undefined, { GOOGLE_APPLICATION_CREDENTIALS: env.GOOGLE_APPLICATION_CREDENTIALS })).toEqual(["GOOGLE_APPLICATION_CREDENTIALS", "c@proj"]);
    const none = resolveGcsCredentials({}, {});
    expect([none.source, none.explicit]).toEqual(["application default credentials", false]);
  });

  test("a missing, unreadable or malformed key fails before any request, naming its source and never its contents", async () => {
    const secret = "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n";
    const cases: Array<[Record<string, string>, string]> = [
      [{ GOOGLE_SERVICE_ACCOUNT: join(dir, "missing.json") }, "GOOGLE_SERVICE_ACCOUNT"],
      [{ GOOGLE_SERVICE_ACCOUNT_KEY: `{"type":"service_account","private_key":"${secret}` }, "GOOGLE_SERVICE_ACCOUNT_KEY"],
      [{ GOOGLE_SERVICE_ACCOUNT_KEY: JSON.stringify({ type: "service_account", private_key: secret }) }, "GOOGLE_SERVICE_ACCOUNT_KEY"],
      [{ GOOGLE_APPLICATION_CREDENTIALS: file("odd.json", JSON.stringify({ type: "mystery", secret })) }, "GOOGLE_APPLICATION_CREDENTIALS"],
    ];
    for (const [env, source] of cases) {
      const err = await openGcsBackend(config(), { env }).catch((e) => e);
      expect(err).toBeInstanceOf(BakeliteError);
      expect(err.code).toBe("BACKEND_AUTH");
      expect(err.retryable).toBe(false);
      expect(err.message).toContain(source);
      expect(err.message).not.toContain("SECRET");
      expect(err.hint).toBeDefined();
    }
  });

  test("with an emulator endpoint and no credentials, requests go out unauthenticated", async () => {
    const proxy = await FaultProxy.start(server.url);
    try {
      const b = await openGcsBackend(config({ endpoint: proxy.url }), { env: {} });
      await b.put("anon/x", new Uint8Array([1]));
      expect(proxy.requests.length).toBeGreaterThan(0);
      expect(proxy.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
    } finally {
      await proxy.stop();
    }
  });
});

async function collectKeys(it: AsyncIterable<{ key: string }>): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of it) keys.push(info.key);
  return keys;
}

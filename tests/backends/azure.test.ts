import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  AccountSASPermissions, AccountSASResourceTypes, AccountSASServices, BlobServiceClient, StorageSharedKeyCredential, generateAccountSASQueryParameters,
} from "@azure/storage-blob";
import { openAzureBackend, serviceUrl } from "../../src/backends/azure.ts";
import { resolveAzureCredentials } from "../../src/backends/azure-auth.ts";
import { openBackend } from "../../src/backends/open.ts";
import type { ObjectRole } from "../../src/backends/types.ts";
import { BakeliteError } from "../../src/errors.ts";
import type { AzureBackendConfig } from "../../src/config/types.ts";
import { runConformance } from "./conformance.ts";
import { collect, expectNotFound, listKeys, pattern } from "./conformance-helpers.ts";
import { FaultProxy } from "./gcs-azure-proxy.ts";
import { replicateAndRestore } from "./gcs-azure-round-trip.ts";
import { startAzureServer, type AzureServer } from "./azure-server.ts";

let server: AzureServer;
let admin: BlobServiceClient;
beforeAll(async () => {
  server = await startAzureServer();
  admin = new BlobServiceClient(serviceUrl({ account: server.account, endpoint: server.url }), new StorageSharedKeyCredential(server.account, server.accountKey));
});
afterAll(async () => {
  await server?.stop();
});

let seq = 0;
async function config(extra: Partial<AzureBackendConfig> = {}): Promise<AzureBackendConfig> {
  const container = `bkt-${++seq}`;
  await admin.getContainerClient(container).create();
  return { type: "azure", mode: "sync", account: server.account, container, prefix: "bakelite", endpoint: server.url, ...extra };
}
const keyEnv = () => ({ AZURE_STORAGE_ACCOUNT_KEY: server.accountKey });

runConformance("azure (Azurite)", async () => {
  const backend = await openAzureBackend(await config(), { env: keyEnv() });
  return { backend, cleanup: async () => {} };
});

describe("azure backend", () => {
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
  const viaProxy = async (extra: Partial<AzureBackendConfig> = {}, blockSize?: number) =>
    openAzureBackend(await config({ endpoint: proxy.url, ...extra }), { env: keyEnv(), blockSize });
  const isBlobGet = (req: { method?: string; url?: string }) => req.method === "GET" && !/[?&](comp|restype)=/.test(req.url ?? "");

  test("keys live under the prefix, and describe names account, container, prefix and endpoint host", async () => {
    const cfg = await config({ prefix: "/team/bakelite/" });
    const b = await openAzureBackend(cfg, { env: keyEnv() });
    await b.put("db/CURRENT", new Uint8Array([1]));
    const raw = await openAzureBackend({ ...cfg, prefix: "" }, { env: keyEnv() });
    expect(await listKeys(raw, "")).toEqual(["team/bakelite/db/CURRENT"]);
    expect(await listKeys(b, "")).toEqual(["db/CURRENT"]);
    expect(b.describe).toBe(`azure://${server.account}/${cfg.container}/team/bakelite (${new URL(server.url).host})`);
  });

  test("the endpoint gets the account appended only for an address without a path (emulator style)", () => {
    expect(serviceUrl({ account: "acct" })).toBe("https://acct.blob.core.windows.net");
    expect(serviceUrl({ account: "acct", endpoint: "http://127.0.0.1:10000" })).toBe("http://127.0.0.1:10000/acct");
    expect(serviceUrl({ account: "acct", endpoint: "http://localhost:10000/" })).toBe("http://localhost:10000/acct");
    expect(serviceUrl({ account: "acct", endpoint: "http://127.0.0.1:10000/other" })).toBe("http://127.0.0.1:10000/other");
    expect(serviceUrl({ account: "acct", endpoint: "https://acct.blob.core.usgovcloudapi.net" })).toBe("https://acct.blob.core.usgovcloudapi.net");
  });

  test("storage_class becomes the access tier of snapshots and compacted change-sets only, for whole and staged uploads", async () => {
    const cfg = await config({ endpoint: proxy.url, storageClass: "Cool" });
    const b = await openAzureBackend(cfg, { env: keyEnv(), blockSize: 64 * 1024 });
    const roles: Array<ObjectRole | undefined> = ["snapshot", "compacted", "changeset", "meta", undefined];
    for (const role of roles) {
      await b.put(`tier/small-${role}`, pattern(100, 1), { role });
      await b.put(`tier/big-${role}`, pattern(200 * 1024, 2), { role });
    }
    const tierSent = (name: string, comp: string | null) => {
      const req = proxy.requests.find((r) => r.method === "PUT" && r.url.includes(`/bakelite/tier/${name}`) && (comp ? r.url.includes(`comp=${comp}`) : !r.url.includes("comp=")));
      if (!req) throw new Error(`no request for ${name}`);
      return req.headers["x-ms-access-tier"] ?? null;
    };
    expect(roles.map((r) => tierSent(`small-${r}`, null))).toEqual(["Cool", "Cool", null, null, null]);
    expect(roles.map((r) => tierSent(`big-${r}`, "blocklist"))).toEqual(["Cool", "Cool", null, null, null]);
    // Azurite keeps the tier it was given; a real account reports the same.
    const props = await admin.getContainerClient(cfg.container).getBlobClient("bakelite/tier/big-snapshot").getProperties();
    expect(props.accessTier).toBe("Cool");
  });

  test("a large body is staged in blocks, each with its MD5, and appears only when the block list is committed", async () => {
    const b = await viaProxy({}, 64 * 1024);
    const data = pattern(200 * 1024 + 7, 3);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let staged!: () => void;
    const midway = new Promise<void>((resolve) => (staged = resolve));
    async function* body() {
      yield data.subarray(0, 150 * 1024);
      staged();
      await held;
      yield data.subarray(150 * 1024);
    }
    const put = b.put("stage/obj", body(), { size: data.length });
    await midway;
    // Two blocks are on the service by now, uncommitted: nothing is visible.
    while (proxy.requests.filter((r) => r.url.includes("comp=block&")).length < 1) await Bun.sleep(5);
    expect(await b.stat("stage/obj")).toBeNull();
    expect(await listKeys(b, "stage/")).toEqual([]);
    release();
    await put;
    const blocks = proxy.requests.filter((r) => r.method === "PUT" && /comp=block(&|$)/.test(r.url));
    expect(blocks.length).toBe(4);
    for (const req of blocks) expect(req.headers["content-md5"]).toBe(createHash("md5").update(req.body!).digest("base64"));
    expect(proxy.requests.filter((r) => r.url.includes("comp=blocklist")).length).toBe(1);
    expect(Buffer.from(await b.get("stage/obj")).equals(Buffer.from(data))).toBe(true);
  });

  test("a staged upload whose body fails leaves nothing visible and an older blob intact", async () => {
    const b = await viaProxy({}, 64 * 1024);
    const boom = new Error("snapshot source vanished");
    async function* failing() {
      yield pattern(300 * 1024, 4);
      throw boom;
    }
    expect(await b.put("fail/new", failing()).catch((e) => e)).toBe(boom);
    await expectNotFound(() => b.get("fail/new"));
    await b.put("fail/old", pattern(100, 5));
    expect(await b.put("fail/old", failing()).catch((e) => e)).toBe(boom);
    expect(Buffer.from(await b.get("fail/old")).equals(Buffer.from(pattern(100, 5)))).toBe(true);
    expect(await listKeys(b, "fail/")).toEqual(["fail/old"]);
    const short = await b.put("fail/short", pattern(200 * 1024, 6), { size: 200 * 1024 + 1 }).catch((e) => e);
    expect([short.code, short.retryable]).toEqual(["BACKEND_IO", false]);
    expect(await b.stat("fail/short")).toBeNull();
  });

  test("a download cut off midway resumes from the byte it reached, pinned to the same ETag", async () => {
    const b = await viaProxy();
    const data = pattern(3 << 20, 7);
    await b.put("rs/obj", data);
    proxy.requests.length = 0;
    proxy.dropNext(1 << 20, isBlobGet);
    expect(Buffer.from(await b.get("rs/obj")).equals(Buffer.from(data))).toBe(true);
    const gets = proxy.requests.filter(isBlobGet);
    expect(gets.length).toBe(2);
    const resumedAt = Number(/bytes=(\d+)-/.exec(String(gets[1].headers["x-ms-range"] ?? gets[1].headers.range))?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(1 << 20);
    expect(gets[1].headers["if-match"]).toBeDefined();
  });

  test("a download that stalls is abandoned after request_timeout and resumed", async () => {
    const b = await viaProxy({ requestTimeoutMs: 400 });
    const data = pattern(2 << 20, 8);
    await b.put("st/obj", data);
    proxy.requests.length = 0;
    proxy.stallNext(300_000, isBlobGet);
    const started = Date.now();
    expect(Buffer.from(await collect(b.getStream("st/obj"))).equals(Buffer.from(data))).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(proxy.requests.filter(isBlobGet).length).toBe(2);
  });

  test("transient failures are retried up to max_retries, then reported retryable; a 4xx is not retried", async () => {
    const b = await viaProxy({ maxRetries: 2 });
    await b.put("rt/x", new Uint8Array([1]));
    proxy.failNext(2, 503);
    expect((await b.stat("rt/x"))?.size).toBe(1);
    proxy.failNext(2, 503, isBlobGet);
    expect(Array.from(await b.get("rt/x"))).toEqual([1]);
    proxy.failNext(3, 500, () => true, "<Error><Code>InternalError</Code><Message>sig=SECRETSIG</Message></Error>", { "content-type": "application/xml" });
    const err = await b.stat("rt/x").catch((e) => e);
    expect([err.code, err.retryable]).toEqual(["BACKEND_IO", true]);
    expect(err.message).toStartWith("azure backend: stat rt/x failed");
    expect(err.message).not.toContain("SECRETSIG");
    proxy.requests.length = 0;
    proxy.failNext(1, 400);
    const bad = await b.stat("rt/x").catch((e) => e);
    expect([bad.code, bad.retryable]).toEqual(["BACKEND_IO", false]);
    expect(proxy.requests.length).toBe(1);
  });

  test("a request that gets no answer within request_timeout fails as a retryable BACKEND_TIMEOUT", async () => {
    const b = await viaProxy({ requestTimeoutMs: 300, maxRetries: 0 });
    await b.put("to/x", pattern(1000, 9));
    proxy.stallNext(0, () => true);
    const err = await b.get("to/x").catch((e) => e);
    expect([err.code, err.retryable]).toEqual(["BACKEND_TIMEOUT", true]);
  });

  test("a blob GET left unanswered is retried with a fresh timer, and one that never answers ends as BACKEND_TIMEOUT", async () => {
    const b = await viaProxy({ requestTimeoutMs: 500, maxRetries: 3 });
    const data = pattern(1000, 10);
    await b.put("rto/x", data);
    proxy.requests.length = 0;
    proxy.stallRequestNext(isBlobGet);
    expect(Buffer.from(await b.get("rto/x")).equals(Buffer.from(data))).toBe(true);
    expect(proxy.requests.filter(isBlobGet).length).toBe(2);
    proxy.requests.length = 0;
    for (let i = 0; i < 4; i++) proxy.stallRequestNext(isBlobGet);
    const err = await b.get("rto/x").catch((e) => e);
    expect([err.code, err.retryable]).toEqual(["BACKEND_TIMEOUT", true]);
    expect(proxy.requests.filter(isBlobGet).length).toBe(4);
  });

  test("a block upload that stops moving fails after request_timeout as a retryable BACKEND_TIMEOUT, leaving nothing", async () => {
    const b = await viaProxy({ requestTimeoutMs: 500, maxRetries: 0 });
    proxy.stallRequestNext((req) => req.method === "PUT" && /comp=block(&|$)/.test(req.url ?? ""));
    async function* body() {
      for (let i = 0; i < 12; i++) yield new Uint8Array(1 << 20).fill(i);
    }
    const err = await b.put("us/obj", body()).catch((e) => e);
    expect([err.code, err.retryable]).toEqual(["BACKEND_TIMEOUT", true]);
    expect(await b.stat("us/obj")).toBeNull();
  });

  test("a wrong account key is BACKEND_AUTH, not retried, with a hint naming the variable and nothing secret", async () => {
    const cfg = await config();
    const wrongKey = Buffer.alloc(64, 7).toString("base64");
    const b = await openAzureBackend(cfg, { env: { AZURE_STORAGE_ACCESS_KEY: wrongKey } });
    for (const op of [() => b.put("x", new Uint8Array([1])), () => b.get("x"), () => listKeys(b, "")]) {
      const err = await op().catch((e) => e);
      expect(err).toBeInstanceOf(BakeliteError);
      expect([err.code, err.retryable]).toEqual(["BACKEND_AUTH", false]);
      expect(err.hint).toContain("AZURE_STORAGE_ACCESS_KEY");
      expect(err.message).not.toContain(wrongKey);
      expect(`${err.message} ${err.hint}`).not.toContain(server.accountKey);
    }
  });

  test("a SAS token works, and a tampered one is refused as BACKEND_AUTH without leaking its signature", async () => {
    const cfg = await config();
    const sas = generateAccountSASQueryParameters({
      expiresOn: new Date(Date.now() + 3600_000),
      permissions: AccountSASPermissions.parse("rwdlc"),
      resourceTypes: AccountSASResourceTypes.parse("sco").toString(),
      services: AccountSASServices.parse("b").toString(),
    }, new StorageSharedKeyCredential(server.account, server.accountKey)).toString();
    const b = await openAzureBackend(cfg, { env: { AZURE_STORAGE_SAS_TOKEN: `?${sas}` } });
    await b.put("sas/x", pattern(10, 1));
    expect(await listKeys(b, "sas/")).toEqual(["sas/x"]);
    const tampered = sas.replace(/sig=[^&]+/, "sig=AAAATAMPEREDSIGNATURE%3D");
    const t = await openAzureBackend(cfg, { env: { AZURE_STORAGE_SAS_KEY: tampered } });
    const err = await t.get("sas/x").catch((e) => e);
    expect([err.code, err.retryable]).toEqual(["BACKEND_AUTH", false]);
    expect(err.message).not.toContain("TAMPERED");
  });

  test("a missing container is a non-retryable error whose hint names it", async () => {
    const b = await openAzureBackend({ type: "azure", mode: "sync", account: server.account, container: "nope-missing", prefix: "", endpoint: server.url }, { env: keyEnv() });
    const err = await b.put("x", new Uint8Array([1])).catch((e) => e);
    expect([err.code, err.retryable]).toEqual(["BACKEND_IO", false]);
    expect(err.hint).toContain("nope-missing");
  });

  test("a list prefix that climbs out of the prefix or has empty segments is refused at once", async () => {
    const b = await openAzureBackend(await config(), { env: keyEnv() });
    for (const bad of ["../", "a//", "/etc", "a b"]) expect(() => b.list(bad)).toThrow(TypeError);
  });

  test("openBackend loads the Azure backend for type = \"azure\"", async () => {
    const cfg = await config();
    const saved = process.env.AZURE_STORAGE_ACCOUNT_KEY;
    process.env.AZURE_STORAGE_ACCOUNT_KEY = server.accountKey;
    try {
      const b = await openBackend(cfg);
      expect(b.type).toBe("azure");
      await b.put("ob/x", new Uint8Array([7]));
      expect(Array.from(await b.get("ob/x"))).toEqual([7]);
    } finally {
      if (saved === undefined) delete process.env.AZURE_STORAGE_ACCOUNT_KEY;
      else process.env.AZURE_STORAGE_ACCOUNT_KEY = saved;
    }
  });

  test("the daemon replicates to Azure and a restore from it equals the source", async () => {
    const cfg = await config();
    await replicateAndRestore(() => openAzureBackend(cfg, { env: keyEnv() }));
  }, 60_000);
});

describe("azure credentials", () => {
  const key = Buffer.alloc(64, 1).toString("base64");
  test("account key first (either name), then a SAS token, then a complete service principal", () => {
    expect(resolveAzureCredentials({ AZURE_STORAGE_ACCOUNT_KEY: key, AZURE_STORAGE_SAS_TOKEN: "sv=1&sig=x" }).kind).toBe("shared-key");
    expect(resolveAzureCredentials({ AZURE_STORAGE_ACCESS_KEY: key }).source).toBe("AZURE_STORAGE_ACCESS_KEY");
    const sas = resolveAzureCredentials({ AZURE_STORAGE_SAS_TOKEN: "?sv=1&sig=x" });
    expect(sas.kind === "sas" && sas.sas).toBe("sv=1&sig=x");
    const sp = resolveAzureCredentials({ AZURE_STORAGE_CLIENT_ID: "id", AZURE_STORAGE_CLIENT_SECRET: "secret", AZURE_STORAGE_TENANT_ID: "tenant" });
    expect(sp.kind).toBe("service-principal");
  });

  test("no credentials, a malformed key or SAS, or half a service principal fail at open with a hint and no secret", async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{}, /no Azure credentials/],
      [{ AZURE_STORAGE_ACCOUNT_KEY: "not a key!SECRET" }, /AZURE_STORAGE_ACCOUNT_KEY is not a base64/],
      [{ AZURE_STORAGE_SAS_TOKEN: "sv=2020&SECRET" }, /AZURE_STORAGE_SAS_TOKEN does not look like a SAS/],
      [{ AZURE_STORAGE_CLIENT_ID: "id", AZURE_STORAGE_CLIENT_SECRET: "SECRET" }, /AZURE_STORAGE_TENANT_ID is not set/],
    ];
    for (const [env, message] of cases) {
      const err = await openAzureBackend({ type: "azure", mode: "sync", account: "a", container: "c", prefix: "" }, { env }).catch((e) => e);
      expect(err).toBeInstanceOf(BakeliteError);
      expect([err.code, err.retryable]).toEqual(["BACKEND_AUTH", false]);
      expect(err.message).toMatch(message);
      expect(err.message).not.toContain("SECRET");
      expect(err.hint).toBeDefined();
    }
  });
});

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { BakeliteError } from "../../src/errors.ts";
import { isTempName } from "../../src/backends/file-walk.ts";
import { describeBackend, openBackend } from "../../src/backends/open.ts";
import { SFTP_STALE_TEMP_MS, SftpBackend, openSftpBackend } from "../../src/backends/sftp.ts";
import type { SftpBackendConfig } from "../../src/config/types.ts";
import { runConformance } from "./conformance.ts";
import { MiB, listKeys, pattern } from "./conformance-helpers.ts";
import { filesOnDisk } from "./file-fixtures.ts";
import { sftpBackendConfig, startSshd, type Sshd } from "../helpers/sshd.ts";

let server: Sshd;
beforeAll(async () => {
  server = await startSshd();
});
afterAll(async () => {
  await server?.stop();
});

const open = (overrides: Partial<SftpBackendConfig> = {}, ignoreExtensions: Array<"posix-rename" | "fsync"> = []) =>
  openSftpBackend(sftpBackendConfig(server, overrides), { env: {}, ignoreExtensions });

runConformance("sftp", async () => {
  const dir = fs.mkdtempSync(path.join(server.home, "conformance-"));
  return { backend: await open({ path: dir }), cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});

async function errorOf(promise: Promise<unknown>): Promise<BakeliteError> {
  const err = await promise.then(() => null, (e) => e);
  expect(err).toBeInstanceOf(BakeliteError);
  return err as BakeliteError;
}

/** A body that yields `first`, then waits for release() before yielding `rest`. */
function pausedBody(first: Uint8Array, rest: Uint8Array) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let reached!: () => void;
  const midway = new Promise<void>((resolve) => (reached = resolve));
  async function* body() {
    yield first;
    reached();
    await gate;
    yield rest;
  }
  return { body: body(), midway, release };
}

describe("sftp backend", () => {
  let dir: string;
  let b: SftpBackend;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(server.home, "case-"));
    b = await open({ path: path.basename(dir) });
  });
  afterEach(async () => {
    await b.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a relative or ~/ path lives under the login directory; objects are 0600 in 0700 directories", async () => {
    await b.put("app/gen/L0/0001-0002", new Uint8Array([1, 2]));
    const file = path.join(dir, "app/gen/L0/0001-0002");
    expect(fs.readFileSync(file)).toEqual(Buffer.from([1, 2]));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dir, "app/gen")).mode & 0o777).toBe(0o700);
    expect(filesOnDisk(dir)).toEqual(["app/gen/L0/0001-0002"]);
    // SFTP does not expand "~": the backend takes "~/x" as the login directory's x, as a shell would.
    const tilde = await open({ path: `~/${path.basename(dir)}` });
    expect((await tilde.stat("app/gen/L0/0001-0002"))?.size).toBe(2);
    await tilde.close();
  });

  test("openBackend opens an sftp config, and its description names no secret", async () => {
    const config = sftpBackendConfig(server, { path: path.basename(dir), password: "hunter2" });
    const opened = await openBackend(config);
    try {
      expect(opened).toBeInstanceOf(SftpBackend);
      expect(opened.describe).toBe(`sftp://${server.user}@127.0.0.1:${server.port}/~/${path.basename(dir)}`);
      expect(opened.describe).toBe(describeBackend(config));
      expect(opened.describe).not.toContain("hunter2");
      await opened.put("x", new Uint8Array([7]));
      expect(Array.from(await b.get("x"))).toEqual([7]);
    } finally {
      await opened.close();
    }
  });

  test("a put in progress is an invisible temp file; a stale temp file is swept by the next listing", async () => {
    const paused = pausedBody(new Uint8Array(1000).fill(1), new Uint8Array(1000).fill(2));
    const put = b.put("db/snap", paused.body);
    await paused.midway;
    const [temp] = filesOnDisk(dir);
    expect(isTempName(path.basename(temp))).toBe(true);
    expect(await listKeys(b, "")).toEqual([]);
    expect(await b.stat("db/snap")).toBeNull();
    paused.release();
    await put;
    expect(filesOnDisk(dir)).toEqual(["db/snap"]);

    // Leftovers of a writer that died: one old enough to be stale, one that may still be live.
    const stale = path.join(dir, "db", ".snap~00000000000000aa.tmp");
    const fresh = path.join(dir, "db", ".snap~00000000000000bb.tmp");
    fs.writeFileSync(stale, "x");
    fs.writeFileSync(fresh, "x");
    const old = new Date(Date.now() - SFTP_STALE_TEMP_MS - 3600_000);
    fs.utimesSync(stale, old, old);
    expect(await listKeys(b, "")).toEqual(["db/snap"]);
    expect(filesOnDisk(dir)).toEqual(["db/.snap~00000000000000bb.tmp", "db/snap"]);
  });

  test("without posix-rename and fsync, new keys and overwrites still land whole", async () => {
    const plain = await open({ path: path.basename(dir) }, ["posix-rename", "fsync"]);
    try {
      await plain.put("db/CURRENT", pattern(300, 1));
      expect(plain.capabilities.atomicPut).toBe(false);
      await plain.put("db/CURRENT", pattern(20, 2));
      expect(Buffer.from(await b.get("db/CURRENT")).equals(Buffer.from(pattern(20, 2)))).toBe(true);
      expect(filesOnDisk(dir)).toEqual(["db/CURRENT"]);
    } finally {
      await plain.close();
    }
    expect(b.capabilities.atomicPut).toBe(true);
  });

  test("an object in the way of a directory fails clearly and is not retried", async () => {
    await b.put("db/a", new Uint8Array([1]));
    const err = await errorOf(b.put("db/a/b", new Uint8Array([2])));
    expect(err.code).toBe("BACKEND_IO");
    expect(err.retryable).toBe(false);
    expect(err.message).toStartWith("sftp backend: put db/a/b failed");
    expect(err.hint).toContain("cannot hold both");
  });

  test("a body shorter than the declared size is refused and nothing is stored", async () => {
    const err = await errorOf(b.put("db/x", new Uint8Array(10), { size: 11 }));
    expect(err.code).toBe("BACKEND_IO");
    expect(err.retryable).toBe(false);
    expect(filesOnDisk(dir)).toEqual([]);
  });

  test("a connection dropped mid-put fails that put as retryable, shows nothing, and the next call reconnects", async () => {
    await b.put("db/CURRENT", pattern(100, 1));
    const paused = pausedBody(pattern(2 * MiB, 2), pattern(MiB, 3));
    const put = b.put("db/snapshot", paused.body);
    await paused.midway;
    expect(server.killSessions()).toBeGreaterThan(0);
    paused.release();
    const err = await errorOf(put);
    expect(err.code).toBe("BACKEND_IO");
    expect(err.retryable).toBe(true);
    expect(err.message).toStartWith("sftp backend: put db/snapshot failed");
    // The temp file of the interrupted put may stay behind on the server, but no object appears.
    expect(await listKeys(b, "")).toEqual(["db/CURRENT"]);
    await b.put("db/snapshot", pattern(3 * MiB, 4));
    expect(Buffer.from(await b.get("db/snapshot")).equals(Buffer.from(pattern(3 * MiB, 4)))).toBe(true);
  });

  test("a large read resumes after its connection is killed mid-stream and returns every byte", async () => {
    const data = pattern(24 * MiB, 5);
    await b.put("db/snapshot", data);
    const hash = createHash("sha256");
    let size = 0;
    let killed = 0;
    for await (const chunk of b.getStream("db/snapshot", { offset: 7 })) {
      hash.update(chunk);
      size += chunk.length;
      if (killed === 0 && size > 2 * MiB) killed = server.killSessions();
    }
    expect(killed).toBeGreaterThan(0);
    expect(size).toBe(data.length - 7);
    expect(hash.digest("hex")).toBe(createHash("sha256").update(data.subarray(7)).digest("hex"));
  });

  test("a read whose reopen fails after a reconnect leaves the new session's handles alone", async () => {
    await b.put("db/a", pattern(24 * MiB, 6));
    await b.put("db/b", pattern(24 * MiB, 7));
    const a = b.getStream("db/a");
    expect((await a.next()).done).toBe(false);
    // The connection dies and the object goes: the read's reopen on the new session must fail.
    expect(server.killSessions()).toBeGreaterThan(0);
    fs.rmSync(path.join(dir, "db", "a"));
    // Until a call notices, the backend still holds the dead session; the first call may fail.
    await b.stat("db/b").catch(() => null);
    expect((await b.stat("db/b"))?.size).toBe(24 * MiB);
    // Another reader opens the first handle of the new session, likely with the id the dead one had.
    const other = b.getStream("db/b");
    const hash = createHash("sha256");
    const firstOfB = await other.next();
    if (!firstOfB.done) hash.update(firstOfB.value);
    let size = firstOfB.done ? 0 : firstOfB.value.length;
    const err = await (async () => {
      try {
        for (;;) if ((await a.next()).done) return null;
      } catch (e) {
        return e as BakeliteError;
      }
    })();
    expect(err).not.toBeNull();
    for await (const chunk of other) {
      hash.update(chunk);
      size += chunk.length;
    }
    expect(size).toBe(24 * MiB);
    expect(hash.digest("hex")).toBe(createHash("sha256").update(pattern(24 * MiB, 7)).digest("hex"));
  });

  test("an idle session dropped by the server is replaced: at most one call fails, retryably", async () => {
    await b.put("db/x", new Uint8Array([1]));
    server.killSessions();
    const first = await b.get("db/x").then(() => null, (e) => e);
    if (first !== null) {
      expect(first.code).toBe("BACKEND_IO");
      expect(first.retryable).toBe(true);
    }
    expect(Array.from(await b.get("db/x"))).toEqual([1]);
  });

  test("a server that stops answering fails the request with BACKEND_TIMEOUT, then a new session works", async () => {
    await b.put("db/x", new Uint8Array([1]));
    // A second backend with a short timeout; one quick call opens its session before the server freezes.
    const slow = await open({ path: path.basename(dir), requestTimeoutMs: 1000 });
    try {
      expect((await slow.stat("db/x"))?.size).toBe(1);
      server.signalSessions("SIGSTOP");
      const started = Date.now();
      const err = await errorOf(slow.stat("db/x"));
      expect(Date.now() - started).toBeLessThan(5000);
      expect(err.code).toBe("BACKEND_TIMEOUT");
      expect(err.retryable).toBe(true);
      expect(err.message).toContain("timed out after 1s");
      server.killSessions(); // SIGKILL ends stopped processes too
      expect((await slow.stat("db/x"))?.size).toBe(1);
    } finally {
      await slow.close();
    }
  });

  test("a server that accepts but never greets fails the connect with BACKEND_TIMEOUT after connect_timeout", async () => {
    const stuck = await open({ path: path.basename(dir), connectTimeoutMs: 300 });
    server.signalListener("SIGSTOP");
    try {
      const err = await errorOf(stuck.stat("db/x"));
      expect(err.code).toBe("BACKEND_TIMEOUT");
      expect(err.message).toContain("connect timed out after 300ms");
    } finally {
      server.signalListener("SIGCONT");
    }
    expect(await stuck.stat("db/x")).toBeNull();
    await stuck.close();
  });

  test("nothing listening on the port is a retryable BACKEND_IO whose hint says what to check", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const nobody = await open({ port });
    const err = await errorOf(listKeys(nobody, ""));
    expect(err.code).toBe("BACKEND_IO");
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.hint).toContain("sshd is running");
    await nobody.close();
  });

  test("after close every call is refused, and close stays idempotent", async () => {
    await b.put("x", new Uint8Array([1]));
    await b.close();
    const err = await errorOf(b.get("x"));
    expect(err.retryable).toBe(false);
    await b.close();
  });

  test("the SSH library is loaded only when an sftp backend is opened", async () => {
    const script = `
      const { openBackend } = await import(${JSON.stringify(path.resolve(import.meta.dir, "../../src/backends/open.ts"))});
      await (await openBackend({ type: "file", mode: "sync", path: process.argv[1] })).close();
      console.log(Object.keys(require.cache).some((k) => k.includes("/ssh2/")));
    `;
    const child = Bun.spawnSync([process.execPath, "-e", script, path.join(dir, "file-replica")], { stdout: "pipe", stderr: "pipe" });
    expect(child.stderr.toString()).toBe("");
    expect(child.stdout.toString().trim()).toBe("false");
  });
});

test("a read-only SFTP account can list and read a replica; writes are refused as BACKEND_AUTH, not retried", async () => {
  const readOnly = await startSshd({ sftpFlags: "-R" });
  const dir = fs.mkdtempSync(path.join(readOnly.home, "ro-"));
  fs.mkdirSync(path.join(dir, "db"));
  fs.writeFileSync(path.join(dir, "db", "CURRENT"), "abc");
  const stale = path.join(dir, "db", ".CURRENT~00000000000000cc.tmp");
  fs.writeFileSync(stale, "x");
  fs.utimesSync(stale, new Date(0), new Date(0));
  const b = await openSftpBackend(sftpBackendConfig(readOnly, { path: dir }), { env: {} });
  try {
    expect(await listKeys(b, "")).toEqual(["db/CURRENT"]);
    expect(fs.existsSync(stale)).toBe(true); // the sweep is best effort
    expect(Buffer.from(await b.get("db/CURRENT")).toString()).toBe("abc");
    const err = await errorOf(b.put("db/CURRENT", new Uint8Array([1])));
    expect(err.code).toBe("BACKEND_AUTH");
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("PERMISSION_DENIED");
    expect(err.hint).toContain(`Check that ${readOnly.user} may read and write`);
    expect(Buffer.from(await b.get("db/CURRENT")).toString()).toBe("abc");
  } finally {
    await b.close();
    await readOnly.stop();
  }
});

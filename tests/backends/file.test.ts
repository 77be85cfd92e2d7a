import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { BakeliteError } from "../../src/errors.ts";
import { FileBackend } from "../../src/backends/file.ts";
import { isTempName } from "../../src/backends/file-walk.ts";
import { openBackend } from "../../src/backends/open.ts";
import { runConformance } from "./conformance.ts";
import { collect, expectNotFound, listKeys } from "./conformance-helpers.ts";
import {
  filesOnDisk, mountTinyTmpfs, rmTree, tempDir, unprivilegedPrefix, waitForLine, writeScript,
} from "./file-fixtures.ts";

runConformance("file", async () => {
  const dir = tempDir();
  return { backend: new FileBackend(path.join(dir, "replica")), cleanup: async () => rmTree(dir) };
});

describe("file backend", () => {
  let dir: string;
  let root: string;
  let b: FileBackend;
  beforeEach(() => {
    dir = tempDir();
    root = path.join(dir, "replica");
    b = new FileBackend(root);
  });
  afterEach(() => rmTree(dir));

  test("a key is a file at the same relative path, owner-only, in owner-only directories", async () => {
    await b.put("app/0195a/L0/0001-0002", new Uint8Array([1, 2]));
    const file = path.join(root, "app/0195a/L0/0001-0002");
    expect(fs.readFileSync(file)).toEqual(Buffer.from([1, 2]));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(root, "app/0195a")).mode & 0o777).toBe(0o700);
    expect(b.describe).toBe(`file:${root}`);
  });

  test("a streamed put larger than the background flush interval lands whole (flushes run while it writes)", async () => {
    const chunk = (i: number) => new Uint8Array(1 << 20).fill(i & 0xff);
    async function* body() {
      for (let i = 0; i < 150; i++) yield chunk(i);
    }
    await b.put("db/large", body());
    const back = fs.readFileSync(path.join(root, "db/large"));
    expect(back.byteLength).toBe(150 << 20);
    for (const i of [0, 63, 64, 65, 127, 128, 149]) expect(back[i * (1 << 20) + 12345]).toBe(i & 0xff);
    expect(fs.readdirSync(path.join(root, "db")).filter(isTempName)).toEqual([]);
  });

  test("getStreamReusing reads what getStream reads, ranges included, through two buffers used in turn", async () => {
    const bytes = new Uint8Array(3 * (1 << 20) + 12345).map((_, i) => (i * 31 + (i >> 11)) & 0xff);
    await b.put("db/big", bytes);
    const seen: Uint8Array[] = [];
    const copies: Uint8Array[] = [];
    for await (const chunk of b.getStreamReusing("db/big")) {
      seen.push(chunk);
      copies.push(chunk.slice());
    }
    expect(Buffer.concat(copies)).toEqual(Buffer.from(bytes));
    expect(seen.length).toBe(4);
    expect(seen[2].buffer).toBe(seen[0].buffer);
    expect(seen[3].buffer).toBe(seen[1].buffer);
    expect(seen[1].buffer).not.toBe(seen[0].buffer);
    const range = { offset: 1000, length: 2 * (1 << 20) };
    const ranged: Uint8Array[] = [];
    for await (const chunk of b.getStreamReusing("db/big", range)) ranged.push(chunk.slice());
    expect(Buffer.concat(ranged)).toEqual(Buffer.from(bytes.subarray(1000, 1000 + range.length)));
    await expectNotFound(() => collect(b.getStreamReusing("db/missing")));
  });

  test("a missing root lists empty, reads as not found, and is created by the first put", async () => {
    expect(await listKeys(b, "")).toEqual([]);
    expect(await b.stat("x")).toBeNull();
    await expectNotFound(() => b.get("x"));
    await b.delete("x");
    expect(fs.existsSync(root)).toBe(false);
    await b.put("x", new Uint8Array([1]));
    expect(await listKeys(b, "")).toEqual(["x"]);
  });

  test("temp files of a put in progress are never listed nor readable", async () => {
    let release!: () => void;
    const paused = new Promise<void>((resolve) => (release = resolve));
    let reached!: () => void;
    const midway = new Promise<void>((resolve) => (reached = resolve));
    async function* body() {
      yield new Uint8Array(1000).fill(1);
      reached();
      await paused;
      yield new Uint8Array(1000).fill(2);
    }
    const put = b.put("db/snap", body());
    await midway;
    const onDisk = filesOnDisk(root);
    expect(onDisk.length).toBe(1);
    expect(isTempName(path.basename(onDisk[0]))).toBe(true);
    expect(await listKeys(b, "")).toEqual([]);
    expect(await b.stat("db/snap")).toBeNull();
    release();
    await put;
    expect(filesOnDisk(root)).toEqual(["db/snap"]);
    expect((await b.get("db/snap")).length).toBe(2000);
  });

  test("a temp file left by a writer killed mid-put is invisible and swept once stale", async () => {
    const script = writeScript(dir, "crash.ts", `
      import { FileBackend } from __FILE_MODULE__;
      const b = new FileBackend(process.argv[2]);
      async function* body() {
        yield new Uint8Array(4096).fill(7);
        process.stdout.write("ready\\n");
        await new Promise(() => setInterval(() => {}, 1000));
      }
      await b.put("db/gen-1/snapshot-1", body());
    `);
    const child = Bun.spawn([process.execPath, script, root], { stdout: "pipe", stderr: "inherit" });
    await waitForLine(child.stdout, "ready");
    child.kill("SIGKILL");
    await child.exited;

    const [leftover] = filesOnDisk(root);
    expect(isTempName(path.basename(leftover))).toBe(true);
    expect(await listKeys(b, "")).toEqual([]);
    // A fresh temp file may belong to a live writer in another process: it must survive.
    const live = path.join(root, "db", ".other~0123456789abcdef.tmp");
    fs.writeFileSync(live, "x");
    expect((await b.sweepStaleTemps()).removed).toBe(0);
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(path.join(root, leftover), twoHoursAgo, twoHoursAgo);

    await openBackend({ type: "file", path: root, mode: "sync" });
    expect(filesOnDisk(root)).toEqual(["db/.other~0123456789abcdef.tmp"]);
    // The directory the dead writer created only for its temp file goes too.
    expect(fs.existsSync(path.join(root, "db/gen-1"))).toBe(false);
  });

  test("delete removes directories it leaves empty, but never the root", async () => {
    await b.put("db/gen/L0/a", new Uint8Array([1]));
    await b.put("db/gen/L1/b", new Uint8Array([1]));
    await b.delete("db/gen/L0/a");
    expect(fs.existsSync(path.join(root, "db/gen/L0"))).toBe(false);
    expect(fs.existsSync(path.join(root, "db/gen/L1"))).toBe(true);
    await b.delete("db/gen/L1/b");
    expect(fs.readdirSync(root)).toEqual([]);
  });

  test("a put lands even when another instance pruned the directory this one saw before", async () => {
    // E.g. the daemon writing while a separate compaction process deletes the last object of a directory.
    const other = new FileBackend(root);
    await b.put("db/gen/L0/a", new Uint8Array([1]));
    await other.delete("db/gen/L0/a");
    expect(fs.existsSync(path.join(root, "db"))).toBe(false);
    await b.put("db/gen/L0/b", new Uint8Array([2]));
    expect(await listKeys(b, "")).toEqual(["db/gen/L0/b"]);
  });

  test("names that cannot be keys are skipped by list; prefixes that climb out of the root are refused", async () => {
    await b.put("ok", new Uint8Array([1]));
    fs.mkdirSync(path.join(root, "lost+found"));
    fs.writeFileSync(path.join(root, "lost+found", "x"), "x");
    fs.writeFileSync(path.join(root, "notes about this.txt"), "x");
    expect(await listKeys(b, "")).toEqual(["ok"]);
    expect(() => b.list("../")).toThrow(TypeError);
    expect(() => b.list("a//")).toThrow(TypeError);
    expect(() => b.list("/etc")).toThrow(TypeError);
  });

  test("an object in the way of a directory fails clearly and is not retried", async () => {
    await b.put("db/a", new Uint8Array([1]));
    const err = await b.put("db/a/b", new Uint8Array([2])).catch((e) => e);
    expect(err).toBeInstanceOf(BakeliteError);
    expect(err.code).toBe("BACKEND_IO");
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("put db/a/b");
    expect(err.hint).toContain("cannot hold both");
  });

  test("the body producer's own error comes back unchanged and nothing is left behind", async () => {
    const boom = new Error("snapshot source vanished");
    async function* body() {
      yield new Uint8Array(10);
      throw boom;
    }
    expect(await b.put("db/x", body()).catch((e) => e)).toBe(boom);
    expect(filesOnDisk(root)).toEqual([]);
  });

  test("an aborted put rejects with the abort reason and leaves nothing visible", async () => {
    const ctrl = new AbortController();
    async function* body() {
      yield new Uint8Array(10);
      ctrl.abort(new Error("shutting down"));
      yield new Uint8Array(10);
    }
    const err = await b.put("db/x", body(), { signal: ctrl.signal }).catch((e) => e);
    expect(err.message).toBe("shutting down");
    expect(filesOnDisk(root)).toEqual([]);
  });

  test("a body shorter than the declared size is refused, not stored", async () => {
    const err = await b.put("db/x", new Uint8Array(10), { size: 11 }).catch((e) => e);
    expect(err.code).toBe("BACKEND_IO");
    expect(err.retryable).toBe(false);
    expect(filesOnDisk(root)).toEqual([]);
  });

  test("an empty path is a configuration error", () => {
    expect(() => new FileBackend(" ")).toThrow(BakeliteError);
  });
});

const tiny = mountTinyTmpfs();
afterAll(() => tiny.release());

describe("file backend on a full disk", () => {
  test.skipIf(!tiny.dir)(`ENOSPC becomes a retryable DISK_FULL with a hint, and nothing partial stays${tiny.dir ? "" : ` (skipped: ${tiny.reason})`}`, async () => {
    const root = path.join(tiny.dir!, "replica");
    const b = new FileBackend(root);
    await b.put("db/CURRENT", new Uint8Array([1, 2, 3]));
    for (const body of [new Uint8Array(2 << 20), (async function* () {
      for (let i = 0; i < 8; i++) yield new Uint8Array(256 << 10);
    })()]) {
      const err = await b.put("db/snapshot", body).catch((e) => e);
      expect(err).toBeInstanceOf(BakeliteError);
      expect(err.code).toBe("DISK_FULL");
      expect(err.retryable).toBe(true);
      expect(err.hint).toContain(root);
      expect(filesOnDisk(root)).toEqual(["db/CURRENT"]);
    }
    expect(Array.from(await b.get("db/CURRENT"))).toEqual([1, 2, 3]);
    rmTree(root);
  });
});

const unprivileged = unprivilegedPrefix();

describe("file backend without permission", () => {
  test.skipIf(!unprivileged.argv)(`EACCES becomes a non-retryable BACKEND_IO whose hint names the path${unprivileged.argv ? "" : ` (skipped: ${unprivileged.reason})`}`, async () => {
    const dir = tempDir();
    try {
      fs.chmodSync(dir, 0o755); // the child must reach its script and the locked root
      const root = path.join(dir, "locked");
      await new FileBackend(root).put("db/x", new Uint8Array([1]));
      fs.chmodSync(root, process.getuid?.() === 0 ? 0o700 : 0o000);
      const script = writeScript(dir, "denied.ts", `
        import { FileBackend } from __FILE_MODULE__;
        const b = new FileBackend(process.argv[2]);
        const ops = {
          put: () => b.put("db/y", new Uint8Array([1])),
          get: () => b.get("db/x"),
          list: async () => { for await (const _ of b.list("")) {} },
        };
        const out = {};
        for (const [name, op] of Object.entries(ops)) {
          try { await op(); out[name] = "ok"; }
          catch (e) { out[name] = { code: e.code, retryable: e.retryable, hint: e.hint, message: e.message }; }
        }
        console.log(JSON.stringify(out));
      `);
      const child = Bun.spawn([...unprivileged.argv!, process.execPath, script, root], {
        stdout: "pipe", stderr: "pipe", env: { ...process.env, HOME: dir },
      });
      const [out, errText, code] = [await new Response(child.stdout).text(), await new Response(child.stderr).text(), await child.exited];
      expect({ code, errText }).toEqual({ code: 0, errText: "" });
      const result = JSON.parse(out);
      for (const op of ["put", "get", "list"]) {
        expect(result[op].code).toBe("BACKEND_IO");
        expect(result[op].retryable).toBe(false);
        expect(result[op].hint).toContain(root);
        expect(result[op].message).toContain("EACCES");
      }
      fs.chmodSync(root, 0o700);
      expect(await collect(new FileBackend(root).getStream("db/x"))).toEqual(Buffer.from([1]));
    } finally {
      rmTree(dir);
    }
  });
});

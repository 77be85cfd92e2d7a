import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileBackend } from "../../src/backends/file.ts";
import { readVerifyMarker } from "../../src/ops/verify-marker.ts";
import { newBackupId } from "../../src/replica/names.ts";
import { buildWorkload } from "../replica/helpers.ts";
import { runCli, tempDir } from "./helpers.ts";

// Child processes: more than bun's 5 s default on a loaded machine.
setDefaultTimeout(30_000);

describe("verify with a database whose backend cannot be read", () => {
  let t: ReturnType<typeof tempDir>;
  let config: string;
  let loop: string;
  const appDb = () => join(t.dir, "app.db");
  const brokenDb = () => join(t.dir, "broken.db");
  beforeAll(async () => {
    t = tempDir();
    const replica = join(t.dir, "replica");
    mkdirSync(join(t.dir, "src"));
    mkdirSync(replica);
    await buildWorkload(new FileBackend(replica), join(t.dir, "src"), "app", newBackupId(Date.UTC(2026, 4, 30, 12), 1), Date.UTC(2026, 4, 30, 12));
    // A symlink loop fails every listing with ELOOP, even for root.
    loop = join(t.dir, "loop");
    symlinkSync(loop, loop);
    config = join(t.dir, "bakelite.toml");
    // The failing database comes first: the one after it must still be verified.
    writeFileSync(config, [
      `[[database]]\nname = "broken"\npath = "${brokenDb()}"\n  [[database.backends]]\n  type = "file"\n  path = "${loop}"`,
      `[[database]]\nname = "app"\npath = "${appDb()}"\n  [[database.backends]]\n  type = "file"\n  path = "${replica}"`,
    ].join("\n\n"));
  });
  afterAll(() => t?.cleanup());

  test("the others are still verified, the failed one is shown, marked not clean, and the run exits with its code", async () => {
    const r = await runCli(["verify", "--config", config]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`broken: NOT VERIFIED (shallow) on file:${loop}`);
    expect(lines[1]).toMatch(/^ {2}error: .*ELOOP/);
    expect(lines[2]).toStartWith("app: verified clean (shallow): 1 backup(s), 6 object(s)");
    expect(r.stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/^error: .*ELOOP/)]);
    expect(readVerifyMarker(brokenDb(), "broken")).toMatchObject({ ok: false, details: [expect.stringMatching(/^verify could not finish: .*ELOOP/)] });
    expect(readVerifyMarker(appDb(), "app")).toMatchObject({ ok: true, problems: 0 });
  });

  test("--json gives the failed one list's { db, backend, error } entry with ok false, and the others their reports", async () => {
    const r = await runCli(["verify", "--json", "--config", config]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("");
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: false, mode: "shallow" });
    const [broken, app] = doc.databases;
    expect(broken).toEqual({ db: "broken", backend: `file:${loop}`, ok: false, error: { code: "BACKEND_IO", message: expect.stringContaining("ELOOP"), hint: null } });
    expect(app).toMatchObject({ db: "app", ok: true, backups: 1, objects: 6, problems: [] });
  });
});

/**
 * fileChecksum re-reads a restored file through two buffers in turn (the next
 * read runs while the current one is hashed): it must equal the database
 * checksum of the same pages, whatever the number of reads, and a file that
 * ends early is an error naming the first missing page.
 */
import { afterEach, expect, test } from "bun:test";
import { open } from "node:fs/promises";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DbChecksum } from "../../src/format/db-checksum.ts";
import { fileChecksum } from "../../src/replica/proof.ts";
import { makePages, range } from "../format/fixtures.ts";
import { tempDir } from "../helpers/fixtures.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function fileOf(pageSize: number, count: number, keep = count) {
  const t = tempDir("proof");
  cleanups.push(t.cleanup);
  const pages = makePages(range(1, count), pageSize);
  const path = join(t.dir, "restored.db");
  writeFileSync(path, Buffer.concat(pages.slice(0, keep).map((p) => p.data)));
  return { path, expected: DbChecksum.fromPages(pageSize, pages).value };
}

test("equals the database checksum over one read, several reads and a last partial read", async () => {
  for (const [pageSize, count] of [[4096, 3], [4096, 256], [4096, 700], [512, 5000], [65536, 40]] as const) {
    const { path, expected } = fileOf(pageSize, count);
    const file = await open(path, "r");
    try {
      const seen: number[] = [];
      expect(await fileChecksum(file, pageSize, count, (done) => seen.push(done))).toBe(expected);
      expect(seen[seen.length - 1]).toBe(count);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
    } finally {
      await file.close();
    }
  }
});

test("a file that ends early fails with the first page it lacks", async () => {
  const { path } = fileOf(4096, 700, 600);
  const file = await open(path, "r");
  try {
    await expect(fileChecksum(file, 4096, 700)).rejects.toThrow("restored file ends before page 601");
  } finally {
    await file.close();
  }
});

/**
 * ObjectWriter.encode(): blocks compressed concurrently on the thread pool
 * must come out as the same object, byte for byte, as the one-block-at-a-time
 * path, whatever the number of blocks in flight, and sealed objects must open.
 */
import { describe, expect, test } from "bun:test";
import { ObjectWriter, blocksInFlight, encodeObject } from "../../src/format/object-writer.ts";
import { decodeObject } from "../../src/format/object-reader.ts";
import type { Compression, ObjectHeader, PageEntry } from "../../src/format/types.ts";
import { keySource, keyring } from "./crypto-fixtures.ts";
import { makePages, range, snapshotHeader } from "./fixtures.ts";

type Header = Omit<ObjectHeader, "version">;

function* pagesThen(pages: PageEntry[], dbChecksum: bigint): Generator<PageEntry, bigint> {
  // One reused buffer, as the engine's page reader does: encode() must copy before asking for the next page.
  const scratch = new Uint8Array(pages[0]?.data.byteLength ?? 0);
  for (const { pgno, data } of pages) {
    scratch.set(data);
    yield { pgno, data: scratch };
  }
  return dbChecksum;
}

async function encodePipelined(header: Header, pages: PageEntry[], workers: number, options: { blockBytes?: number; seal?: ReturnType<ReturnType<typeof keyring>["sealer"]> } = {}) {
  const writer = new ObjectWriter(header, options);
  const parts: Uint8Array[] = [];
  for await (const part of writer.encode(pagesThen(pages, 0xabcdn), workers)) parts.push(part);
  return { bytes: Buffer.concat(parts), footer: writer.footer };
}

describe("pipelined encoding", () => {
  const compressions: Compression[] = ["zstd", "lz4", "none"];
  for (const compression of compressions) {
    for (const workers of [1, 2, 5]) {
      test(`${compression}, ${workers} block(s) in flight: the same bytes as addPage/finish`, async () => {
        const pages = makePages(range(1, 23), 4096);
        const header = snapshotHeader({ compression, dbPages: 23 });
        const blockBytes = 3 * 4100; // 7 full blocks and a partial one
        const serial = encodeObject(header, pages, { dbChecksum: 0xabcdn, blockBytes });
        const piped = await encodePipelined(header, pages, workers, { blockBytes });
        expect(piped.footer).toEqual(serial.footer);
        expect(Buffer.compare(piped.bytes, Buffer.from(serial.bytes))).toBe(0);
        expect(decodeObject(piped.bytes).pages.map((p) => p.pgno)).toEqual(range(1, 23));
      });
    }
  }

  test("an exact multiple of the block size and an object with no pages", async () => {
    for (const count of [0, 1, 6]) {
      const pages = makePages(range(1, count), 512);
      const header = snapshotHeader({ pageSize: 512, dbPages: Math.max(count, 1) });
      const serial = encodeObject(header, pages, { dbChecksum: 0xabcdn, blockBytes: 2 * 516 });
      const piped = await encodePipelined(header, pages, 3, { blockBytes: 2 * 516 });
      expect(Buffer.compare(piped.bytes, Buffer.from(serial.bytes))).toBe(0);
    }
  });

  test("a sealed object encoded with blocks in flight opens with its key, pages in order", async () => {
    const keys = keyring(keySource());
    const pages = makePages(range(1, 40), 512);
    const header = snapshotHeader({ pageSize: 512, dbPages: 40, encrypted: true });
    const { bytes } = await encodePipelined(header, pages, 4, { blockBytes: 3 * 516, seal: keys.sealer(header.dbName) });
    const decoded = decodeObject(bytes, undefined, keys);
    expect(decoded.footer.blockCount).toBe(14);
    expect(decoded.pages.map((p) => p.pgno)).toEqual(range(1, 40));
    decoded.pages.forEach((p, i) => expect(p.data).toEqual(pages[i].data));
  });

  test("a page out of order fails the stream, and blocks already in flight do not leave unhandled rejections", async () => {
    const pages = makePages([1, 2, 3, 5, 4], 4096);
    const writer = new ObjectWriter(snapshotHeader({ dbPages: 8 }), { blockBytes: 4100 });
    const drain = async () => {
      for await (const _ of writer.encode(pagesThen(pages, 0n), 3)) void _;
    };
    expect(drain()).rejects.toThrow("page 4 added after page 5");
  });

  test("workers must be a positive integer", async () => {
    const writer = new ObjectWriter(snapshotHeader());
    expect(writer.encode(pagesThen([], 0n), 0).next()).rejects.toThrow("workers must be a positive integer");
  });
});

test("one block more than the workers waits in the pool's queue only when the workers take every core", () => {
  expect(blocksInFlight(1, 2)).toBe(1); // the default stays single-threaded
  expect(blocksInFlight(2, 4)).toBe(2);
  expect(blocksInFlight(2, 2)).toBe(3);
  expect(blocksInFlight(4, 2)).toBe(5);
  expect(blocksInFlight(1, 1)).toBe(2);
});

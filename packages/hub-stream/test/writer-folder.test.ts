import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FolderSink, StreamingWriter, verifyDataset } from "../src/index.js";
import { makeRow, rowDigest, SETTINGS, sinkRows, tempDir } from "./helpers.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) {
    await c();
  }
});

async function setup() {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  const sink = new FolderSink(join(dir.path, "out"));
  return { dir: dir.path, sink, cacheDir: join(dir.path, "cache") };
}

describe("StreamingWriter with a folder sink", () => {
  it("cuts shards every N rows and stores every row once", async () => {
    const { sink, cacheDir } = await setup();
    const w = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 10 });
    for (let i = 0; i < 35; i++) {
      expect(await w.write(makeRow(i))).toBe(true);
    }
    const summary = await w.close();
    expect(summary.shards).toHaveLength(4);
    const rows = await sinkRows(sink);
    expect(rows.size).toBe(35);
    for (let i = 0; i < 35; i++) {
      expect(rows.get(i)).toEqual([rowDigest(makeRow(i))]);
    }
    const report = await verifyDataset({ sink, expectedCount: 35 });
    expect(report.ok).toBe(true);
  });
});

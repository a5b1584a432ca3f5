import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FolderSink, StreamingWriter, verifyDataset } from "../src/index.js";
import { makeRow, SETTINGS, tempDir } from "./helpers.js";
import { findPython, runPython } from "./python.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) {
    await c();
  }
});

const py = findPython(["pyarrow.parquet"]);
if (!py.python) {
  console.warn(`hub-stream interop test not run: ${py.reason}`);
}

/** pyarrow reads every shard under data/ completely; returns every `index` value and the rows per file. */
const READ_ALL = `
import glob, json, os, sys
import pyarrow.parquet as pq
out = {"indices": [], "files": {}}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "data", "*.parquet"))):
    t = pq.read_table(f)
    out["files"][os.path.basename(f)] = t.num_rows
    out["indices"] += t.column("index").to_pylist()
print(json.dumps(out))
`;

async function run(sink: FolderSink, cacheDir: string, n: number) {
  const w = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 8 });
  for (let i = 0; i < n; i++) {
    if (!w.isDone(i)) {
      await w.write(makeRow(i));
    }
  }
  await w.close();
  return w;
}

describe("interop: pyarrow reads the dataset a damaged resume leaves", () => {
  it.runIf(py.python !== undefined)(
    "after truncation, flips and a copy, pyarrow reads every shard and finds every index exactly once",
    async () => {
      const d = await tempDir("hub-stream-interop-");
      cleanups.push(d.cleanup);
      const out = join(d.path, "out");
      const sink = new FolderSink(out);
      const cacheDir = join(d.path, "cache");
      await run(sink, cacheDir, 40);
      const shards = (await readdir(join(out, "data"))).filter((f) => f.endsWith(".parquet")).sort();
      const at = (k: number) => join(out, "data", shards[k] as string);
      const b0 = await readFile(at(0));
      await writeFile(join(out, "data", "copy.parquet"), b0);
      const b1 = await readFile(at(1));
      await writeFile(at(1), b1.subarray(0, b1.length - 30));
      const b2 = Buffer.from(await readFile(at(2)));
      b2[b2.length - 30] = (b2[b2.length - 30] as number) ^ 0xff;
      await writeFile(at(2), b2);
      const w = await run(sink, cacheDir, 40);
      expect(w.resume.quarantined).toHaveLength(3);
      const seen = runPython(py.python as string, READ_ALL, [out]) as {
        indices: number[];
        files: Record<string, number>;
      };
      expect(seen.indices.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      expect(Object.keys(seen.files)).not.toContain("copy.parquet");
      expect((await verifyDataset({ sink, expectedCount: 40 })).ok).toBe(true);
    },
  );
});

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { encodeSample, type LogitFile, sampleAt } from "@logitpack/codec";
import { openLogitFileAt } from "@logitpack/codec/node";
import { expect } from "vitest";

/** Every row of a dataset, by dataset index, as the bytes of its encoded columns (decoded by @logitpack/codec). */
export async function rowsByIndex(files: LogitFile[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const f of files) {
    for await (const b of f.batches()) {
      for (let r = 0; r < b.numRows; r++) {
        const s = sampleAt(b, r);
        const cols = encodeSample(s).columns as Record<string, ArrayBufferView>;
        const parts = Object.keys(cols)
          .sort()
          .map((k) => {
            const v = cols[k] as ArrayBufferView;
            return `${k}:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64")}`;
          });
        expect(out.has(s.index), `index ${s.index} stored twice`).toBe(false);
        out.set(s.index, parts.join("|"));
      }
    }
  }
  return out;
}

/** The rows of an output folder (`data/*.parquet`). */
export async function folderRows(dir: string): Promise<Map<number, string>> {
  const data = join(dir, "data");
  const files = await Promise.all(
    readdirSync(data)
      .filter((f) => f.endsWith(".parquet"))
      .sort()
      .map((f) => openLogitFileAt(join(data, f))),
  );
  return rowsByIndex(files);
}

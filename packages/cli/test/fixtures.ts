import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type EncodedRow, type ExtractionSettings, encodeNucleusSample } from "@logitpack/codec";
import { writeLogitFileAt } from "@logitpack/codec/node";

/** mulberry32 */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A synthetic nucleus row: random distinct ids, decreasing logits, 4 sampled entries per position. */
export function syntheticRow(index: number, positions = 6): EncodedRow {
  const r = rng(index + 1);
  const topCounts: number[] = [];
  const topIds: number[] = [];
  const topLogits: number[] = [];
  const sampledIds: number[] = [];
  const sampledLogits: number[] = [];
  const logsumexp: number[] = [];
  for (let t = 0; t < positions; t++) {
    const n = 1 + Math.floor(r() * 5);
    topCounts.push(n);
    const used = new Set<number>();
    for (let k = 0; k < n + 4; k++) {
      let id = Math.floor(r() * 151_000);
      while (used.has(id)) {
        id = (id + 1) % 151_000;
      }
      used.add(id);
      if (k < n) {
        topIds.push(id);
        topLogits.push(10 - k - r());
      } else {
        sampledIds.push(id);
        sampledLogits.push(-2 - 3 * r());
      }
    }
    logsumexp.push(10.5);
  }
  return encodeNucleusSample({ index, topCounts, topIds, topLogits, sampledIds, sampledLogits, logsumexp });
}

export const SYNTHETIC_SETTINGS: ExtractionSettings = {
  model: "synthetic",
  mode: "nucleus",
  topP: 0.98,
  topPMax: 100,
  sampledN: 4,
  seed: 0,
};

/** Writes `data/<name>.parquet` shards of synthetic rows into `dir` (one shard per list of indices). */
export async function writeSyntheticDataset(
  dir: string,
  shards: number[][],
  settings: ExtractionSettings = SYNTHETIC_SETTINGS,
): Promise<void> {
  mkdirSync(join(dir, "data"), { recursive: true });
  let s = 0;
  for (const indices of shards) {
    const rows = indices.map((i) => syntheticRow(i));
    await writeLogitFileAt(join(dir, "data", `train-${String(s++).padStart(5, "0")}.parquet`), rows, {
      layout: "nucleus",
      settings,
    });
  }
}

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeLogitFile, type LogitSample, type NucleusInput } from "@logitpack/codec";
import { afterAll, describe, expect, it } from "vitest";
import {
  accumulateColumns,
  datasetStats,
  displayWidth,
  ExploreError,
  LogitDataset,
  newState,
  plotNucleusSizes,
  renderStats,
  sampleInfo,
  samples,
  summarize,
  toJSONText,
} from "../src/index.js";
import { datasetStatsParallel, loadLogitDataset } from "../src/node.js";
import {
  encodeImportanceSample,
  encodeNucleusSample,
  fileOf,
  importanceSample,
  randomLogits,
  rng,
  shardInput,
} from "./helpers.js";

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, "../../codec/test/fixtures");
const dir = mkdtempSync(join(tmpdir(), "explore-stats-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function inputs(n: number, seed: number, first = 0): NucleusInput[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => shardInput(first + i, 20 + Math.floor(r() * 300), r));
}

/** Stats with timings zeroed and floats rounded to 12 significant digits (sums differ in the last bit by order). */
function comparable(s: object): unknown {
  return JSON.parse(
    JSON.stringify({ ...s, seconds: 0, tokensPerSecond: 0, workers: 0 }, (_, v) =>
      typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(12)) : v,
    ),
  );
}

/** Statistics computed the slow way: every sample through sampleInfo, then sorted arrays. */
async function reference(all: LogitSample[], topPMax: number) {
  const sizes: number[] = [];
  const mass: number[] = [];
  const tail: number[] = [];
  const tokens: number[] = [];
  for (const s of all) {
    const info = sampleInfo(s);
    sizes.push(...info.nucleusSizes);
    mass.push(...info.nucleusMass);
    tail.push(...info.tailMass);
    tokens.push(s.numTokens);
  }
  return {
    sizes: summarize(sizes),
    capped: sizes.filter((s) => s >= topPMax).length,
    mass: summarize(mass),
    tail: summarize(tail),
    tokens: summarize(tokens),
    histogram: sizes.reduce<number[]>((h, s) => {
      h[s] = (h[s] ?? 0) + 1;
      return h;
    }, []),
  };
}

describe("dataset statistics", () => {
  it("match a per-sample reference exactly (sizes, tokens) and within a bin (masses); both decode paths agree", async () => {
    const rows = inputs(40, 11).map(encodeNucleusSample);
    const file = await fileOf(rows, { rowGroupRows: 7, settings: { topPMax: 30 } });
    expect(file.info.numRowGroups).toBe(6);
    const ds = await LogitDataset.fromFiles([file], "synthetic");
    const all: LogitSample[] = [];
    for await (const s of samples(ds)) {
      all.push(s);
    }
    const ref = await reference(all, 30);
    const stats = await datasetStats(ds);
    const viaBatches = await datasetStats(ds, { path: "batches" });
    expect(comparable(viaBatches)).toEqual(comparable(stats));
    expect(stats.rows).toBe(40);
    expect(stats.tokens).toBe(ref.sizes.count);
    expect(stats.nucleusSize.histogram).toEqual(Array.from(ref.histogram, (x) => x ?? 0));
    for (const k of ["mean", "min", "max", "p50", "p90", "p99"] as const) {
      expect(stats.nucleusSize[k]).toBeCloseTo(ref.sizes[k], 10);
    }
    expect(stats.topPMax).toBe(30);
    expect(stats.topPMaxSource).toBe("settings");
    expect(stats.capped).toBe(ref.capped);
    expect(stats.capped).toBeGreaterThan(0);
    expect(stats.cappedShare).toBeCloseTo(ref.capped / ref.sizes.count, 12);
    const m = stats.nucleusMass;
    const tl = stats.tailMass;
    if (!m || !tl) {
      throw new Error("masses missing");
    }
    expect(m.mean).toBeCloseTo(ref.mass.mean, 10);
    expect(m.min).toBeCloseTo(ref.mass.min, 12);
    expect(m.max).toBeCloseTo(ref.mass.max, 12);
    expect(tl.mean).toBeCloseTo(ref.tail.mean, 10);
    for (const k of ["p50", "p90", "p99"] as const) {
      expect(Math.abs(m[k] - ref.mass[k])).toBeLessThanOrEqual(1 / 4096 + 1e-12);
      expect(Math.abs(tl[k] - ref.tail[k])).toBeLessThanOrEqual(1 / 4096 + 1e-12);
    }
    expect(m.histogram.reduce((a, b) => a + b, 0)).toBe(stats.tokens);
    for (const k of ["mean", "min", "max", "p50", "p90", "p99"] as const) {
      expect(stats.tokensPerSample[k]).toBeCloseTo(ref.tokens[k], 10);
    }
    // a row range
    const part = await datasetStats(ds, { rowStart: 5, rowEnd: 23 });
    const refPart = await reference(all.slice(5, 23), 30);
    expect(part.rows).toBe(18);
    expect(part.tokens).toBe(refPart.sizes.count);
    expect(part.nucleusSize.p90).toBe(refPart.sizes.p90);
    expect(part.capped).toBe(refPart.capped);
    await expect(datasetStats(ds, { rowStart: 30, rowEnd: 41 })).rejects.toThrow(ExploreError);
    // JSON for scripts: plain numbers, null for what is not a number
    const json = JSON.parse(toJSONText(stats)) as { nucleusSize: { histogram: number[]; p90: number }; tokens: number };
    expect(json.nucleusSize.p90).toBe(stats.nucleusSize.p90);
    expect(json.tokens).toBe(stats.tokens);
    // the SVG histogram has one bar per size
    expect(plotNucleusSizes(stats).match(/<rect class="bar"/g)?.length).toBe(stats.nucleusSize.histogram.length);
    // text rendering
    const text = renderStats(stats, { width: 70 });
    for (const line of text.split("\n")) {
      expect(displayWidth(line)).toBeLessThanOrEqual(70);
    }
    expect(text).toContain("capped at 30 (settings)");
    expect(text).toContain("nucleus sizes:");
  });

  it("shards in a folder, worker threads give the same result as one thread", async () => {
    const folder = join(dir, "ds");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(folder, "data"), { recursive: true });
    for (let k = 0; k < 3; k++) {
      const bytes = await encodeLogitFile(inputs(15, 20 + k, k * 15).map(encodeNucleusSample), { rowGroupRows: 4 });
      writeFileSync(join(folder, "data", `train-${k}.parquet`), bytes);
    }
    const ds = await loadLogitDataset(folder);
    expect(ds.numRows).toBe(45);
    expect(ds.shards.length).toBe(3);
    const one = await datasetStats(ds);
    let progress = 0;
    const two = await datasetStatsParallel(ds, { workers: 2, onProgress: () => progress++ });
    expect(two.workers).toBe(2);
    expect(progress).toBe(12);
    expect(comparable(two)).toEqual(comparable(one));
    expect(one.topPMaxSource).toBe("default");
    expect(one.topPMax).toBe(100);
  }, 60_000);

  it("importance layout: unique drawn ids per position, mass of the drawn ids, no cap", async () => {
    const r = rng(9);
    const rows = Array.from({ length: 5 }, (_, i) =>
      encodeImportanceSample(
        importanceSample(
          i,
          Array.from({ length: 8 }, () => randomLogits(300, r)),
          40,
          1,
        ),
      ),
    );
    const ds = await LogitDataset.fromFiles([await fileOf(rows, { layout: "importance", rowGroupRows: 2 })]);
    const stats = await datasetStats(ds);
    const batches = await datasetStats(ds, { path: "batches" });
    expect(stats.nucleusSize).toEqual(batches.nucleusSize);
    expect(stats.nucleusMass?.mean).toBeCloseTo(batches.nucleusMass?.mean as number, 12);
    expect(stats.cappedShare).toBeNull();
    expect(stats.tokens).toBe(40);
    expect(stats.nucleusSize.max).toBeLessThanOrEqual(40);
  });

  it("other writers and the legacy u8 layout (masses unknown without ranges)", async () => {
    const duck = await loadLogitDataset(join(fixtures, "duckdb-seed-snappy.parquet"));
    const ours = await loadLogitDataset(join(fixtures, "logitpack-nucleus-zstd.parquet"));
    const a = await datasetStats(duck);
    const b = await datasetStats(ours);
    expect(a.nucleusSize).toEqual(b.nucleusSize);
    expect(a.tokens).toBe(b.tokens);
    const legacy = await loadLogitDataset(join(fixtures, "duckdb-legacy-u8.parquet"));
    expect(legacy.layout).toBe("nucleus-u8");
    const l = await datasetStats(legacy);
    expect(l.rows).toBe(legacy.numRows);
    expect(l.massUnknown).toBe(l.tokens);
    expect(l.nucleusMass).toBeNull();
  });

  it("rejects counts that do not add up to the stored entries", () => {
    const cols = {
      firstRow: 0,
      numRows: 1,
      columns: {
        top_counts: { values: Uint8Array.of(2, 2), rowOffsets: Int32Array.of(0, 2) },
        top_logits_quantized: { values: new Uint16Array(3), rowOffsets: Int32Array.of(0, 3) },
        top_min: { values: new Float32Array(2), rowOffsets: Int32Array.of(0, 2) },
        top_max: { values: new Float32Array(2), rowOffsets: Int32Array.of(0, 2) },
        logsumexp: { values: new Float64Array(2), rowOffsets: Int32Array.of(0, 2) },
      },
    };
    expect(() => accumulateColumns(newState(), cols, "nucleus", { offsets: new Int32Array(4) })).toThrow(
      /add up to 4, but top_logits_quantized has 3 entries/,
    );
  });
});

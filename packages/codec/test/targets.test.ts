import { tableFromIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { batchToArrow, targetsToArrow, toIPC } from "../src/arrow.js";
import {
  encodeLogitFile,
  encodeNucleusSample,
  type NucleusBatch,
  type NucleusSample,
  openLogitFile,
  toSparseTargets,
} from "../src/index.js";

async function oneBatch(): Promise<NucleusBatch> {
  const rows = [
    encodeNucleusSample({
      index: 0,
      topCounts: [3, 1],
      topIds: [7, 200000, 3, 42],
      topLogits: [Math.log(0.2), Math.log(0.5), Math.log(0.1), Math.log(0.9)],
      sampledIds: [1, 2, 3, 4],
      sampledLogits: [-9, -10, -9, -10],
      logsumexp: [0, 0],
    }),
    encodeNucleusSample({
      index: 1,
      topCounts: [],
      topIds: [],
      topLogits: [],
      sampledIds: [],
      sampledLogits: [],
      logsumexp: [],
    }),
    encodeNucleusSample({
      index: 2,
      topCounts: [2],
      topIds: [5, 6],
      topLogits: [Math.log(0.6), Math.log(0.3)],
      sampledIds: [8, 9],
      sampledLogits: [-7, -8],
      logsumexp: [0],
    }),
  ];
  const file = await openLogitFile(await encodeLogitFile(rows));
  return file.readBatch(0) as Promise<NucleusBatch>;
}

describe("fixed-width targets for training loops", () => {
  it("keeps the K most probable entries, true log-probs, and the tail mass", async () => {
    const t = toSparseTargets(await oneBatch(), { k: 2 });
    expect(t.positions).toBe(3);
    expect([...t.ids]).toEqual([200000, 7, 42, 0, 5, 6]);
    expect([...t.mask]).toEqual([1, 1, 1, 0, 1, 1]);
    const p = [...t.logprobs].map((x, i) => (t.mask[i] ? Math.exp(x) : 0));
    [0.5, 0.2, 0.9, 0, 0.6, 0.3].forEach((want, i) => {
      expect(p[i]).toBeCloseTo(want, 3);
    });
    [0.3, 0.1, 0.1].forEach((want, i) => {
      expect(t.tailMass[i]).toBeCloseTo(want, 3);
    });
  });

  it("renormalizes the kept entries when asked, and reuses buffers", async () => {
    const batch = await oneBatch();
    const first = toSparseTargets(batch, { k: 2, tail: "renormalize" });
    const p0 = Math.exp(first.logprobs[0] as number);
    const p1 = Math.exp(first.logprobs[1] as number);
    expect(p0 + p1).toBeCloseTo(1, 6);
    expect(p0).toBeCloseTo(0.5 / 0.7, 3);
    const again = toSparseTargets(batch, { k: 2, tail: "renormalize", into: first });
    expect(again.ids.buffer).toBe(first.ids.buffer);
    const samples: NucleusSample[] = [];
    expect(toSparseTargets(samples, { k: 4 }).positions).toBe(0);
    expect(() => toSparseTargets(batch, { k: 0 })).toThrow(RangeError);
  });

  it("hands targets and decoded rows to Arrow IPC without losing a value", async () => {
    const batch = await oneBatch();
    const targets = toSparseTargets(batch, { k: 3 });
    const table = tableFromIPC(toIPC(targetsToArrow(targets)));
    expect(table.numRows).toBe(3);
    expect([...(table.getChild("ids")?.get(0) ?? [])]).toEqual([200000, 7, 3]);
    expect(table.getChild("tail_mass")?.get(1)).toBeCloseTo(0.1, 3);
    const rows = tableFromIPC(toIPC(batchToArrow(batch)));
    expect(rows.numRows).toBe(3);
    expect([...(rows.getChild("top_ids")?.get(0) ?? [])]).toEqual([7, 200000, 3, 42]);
    expect([...(rows.getChild("top_counts")?.get(0) ?? [])]).toEqual([3, 1]);
    expect(rows.getChild("top_ids")?.get(1)?.length).toBe(0);
    expect([...(rows.getChild("sampled_ids")?.get(2) ?? [])]).toEqual([8, 9]);
    expect(rows.getChild("top_logits")?.get(2)?.get(0)).toBeCloseTo(Math.log(0.6), 3);
    expect(rows.getChild("logsumexp")?.get(0)?.length).toBe(2);
  });
});

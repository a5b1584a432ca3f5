import { describe, expect, it } from "vitest";
import {
  encodeImportanceSample,
  encodeLogitFile,
  encodeSample,
  type ImportanceSample,
  importanceWeights,
  openLogitFile,
  positionIds,
} from "../src/index.js";
import { rng } from "./gen.js";

/** Seed 004 on a small vocabulary: draw `rounds` ids from q = softmax(l / T), weights count * p / q, normalized. */
function drawPosition(logits: number[], rounds: number, temperature: number, r: () => number) {
  const lse = (xs: number[]) => {
    const m = Math.max(...xs);
    return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
  };
  const l0 = lse(logits);
  const lT = lse(logits.map((x) => x / temperature));
  const q = logits.map((x) => Math.exp(x / temperature - lT));
  const counts = new Map<number, number>();
  for (let k = 0; k < rounds; k++) {
    let u = r();
    let id = 0;
    while (id < q.length - 1 && u >= (q[id] as number)) {
      u -= q[id] as number;
      id++;
    }
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const ids = [...counts.keys()].sort((a, b) => a - b);
  return {
    ids,
    draws: ids.map((i) => counts.get(i) as number),
    logits: ids.map((i) => logits[i] as number),
    lse: l0,
    lseT: lT,
  };
}

describe("importance-sampling layout", () => {
  it("round-trips draws, ids and logits, records rounds and temperature, and gives normalized weights", async () => {
    const r = rng(44);
    const vocab = 50;
    const logits = Array.from({ length: vocab }, () => r() * 8);
    const temperature = 2;
    const positions = Array.from({ length: 5 }, () => drawPosition(logits, 50, temperature, r));
    const row = encodeImportanceSample({
      index: 9,
      counts: positions.map((p) => p.ids.length),
      ids: positions.flatMap((p) => p.ids.map((i) => i + 150_000)),
      draws: positions.flatMap((p) => p.draws),
      logits: positions.flatMap((p) => p.logits),
      logsumexp: positions.map((p) => p.lse),
      logsumexpT: positions.map((p) => p.lseT),
    });
    const bytes = await encodeLogitFile([row], {
      layout: "importance",
      settings: { mode: "importance", rounds: 50, temperature },
    });
    const file = await openLogitFile(bytes);
    expect(file.layout).toBe("importance");
    expect(file.info.settings).toMatchObject({ rounds: 50, temperature: 2, mode: "importance" });
    const s = (await file.sample(0)) as ImportanceSample;
    expect(encodeSample(s)).toEqual(row);
    positions.forEach((p, t) => {
      expect([...positionIds(s.drawn, t)]).toEqual(p.ids.map((i) => i + 150_000));
      const w = importanceWeights(s, t);
      // exact weights from the unquantized logits
      const raw = p.ids.map(
        (_, j) =>
          (p.draws[j] as number) *
          Math.exp((p.logits[j] as number) - p.lse - ((p.logits[j] as number) / temperature - p.lseT)),
      );
      const sum = raw.reduce((a, b) => a + b, 0);
      expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      raw.forEach((x, j) => {
        expect(w[j] as number).toBeCloseTo(x / sum, 3);
      });
    });
  });

  it("is an unbiased estimate of the teacher distribution (seed 004's claim), over many draws", () => {
    const r = rng(7);
    const logits = [3, 2, 1, 0.5, 0, -1, -2];
    const lse = Math.log(logits.reduce((s, x) => s + Math.exp(x), 0));
    const p = logits.map((x) => Math.exp(x - lse));
    const est = new Array(logits.length).fill(0);
    const trials = 4000;
    for (let k = 0; k < trials; k++) {
      const d = drawPosition(logits, 20, 1.5, r);
      // unnormalized IS estimate: count/rounds * p/q  (its expectation is p)
      d.ids.forEach((id, j) => {
        const q = Math.exp((logits[id] as number) / 1.5 - d.lseT);
        est[id] += ((d.draws[j] as number) / 20) * ((p[id] as number) / q);
      });
    }
    est.forEach((e, i) => {
      expect(e / trials).toBeCloseTo(p[i] as number, 2);
    });
  });
});

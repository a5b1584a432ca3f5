import {
  type EncodedRow,
  encodeLogitFile,
  type ImportanceSample,
  importanceWeights,
  type NucleusSample,
  openLogitFile,
  positionIds,
  positionLogits,
  quantizationErrorBound,
} from "@logitpack/codec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  extractBatches,
  extractionSettings,
  type ImportanceResult,
  loadTeacher,
  NUCLEUS_RULE,
  type NucleusResult,
  runBatch,
  type Teacher,
  type TeacherExample,
} from "../src/index.js";
import { example, tinyModel } from "./helpers.js";

async function* slowBatches(batches: TeacherExample[][]): AsyncGenerator<TeacherExample[]> {
  for (const b of batches) {
    await new Promise((r) => setTimeout(r, 5));
    yield b;
  }
}

describe("extractBatches -> codec file -> decoded samples", () => {
  let teacher: Teacher;
  beforeAll(async () => {
    teacher = await loadTeacher({ modelDir: await tinyModel("decoder"), device: "cpu", threads: 2 });
  });
  afterAll(() => teacher.close());

  const batches = [
    [example(4, 30, 10), example(9, 20, 15)],
    [example(1, 25, 5)],
    [example(6, 12, 11), example(8, 6, 6)],
  ];

  it("nucleus: rows in batch order, decoded ids/counts/logsumexp exact and logits within the quantization bound", async () => {
    const options = { seed: 21 };
    const rows: EncodedRow[] = [];
    for await (const row of extractBatches(teacher, slowBatches(batches), options)) {
      rows.push(row);
    }
    expect(rows.map((r) => r.index)).toEqual([4, 9, 1, 6, 8]);
    const settings = extractionSettings(teacher, options);
    expect(settings.nucleusRule).toBe(NUCLEUS_RULE);
    expect(settings.topP).toBe(0.98);
    expect(settings.sampledN).toBe(24);
    const file = await openLogitFile(await encodeLogitFile(rows, { layout: "nucleus", settings }));
    expect(file.info.settings.nucleusRule).toBe(NUCLEUS_RULE);
    expect(file.info.settings.noise).toBe(settings.noise);
    const direct = (await runBatch(teacher, batches.flat(), options)) as NucleusResult[];
    for (let r = 0; r < direct.length; r++) {
      const s = (await file.sample(r)) as NucleusSample;
      const d = direct[r] as NucleusResult;
      expect(s.index).toBe(d.index);
      expect(s.numTokens).toBe(d.positions.length);
      expect(Array.from(s.logsumexp)).toEqual(Array.from(d.logsumexp));
      let at = 0;
      for (let t = 0; t < s.numTokens; t++) {
        const c = d.topCounts[t] as number;
        expect(Array.from(positionIds(s.top, t))).toEqual(Array.from(d.topIds.subarray(at, at + c)));
        const logits = positionLogits(s.top, t);
        const bound = quantizationErrorBound(s.top.min[t] as number, s.top.max[t] as number);
        for (let k = 0; k < logits.length; k++) {
          expect(Math.abs((logits[k] as number) - (d.topLogits[at + k] as number))).toBeLessThanOrEqual(bound);
        }
        expect(Array.from(positionIds(s.sampled, t))).toEqual(Array.from(d.sampledIds.subarray(t * 24, (t + 1) * 24)));
        at += c;
      }
    }
  });

  it("importance: draws and weights round-trip, weights sum to 1", async () => {
    const options = { mode: "importance" as const, rounds: 40, temperature: 1.5, seed: 2 };
    const rows: EncodedRow[] = [];
    for await (const row of extractBatches(teacher, batches, options)) {
      rows.push(row);
    }
    const settings = extractionSettings(teacher, options);
    expect(settings.rounds).toBe(40);
    const file = await openLogitFile(await encodeLogitFile(rows, { layout: "importance", settings }));
    const direct = (await runBatch(teacher, batches.flat(), options)) as ImportanceResult[];
    for (let r = 0; r < direct.length; r++) {
      const s = (await file.sample(r)) as ImportanceSample;
      const d = direct[r] as ImportanceResult;
      expect(s.temperature).toBe(1.5);
      // sample views may point into their row group's arrays: read them per position
      const e0 = s.drawn.offsets[0] as number;
      const e1 = s.drawn.offsets[s.numTokens] as number;
      expect(Array.from(s.drawn.ids.subarray(e0, e1))).toEqual(Array.from(d.ids));
      expect(Array.from(s.draws.subarray(e0, e1))).toEqual(Array.from(d.draws));
      for (let t = 0; t < s.numTokens; t++) {
        const w = importanceWeights(s, t);
        expect(Math.abs(w.reduce((a, x) => a + x, 0) - 1)).toBeLessThan(1e-12);
      }
    }
  });

  it("runs the session off this thread: the event loop stays free while the device works", async () => {
    const maxGap = async (t: Teacher): Promise<{ gap: number; total: number }> => {
      let last = performance.now();
      let gap = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        gap = Math.max(gap, now - last);
        last = now;
      }, 2);
      const t0 = performance.now();
      try {
        const big = [Array.from({ length: 4 }, (_, i) => example(i, 80, 1))];
        for await (const _ of extractBatches(t, big)) {
          // drain
        }
      } finally {
        clearInterval(timer);
      }
      gap = Math.max(gap, performance.now() - last);
      return { gap, total: performance.now() - t0 };
    };
    const caller = await loadTeacher({ modelDir: teacher.modelDir, device: "cpu", threads: 2, thread: "caller" });
    try {
      await maxGap(caller); // warm up both
      await maxGap(teacher);
      const blocked = await maxGap(caller);
      const free = await maxGap(teacher);
      // on the calling thread, ORT's run blocks the loop for most of the run; in the worker it does not
      expect(blocked.gap).toBeGreaterThan(blocked.total / 3);
      expect(free.gap).toBeLessThan(blocked.gap / 2);
    } finally {
      await caller.close();
    }
  });
});

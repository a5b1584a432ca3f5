/**
 * Alignment and fidelity on real extraction output: the deterministic tiny model over the Qwen3 vocabulary
 * (`@logitpack/inference-gpu`, ONNX Runtime on the CPU) run on conversations rendered with the real Qwen3 tokenizer
 * and the `qwen` template, its results encoded by the codec, then explored. Its full logits (`exposeLogits`) are
 * the ground truth of the fidelity report.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChatEncoder, exampleFromRow, type InputShape, skipRulesPreset } from "@logitpack/chat";
import { loadChatTemplate } from "@logitpack/chat/node";
import { encodeLogitFile, type LogitSample, openLogitFile } from "@logitpack/codec";
import {
  encodeResult,
  ensureTinyModel,
  loadTeacher,
  type NucleusResult,
  runBatch,
  type Teacher,
} from "@logitpack/inference-gpu";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AlignmentMismatch,
  alignSample,
  CHAT_METADATA_KEY,
  ExploreError,
  encoderForDataset,
  fidelityReport,
  INPUT_METADATA_KEY,
  LogitDataset,
  logitsToProbs,
  positionDistribution,
  renderAlignment,
} from "../src/index.js";
import { qwenTokenizer } from "./qwen.js";

const cache = mkdtempSync(join(tmpdir(), "explore-tiny-"));
const shape: InputShape = { kind: "messages", column: "messages" };
const rows = [
  {
    messages: [
      { role: "user", content: "What is 2+2?" },
      { role: "assistant", content: "2 + 2 = 4." },
    ],
  },
  {
    messages: [
      { role: "system", content: "Answer briefly." },
      { role: "user", content: "Largest planet?" },
      { role: "assistant", content: "Jupiter." },
      { role: "user", content: "And the smallest? Think." },
      { role: "assistant", content: "<think>\nMercury is smallest.\n</think>\n\nMercury — 水星." },
    ],
  },
];

let teacher: Teacher;
let encoder: ChatEncoder;
let ds: LogitDataset;
let results: NucleusResult[];

beforeAll(async () => {
  const tokenizer = qwenTokenizer();
  encoder = new ChatEncoder({
    tokenizer,
    template: loadChatTemplate("qwen", tokenizer),
    skipRules: skipRulesPreset("think-tags-and-end"),
  });
  teacher = await loadTeacher({ modelDir: await ensureTinyModel(cache), device: "cpu", thread: "caller" });
  const examples = rows.map((row, index) => {
    const e = encoder.encode(exampleFromRow(row, shape));
    return { index, inputIds: e.ids, extractMask: e.extractMask };
  });
  results = (await runBatch(teacher, examples, { exposeLogits: true, seed: 3 })) as NucleusResult[];
  const bytes = await encodeLogitFile(results.map(encodeResult), {
    settings: { model: "tiny", topP: 0.98, topPMax: 100, sampledN: 24, seed: 3 },
    keyValueMetadata: {
      [CHAT_METADATA_KEY]: JSON.stringify(encoder.metadata()),
      [INPUT_METADATA_KEY]: JSON.stringify(shape),
    },
  });
  ds = await LogitDataset.fromFiles([await openLogitFile(bytes, { name: "tiny.parquet" })], "tiny");
}, 120_000);

afterAll(async () => {
  await teacher?.close();
  rmSync(cache, { recursive: true, force: true });
});

function fullRow(r: NucleusResult, t: number): Float32Array {
  const logits = r.logits as Float32Array;
  const v = logits.length / r.positions.length;
  return logits.subarray(t * v, (t + 1) * v);
}

describe("the tiny model's output", () => {
  it("aligns single-turn and multi-turn samples: kept tokens 1:1, probabilities of the real tokens from the full logits", async () => {
    for (let row = 0; row < rows.length; row++) {
      const { sample, settings } = await ds.findIndex(row);
      const r = results[row] as NucleusResult;
      const a = await alignSample({
        encoder: encoderForDataset(qwenTokenizer(), ds.info()),
        example: { row: rows[row] as Record<string, unknown>, shape },
        sample,
        settings,
      });
      expect(a.counts.turns).toBe(row === 0 ? 1 : 2);
      const extracted = a.tokens.filter((t) => t.kind === "extracted");
      expect(extracted.length).toBe(sample.numTokens);
      expect(r.positions.length).toBe(sample.numTokens);
      for (const t of extracted) {
        // the stored position is the one the model computed for this token of the sequence
        expect(r.positions[t.position]).toBe(t.i);
        const full = fullRow(r, t.position);
        const lse = sample.logsumexp[t.position] as number;
        const truth = Math.exp((full[t.id] as number) - lse);
        if (t.rank > 0) {
          expect(Math.abs(t.prob - truth)).toBeLessThan(2e-3 * Math.max(truth, 1e-3));
        } else {
          expect(truth).toBeLessThanOrEqual(t.probUpperBound * (1 + 1e-3) + 1e-9);
        }
        // top prediction is the argmax of the full logits
        let arg = 0;
        for (let v = 1; v < full.length; v++) {
          if ((full[v] as number) > (full[arg] as number)) {
            arg = v;
          }
        }
        expect(t.predictions[0]?.id).toBe(arg);
      }
      expect(renderAlignment(a, { width: 80 })).toContain("Detailed Token Analysis:");
    }
  }, 60_000);

  it("reports a template mismatch on real output", async () => {
    const { sample, settings } = await ds.findIndex(1);
    const wrong = encoderForDataset(qwenTokenizer(), ds.info(), {
      template: loadChatTemplate("seed-000", qwenTokenizer()),
      skipRules: "none",
    });
    const e = (await alignSample({
      encoder: wrong,
      example: { row: rows[1] as Record<string, unknown>, shape },
      sample,
      settings,
    }).catch((x: unknown) => x)) as ExploreError;
    expect(e).toBeInstanceOf(ExploreError);
    expect(e.code).toBe("ALIGNMENT_MISMATCH");
    expect((e.details as AlignmentMismatch).storedPositions).toBe(sample.numTokens);
  });

  it("fidelity against the model's full logits: nucleus mass, KL, tail and logsumexp errors", async () => {
    for (let row = 0; row < rows.length; row++) {
      const { sample } = await ds.findIndex(row);
      const r = results[row] as NucleusResult;
      const report = await fidelityReport(sample as LogitSample, { fullLogits: (t) => fullRow(r, t) });
      expect(report.vocabSize).toBe(teacher.vocabSize);
      for (let t = 0; t < sample.numTokens; t++) {
        const capped = r.topCounts[t] === 100;
        expect(capped || (report.nucleusMassTrue[t] as number) >= 0.98 - 1e-4).toBe(true);
        expect(Math.abs(report.logsumexpError[t] as number)).toBeLessThan(1e-3);
        expect(Math.abs(report.tailError[t] as number)).toBeLessThan(1e-3);
        expect(report.maxLogitError[t]).toBeLessThan(0.01);
        // stored entries exact up to quantization, so only the tail spread evenly costs: KL <= tail mass * log(V)
        expect(report.kl[t]).toBeLessThanOrEqual(
          (report.tailMassTrue[t] as number) * Math.log(report.vocabSize) + 1e-3,
        );
        // the stored probabilities agree with the full distribution
        const d = positionDistribution(sample, t);
        const full = fullRow(r, t);
        const p = logitsToProbs(
          Array.from(d.ids, (id) => full[id] as number),
          sample.logsumexp[t] as number,
        );
        d.probs.forEach((q, i) => {
          expect(Math.abs(q - (p[i] as number))).toBeLessThan(1e-3 * Math.max(p[i] as number, 1e-4));
        });
      }
      expect(report.summary.nucleusIsTopShare).toBe(1);
      expect(report.summary.kl.mean).toBeGreaterThan(0);
    }
  }, 60_000);
});

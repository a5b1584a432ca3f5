/**
 * A real exporter's graph, run by logitpack and checked against PyTorch. `tools/export-teacher/export.py` makes a
 * deterministic tiny random Qwen3ForCausalLM (transformers, the Qwen3 vocabulary) and exports it with
 * `torch.onnx.export(dynamo=True)`; `runExtraction` runs it over the bundled sample dataset with the built-in `qwen`
 * template; `torch_reference.py` renders the same rows with transformers, runs the PyTorch model (fp32) and takes the
 * float64 log-softmax of its logits. At every stored position: the nucleus ids and count equal torch's (a swap of two
 * logits within float32 rounding of each other, or a prefix mass within rounding of top_p, is counted and must stay
 * rare), the stored log-probs and logsumexp are within the stated tolerances of torch's, and the tail draws are
 * outside torch's nucleus with log-probs as close. The same for a tiny random LlamaForCausalLM (no q/k norms, an
 * untied head); the Qwen3 export again with external data (same rows) and in fp16 (close to torch's fp32). Python is
 * `LOGITPACK_PYTHON`, else `python3`, with torch, transformers, onnx, onnxscript and numpy importable; without them
 * the tests skip and say why.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ExtractionEvent, runExtraction } from "@logitpack/cli";
import { type LogitSample, positionIds, positionLogits, quantizationErrorBound } from "@logitpack/codec";
import { openLogitFileAt } from "@logitpack/codec/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findPython, ROOT } from "./find-python.js";

const root = ROOT;
const exportScript = join(root, "tools", "export-teacher", "export.py");
const dataset = join(root, "packages", "cli", "data", "sample-chats.jsonl");

/**
 * The tolerance comes from the model itself. torch_reference.py runs it in float32 and in float64 and reports how far
 * float32 rounding alone moves torch's log-probs and logsumexp (`fp32Noise`; measured: 7.6e-5 for the tiny Qwen3,
 * 4.8e-4 for the tiny Llama, whose activations are larger). ORT's float32 run (other kernels, other summation orders)
 * is allowed to differ from torch's float32 run by NOISE_FACTOR times that noise: stored logsumexp, and stored
 * log-probs beyond their quantization bound. Two logits closer than that may come out in either order, and a prefix
 * mass that close to top_p (the mass moves by at most the log-prob error, as the probabilities sum to 1) may fall on
 * either side: only at such near-ties may the nucleus differ from torch's. About one position in ten is that close
 * (a nucleus of 50 tokens has prefix masses 1e-3 apart); the positions where the nucleus did differ are counted and
 * must be rare.
 */
const NOISE_FACTOR = 2;
/** The noise must be small for the comparison to mean anything. */
const MAX_NOISE = 1e-3;
/** At most this share of positions may get a nucleus other than torch's (each a near-tie). */
const MAX_TIE_DECIDED_SHARE = 0.005;
const LIMIT = 8;

const found = findPython("export-teacher", ["torch", "transformers", "onnx", "onnxscript", "numpy"]);

const work = mkdtempSync(join(tmpdir(), "logitpack-export-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const env = { ...process.env, HF_HUB_OFFLINE: "1", HF_HOME: join(work, "hf-home"), TOKENIZERS_PARALLELISM: "false" };

/** Runs a Python script (asynchronously: vitest's worker must keep answering while torch works). */
function python(args: string[]): Promise<{ seconds: number; stderr: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(found.python as string, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) {
        resolve({ seconds: (performance.now() - t0) / 1000, stderr });
      } else {
        reject(new Error(`${args.join(" ")} failed (${code}):\n${stderr}`));
      }
    });
  });
}

interface Run {
  start: Extract<ExtractionEvent, { event: "start" }>;
  samples: LogitSample[];
  /** The shards' own `logitpack.settings` metadata. */
  settings: Record<string, unknown>;
}

async function extract(modelDir: string, out: string, file?: string): Promise<Run> {
  let start: Run["start"] | undefined;
  const result = await runExtraction(
    {
      model: { id: modelDir, device: "cpu", ...(file !== undefined ? { file } : {}) },
      chat: { template: "qwen" },
      selection: { limit: LIMIT },
      output: { folder: out },
    },
    {
      onEvent: (e) => {
        if (e.event === "start") {
          start = e;
        }
      },
    },
  );
  expect(result.event).toBe("done");
  expect(result.examples).toBe(LIMIT);
  const samples: LogitSample[] = [];
  let settings: Record<string, unknown> = {};
  for (const shard of readdirSync(join(out, "data"))
    .filter((f) => f.endsWith(".parquet"))
    .sort()) {
    const file = await openLogitFileAt(join(out, "data", shard));
    settings = file.info.settings;
    for (let k = 0; k < file.numRows; k++) {
      samples.push(await file.sample(k));
    }
  }
  expect(start).toBeDefined();
  return { start: start as Run["start"], samples, settings };
}

interface RefPosition {
  count: number;
  ids: number[];
  logprobs: number[];
  nextIds: number[];
  lse: number;
  massMargin: number;
  rankGap: number;
  sampledLogprobs: number[];
}
interface RefRow {
  index: number;
  numIds: number;
  positions: RefPosition[];
}
interface Reference {
  fp32Noise: { logprob: number; lse: number };
  rows: RefRow[];
}

/** PyTorch's reference (torch_reference.py) for a run's stored rows and their tail draws. */
async function torchReference(hfDir: string, run: Run, name: string): Promise<{ ref: Reference; seconds: number }> {
  const settings = run.settings;
  const chat = settings.chat as { template: { source: string }; templateKwargs: Record<string, unknown> };
  const request = {
    model: hfDir,
    dataset,
    template: chat.template.source,
    templateKwargs: chat.templateKwargs,
    topP: settings.topP,
    topPMax: settings.topPMax,
    rows: run.samples.map((s) => ({
      index: s.index,
      sampled: Array.from({ length: s.numTokens }, (_, t) =>
        s.layout === "nucleus" ? [...positionIds(s.sampled, t)] : [],
      ),
    })),
  };
  writeFileSync(join(work, `${name}-request.json`), JSON.stringify(request));
  const seconds = (
    await python([
      join(import.meta.dirname, "torch_reference.py"),
      join(work, `${name}-request.json`),
      join(work, `${name}-ref.json`),
    ])
  ).seconds;
  const ref = JSON.parse(readFileSync(join(work, `${name}-ref.json`), "utf8")) as Reference;
  return { ref, seconds };
}

/**
 * Every stored position against torch's: the nucleus (ids, count, order), logsumexp, nucleus and tail log-probs, with
 * the tolerances above. Prints the figures (BENCHMARKS.md) under `label`.
 */
function compareWithTorch(run: Run, ref: Reference, label: string): void {
  const noise = Math.max(ref.fp32Noise.logprob, ref.fp32Noise.lse);
  expect(noise).toBeLessThan(MAX_NOISE);
  const tol = NOISE_FACTOR * noise;
  let positions = 0;
  let nearTies = 0;
  let tieDecided = 0;
  let swaps = 0;
  let maxLse = 0;
  let maxLp = 0;
  let maxLpOverBound = 0;
  let maxSampledLp = 0;
  const sizes: number[] = [];
  for (const [r, s] of run.samples.entries()) {
    if (s.layout !== "nucleus") {
      throw new Error("expected the nucleus layout");
    }
    const row = ref.rows[r] as RefRow;
    expect(row.index).toBe(s.index);
    // transformers' assistant mask over its own rendering gives as many positions as we stored
    expect(row.positions.length).toBe(s.numTokens);
    for (let t = 0; t < s.numTokens; t++, positions++) {
      const p = row.positions[t] as RefPosition;
      const ids = positionIds(s.top, t);
      const logits = positionLogits(s.top, t, s.levels);
      const lse = s.logsumexp[t] as number;
      maxLse = Math.max(maxLse, Math.abs(lse - p.lse));
      expect(Math.abs(lse - p.lse)).toBeLessThanOrEqual(tol);
      sizes.push(ids.length);
      const nearTie = p.massMargin < tol || p.rankGap < tol;
      if (nearTie) {
        nearTies++;
      }
      const sameSet = ids.length === p.count && ids.every((id) => p.ids.includes(id));
      if (!sameSet) {
        // a different nucleus only where the boundary is a near-tie
        expect(nearTie, `row ${r} position ${t}: ${ids.length} ids, torch has ${p.count}`).toBe(true);
        tieDecided++;
      }
      const bound = quantizationErrorBound(s.top.min[t] as number, s.top.max[t] as number) + tol;
      const torchLp = new Map(p.ids.map((id, k) => [id, p.logprobs[k] as number]));
      for (let k = 0; k < ids.length; k++) {
        const id = ids[k] as number;
        if (id !== p.ids[k]) {
          // only a swap of two logits within float32 rounding is allowed (or the boundary of a near-tie)
          const a = torchLp.get(id);
          const b = p.logprobs[k];
          if (a !== undefined && b !== undefined && Math.abs(a - b) < tol) {
            swaps++;
          } else {
            expect(nearTie, `row ${r} position ${t} entry ${k}: id ${id}, torch has ${p.ids[k]}`).toBe(true);
          }
        }
        const want = torchLp.get(id);
        if (want === undefined) {
          expect(nearTie && p.nextIds.includes(id)).toBe(true);
          continue;
        }
        const got = (logits[k] as number) - lse;
        const err = Math.abs(got - want);
        maxLp = Math.max(maxLp, err);
        maxLpOverBound = Math.max(maxLpOverBound, err - (bound - tol));
        expect(err, `row ${r} position ${t} id ${id}`).toBeLessThanOrEqual(bound);
      }
      // the tail draws: outside torch's nucleus, their log-probs as close
      const sampled = positionIds(s.sampled, t);
      const sampledLogits = positionLogits(s.sampled, t, s.levels);
      const sBound = quantizationErrorBound(s.sampled.min[t] as number, s.sampled.max[t] as number) + tol;
      for (let k = 0; k < sampled.length; k++) {
        if (!nearTie) {
          expect(torchLp.has(sampled[k] as number)).toBe(false);
        }
        const err = Math.abs((sampledLogits[k] as number) - lse - (p.sampledLogprobs[k] as number));
        maxSampledLp = Math.max(maxSampledLp, err);
        expect(err).toBeLessThanOrEqual(sBound);
      }
    }
  }
  sizes.sort((a, b) => a - b);
  const q = (f: number) => sizes[Math.min(sizes.length - 1, Math.floor(f * sizes.length))];
  console.log(
    `[interop] export-teacher ${label}: ${positions} positions over ${run.samples.length} rows; torch fp32 vs fp64 ${noise.toExponential(2)}, tolerance ${tol.toExponential(2)}; ` +
      `nucleus sizes min ${sizes[0]} median ${q(0.5)} p90 ${q(0.9)} max ${sizes.at(-1)}; near-ties ${nearTies} (nucleus differs at ${tieDecided}), order swaps ${swaps}; ` +
      `max |lse - torch| ${maxLse.toExponential(2)}, max |logprob - torch| nucleus ${maxLp.toExponential(2)} ` +
      `(max excess over the quantization bound ${maxLpOverBound.toExponential(2)}), tail ${maxSampledLp.toExponential(2)}`,
  );
  expect(positions).toBeGreaterThan(200);
  // the model is peaked enough to test the nucleus rule (not every position capped, not every one a single token)
  expect(sizes.filter((n) => n > 1 && n < 100).length).toBeGreaterThan(positions / 3);
  expect(tieDecided).toBeLessThanOrEqual(Math.max(1, MAX_TIE_DECIDED_SHARE * positions));
}

describe.skipIf(!found.python)("a torch.onnx.export'ed Qwen3 / Llama (tools/export-teacher) against PyTorch", () => {
  const hf = join(work, "hf");
  const onnx = join(work, "onnx");
  let exportSeconds = 0;
  let run: Run;
  let ref: Reference;
  let refSeconds = 0;

  beforeAll(async () => {
    await python([exportScript, "--tiny-random", hf]);
    exportSeconds = (await python([exportScript, "--model", hf, "--output", onnx])).seconds;
    run = await extract(onnx, join(work, "out"));
    // the PyTorch reference for the stored rows (and their tail draws)
    ({ ref, seconds: refSeconds } = await torchReference(hf, run, "qwen3"));
  });

  it("exports the transformers.js layout, and the loader gathers positions before the MatMul head on CPU", () => {
    const files = readdirSync(onnx).sort();
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja"]) {
      expect(files).toContain(f);
    }
    expect(readdirSync(join(onnx, "onnx"))).toEqual(["model.onnx"]);
    const info = JSON.parse(readFileSync(join(onnx, "export_info.json"), "utf8")) as Record<string, unknown>;
    expect(info.exporter).toBe("torch.onnx.export(dynamo=True)");
    expect(info.source).toBe("hf"); // the folder's name, not its path
    expect(info.logits).toBe("float32");
    expect(run.start.device).toBe("cpu");
    expect(run.start.providerFailures).toEqual([]);
    expect(run.start.lmHead).toBe("gathered before MatMul");
    expect(run.settings.lmHead).toBe("gathered before MatMul");
    expect(run.settings.provider).toBe("cpu");
    expect(run.settings.logitsWidth).toBe(151936);
    console.log(`[interop] export-teacher: torch.onnx.export of the tiny Qwen3 took ${exportSeconds.toFixed(1)} s`);
  });

  it("every stored nucleus, log-prob, logsumexp and tail draw matches torch's float64 log-softmax", () => {
    compareWithTorch(run, ref, `Qwen3 (torch reference ${refSeconds.toFixed(1)} s)`);
  });

  it("--external-data always: model.onnx + model.onnx_data, the same rows as the inline export", async () => {
    const ext = join(work, "onnx-ext");
    await python([exportScript, "--model", hf, "--output", ext, "--external-data", "always"]);
    expect(readdirSync(join(ext, "onnx")).sort()).toEqual(["model.onnx", "model.onnx_data"]);
    expect(statSync(join(ext, "onnx", "model.onnx")).size).toBeLessThan(2 ** 20);
    const again = await extract(ext, join(work, "out-ext"));
    expect(again.samples.length).toBe(run.samples.length);
    for (const [r, s] of again.samples.entries()) {
      const a = run.samples[r] as LogitSample;
      expect(s.index).toBe(a.index);
      expect([...s.logsumexp]).toEqual([...a.logsumexp]);
      if (s.layout === "nucleus" && a.layout === "nucleus") {
        expect([...s.top.ids]).toEqual([...a.top.ids]);
        expect([...s.top.quantized]).toEqual([...a.top.quantized]);
        expect([...s.sampled.ids]).toEqual([...a.sampled.ids]);
      }
    }
  });

  it("--dtype fp16: onnx/model_fp16.onnx runs (float16 logits); its distributions stay near torch's fp32 ones", async () => {
    const f16 = join(work, "onnx-fp16");
    await python([exportScript, "--model", hf, "--output", f16, "--dtype", "fp16"]);
    expect(readdirSync(join(f16, "onnx"))).toEqual(["model_fp16.onnx"]);
    const info = JSON.parse(readFileSync(join(f16, "export_info.json"), "utf8")) as Record<string, unknown>;
    expect(info.logits).toBe("float16");
    const half = await extract(f16, join(work, "out-fp16"), "onnx/model_fp16.onnx");
    expect(half.start.modelFile).toBe("onnx/model_fp16.onnx");
    expect(half.settings.lmHead).toBe("gathered before MatMul");
    // fp16 weights and activations are not fp32 ones: what is checked is that the half-precision graph runs and its
    // distributions are close (the same rows, the same top token nearly everywhere, logsumexp within 0.25)
    let positions = 0;
    let top1 = 0;
    let sameNucleus = 0;
    let maxLse = 0;
    for (const [r, s] of half.samples.entries()) {
      const row = ref.rows[r] as RefRow;
      expect(s.index).toBe(row.index);
      expect(s.numTokens).toBe(row.positions.length);
      if (s.layout !== "nucleus") {
        throw new Error("expected the nucleus layout");
      }
      for (let t = 0; t < s.numTokens; t++, positions++) {
        const p = row.positions[t] as RefPosition;
        const ids = positionIds(s.top, t);
        top1 += ids[0] === p.ids[0] ? 1 : 0;
        sameNucleus += ids.length === p.count && ids.every((id) => p.ids.includes(id)) ? 1 : 0;
        maxLse = Math.max(maxLse, Math.abs((s.logsumexp[t] as number) - p.lse));
      }
    }
    console.log(
      `[interop] export-teacher fp16: ${positions} positions; top-1 as torch fp32 at ${top1}, same nucleus at ${sameNucleus}; max |lse - torch fp32| ${maxLse.toExponential(2)}`,
    );
    expect(top1).toBeGreaterThanOrEqual(0.95 * positions);
    expect(maxLse).toBeLessThanOrEqual(0.25);
  });

  it("a Llama-architecture model (no q/k norms, untied head) exported the same way matches torch as well", async () => {
    const llama = join(work, "hf-llama");
    const llamaOnnx = join(work, "onnx-llama");
    await python([exportScript, "--tiny-random", llama, "--arch", "llama"]);
    const config = JSON.parse(readFileSync(join(llama, "config.json"), "utf8")) as Record<string, unknown>;
    expect(config.model_type).toBe("llama");
    expect(config.tie_word_embeddings).toBe(false);
    await python([exportScript, "--model", llama, "--output", llamaOnnx]);
    const l = await extract(llamaOnnx, join(work, "out-llama"));
    expect(l.settings.lmHead).toBe("gathered before MatMul");
    const { ref: lref, seconds } = await torchReference(llama, l, "llama");
    compareWithTorch(l, lref, `Llama (torch reference ${seconds.toFixed(1)} s)`);
  });
});

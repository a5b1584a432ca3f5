// Forward only on ONNX Runtime (Node, onnxruntime-node): the teacher's graph with one [B, T] output (the max logit
// per position, bench.py's forward.onnx), over the same padded batches as the seed pipeline (bench.py prep). Copied
// next to the CLI bundle by pack.mjs so that `onnxruntime-node` resolves from the packed node_modules.
//
//   node forward.mjs --model DIR/forward.onnx --prep prep.json [--only done.json] --provider cuda|webgpu|cpu --out F
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: a } = parseArgs({
  options: {
    model: { type: "string" },
    prep: { type: "string" },
    only: { type: "string" },
    provider: { type: "string", default: "cpu" },
    out: { type: "string" },
  },
});
for (const k of ["model", "prep", "out"]) {
  if (a[k] === undefined) {
    console.error(`error: --${k} is required`);
    process.exit(2);
  }
}
if (!["cuda", "webgpu", "cpu"].includes(a.provider)) {
  console.error(`error: --provider: expected cuda, webgpu or cpu, got ${JSON.stringify(a.provider)}`);
  process.exit(2);
}

const ortModule = await import("onnxruntime-node");
const ort = ortModule.default ?? ortModule;
const prep = JSON.parse(readFileSync(a.prep, "utf8"));
const keep = a.only === undefined ? undefined : new Set(JSON.parse(readFileSync(a.only, "utf8")));
const batches = prep.batches
  .map((b) => b.filter((k) => keep === undefined || keep.has(prep.examples[k].index)))
  .filter((b) => b.length > 0);

const providers = a.provider === "cpu" ? ["cpu"] : [a.provider];
const t0 = performance.now();
const session = await ort.InferenceSession.create(a.model, {
  executionProviders: providers,
  graphOptimizationLevel: "all",
});
const loadSeconds = (performance.now() - t0) / 1000;

function feeds(batch) {
  const exs = batch.map((k) => prep.examples[k]);
  const T = Math.max(...exs.map((e) => e.ids.length));
  const B = exs.length;
  const ids = new BigInt64Array(B * T).fill(BigInt(prep.pad_id));
  const mask = new BigInt64Array(B * T);
  exs.forEach((e, b) => {
    for (let t = 0; t < e.ids.length; t++) {
      ids[b * T + t] = BigInt(e.ids[t]);
      mask[b * T + t] = 1n;
    }
  });
  const f = {};
  for (const name of session.inputNames) {
    if (name === "input_ids") {
      f[name] = new ort.Tensor("int64", ids, [B, T]);
    } else if (name === "attention_mask") {
      f[name] = new ort.Tensor("int64", mask, [B, T]);
    } else {
      throw new Error(`forward.onnx has an input this script does not feed: ${name}`);
    }
  }
  return {
    f,
    positions: exs.reduce((s, e) => s + e.positions.length, 0),
    tokens: exs.reduce((s, e) => s + e.ids.length, 0),
  };
}

// warm-up on the first (longest) batch: not timed, not counted (as the seed side)
const tw = performance.now();
if (batches.length > 0) {
  await session.run(feeds(batches[0]).f);
}
const warmupSeconds = (performance.now() - tw) / 1000;
let positions = 0;
let tokens = 0;
let examples = 0;
const t1 = performance.now();
for (const batch of batches) {
  const { f, positions: p, tokens: t } = feeds(batch);
  const out = await session.run(f);
  void out.logits_max.data[0];
  positions += p;
  tokens += t;
  examples += batch.length;
}
const seconds = (performance.now() - t1) / 1000;
await session.release();
const res = {
  stage: "forward only (onnxruntime-node)",
  provider: a.provider,
  ort: ort.env.versions?.common ?? null,
  examples,
  positions,
  tokens,
  batches: batches.length,
  seconds,
  warmupSeconds,
  loadSeconds,
};
writeFileSync(a.out, JSON.stringify(res, null, 2));
console.error(
  `forward only (${a.provider}): ${examples} examples, ${positions} assistant tokens in ${seconds.toFixed(2)} s (${Math.round(positions / seconds)} tok/s)`,
);

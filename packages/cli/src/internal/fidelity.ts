/**
 * `--fidelity`: run the teacher again on a stored sample's text to get the full distributions, and compare them with
 * what was stored (explore's `fidelityReport`: KL divergence, nucleus mass captured, tail estimate error).
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { ChatEncoder, Example } from "@logitpack/chat";
import type { ExtractionSettings, LogitSample } from "@logitpack/codec";
import type { FidelityReport } from "@logitpack/explore";
import { EMBEDDED_MODEL_NAME } from "../lib/inputs.js";
import { CliError } from "./errors.js";

export async function recomputeFidelity(options: {
  sample: LogitSample;
  settings: ExtractionSettings;
  encoder: ChatEncoder;
  example: Example;
  /** `--model`, else the recorded model. */
  model: string | undefined;
  env: NodeJS.ProcessEnv;
}): Promise<FidelityReport> {
  const { ensureTinyModel, loadTeacher, runBatch } = await import("@logitpack/inference-gpu");
  const { fidelityReport } = await import("@logitpack/explore");
  const { sample, settings } = options;
  let modelDir: string;
  if (options.model === undefined) {
    throw new CliError("--model: the dataset records no model; pass the model folder to recompute the distributions");
  } else if (options.model === "tiny" || options.model === EMBEDDED_MODEL_NAME) {
    modelDir = await ensureTinyModel(
      options.env.LOGITPACK_CACHE ?? join(options.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "logitpack"),
    );
  } else if (existsSync(options.model)) {
    modelDir = options.model;
  } else {
    throw new CliError(`--model: ${options.model} is not a local model folder`, "pass --model with the model folder");
  }
  const mode = sample.layout === "importance" ? "importance" : "nucleus";
  const teacher = await loadTeacher({ modelDir, device: "cpu", mode });
  try {
    const e = options.encoder.encode(options.example);
    const num = (k: string) => (typeof settings[k] === "number" ? (settings[k] as number) : undefined);
    const [result] = await runBatch(teacher, [{ index: sample.index, inputIds: e.ids, extractMask: e.extractMask }], {
      mode,
      exposeLogits: true,
      ...(num("seed") !== undefined ? { seed: num("seed") } : {}),
      ...(num("topP") !== undefined ? { topP: num("topP") } : {}),
      ...(num("topPMax") !== undefined ? { topPMax: num("topPMax") } : {}),
      ...(num("sampledN") !== undefined ? { sampledN: num("sampledN") } : {}),
      ...(num("rounds") !== undefined ? { rounds: num("rounds") } : {}),
      ...(num("temperature") !== undefined ? { temperature: num("temperature") } : {}),
    });
    const full = result?.mode === "nucleus" ? result.logits : result?.fullLogits;
    if (result === undefined || full === undefined) {
      throw new CliError("the teacher returned no full logits for this sample");
    }
    const positions = result.positions.length;
    if (positions !== sample.numTokens) {
      throw new CliError(
        `the re-rendered text has ${positions} positions with logits but the sample stores ${sample.numTokens}: another template, tokenizer or dataset row`,
      );
    }
    const vocab = full.length / positions;
    return await fidelityReport(sample, { fullLogits: (t) => full.subarray(t * vocab, (t + 1) * vocab) });
  } finally {
    await teacher.close();
  }
}

import type { ExtractionSettings } from "@logitpack/codec";
import type { ExtractOptions } from "./extract.js";
import { NOISE_SCHEME } from "./noise.js";
import { IMPORTANCE_BLOCK, TAIL_BLOCK } from "./onnx/postprocess.js";
import type { Teacher } from "./teacher.js";

/**
 * The nucleus boundary rule (seed 002's prose, "the minimum set of tokens whose cumulative probability exceeds
 * the threshold", read as "reaches"; its code excerpt `cumsum <= top_p` would drop the token that crosses the
 * threshold and can give an empty set). Recorded in every file's settings as `nucleusRule`.
 */
export const NUCLEUS_RULE =
  "smallest-prefix-reaching-top-p: tokens sorted by logit (ties: lower id first); token t is in the nucleus while " +
  "the float64 probability mass of the tokens before it is < top_p; at least 1, at most top_p_max tokens";

/**
 * How the tail is drawn (recorded as `tailSampling`): the law of Gumbel-top-k, i.e. sequential draws without
 * replacement in proportion to the probabilities of the tokens outside the nucleus, computed top-down by blocks.
 */
export const TAIL_SAMPLING =
  "sampled_n draws without replacement, in proportion to the probabilities of the tokens outside the nucleus " +
  `(the law of Gumbel-top-k), computed top-down: blocks of ${TAIL_BLOCK} tokens get their maximum lse_b + G_b, ` +
  "the sampled_n best blocks are expanded with the conditional (exponential-race) values of their tokens; " +
  "noise per (seed, example, position, counter), see noise";

/** Which distribution a stored position holds (seed 003's card). */
export const LOGITS_ALIGNMENT =
  "entry i is the teacher's distribution for assistant token i (the logits of the position before it); token 0 of " +
  "a sequence never has one";

/**
 * The settings to record in the output file (`LogitWriter`'s `settings`): the extraction options with their
 * defaults, how the nucleus, the tail noise and importance draws are defined, and where the run happened.
 */
export function extractionSettings(teacher: Teacher, options: ExtractOptions = {}): ExtractionSettings {
  const mode = options.mode ?? "nucleus";
  const common = {
    model: teacher.modelDir,
    mode,
    seed: options.seed ?? 0,
    // the teacher's output width (not the tokenizer's size): readers reject ids outside [0, logitsWidth)
    logitsWidth: teacher.vocabSize,
    logitsAlignment: LOGITS_ALIGNMENT,
    precision: teacher.precision,
    provider: teacher.provider,
    paddingSide: teacher.paddingSide,
    lmHead: teacher.lmHead,
    extractor: "@logitpack/inference-gpu",
  };
  if (mode === "nucleus") {
    return {
      ...common,
      topP: options.topP ?? 0.98,
      topPMax: options.topPMax ?? 100,
      sampledN: options.sampledN ?? 24,
      nucleusRule: NUCLEUS_RULE,
      tailSampling: TAIL_SAMPLING,
      noise: NOISE_SCHEME,
    };
  }
  return {
    ...common,
    rounds: options.rounds ?? 50,
    temperature: options.temperature ?? 1,
    importanceDraws: `with replacement from softmax(logits / temperature), two-level inverse CDF (blocks of ${IMPORTANCE_BLOCK}), 52-bit uniforms from the noise generator`,
    noise: NOISE_SCHEME,
  };
}

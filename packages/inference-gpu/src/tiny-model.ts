import { homedir } from "node:os";
import { join } from "node:path";
import { ensureTinyModel as ensure, ensureLearnedTinyModel as ensureLearned } from "@logitpack/tiny-model";

export type TinyModelShape = "plain" | "decoder";

export interface TinyModelOptions {
  /**
   * `decoder` (default): an optimum / transformers.js-style export (`attention_mask`, `position_ids`, empty
   * `past_key_values.*`, float16 logits); `plain`: `input_ids -> logits` (float32) with external data.
   */
  shape?: TinyModelShape;
  /** Vocabulary size (default Qwen3's 151,936); smaller only for quick experiments. */
  vocabSize?: number;
}

/** Default cache folder: `$XDG_CACHE_HOME/logitpack` or `~/.cache/logitpack`. */
export function defaultCacheDir(): string {
  return join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "logitpack");
}

/**
 * The embedded default model: a deterministic tiny causal LM over the Qwen3 vocabulary (151,936 logits), generated
 * into `cacheDir` on first use (about a second, 78 MB) and reused after. Its distributions look like a real model's:
 * a heavy head and a long tail, nucleus sizes from 1 to the cap (median about 10). Returns the model folder.
 */
export function ensureTinyModel(cacheDir: string = defaultCacheDir(), options: TinyModelOptions = {}): Promise<string> {
  return ensure(join(cacheDir, "tiny-model"), {
    shape: options.shape ?? "decoder",
    ...(options.vocabSize !== undefined ? { vocabSize: options.vocabSize } : {}),
  });
}

/**
 * The learned embedded teacher: the tiny decoder above plus n-gram statistics of the bundled sample dataset
 * (`logitpack extract`'s embedded default) folded into its graph, so its distributions put the sample text's next
 * token at the top most of the time (nucleus sizes still 1 to the cap). Generated into `cacheDir` on first use (a few
 * seconds, about 136 MB) and reused after. Returns the model folder.
 */
export function ensureLearnedTinyModel(cacheDir: string = defaultCacheDir()): Promise<string> {
  return ensureLearned(join(cacheDir, "tiny-model"));
}

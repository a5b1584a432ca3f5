import type { ChatEncoder, Example, InputShape } from "@logitpack/chat";
import { type Alignment, alignSample } from "./align.js";
import type { LogitDataset } from "./dataset.js";
import { getSample } from "./dataset.js";
import { type SampleInfo, sampleInfo } from "./sample-info.js";

/**
 * The seed's `execute_analysis`: a sample by dataset row or source index, its facts, and its alignment with the
 * original row (fetched by the caller, e.g. with `@logitpack/sampler`'s `openRowReader`).
 */
export async function analyzeSample(
  dataset: LogitDataset,
  at: { row: number } | { index: number },
  options: {
    encoder: ChatEncoder;
    /** The original dataset row: an example, or a function that fetches the row of a source index. */
    example:
      | Example
      | { row: Record<string, unknown>; shape: InputShape }
      | ((index: number) => Promise<Example | { row: Record<string, unknown>; shape: InputShape }>);
    topK?: number;
  },
): Promise<{ info: SampleInfo; alignment: Alignment }> {
  const loaded = await getSample(dataset, at);
  const example = typeof options.example === "function" ? await options.example(loaded.sample.index) : options.example;
  const alignment = await alignSample({
    encoder: options.encoder,
    example,
    sample: loaded.sample,
    settings: loaded.settings,
    ...(options.topK !== undefined ? { topK: options.topK } : {}),
  });
  return { info: sampleInfo(loaded.sample, { row: loaded.row, settings: loaded.settings }), alignment };
}

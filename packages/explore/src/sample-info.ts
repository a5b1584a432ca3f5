import type { ExtractionSettings, LayoutName, LogitSample } from "@logitpack/codec";
import { type Summary, summarize } from "./internal/summary.js";
import { nucleusMasses, nucleusSizes, sampledMasses } from "./position.js";

/** What one sample holds (the seed's `print_sample_info`, as data). Per-position arrays are typed. */
export interface SampleInfo {
  index: number;
  /** Dataset row, when known. */
  row?: number;
  layout: LayoutName;
  numTokens: number;
  /** Nucleus size per position (unique drawn ids for importance). */
  nucleusSizes: Int32Array;
  /** Sampled tail entries per position (0 for importance). */
  sampledPerPosition: number;
  /** Nucleus mass per position (drawn-id mass for importance). */
  nucleusMass: Float64Array;
  /** `1 - nucleusMass`, never below 0. */
  tailMass: Float64Array;
  /** Mass of the sampled tail entries per position (zeros for importance). */
  sampledMass: Float64Array;
  logsumexp: Float64Array;
  summary: {
    nucleusSize: Summary;
    nucleusMass: Summary;
    tailMass: Summary;
    sampledMass: Summary;
    /** Positions whose nucleus reached `topPMax` (null when unknown or importance). */
    cappedShare: number | null;
  };
  settings: ExtractionSettings;
}

/** Per-position facts and summaries of a sample. */
export function sampleInfo(
  sample: LogitSample,
  options: { row?: number; settings?: ExtractionSettings; topPMax?: number } = {},
): SampleInfo {
  const sizes = nucleusSizes(sample);
  const mass = nucleusMasses(sample);
  const tail = mass.map((m) => (m < 1 ? 1 - m : 0));
  const sampled = sampledMasses(sample);
  const settings = options.settings ?? {};
  const cap =
    sample.layout === "importance"
      ? undefined
      : (options.topPMax ?? (typeof settings.topPMax === "number" ? settings.topPMax : undefined));
  let capped = 0;
  if (cap !== undefined) {
    for (const s of sizes) {
      if (s >= cap) {
        capped++;
      }
    }
  }
  const sampledPerPosition =
    sample.layout === "importance" || sample.numTokens === 0
      ? 0
      : (sample.sampled.offsets[1] as number) - (sample.sampled.offsets[0] as number);
  const info: SampleInfo = {
    index: sample.index,
    layout: sample.layout,
    numTokens: sample.numTokens,
    nucleusSizes: sizes,
    sampledPerPosition,
    nucleusMass: mass,
    tailMass: tail,
    sampledMass: sampled,
    logsumexp: Float64Array.from(sample.logsumexp),
    summary: {
      nucleusSize: summarize(sizes),
      nucleusMass: summarize(mass),
      tailMass: summarize(tail),
      sampledMass: summarize(sampled),
      cappedShare: cap !== undefined && sample.numTokens > 0 ? capped / sample.numTokens : null,
    },
    settings,
  };
  if (options.row !== undefined) {
    info.row = options.row;
  }
  return info;
}

import {
  ChatEncoder,
  type ChatEncoderMetadata,
  type ChatTemplate,
  type ChatTokenizer,
  type EncodedExample,
  type Example,
  exampleFromRow,
  type InputShape,
  parseSkipRules,
  type SkipRules,
} from "@logitpack/chat";
import type { ExtractionSettings, LogitSample } from "@logitpack/codec";
import { ExploreError } from "./errors.js";
import { summarize } from "./internal/summary.js";
import { lookupToken, type PositionDistribution, positionDistribution, SOURCE_SAMPLED } from "./position.js";

/** Metadata keys where a dataset records how its text was rendered (as the lengths pass does). */
export const CHAT_METADATA_KEY = "logitpack.chat";
export const INPUT_METADATA_KEY = "logitpack.input";

/** A prediction shown for a real token. */
export interface TokenPrediction {
  id: number;
  text: string;
  prob: number;
  source: "nucleus" | "sampled" | "drawn";
}

/** One token of the re-rendered conversation. */
export interface AlignedToken {
  /** Token number in the rendered sequence. */
  i: number;
  id: number;
  /** The token's text, exactly as in the rendered conversation (`text.slice(start, end)`). */
  text: string;
  start: number;
  end: number;
  /** `prompt`: outside the assistant mask; `skipped`: masked but skipped by the skip rules; `extracted`: has logits. */
  kind: "prompt" | "skipped" | "extracted";
  /** Generation span (assistant turn) it falls in, -1 outside. */
  turn: number;
  /** Stored position (`token_idx`) for extracted tokens, -1 otherwise. */
  position: number;
  /** Probability the teacher gave this real token (NaN when it is not among the stored entries). */
  prob: number;
  /** Upper bound of that probability when it is not stored (equal to `prob` when it is). */
  probUpperBound: number;
  /** 1-based rank among the stored entries, 0 when not stored. */
  rank: number;
  source: "nucleus" | "sampled" | "drawn" | "none";
  /** The model's top predictions at this position, most probable first. */
  predictions: TokenPrediction[];
  nucleusSize: number;
  nucleusMass: number;
}

/** What differs when the text does not line up with the stored positions. */
export interface AlignmentMismatch {
  kind: "count" | "shift";
  storedPositions: number;
  /** Tokens the re-rendered text gives logits to (assistant mask minus skip rules). */
  extractTokens: number;
  assistantTokens: number;
  skippedTokens: number;
  totalTokens: number;
  /**
   * Share of real tokens found among the stored entries when the shorter sequence is aligned to the start
   * (`prefix`) or to the end (`suffix`), and at shifts -2..2 (`shifts["1"]`: token t+1 against position t).
   */
  hitRates: { prefix: number; suffix: number; shifts: Record<string, number> };
  /**
   * The offset `d` at which the text's kept tokens best match the stored positions (`real[t]` against position
   * `t + d`), and its hit rate: `d > 0` means the extraction kept `d` more tokens before them (a header, a think block).
   */
  bestOffset: { offset: number; hitRate: number };
  templateHash?: { recorded: string; computed: string };
  /** Likely causes, most likely first. */
  hints: string[];
}

export interface Alignment {
  /** Source-dataset index of the sample. */
  index: number;
  /** The rendered conversation. */
  text: string;
  /** Stored positions (= extracted tokens). */
  numTokens: number;
  tokens: AlignedToken[];
  counts: { total: number; assistant: number; skipped: number; extracted: number; turns: number };
  summary: {
    /** Mean / median probability of the real token over extracted tokens whose token is stored. */
    meanProb: number;
    medianProb: number;
    /** Share of extracted tokens whose real token is in the nucleus (drawn ids for importance). */
    inNucleusShare: number;
    /** Share whose real token is the most probable stored entry. */
    top1Share: number;
    /** Share whose real token is not stored at all. */
    notStoredShare: number;
  };
  /** Things worth knowing that do not stop the alignment (a template hash that differs, few real tokens stored). */
  warnings: string[];
}

export interface AlignOptions {
  /** Renders and masks exactly as the extraction did (`encoderForDataset` builds it from the metadata). */
  encoder: ChatEncoder;
  /** The original dataset row: an example, or a row with its input shape. */
  example: Example | { row: Record<string, unknown>; shape: InputShape };
  sample: LogitSample;
  /** Predictions per token (default 5). */
  topK?: number;
  /** The dataset's settings, to compare the recorded template hash. */
  settings?: ExtractionSettings;
}

/**
 * Aligns a stored sample with its text (seed 001, steps 1-4): re-renders the dataset row with the same template and
 * tokenizer, replays the assistant mask and skip rules (`@logitpack/chat`, the code the extraction used), maps the
 * kept tokens 1:1 to the stored positions and, for each real token, looks up its probability and the model's top
 * predictions. A template, tokenizer or skip-rule mismatch throws `ALIGNMENT_MISMATCH` with an
 * `AlignmentMismatch` in `details`: counts that differ, or ids that line up better at a shift.
 */
export async function alignSample(options: AlignOptions): Promise<Alignment> {
  const { encoder, sample } = options;
  const topK = options.topK ?? 5;
  const example =
    "kind" in options.example ? options.example : exampleFromRow(options.example.row, options.example.shape);
  const encoded = encoder.encode(example);
  const warnings: string[] = [];
  const hash = await templateHashCheck(encoder.template, options.settings);
  if (hash) {
    warnings.push(
      `the dataset records template hash ${hash.recorded}, the template used here hashes to ${hash.computed}`,
    );
  }
  const mismatch = checkAlignment(encoded, sample, hash);
  if (mismatch) {
    throw new ExploreError("ALIGNMENT_MISMATCH", describeMismatch(mismatch, sample.index), mismatch);
  }
  const tokenizer = encoder.tokenizer;
  const n = encoded.ids.length;
  const spans = encoded.spans;
  const tokens: AlignedToken[] = new Array(n);
  const probs: number[] = [];
  let inNucleus = 0;
  let top1 = 0;
  let notStored = 0;
  let position = 0;
  let skipped = 0;
  let span = 0;
  const decoded = new Map<number, string>();
  const textOf = (id: number): string => {
    let s = decoded.get(id);
    if (s === undefined) {
      s = tokenizer.decode([id]);
      if (s.includes("\uFFFD")) {
        // a piece of a multi-byte character: show its bytes rather than a replacement character
        s = partialBytes(tokenizer.tokenBytes(id)) ?? s;
      }
      decoded.set(id, s);
    }
    return s;
  };
  for (let i = 0; i < n; i++) {
    const start = encoded.offsets[2 * i] as number;
    const end = encoded.offsets[2 * i + 1] as number;
    // A character split across byte-level tokens is in the offsets of each of them: show it once, on the token that
    // completes it (the last one), so the tokens' texts concatenate to the text.
    const nextStart = i + 1 < n ? (encoded.offsets[2 * i + 2] as number) : end;
    const nextEnd = i + 1 < n ? (encoded.offsets[2 * i + 3] as number) : end;
    const shownEnd = nextEnd > nextStart && nextStart < end ? Math.max(start, nextStart) : end;
    while (span < spans.length / 2 && start >= (spans[2 * span + 1] as number) && end > start) {
      span++;
    }
    const inSpan =
      span < spans.length / 2 && start >= (spans[2 * span] as number) && start < (spans[2 * span + 1] as number);
    const id = encoded.ids[i] as number;
    const masked = encoded.assistantMask[i] === 1;
    const kept = encoded.extractMask[i] === 1;
    const token: AlignedToken = {
      i,
      id,
      text: end > start ? encoded.text.slice(start, shownEnd) : textOf(id),
      start,
      end,
      kind: kept ? "extracted" : masked ? "skipped" : "prompt",
      turn: masked || inSpan ? span : -1,
      position: -1,
      prob: Number.NaN,
      probUpperBound: Number.NaN,
      rank: 0,
      source: "none",
      predictions: [],
      nucleusSize: 0,
      nucleusMass: Number.NaN,
    };
    if (masked && !kept) {
      skipped++;
    }
    if (kept) {
      const d = positionDistribution(sample, position);
      const hit = lookupToken(d, id);
      token.position = position;
      token.prob = hit.prob;
      token.probUpperBound = hit.upperBound;
      token.rank = hit.rank;
      token.source = hit.source;
      token.nucleusSize = d.nucleusCount;
      token.nucleusMass = d.nucleusMass;
      for (let k = 0; k < Math.min(topK, d.ids.length); k++) {
        const pid = d.ids[k] as number;
        token.predictions.push({
          id: pid,
          text: textOf(pid),
          prob: d.probs[k] as number,
          source: d.source[k] === SOURCE_SAMPLED ? "sampled" : sample.layout === "importance" ? "drawn" : "nucleus",
        });
      }
      if (hit.rank > 0) {
        probs.push(hit.prob);
        if (hit.source !== "sampled") {
          inNucleus++;
        }
        if (hit.rank === 1) {
          top1++;
        }
      } else {
        notStored++;
      }
      position++;
    }
    tokens[i] = token;
  }
  const kept = sample.numTokens;
  const s = summarize(probs);
  const summary = {
    meanProb: s.mean,
    medianProb: s.p50,
    inNucleusShare: kept > 0 ? inNucleus / kept : Number.NaN,
    top1Share: kept > 0 ? top1 / kept : Number.NaN,
    notStoredShare: kept > 0 ? notStored / kept : Number.NaN,
  };
  if (kept >= 8 && summary.inNucleusShare < 0.2) {
    warnings.push(
      `only ${(summary.inNucleusShare * 100).toFixed(1)}% of the real tokens are in the stored nucleus: the teacher ` +
        "rarely predicts this text, or this is not the row the logits were computed on",
    );
  }
  return {
    index: sample.index,
    text: encoded.text,
    numTokens: sample.numTokens,
    tokens,
    counts: {
      total: n,
      assistant: encoded.numAssistantTokens,
      skipped,
      extracted: encoded.numExtractTokens,
      turns: spans.length / 2,
    },
    summary,
    warnings,
  };
}

/** `<0xE6 0x9D>` for bytes that are not valid UTF-8 on their own; undefined when they are. */
function partialBytes(bytes: Uint8Array): string | undefined {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return undefined;
  } catch {
    return `<${Array.from(bytes, (b) => `0x${b.toString(16).toUpperCase().padStart(2, "0")}`).join(" ")}>`;
  }
}

/** Ids of the kept (extracted) tokens of an encoded example, in order. */
function keptIds(encoded: EncodedExample): Int32Array {
  const out = new Int32Array(encoded.numExtractTokens);
  let k = 0;
  for (let i = 0; i < encoded.ids.length; i++) {
    if (encoded.extractMask[i] === 1) {
      out[k++] = encoded.ids[i] as number;
    }
  }
  return out;
}

/** Share of pairs (real token `real[t + shift]`, stored position `t + offset`) where the token is stored there. */
function hitRate(dists: PositionDistribution[], real: Int32Array, shift: number, storedOffset = 0, n?: number): number {
  let hits = 0;
  let total = 0;
  const count = n ?? dists.length;
  for (let t = 0; t < count; t++) {
    const d = dists[t + storedOffset];
    const id = real[t + shift];
    if (d === undefined || id === undefined) {
      continue;
    }
    total++;
    if (d.ids.includes(id)) {
      hits++;
    }
  }
  return total > 0 ? hits / total : Number.NaN;
}

/**
 * Checks that an encoded example lines up with a stored sample: the same number of kept tokens, and real token ids
 * that are not found much more often among the stored entries at a shifted position (an off-by-one template or
 * mask). Returns what differs, or undefined when it lines up.
 */
export function checkAlignment(
  encoded: EncodedExample,
  sample: LogitSample,
  templateHash?: { recorded: string; computed: string },
): AlignmentMismatch | undefined {
  const real = keptIds(encoded);
  const stored = sample.numTokens;
  const dists: PositionDistribution[] = [];
  for (let t = 0; t < stored; t++) {
    dists.push(positionDistribution(sample, t));
  }
  const m = Math.min(real.length, stored);
  const shifts: Record<string, number> = {};
  for (const s of [-2, -1, 0, 1, 2]) {
    shifts[String(s)] = hitRate(dists, real, s, 0, m);
  }
  const prefix = hitRate(dists, real, 0, 0, m);
  const reach = Math.min(16, Math.abs(real.length - stored) + 2);
  let bestOffset = { offset: 0, hitRate: prefix };
  for (let d = -reach; d <= reach; d++) {
    const rate =
      d >= 0
        ? hitRate(dists, real, 0, d, Math.min(real.length, stored - d))
        : hitRate(dists, real, -d, 0, Math.min(real.length + d, stored));
    if (rate > bestOffset.hitRate + 1e-9) {
      bestOffset = { offset: d, hitRate: rate };
    }
  }
  const suffix = hitRate(dists, real.subarray(real.length - m), 0, stored - m, m);
  const base = {
    storedPositions: stored,
    extractTokens: real.length,
    assistantTokens: encoded.numAssistantTokens,
    skippedTokens: encoded.numAssistantTokens - encoded.numExtractTokens,
    totalTokens: encoded.ids.length,
    hitRates: { prefix, suffix, shifts },
    bestOffset,
  };
  const hints: string[] = [];
  if (templateHash) {
    hints.push(
      `the template differs from the one recorded (hash ${templateHash.recorded} vs ${templateHash.computed})`,
    );
  }
  if (real.length !== stored) {
    if (stored === encoded.numAssistantTokens && real.length < stored) {
      hints.push("the stored count equals the assistant mask without skip rules: the extraction skipped nothing");
    } else if (stored < real.length) {
      hints.push(
        "fewer stored positions than tokens here: the extraction skipped more (skip rules), or its template " +
          "rendered a shorter response (another template or tokenizer)",
      );
    } else {
      hints.push(
        "more stored positions than tokens here: the extraction's template masked more (e.g. the end-of-turn " +
          "token), skipped less, or used another tokenizer",
      );
    }
    if (bestOffset.offset !== 0 && bestOffset.hitRate >= 0.5 && bestOffset.hitRate > prefix + 0.2) {
      hints.push(
        bestOffset.offset > 0
          ? `the text's kept tokens line up with stored positions from ${bestOffset.offset} on (${pct(bestOffset.hitRate)} ` +
              `match): the extraction kept ${bestOffset.offset} more token(s) before them (a header, a think block)`
          : `stored positions line up with the text's kept tokens from ${-bestOffset.offset} on (${pct(bestOffset.hitRate)} ` +
              `match): the text here keeps ${-bestOffset.offset} more token(s) before them`,
      );
    }
    if (prefix > suffix + 0.2) {
      hints.push("the start lines up, the end does not: the texts diverge later on (a turn, the end tokens)");
    } else if (suffix > prefix + 0.2) {
      hints.push("the end lines up, the start does not: the texts diverge early (a header, a system prompt)");
    }
    const out: AlignmentMismatch = { kind: "count", ...base, hints };
    if (templateHash) {
      out.templateHash = templateHash;
    }
    return out;
  }
  let best = 0;
  for (const s of [-2, -1, 1, 2]) {
    if ((shifts[String(s)] as number) > (shifts[String(best)] as number)) {
      best = s;
    }
  }
  const at0 = shifts["0"] as number;
  const atBest = shifts[String(best)] as number;
  if (best !== 0 && atBest >= 0.3 && atBest >= 2 * at0 + 0.1) {
    hints.push(
      `real tokens match the stored predictions ${(atBest * 100).toFixed(0)}% of the time when shifted by ${best}, ` +
        `${(at0 * 100).toFixed(0)}% unshifted: the mask is off by ${Math.abs(best)} token(s) (template or tokenizer)`,
    );
    const out: AlignmentMismatch = { kind: "shift", ...base, hints };
    if (templateHash) {
      out.templateHash = templateHash;
    }
    return out;
  }
  return undefined;
}

function pct(x: number): string {
  return Number.isNaN(x) ? "n/a" : `${(x * 100).toFixed(0)}%`;
}

function describeMismatch(m: AlignmentMismatch, index: number): string {
  const head =
    m.kind === "count"
      ? `sample ${index}: the dataset stores ${m.storedPositions} positions but the re-rendered text has ` +
        `${m.extractTokens} tokens with logits (${m.assistantTokens} assistant tokens, ${m.skippedTokens} skipped, ` +
        `${m.totalTokens} in all)`
      : `sample ${index}: the ${m.storedPositions} positions do not line up with the tokens of the text`;
  return (
    `${head}; real tokens among the stored entries: aligned at the start ${pct(m.hitRates.prefix)}, at the end ` +
    `${pct(m.hitRates.suffix)}, shift -1 ${pct(m.hitRates.shifts["-1"] ?? Number.NaN)}, +1 ` +
    `${pct(m.hitRates.shifts["1"] ?? Number.NaN)}. ${m.hints.join("; ")}. ` +
    "Use the template, tokenizer and skip rules of the extraction."
  );
}

/** Lowercase hex sha256 of a string (Web Crypto: available in Node and browsers). */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares a recorded `templateHash` (sha256 hex of the template source, or a prefix of it) with a template. */
async function templateHashCheck(
  template: ChatTemplate | undefined,
  settings: ExtractionSettings | undefined,
): Promise<{ recorded: string; computed: string } | undefined> {
  const recorded = settings?.templateHash;
  if (template === undefined || typeof recorded !== "string" || !/^[0-9a-f]{8,64}$/i.test(recorded)) {
    return undefined;
  }
  const computed = await sha256Hex(template.source);
  return computed.startsWith(recorded.toLowerCase()) ? undefined : { recorded, computed };
}

/** What `encoderForDataset` may take instead of (or on top of) the dataset's recorded settings. */
export interface EncoderOverrides {
  template?: ChatTemplate;
  skipRules?: SkipRules | string;
  templateKwargs?: Record<string, unknown>;
  addSpecialTokens?: boolean;
}

/**
 * The encoder a dataset was made with: from its `logitpack.chat` metadata (template source, skip rules, template
 * kwargs) when recorded, else from `overrides` and the settings' `skipRules`. Overrides win over the metadata.
 * Throws `MISSING_INPUT` when neither gives a template and the tokenizer has none.
 */
export function encoderForDataset(
  tokenizer: ChatTokenizer,
  metadata: { keyValueMetadata: Record<string, string>; settings: ExtractionSettings },
  overrides: EncoderOverrides = {},
): ChatEncoder {
  const recorded = metadata.keyValueMetadata[CHAT_METADATA_KEY] ?? jsonOrUndefined(metadata.settings["chat"]);
  let base: ChatEncoder | undefined;
  if (recorded !== undefined) {
    try {
      base = ChatEncoder.fromMetadata(tokenizer, JSON.parse(recorded) as ChatEncoderMetadata);
    } catch (error) {
      if (overrides.template === undefined) {
        throw error;
      }
    }
  }
  const skipSetting = overrides.skipRules ?? (metadata.settings["skipRules"] as SkipRules | string | undefined);
  const template = overrides.template ?? base?.template;
  if (template === undefined) {
    throw new ExploreError(
      "MISSING_INPUT",
      "no chat template: the dataset records none (metadata logitpack.chat); pass the template of the extraction",
    );
  }
  return new ChatEncoder({
    tokenizer,
    template,
    skipRules:
      overrides.skipRules !== undefined || base === undefined
        ? parseSkipRules(skipSetting ?? "none", "skipRules")
        : base.skipRules,
    templateKwargs: overrides.templateKwargs ?? base?.metadata().templateKwargs ?? {},
    addSpecialTokens: overrides.addSpecialTokens ?? base?.metadata().addSpecialTokens ?? true,
  });
}

function jsonOrUndefined(v: unknown): string | undefined {
  return v === undefined ? undefined : typeof v === "string" ? v : JSON.stringify(v);
}

/** The input shape a dataset records (metadata `logitpack.input` or settings `input`), if any. */
export function inputShapeOf(metadata: {
  keyValueMetadata: Record<string, string>;
  settings: ExtractionSettings;
}): InputShape | undefined {
  const raw = metadata.keyValueMetadata[INPUT_METADATA_KEY] ?? jsonOrUndefined(metadata.settings["input"]);
  if (raw === undefined) {
    return undefined;
  }
  try {
    return JSON.parse(raw) as InputShape;
  } catch {
    return undefined;
  }
}

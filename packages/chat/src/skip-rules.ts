import { ChatError } from "./errors.js";
import type { ChatTokenizer } from "./tokenizer.js";

/**
 * Which tokens of the assistant mask get no logits ("excluding think tags, end tokens, etc."). Plain JSON data:
 * the extractor stores it in the dataset metadata, and explore replays it with `applySkipRules` to know exactly
 * which masked tokens were skipped. Tokens are named by their text, so the rules are readable and portable;
 * `resolveSkipRules` turns them into ids for one tokenizer (and fails if a name is not a single token).
 */
export interface SkipRules {
  /** Format version of this object. */
  version: 1;
  /** Skip masked tokens whose text is exactly one of these (e.g. `"<think>"`, `"</think>"`, `"<|im_end|>"`). */
  tokens: string[];
  /** Skip every masked added token flagged `special` in tokenizer.json (e.g. `<|im_end|>`, `<|endoftext|>`). */
  specialTokens: boolean;
  /**
   * Skip masked tokens from an `open` token through the matching `close` token, both included (e.g. the whole
   * reasoning block `<think>`...`</think>`). A region also ends where the masked run (the assistant turn) ends.
   */
  regions: { open: string; close: string }[];
  /** Also skip whitespace-only tokens right after a skipped token (e.g. the `"\n\n"` after `</think>`). */
  whitespaceAfterSkipped: boolean;
}

/** Named presets, usable as `--skip-rules NAME`. */
export const SKIP_RULE_PRESETS = {
  /** Keep every token of the assistant mask (transformers' mask as is). */
  none: { version: 1, tokens: [], specialTokens: false, regions: [], whitespaceAfterSkipped: false },
  /** Skip the `<think>` and `</think>` tags, keep the reasoning text. */
  "think-tags": {
    version: 1,
    tokens: ["<think>", "</think>"],
    specialTokens: false,
    regions: [],
    whitespaceAfterSkipped: false,
  },
  /** Skip the think tags and end-of-turn special tokens such as `<|im_end|>` (the Python tool's behaviour). */
  "think-tags-and-end": {
    version: 1,
    tokens: ["<think>", "</think>"],
    specialTokens: true,
    regions: [],
    whitespaceAfterSkipped: false,
  },
  /** Skip the whole reasoning block, tags and the whitespace after `</think>` included: logits for the answer only. */
  "no-reasoning": {
    version: 1,
    tokens: [],
    specialTokens: false,
    regions: [{ open: "<think>", close: "</think>" }],
    whitespaceAfterSkipped: true,
  },
} as const satisfies Record<string, SkipRules>;

export type SkipRulePreset = keyof typeof SKIP_RULE_PRESETS;

/** A fresh copy of a preset. */
export function skipRulesPreset(name: SkipRulePreset): SkipRules {
  const p = SKIP_RULE_PRESETS[name];
  return {
    version: 1,
    tokens: [...p.tokens],
    specialTokens: p.specialTokens,
    regions: p.regions.map((r) => ({ ...r })),
    whitespaceAfterSkipped: p.whitespaceAfterSkipped,
  };
}

/**
 * Validates skip rules from JSON (a metadata field or a flag value): a preset name, a JSON string or an object.
 * Missing fields take the `none` defaults. Throws `INVALID_SKIP_RULES` naming `flag` when given.
 */
export function parseSkipRules(value: unknown, flag = "--skip-rules"): SkipRules {
  let v = value;
  if (typeof v === "string") {
    if (Object.hasOwn(SKIP_RULE_PRESETS, v)) {
      return skipRulesPreset(v as SkipRulePreset);
    }
    try {
      v = JSON.parse(v);
    } catch (error) {
      throw new ChatError(
        "INVALID_SKIP_RULES",
        `not a preset (${Object.keys(SKIP_RULE_PRESETS).join(", ")}) and not valid JSON: ${(error as Error).message}`,
        { flag },
      );
    }
  }
  const bad = (why: string) => new ChatError("INVALID_SKIP_RULES", why, { flag });
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw bad("skip rules must be a JSON object");
  }
  const o = v as Record<string, unknown>;
  const known = new Set(["version", "tokens", "specialTokens", "regions", "whitespaceAfterSkipped"]);
  for (const k of Object.keys(o)) {
    if (!known.has(k)) {
      throw bad(`unknown field "${k}" (known: ${[...known].join(", ")})`);
    }
  }
  if (o.version !== undefined && o.version !== 1) {
    throw bad(`unsupported version ${JSON.stringify(o.version)} (this reader knows version 1)`);
  }
  const tokens = o.tokens ?? [];
  if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === "string" && t.length > 0)) {
    throw bad('"tokens" must be a list of non-empty strings');
  }
  const regions = o.regions ?? [];
  if (
    !Array.isArray(regions) ||
    !regions.every(
      (r) =>
        typeof r === "object" &&
        r !== null &&
        typeof (r as Record<string, unknown>).open === "string" &&
        typeof (r as Record<string, unknown>).close === "string",
    )
  ) {
    throw bad('"regions" must be a list of {"open": string, "close": string}');
  }
  for (const key of ["specialTokens", "whitespaceAfterSkipped"] as const) {
    if (o[key] !== undefined && typeof o[key] !== "boolean") {
      throw bad(`"${key}" must be true or false`);
    }
  }
  return {
    version: 1,
    tokens: [...(tokens as string[])],
    specialTokens: o.specialTokens === true,
    regions: (regions as { open: string; close: string }[]).map((r) => ({ open: r.open, close: r.close })),
    whitespaceAfterSkipped: o.whitespaceAfterSkipped === true,
  };
}

/** Skip rules bound to one tokenizer's ids. */
export interface ResolvedSkipRules {
  readonly rules: SkipRules;
  /** 1 for ids skipped wherever they are masked (listed tokens and, with `specialTokens`, every special). */
  readonly skipId: Uint8Array;
  /** Region open id -> close id. */
  readonly regions: ReadonlyMap<number, number>;
  /** 1 for ids whose text is whitespace only (used by `whitespaceAfterSkipped`). */
  readonly whitespaceId: Uint8Array | undefined;
  /** True when nothing is ever skipped (the mask is used as is). */
  readonly empty: boolean;
}

/** Binds rules to a tokenizer. Throws `INVALID_SKIP_RULES` when a named token is not a single token. */
export function resolveSkipRules(rules: SkipRules, tokenizer: ChatTokenizer): ResolvedSkipRules {
  const skipId = new Uint8Array(tokenizer.vocabSize);
  const idOf = (text: string): number => {
    const id = tokenizer.tokenId(text);
    if (id === undefined) {
      throw new ChatError(
        "INVALID_SKIP_RULES",
        `skip rule token ${JSON.stringify(text)} is not a single token of tokenizer ${tokenizer.name}`,
      );
    }
    return id;
  };
  for (const t of rules.tokens) {
    skipId[idOf(t)] = 1;
  }
  if (rules.specialTokens) {
    for (let id = 0; id < tokenizer.vocabSize; id++) {
      if (tokenizer.isSpecial(id)) {
        skipId[id] = 1;
      }
    }
  }
  const regions = new Map<number, number>();
  for (const r of rules.regions) {
    regions.set(idOf(r.open), idOf(r.close));
  }
  let whitespaceId: Uint8Array | undefined;
  if (rules.whitespaceAfterSkipped) {
    whitespaceId = new Uint8Array(tokenizer.vocabSize);
    for (let id = 0; id < tokenizer.vocabSize; id++) {
      if (tokenizer.isAdded(id)) {
        continue;
      }
      const text = tokenizer.tokenText(id);
      if (text.length > 0 && /^[ \t\n\r\f\v]+$/.test(text)) {
        whitespaceId[id] = 1;
      }
    }
  }
  const empty = rules.tokens.length === 0 && !rules.specialTokens && rules.regions.length === 0;
  return { rules, skipId, regions, whitespaceId, empty };
}

/**
 * The tokens that get logits: `assistantMask` minus the skipped tokens. The same function is used at extraction
 * and by explore, so both agree on which masked tokens were skipped. Writes into `out` (1 = extracted).
 */
export function applySkipRules(
  ids: ArrayLike<number>,
  assistantMask: Uint8Array,
  rules: ResolvedSkipRules,
  out: Uint8Array = new Uint8Array(ids.length),
): Uint8Array {
  const n = ids.length;
  if (rules.empty) {
    out.set(assistantMask.subarray(0, n));
    return out;
  }
  let regionClose = -1;
  let prevSkipped = false;
  for (let i = 0; i < n; i++) {
    if (assistantMask[i] === 0) {
      out[i] = 0;
      regionClose = -1;
      prevSkipped = false;
      continue;
    }
    const id = ids[i] as number;
    let skip = false;
    if (regionClose >= 0) {
      skip = true;
      if (id === regionClose) {
        regionClose = -1;
      }
    } else {
      const close = rules.regions.get(id);
      if (close !== undefined) {
        regionClose = close;
        skip = true;
      } else if (rules.skipId[id] === 1) {
        skip = true;
      } else if (prevSkipped && rules.whitespaceId !== undefined && rules.whitespaceId[id] === 1) {
        skip = true;
      }
    }
    out[i] = skip ? 0 : 1;
    prevSkipped = skip;
  }
  return out;
}

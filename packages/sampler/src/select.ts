import { SamplerError } from "./errors.js";
import { hashString, seededRandom, shuffleInPlace } from "./random.js";

/** `--sample-subject`: subject -> how many examples at most; `"*"` is the default for unlisted subjects. */
export type SubjectQuota = Readonly<Record<string, number>>;

/**
 * Parses a `--sample-subject` value (`{"*": 50000, "physics": 1000}`). Counts must be integers >= 0. Malformed
 * JSON or values are `INVALID_FLAG` naming the flag.
 */
export function parseSampleSubject(value: string | Record<string, unknown>, flag = "--sample-subject"): SubjectQuota {
  let v: unknown = value;
  if (typeof value === "string") {
    try {
      v = JSON.parse(value);
    } catch (error) {
      throw new SamplerError(
        "INVALID_FLAG",
        `not valid JSON (${(error as Error).message}); expected an object like {"*": 50000, "physics": 1000}`,
        { flag },
      );
    }
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new SamplerError("INVALID_FLAG", 'expected a JSON object like {"*": 50000, "physics": 1000}', { flag });
  }
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(v)) {
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
      throw new SamplerError("INVALID_FLAG", `count for "${k}" must be an integer >= 0, got ${JSON.stringify(n)}`, {
        flag,
      });
    }
    out[k] = n;
  }
  return out;
}

/** What selection needs per example, in dataset order (parallel arrays). */
export interface ExampleTable {
  /** Dataset index of each example. */
  index: Int32Array;
  /** Token length, when known (precomputed or computed). */
  length?: Int32Array;
  /** Tokens that get logits, when known: 0 marks an empty response. */
  extractTokens?: Int32Array;
  /** 1 where the response is empty (used when `extractTokens` is unknown). */
  empty?: Uint8Array;
  /** Subject id per example, into `subjects`. */
  subject?: Int32Array;
  subjects?: readonly string[];
}

export interface SelectOptions {
  /** Skip examples longer than this many tokens (`--max-seq-len`); needs lengths. */
  maxSeqLen?: number;
  /** Skip examples with an empty response (0 tokens that get logits). Default true. */
  dropEmpty?: boolean;
  /** Per-subject caps (`--sample-subject`); needs `subject`. */
  sampleSubject?: SubjectQuota;
  /** Sample at random (with `seed`) instead of taking the first N (`--random-sample`). */
  randomSample?: boolean;
  /** Seed of `randomSample` (default 0). */
  seed?: number;
  /** At most this many examples in all (`--limit`). */
  limit?: number;
  /** Every example that passes the filters: no subject caps, no limit (`--full-dataset`). */
  fullDataset?: boolean;
}

export interface SelectionStats {
  total: number;
  skippedTooLong: number;
  skippedEmpty: number;
  /** Examples without a length (length -1: invalid rows, or missing from precomputed lengths). */
  skippedNoLength: number;
  /** Examples left out by subject caps or the limit. */
  notSampled: number;
  selected: number;
  /** Selected examples per subject (when a subject column was given). */
  perSubject?: Record<string, number>;
}

export interface Selection {
  /** Dataset indices of the selected examples, ascending. */
  index: Int32Array;
  /** Their lengths, when known. */
  length?: Int32Array;
  stats: SelectionStats;
}

/**
 * Filters and samples examples: first the filters (`maxSeqLen`, empty responses; counted), then per-subject caps,
 * then the limit; random choices come from `seed` only, so the same inputs and options give the same selection.
 */
export function selectExamples(table: ExampleTable, options: SelectOptions = {}): Selection {
  const n = table.index.length;
  const dropEmpty = options.dropEmpty ?? true;
  if (options.maxSeqLen !== undefined && table.length === undefined) {
    throw new SamplerError("INVALID_FLAG", "needs token lengths (compute them or pass --tokenized-dataset)", {
      flag: "--max-seq-len",
    });
  }
  if (options.sampleSubject !== undefined && !options.fullDataset && table.subject === undefined) {
    throw new SamplerError("INVALID_FLAG", "needs --subject-col", { flag: "--sample-subject" });
  }
  let skippedTooLong = 0;
  let skippedEmpty = 0;
  let skippedNoLength = 0;
  const pass: number[] = [];
  for (let i = 0; i < n; i++) {
    const len = table.length?.[i];
    if (len === -1) {
      skippedNoLength++;
      continue;
    }
    if (options.maxSeqLen !== undefined && len !== undefined && len > options.maxSeqLen) {
      skippedTooLong++;
      continue;
    }
    if (dropEmpty) {
      const empty =
        table.extractTokens !== undefined
          ? table.extractTokens[i] === 0
          : table.empty !== undefined && table.empty[i] === 1;
      if (empty) {
        skippedEmpty++;
        continue;
      }
    }
    pass.push(i);
  }
  const random = seededRandom(options.seed ?? 0);
  let chosen: Int32Array = Int32Array.from(pass);
  let perSubject: Record<string, number> | undefined;
  if (!options.fullDataset && options.sampleSubject !== undefined && table.subject !== undefined) {
    const subjects = table.subjects ?? [];
    const groups = new Map<number, number[]>();
    for (const i of chosen) {
      const s = table.subject[i] as number;
      let g = groups.get(s);
      if (g === undefined) {
        g = [];
        groups.set(s, g);
      }
      g.push(i);
    }
    const quota = options.sampleSubject;
    const parts: Int32Array[] = [];
    perSubject = {};
    const ids = [...groups.keys()].sort((a, b) => compare(subjects[a] ?? "", subjects[b] ?? ""));
    for (const s of ids) {
      const name = subjects[s] ?? String(s);
      const members = Int32Array.from(groups.get(s) ?? []);
      const cap = quota[name] ?? quota["*"] ?? members.length;
      if (options.randomSample) {
        shuffleInPlace(members, seededRandom(((options.seed ?? 0) ^ hashString(name)) >>> 0));
      }
      const take = members.subarray(0, Math.min(cap, members.length));
      parts.push(take);
      perSubject[name] = take.length;
    }
    chosen = concatSorted(parts);
  } else if (table.subject !== undefined && table.subjects !== undefined) {
    perSubject = {};
  }
  if (!options.fullDataset && options.limit !== undefined && chosen.length > options.limit) {
    if (options.randomSample) {
      const copy = chosen.slice();
      shuffleInPlace(copy, random);
      chosen = copy.subarray(0, options.limit).slice().sort();
    } else {
      chosen = chosen.slice(0, options.limit);
    }
  }
  if (perSubject !== undefined && table.subject !== undefined && table.subjects !== undefined) {
    perSubject = {};
    for (const i of chosen) {
      const name = table.subjects[table.subject[i] as number] ?? "";
      perSubject[name] = (perSubject[name] ?? 0) + 1;
    }
  }
  const index = Int32Array.from(chosen, (i) => table.index[i] as number);
  const stats: SelectionStats = {
    total: n,
    skippedTooLong,
    skippedEmpty,
    skippedNoLength,
    notSampled: pass.length - chosen.length,
    selected: chosen.length,
  };
  if (perSubject !== undefined) {
    stats.perSubject = perSubject;
  }
  const out: Selection = { index, stats };
  if (table.length !== undefined) {
    const lengths = table.length;
    out.length = Int32Array.from(chosen, (i) => lengths[i] as number);
  }
  return out;
}

function concatSorted(parts: Int32Array[]): Int32Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Int32Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out.sort();
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

import type { ExtractionSettings } from "@logitpack/codec";
import { IndexSet } from "./index-set.js";
import { checkShard, type ShardProblem } from "./integrity.js";
import { mapLimit, scanIndices } from "./scan.js";
import { canonicalJson } from "./settings.js";
import type { Sink } from "./sink.js";

export interface VerifyOptions {
  sink: Sink;
  /** Indices `[0, expectedCount)` should all be present (gaps are reported against it). */
  expectedCount?: number;
  /** Which of those indices are expected (e.g. one writer's part of a split run); default all. */
  expected?: (index: number) => boolean;
  /** Files read at once (default 8). */
  concurrency?: number;
  /**
   * Decode every row and check content hashes, indices and ids (default true). False reads only the `index` column
   * (range reads: duplicates, gaps and settings only; `problems` stays empty).
   */
  decodeRows?: boolean;
  /** Report at most this many duplicated indices in detail (default 1000). */
  maxDuplicates?: number;
}

export interface VerifyReport {
  files: number;
  rows: number;
  /** Distinct indices. */
  unique: number;
  /** Indices stored more than once, with the files holding them. */
  duplicates: { index: number; files: string[] }[];
  /** Rows beyond the first of each index. */
  duplicateRows: number;
  /** Missing `[start, end)` ranges of expected indices (empty without `expectedCount`). */
  gaps: [number, number][];
  missing: number;
  /** Distinct settings found in the shards (more than one means mixed runs). */
  settings: ExtractionSettings[];
  /**
   * Every problem found, in shard order, each naming its shard: bytes that do not match the hash in the name, rows
   * that cannot be decoded, negative or misplaced indices, token ids outside [0, vocabulary width). At most one of
   * each kind per shard. Rows of a shard that cannot be decoded are not counted (they show up as missing).
   */
  problems: ShardProblem[];
  ok: boolean;
}

/**
 * Check a dataset: every row of every shard is decoded and checked (content hash against the shard's name, the
 * codec's structural checks, index >= 0 and within the name's range, token ids below the vocabulary width the
 * settings record: `logitsWidth`, else `vocabSize`, else 2^18); duplicates and gaps are reported.
 */
export async function verifyDataset(options: VerifyOptions): Promise<VerifyReport> {
  const files = await options.sink.list();
  const checked =
    options.decodeRows === false
      ? (await scanIndices(options.sink, files, options.concurrency ?? 8)).map((x) => ({ ...x, problems: [] }))
      : await mapLimit(files, options.concurrency ?? 8, (file) => checkShard(options.sink, file));
  const problems = checked.flatMap((c) => c.problems);
  const scanned = checked.map((c) => ({ file: c.file, settings: c.settings, indices: c.indices ?? new Int32Array(0) }));
  const seen = new IndexSet();
  let owner = new Int32Array(1024).fill(-1);
  const dupFiles = new Map<number, Set<number>>();
  let rows = 0;
  let duplicateRows = 0;
  const settings = new Map<string, ExtractionSettings>();
  scanned.forEach((s, f) => {
    if (checked[f]?.indices) {
      settings.set(canonicalJson(s.settings), s.settings);
    }
    const idx = s.indices;
    rows += idx.length;
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k] as number;
      if (i >= owner.length) {
        let n = owner.length * 2;
        while (n <= i) {
          n *= 2;
        }
        const next = new Int32Array(n).fill(-1);
        next.set(owner);
        owner = next;
      }
      if (seen.add(i)) {
        owner[i] = f;
      } else {
        duplicateRows++;
        let holders = dupFiles.get(i);
        if (!holders) {
          holders = new Set([owner[i] as number]);
          dupFiles.set(i, holders);
        }
        holders.add(f);
      }
    }
  });
  const max = options.maxDuplicates ?? 1000;
  const duplicates = [...dupFiles]
    .sort(([a], [b]) => a - b)
    .slice(0, max)
    .map(([index, holders]) => ({
      index,
      files: [...holders].map((f) => (scanned[f] as { file: { path: string } }).file.path),
    }));
  const gaps = options.expectedCount !== undefined ? seen.gaps(options.expectedCount, options.expected) : [];
  let missing = 0;
  for (const [a, b] of gaps) {
    for (let i = a; i < b; i++) {
      if (options.expected?.(i) ?? true) {
        missing++;
      }
    }
  }
  return {
    files: files.length,
    rows,
    unique: seen.size,
    duplicates,
    duplicateRows,
    gaps,
    missing,
    settings: [...settings.values()],
    problems,
    ok: duplicateRows === 0 && missing === 0 && settings.size <= 1 && problems.length === 0,
  };
}

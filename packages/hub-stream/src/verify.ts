import type { ExtractionSettings } from "@logitpack/codec";
import { IndexSet } from "./index-set.js";
import { scanIndices } from "./scan.js";
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
  ok: boolean;
}

/** Check a dataset: every shard's index column is read (range reads); duplicates and gaps are reported. */
export async function verifyDataset(options: VerifyOptions): Promise<VerifyReport> {
  const files = await options.sink.list();
  const scanned = await scanIndices(options.sink, files, options.concurrency ?? 8);
  const seen = new IndexSet();
  let owner = new Int32Array(1024).fill(-1);
  const dupFiles = new Map<number, Set<number>>();
  let rows = 0;
  let duplicateRows = 0;
  const settings = new Map<string, ExtractionSettings>();
  scanned.forEach((s, f) => {
    settings.set(canonicalJson(s.settings), s.settings);
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
    ok: duplicateRows === 0 && missing === 0 && settings.size <= 1,
  };
}

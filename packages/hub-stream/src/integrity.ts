import { createHash } from "node:crypto";
import {
  CodecError,
  type ExtractionSettings,
  type LogitBatch,
  type LogitFile,
  MAX_VOCAB,
  META_KEYS,
  type SparseLogits,
} from "@logitpack/codec";
import { HubStreamError } from "./errors.js";
import { parseShardFileName } from "./names.js";
import { openSinkFile } from "./scan.js";
import type { Sink, SinkFile } from "./sink.js";

/** What is wrong with a shard. */
export type ShardProblemKind =
  /** The bytes do not hash to the sha256 prefix in the shard's name: changed after it was written. */
  | "content"
  /** It cannot be decoded (truncated, bad footer, bad page, inconsistent row). */
  | "decode"
  /** An `index` value is negative or outside the range its name records. */
  | "index"
  /** A token id is outside [0, vocabulary width). */
  | "ids"
  /** Every row of it is in other shards too (a copy). */
  | "duplicate";

export interface ShardProblem {
  /** Path in the sink (`data/...parquet`). */
  path: string;
  kind: ShardProblemKind;
  /** One line: what is wrong, where (row, column) when known. */
  message: string;
}

/**
 * The teacher's logits width recorded in the settings (`logitsWidth`, else `vocabSize`): every stored token id must
 * be below it. Without one, the format's limit (2^18).
 */
export function vocabularyWidth(settings: ExtractionSettings): number {
  for (const key of ["logitsWidth", "vocabSize"]) {
    const v = settings[key];
    if (typeof v === "number" && Number.isInteger(v) && v > 0 && v <= MAX_VOCAB) {
      return v;
    }
  }
  return MAX_VOCAB;
}

/** sha256 (hex) of a sink file, read in 8 MiB slices (range reads on the Hub). */
export async function hashSinkFile(sink: Sink, file: SinkFile): Promise<string> {
  const src = await sink.source(file);
  const h = createHash("sha256");
  const step = 8 * 1024 * 1024;
  for (let at = 0; at < src.byteLength; at += step) {
    h.update(new Uint8Array(await src.slice(at, Math.min(src.byteLength, at + step))));
  }
  return h.digest("hex");
}

/**
 * Does the file hold the bytes its name was made from? Shard names carry the first 16 hex digits of the sha256 of
 * the bytes written: a Hub listing gives the LFS sha256 for free; a folder's file is hashed. `undefined` for names
 * that carry no hash (not written by logitpack).
 */
export async function contentMatchesName(sink: Sink, file: SinkFile): Promise<boolean | undefined> {
  const name = parseShardFileName(file.path);
  if (!name) {
    return undefined;
  }
  const sha = file.sha256 ?? (await hashSinkFile(sink, file));
  return sha.startsWith(name.hash);
}

/** Whether a thrown error says the bytes are broken (as opposed to a network or permission failure). */
export function isDataError(error: unknown): boolean {
  let data = false;
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (
      typeof (e as NodeJS.ErrnoException).code === "string" &&
      /^E[A-Z]+$/.test((e as NodeJS.ErrnoException).code as string)
    ) {
      return false; // a file-system failure (gone, no permission): not the bytes' fault
    }
    if (e instanceof CodecError) {
      data = true;
    }
  }
  return data;
}

function idsProblem(part: SparseLogits, vocab: number): { at: number; id: number } | undefined {
  const ids = part.ids;
  for (let j = 0; j < ids.length; j++) {
    const id = ids[j] as number;
    if (id < 0 || id >= vocab) {
      return { at: j, id };
    }
  }
  return undefined;
}

function rowOfEntry(part: SparseLogits, rowOffsets: Int32Array, entry: number): number {
  let pos = 0;
  while (pos + 1 < part.offsets.length && (part.offsets[pos + 1] as number) <= entry) {
    pos++;
  }
  let r = 0;
  while (r + 1 < rowOffsets.length && (rowOffsets[r + 1] as number) <= pos) {
    r++;
  }
  return r;
}

/** Check one decoded batch: index >= 0 (and within [first, last] when given), ids in [0, vocab). */
export function checkBatch(
  batch: LogitBatch,
  vocab: number,
  range?: { first: number; last: number },
): { kind: "index" | "ids"; message: string } | undefined {
  for (let r = 0; r < batch.numRows; r++) {
    const index = batch.index[r] as number;
    if (index < 0 || (range && (index < range.first || index > range.last))) {
      return {
        kind: "index",
        message: `row ${batch.firstRow + r}: index ${index} is ${index < 0 ? "negative" : `outside ${range?.first}..${range?.last} (the range in its name)`}`,
      };
    }
  }
  const parts: [string, SparseLogits][] =
    batch.layout === "importance"
      ? [["drawn", batch.drawn]]
      : [
          ["top", batch.top],
          ["sampled", batch.sampled],
        ];
  for (const [label, part] of parts) {
    const bad = idsProblem(part, vocab);
    if (bad) {
      const r = rowOfEntry(part, batch.rowOffsets, bad.at);
      return {
        kind: "ids",
        message: `row ${batch.firstRow + r}: ${label} token id ${bad.id} is outside [0, ${vocab}) (the vocabulary width)`,
      };
    }
  }
  return undefined;
}

/** What a full read of a shard found. */
export interface ShardCheck {
  file: SinkFile;
  /** Dataset indices of its rows (undefined when it could not be read). */
  indices?: Int32Array;
  settings: ExtractionSettings;
  /** Whether the file records its settings (files written by the Python tool do not). */
  recorded: boolean;
  /** Rows decoded. */
  rows: number;
  problems: ShardProblem[];
}

/**
 * Read a shard completely: the content hash against its name, every row decoded (the codec checks counts, offsets
 * and list lengths), every index and token id checked. Problems are collected, not thrown; network and permission
 * failures are thrown (a shard that cannot be fetched is not a broken shard).
 */
export async function checkShard(
  sink: Sink,
  file: SinkFile,
  options: { vocab?: number; hash?: boolean } = {},
): Promise<ShardCheck> {
  const out: ShardCheck = { file, settings: {}, recorded: false, rows: 0, problems: [] };
  const problem = (kind: ShardProblemKind, message: string) => out.problems.push({ path: file.path, kind, message });
  if (options.hash !== false) {
    const matches = await contentMatchesName(sink, file);
    if (matches === false) {
      problem("content", "its bytes do not match the sha256 in its name (changed after it was written)");
    }
  }
  let lf: LogitFile;
  try {
    lf = await openSinkFile(sink, file);
  } catch (error) {
    if (!isDataError(error)) {
      throw error;
    }
    problem("decode", oneLine(error));
    return out;
  }
  out.settings = lf.info.settings;
  out.recorded = META_KEYS.settings in lf.info.keyValueMetadata;
  const vocab = options.vocab ?? vocabularyWidth(lf.info.settings);
  const name = parseShardFileName(file.path);
  const indices = new Int32Array(lf.numRows);
  let idsReported = false;
  let indexReported = false;
  try {
    for await (const batch of lf.batches()) {
      indices.set(batch.index, batch.firstRow);
      out.rows += batch.numRows;
      const bad = checkBatch(batch, vocab, name);
      if (bad && !(bad.kind === "ids" ? idsReported : indexReported)) {
        problem(bad.kind, bad.message);
        if (bad.kind === "ids") {
          idsReported = true;
        } else {
          indexReported = true;
        }
      }
    }
  } catch (error) {
    if (!isDataError(error)) {
      throw error;
    }
    problem(kindOf(error), oneLine(error));
    return out;
  }
  out.indices = indices;
  return out;
}

/** The kind of a decoding failure: the codec's own range checks of ids and indices keep their kind. */
function kindOf(error: unknown): ShardProblemKind {
  const e = error instanceof CodecError ? error : (error as Error)?.cause;
  if (e instanceof CodecError && e.code === "INVALID_VALUE") {
    if (/\bid -?\d+ is outside/.test(e.message)) {
      return "ids";
    }
    if (e.column === "index") {
      return "index";
    }
  }
  return "decode";
}

/** An error's message on one line, without the library prefixes and the file name repeated. */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message
    .replace(/\[(?:hub-stream|codec)\] /g, "")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 300);
}

/** A HubStreamError refusing to go on because of broken shards, naming them. */
export function brokenShardsError(problems: ShardProblem[], what: string): HubStreamError {
  const first = problems[0] as ShardProblem;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : "";
  return new HubStreamError("CORRUPT_SHARD", `${what}: ${first.path}: ${first.message}${more}`, { path: first.path });
}

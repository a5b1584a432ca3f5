import { HubStreamError } from "./errors.js";

/** This writer's part of a split run: `--shard i/N` (i in 0..N-1). */
export interface ShardSpec {
  index: number;
  count: number;
}

/** Folder of the shards in a sink. */
export const DATA_DIR = "data";

/** Folder that broken or duplicate shards are moved into (beside `data/` in a folder, in the cache for the Hub). */
export const QUARANTINE_DIR = "quarantine";

/** Parse "i/N" (as given to `--shard`). */
export function parseShardSpec(text: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const spec = m ? { index: Number(m[1]), count: Number(m[2]) } : undefined;
  if (!spec || !(spec.count >= 1 && spec.index < spec.count)) {
    throw new HubStreamError("INVALID_ARGUMENT", `--shard "${text}" must be i/N with 0 <= i < N`);
  }
  return spec;
}

/** What a shard's name says about it. */
export interface ShardName {
  /** Path in the sink, `data/...parquet`. */
  path: string;
  shard: ShardSpec;
  /** Smallest and largest dataset index in the shard. */
  first: number;
  last: number;
  /** First 16 hex digits of the sha256 of the file's bytes. */
  hash: string;
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");

/**
 * The deterministic name of a shard: `data/train-s{i}of{N}-{first}-{last}-{hash}.parquet`, from the writer's shard,
 * the index range and a hash of the bytes. The same rows written into the same file always get the same name, so
 * uploading a shard again (after a crash between the upload and the checkpoint) replaces it instead of adding
 * duplicate rows; writers of different `--shard` parts never produce the same name.
 */
export function shardFileName(shard: ShardSpec, first: number, last: number, sha256Hex: string): string {
  return `${DATA_DIR}/train-s${pad(shard.index, 3)}of${pad(shard.count, 3)}-${pad(first, 9)}-${pad(last, 9)}-${sha256Hex.slice(0, 16)}.parquet`;
}

const NAME_RE = /(?:^|\/)train-s(\d+)of(\d+)-(\d+)-(\d+)-([0-9a-f]{16})\.parquet$/;

/** Parse a shard name written by `shardFileName`; undefined for other files. */
export function parseShardFileName(path: string): ShardName | undefined {
  const m = NAME_RE.exec(path);
  if (!m) {
    return undefined;
  }
  return {
    path,
    shard: { index: Number(m[1]), count: Number(m[2]) },
    first: Number(m[3]),
    last: Number(m[4]),
    hash: m[5] as string,
  };
}

/** Whether a sink path is a data shard (any Parquet file under data/). */
export function isShardPath(path: string): boolean {
  return path.startsWith(`${DATA_DIR}/`) && path.endsWith(".parquet");
}

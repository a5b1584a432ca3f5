import type { ByteSource } from "@logitpack/codec";

/** A file of a sink. */
export interface SinkFile {
  /** Path inside the sink, e.g. `data/train-s000of001-...parquet`. */
  path: string;
  size: number;
  /** sha256 of the content, when the sink knows it without reading the file (Hub LFS files). */
  sha256?: string;
}

/** What happened while putting a file (for progress events). */
export interface PutResult {
  /** False when the sink already held the same bytes at that path (a retried or repeated upload). */
  written: boolean;
}

/**
 * Where shards go: a local folder or a Hub dataset repo. Every `put` is atomic (a reader sees the whole file or no
 * file) and idempotent (putting the same bytes at the same path again changes nothing).
 */
export interface Sink {
  readonly kind: "folder" | "hub";
  /** Where the data goes, for messages and the checkpoint: a folder path, or `datasets/ns/name@rev` on a Hub. Never a token. */
  readonly location: string;
  /** Create the folder or the repo if missing; check that we may write. */
  prepare(): Promise<void>;
  /** Shards (Parquet files under `data/`), sorted by path. Empty when the folder or repo does not exist yet. */
  list(): Promise<SinkFile[]>;
  /** A byte source for range reads of a file. */
  source(file: SinkFile): Promise<ByteSource>;
  /** Store a file atomically. */
  put(path: string, bytes: Uint8Array, message?: string): Promise<PutResult>;
  /** Remove files (missing ones are ignored). */
  remove(paths: string[], message?: string): Promise<void>;
  /**
   * Move a broken or duplicate shard out of the dataset without deleting it (a folder: into `quarantine/` beside
   * `data/`). Returns where it went, relative to the sink. Sinks without it (the Hub) get the generic treatment: a
   * copy kept in the local cache's `quarantine/`, then `remove`.
   */
  moveAside?(path: string): Promise<string>;
  /** A small text file (README.md), or undefined if it does not exist. */
  readText(path: string): Promise<string | undefined>;
}

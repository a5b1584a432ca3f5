import { type ExtractionSettings, type LogitFile, META_KEYS, openLogitFile } from "@logitpack/codec";
import { HubStreamError } from "./errors.js";
import type { Sink, SinkFile } from "./sink.js";

/** Run `fn` over `items` with at most `limit` at once; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** What a scan learnt about one file. */
export interface ScannedFile {
  file: SinkFile;
  indices: Int32Array;
  settings: ExtractionSettings;
  /** Whether the file records its settings (files written by the Python tool do not). */
  recorded: boolean;
}

/** Open a sink file for reading. */
export async function openSinkFile(sink: Sink, file: SinkFile): Promise<LogitFile> {
  try {
    return await openLogitFile(await sink.source(file), { name: file.path });
  } catch (error) {
    if (error instanceof HubStreamError) {
      throw error;
    }
    throw new HubStreamError(
      "READ_FAILED",
      `cannot read ${file.path} of ${sink.location}: ${(error as Error).message}`,
      { path: file.path },
      { cause: error },
    );
  }
}

/**
 * Read the `index` column (and the recorded settings) of sink files, with range reads: the footer and the index
 * column chunks, nothing else. `concurrency` files at once (default 8).
 */
export async function scanIndices(sink: Sink, files: readonly SinkFile[], concurrency = 8): Promise<ScannedFile[]> {
  return mapLimit(files, concurrency, async (file) => {
    const lf = await openSinkFile(sink, file);
    try {
      return {
        file,
        indices: await lf.readIndices(),
        settings: lf.info.settings,
        recorded: META_KEYS.settings in lf.info.keyValueMetadata,
      };
    } catch (error) {
      throw new HubStreamError(
        "READ_FAILED",
        `cannot read the index column of ${file.path}: ${(error as Error).message}`,
        { path: file.path },
        { cause: error },
      );
    }
  });
}

import { extname } from "node:path";
import { SamplerError } from "./errors.js";
import { type DatasetSource, type HubDatasetProvider, openLocalFiles } from "./sources.js";

/**
 * The two Hub operations a dataset source needs. Shaped like `@logitpack/hub-stream`'s `listRepoFiles` and
 * `downloadToCache` (pass them, with the token bound), so this package needs no Hub client of its own.
 */
export interface HubFileAccess {
  listFiles(options: { repo: string; revision?: string }): Promise<readonly { path: string }[]>;
  /** Downloads one file into the local cache and returns its local path. */
  download(options: { repo: string; revision?: string; path: string }): Promise<string>;
}

const DATA_EXTENSIONS = [".parquet", ".jsonl", ".ndjson", ".json"];

/**
 * A `HubDatasetProvider` over `HubFileAccess`: lists the repo's data files (Parquet preferred when the repo has
 * Parquet files; with `split`, files whose path has a part starting with the split name, as in the Hub layout
 * `data/train-00000-of-00002.parquet`), downloads them into the cache, and reads them as one local dataset.
 */
export function hubDatasetProvider(access: HubFileAccess): HubDatasetProvider {
  return {
    async open(repo: string, options: { split?: string; revision?: string }): Promise<DatasetSource> {
      const ref = options.revision === undefined ? { repo } : { repo, revision: options.revision };
      let files = (await access.listFiles(ref))
        .map((f) => f.path)
        .filter((p) => DATA_EXTENSIONS.includes(extname(p).toLowerCase()))
        .sort();
      if (options.split !== undefined) {
        const split = options.split;
        files = files.filter((p) => p.split("/").some((part) => part.startsWith(split)));
      }
      const parquet = files.filter((p) => p.toLowerCase().endsWith(".parquet"));
      if (parquet.length > 0) {
        files = parquet;
      }
      if (files.length === 0) {
        throw new SamplerError(
          "SOURCE_NOT_FOUND",
          `dataset repo ${repo} has no .parquet/.jsonl/.json files${options.split ? ` for split "${options.split}"` : ""}`,
          { flag: "--dataset" },
        );
      }
      const local: string[] = [];
      for (const path of files) {
        local.push(await access.download({ ...ref, path }));
      }
      return openLocalFiles(local, repo);
    },
  };
}

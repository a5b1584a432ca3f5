import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { resolveDataFiles } from "./data-files.js";
import { SamplerError } from "./errors.js";
import { type DatasetSource, type HubDatasetProvider, openLocalFiles, withDataFiles } from "./sources.js";

/**
 * The two Hub operations a dataset source needs. Shaped like `@logitpack/hub-stream`'s `listRepoFiles` and
 * `downloadToCache` (pass them, with the token bound), so this package needs no Hub client of its own.
 */
export interface HubFileAccess {
  listFiles(options: { repo: string; revision?: string }): Promise<readonly { path: string }[]>;
  /** Downloads one file into the local cache and returns its local path. */
  download(options: { repo: string; revision?: string; path: string }): Promise<string>;
}

export interface HubProviderOptions {
  /**
   * `HF_HUB_OFFLINE`: never ask the Hub; read the dataset from the Hugging Face cache (`cacheDir`) as downloaded
   * before, or fail with a clear message when it is not there. See `hubOfflineFromEnv`.
   */
  offline?: boolean;
  /** The Hugging Face hub cache (`HF_HUB_CACHE`, else `$HF_HOME/hub`); needed when `offline`. */
  cacheDir?: string;
}

/** Whether `HF_HUB_OFFLINE` is set to a true value (`1`, `true`, `yes`, `on`), as huggingface_hub reads it. */
export function hubOfflineFromEnv(env: Readonly<Record<string, string | undefined>>): boolean {
  return /^(1|true|yes|on)$/i.test((env["HF_HUB_OFFLINE"] ?? "").trim());
}

/**
 * A `HubDatasetProvider` over `HubFileAccess`: lists the repo's files, reads its README's `configs` (downloaded
 * first), picks the split's data files by the Hub's conventions (`resolveDataFiles`: `configs`/`data_files`, else
 * split names in paths; default split `train`; Parquet preferred; `dataset_infos.json` is not data), downloads them
 * into the cache and reads them as one local dataset. Offline, the same from the cache's snapshot of the repo.
 */
export function hubDatasetProvider(
  access: HubFileAccess,
  providerOptions: HubProviderOptions = {},
): HubDatasetProvider {
  return {
    async open(repo, options): Promise<DatasetSource> {
      const pick = {
        name: `dataset repo ${repo}`,
        preferParquet: true,
        ...(options.split !== undefined ? { split: options.split } : {}),
        ...(options.config !== undefined ? { config: options.config } : {}),
      };
      if (providerOptions.offline) {
        return openCached(repo, options.revision, providerOptions.cacheDir, pick);
      }
      const ref = options.revision === undefined ? { repo } : { repo, revision: options.revision };
      const paths = (await access.listFiles(ref)).map((f) => f.path);
      const readme = paths.includes("README.md")
        ? readFileSync(await access.download({ ...ref, path: "README.md" }), "utf8")
        : undefined;
      const resolved = resolveDataFiles(paths, readme, pick);
      const local: string[] = [];
      for (const path of resolved.files) {
        local.push(await access.download({ ...ref, path }));
      }
      return withDataFiles(openLocalFiles(local, repo), resolved);
    },
  };
}

/** The cached snapshot of a dataset repo: `{cache}/datasets--{ns}--{name}/snapshots/{commit}` (refs/{revision}). */
function openCached(
  repo: string,
  revision: string | undefined,
  cacheDir: string | undefined,
  pick: { name: string; split?: string; config?: string; preferParquet?: boolean },
): DatasetSource {
  const notCached = (why: string) =>
    new SamplerError(
      "SOURCE_NOT_FOUND",
      `HF_HUB_OFFLINE is set and the dataset ${repo}${revision ? `@${revision}` : ""} is not in the Hugging Face cache${cacheDir ? ` (${cacheDir})` : ""}: ${why}; download it once online, or unset HF_HUB_OFFLINE`,
      { flag: "--dataset" },
    );
  if (cacheDir === undefined) {
    throw notCached("no cache folder given");
  }
  const repoDir = join(cacheDir, `datasets--${repo.split("/").join("--")}`);
  const rev = revision ?? "main";
  let commit: string | undefined;
  const refFile = join(repoDir, "refs", ...rev.split("/"));
  if (existsSync(refFile)) {
    commit = readFileSync(refFile, "utf8").trim();
  } else if (/^[0-9a-f]{40}$/.test(rev) && existsSync(join(repoDir, "snapshots", rev))) {
    commit = rev;
  }
  if (commit === undefined) {
    throw notCached(`no cached revision ${rev}`);
  }
  const snapshot = join(repoDir, "snapshots", commit);
  if (!existsSync(snapshot)) {
    throw notCached(`the snapshot of ${rev} is missing`);
  }
  const paths = listSnapshot(snapshot, "");
  const readme = paths.includes("README.md") ? readFileSync(join(snapshot, "README.md"), "utf8") : undefined;
  const resolved = resolveDataFiles(paths, readme, pick);
  return withDataFiles(
    openLocalFiles(
      resolved.files.map((p) => join(snapshot, ...p.split("/"))),
      repo,
    ),
    resolved,
  );
}

/** Relative paths of the files in a snapshot (entries are symlinks to blobs: followed). */
function listSnapshot(dir: string, prefix: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      continue; // a dangling link (blob removed): not there
    }
    if (st.isDirectory()) {
      out.push(...listSnapshot(p, `${prefix}${name}/`));
    } else if (st.isFile()) {
      out.push(`${prefix}${name}`);
    }
  }
  return out;
}

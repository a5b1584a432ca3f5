/**
 * Which files of a dataset folder or Hub repo are the data of a split, following the Hub's conventions (what
 * `datasets.load_dataset` does):
 * - the README's YAML `configs` (`config_name`, `data_files` as a pattern, a list, or `{split, path}` entries;
 *   `default: true` marks the default config), else
 * - split names in file and folder names (`train`/`training`, `validation`/`valid`/`dev`/`val`,
 *   `test`/`testing`/`eval`/`evaluation`), else every data file is `train`.
 * Metadata files (`dataset_infos.json`, `dataset_info.json`, `dataset_dict.json`, `state.json`) and hidden files
 * are never data. The default split is `train`; splits are never mixed.
 */
import { parse as parseYaml } from "yaml";
import { SamplerError } from "./errors.js";

export const DATA_EXTENSIONS = [".parquet", ".jsonl", ".ndjson", ".json"];
const METADATA_FILES = new Set(["dataset_infos.json", "dataset_info.json", "dataset_dict.json", "state.json"]);
const SPLIT_KEYWORDS: Record<string, readonly string[]> = {
  train: ["train", "training"],
  validation: ["validation", "valid", "dev", "val"],
  test: ["test", "testing", "eval", "evaluation"],
};

export interface DataFileOptions {
  /** Split to read (default `train`, or the only split there is). */
  split?: string;
  /** Config (subset) of the README's `configs` (default: the one marked `default`, else `default`, else the only one). */
  config?: string;
  /** The flag to name in errors (default `--dataset`). */
  flag?: string;
  /** What to call the dataset in errors. */
  name?: string;
  /**
   * Read only the Parquet files of a split that also has JSON ones (Hub repos often hold raw JSON next to their
   * Parquet conversion). Default false: every data file of the split.
   */
  preferParquet?: boolean;
}

export interface ResolvedDataFiles {
  /** Relative paths (`/`-separated), sorted (with `preferParquet`, Parquet only when the split has some). */
  files: string[];
  split: string;
  /** The config used, when the README declares configs. */
  config?: string;
  /** Every split found (for messages). */
  splits: string[];
  /** How the files were chosen, for the start-of-run report. */
  how: "readme-configs" | "split-names" | "all-files";
}

const ext = (p: string): string => {
  const m = /\.[^./]+$/.exec(p);
  return m ? m[0].toLowerCase() : "";
};

/** Data files among repo-relative paths: data extensions, not metadata, not hidden. */
export function dataFilesOf(paths: readonly string[]): string[] {
  return paths
    .filter((p) => DATA_EXTENSIONS.includes(ext(p)))
    .filter((p) => {
      const parts = p.split("/");
      return !parts.some((x) => x.startsWith(".")) && !METADATA_FILES.has(parts[parts.length - 1] as string);
    })
    .sort();
}

/** A Hub data_files glob as a RegExp: `**` any folders, `*` within a name, `?` one character, `{a,b}` either. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*" && glob[i + 1] === "*") {
      re += glob[i + 2] === "/" ? "(?:.*/)?" : ".*";
      i += glob[i + 2] === "/" ? 2 : 1;
    } else if (c === "*") {
      re += "[^/]*";
    } else if (c === "?") {
      re += "[^/]";
    } else if (c === "{") {
      const end = glob.indexOf("}", i);
      if (end < 0) {
        re += "\\{";
        continue;
      }
      re += `(?:${glob
        .slice(i + 1, end)
        .split(",")
        .map((x) => x.replace(/[.+^$()|[\]\\]/g, "\\$&"))
        .join("|")})`;
      i = end;
    } else {
      re += c.replace(/[.+^$()|[\]\\]/g, "\\$&");
    }
  }
  return new RegExp(`^${re.replace(/^\.\//, "")}$`);
}

export type ReadmeConfig = { config_name?: unknown; data_files?: unknown; default?: unknown; [k: string]: unknown };

/** The `configs` of a dataset card's YAML front matter (undefined when it has none or the YAML does not parse). */
export function readmeConfigs(readme: string | undefined): ReadmeConfig[] | undefined {
  const m = readme === undefined ? null : /^---\r?\n([\s\S]*?)\r?\n---(?:\r?\n|$)/.exec(readme);
  if (!m) {
    return undefined;
  }
  let doc: unknown;
  try {
    doc = parseYaml(m[1] as string);
  } catch {
    return undefined;
  }
  const configs = doc !== null && typeof doc === "object" ? (doc as { configs?: unknown }).configs : undefined;
  if (!Array.isArray(configs)) {
    return undefined;
  }
  return configs.filter((x): x is ReadmeConfig => x !== null && typeof x === "object" && !Array.isArray(x));
}

/** `data_files` of a config as split -> patterns. */
function splitPatterns(dataFiles: unknown): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (split: string, p: unknown) => {
    const list = out.get(split) ?? [];
    out.set(split, list);
    for (const x of Array.isArray(p) ? p : [p]) {
      if (typeof x === "string") {
        list.push(x);
      }
    }
  };
  if (typeof dataFiles === "string") {
    add("train", dataFiles);
  } else if (Array.isArray(dataFiles)) {
    for (const e of dataFiles) {
      if (typeof e === "string") {
        add("train", e);
      } else if (e !== null && typeof e === "object") {
        const o = e as { split?: unknown; path?: unknown };
        add(typeof o.split === "string" ? o.split : "train", o.path);
      }
    }
  } else if (dataFiles !== null && typeof dataFiles === "object") {
    for (const [split, p] of Object.entries(dataFiles)) {
      add(split, p);
    }
  }
  return out;
}

/** The split a file's name or folders say it belongs to, if any. */
function splitOfPath(p: string): string | undefined {
  const parts = p.toLowerCase().split("/");
  const name = (parts.pop() as string).replace(/\.[^.]+$/, "");
  for (const [split, words] of Object.entries(SPLIT_KEYWORDS)) {
    for (const w of words) {
      if (parts.includes(w) || new RegExp(`(^|[-._ 0-9])${w}([-._ 0-9]|$)`).test(name)) {
        return split;
      }
    }
  }
  return undefined;
}

/**
 * The files of one split of a dataset, from its relative file paths and README. Throws `SOURCE_NOT_FOUND` naming
 * the splits or configs there are when the asked one does not exist.
 */
export function resolveDataFiles(
  paths: readonly string[],
  readme: string | undefined,
  options: DataFileOptions = {},
): ResolvedDataFiles {
  const flag = options.flag ?? "--dataset";
  const name = options.name ?? "the dataset";
  const data = dataFilesOf(paths);
  const configs = readmeConfigs(readme);
  let bySplit: Map<string, string[]>;
  let how: ResolvedDataFiles["how"];
  let config: string | undefined;
  if (configs !== undefined && configs.length > 0) {
    const names = configs.map((c) => String(c.config_name ?? "default"));
    let chosen: ReadmeConfig | undefined;
    if (options.config !== undefined) {
      chosen = configs.find((c) => String(c.config_name ?? "default") === options.config);
      if (!chosen) {
        throw new SamplerError(
          "SOURCE_NOT_FOUND",
          `${name} has no config "${options.config}"; its configs are: ${names.join(", ")}`,
          { flag: "--config" },
        );
      }
    } else {
      chosen =
        configs.find((c) => c.default === true) ??
        configs.find((c) => (c.config_name ?? "default") === "default") ??
        (configs.length === 1 ? configs[0] : undefined);
      if (!chosen) {
        throw new SamplerError(
          "SOURCE_NOT_FOUND",
          `${name} has several configs and none is the default: pass --config (one of ${names.join(", ")})`,
          { flag: "--config" },
        );
      }
    }
    config = String(chosen.config_name ?? "default");
    const patterns = splitPatterns(chosen.data_files);
    bySplit = new Map();
    for (const [split, globs] of patterns) {
      const res = globs.map(globToRegExp);
      bySplit.set(
        split,
        data.filter((p) => res.some((re) => re.test(p))),
      );
    }
    how = "readme-configs";
  } else {
    if (options.config !== undefined) {
      throw new SamplerError("SOURCE_NOT_FOUND", `${name} declares no configs in its README; leave out --config`, {
        flag: "--config",
      });
    }
    bySplit = new Map();
    for (const p of data) {
      const s = splitOfPath(p);
      if (s !== undefined) {
        bySplit.set(s, [...(bySplit.get(s) ?? []), p]);
      }
    }
    how = bySplit.size > 0 ? "split-names" : "all-files";
    if (bySplit.size === 0) {
      bySplit.set("train", data);
    }
  }
  const splits = [...bySplit.keys()];
  const split =
    options.split ?? (bySplit.has("train") ? "train" : splits.length === 1 ? (splits[0] as string) : "train");
  const files = bySplit.get(split);
  if (files === undefined) {
    throw new SamplerError(
      "SOURCE_NOT_FOUND",
      `${name} has no split "${split}"${config ? ` in config "${config}"` : ""}; its splits are: ${splits.join(", ") || "(none)"}${options.split === undefined ? " (pass --split)" : ""}`,
      { flag: options.split === undefined ? flag : "--split" },
    );
  }
  const parquet = files.filter((p) => ext(p) === ".parquet");
  const chosen = options.preferParquet && parquet.length > 0 ? parquet : files;
  if (chosen.length === 0) {
    throw new SamplerError(
      "SOURCE_NOT_FOUND",
      `${name} has no .parquet, .jsonl or .json files for split "${split}"${config ? ` of config "${config}"` : ""}`,
      { flag },
    );
  }
  return { files: [...chosen].sort(), split, ...(config !== undefined ? { config } : {}), splits, how };
}

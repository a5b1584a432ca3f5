/**
 * Node-only helpers of `@logitpack/explore`: open datasets from paths, folders, URLs and Hub repos; statistics in
 * worker threads; terminal options from the environment.
 */
import { existsSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, relative, sep } from "node:path";
import { Worker } from "node:worker_threads";
import { type LogitFile, openLogitFile, urlSource } from "@logitpack/codec";
import { openLogitFileAt } from "@logitpack/codec/node";
import { listRepoFiles, openHubLogitFile, resolveFileUrl, resolveToken } from "@logitpack/hub-stream";
import { LogitDataset, type ShardLocator, type ShardRef } from "./dataset.js";
import { ExploreError } from "./errors.js";
import { type AccumulatorState, mergeStates, newState } from "./internal/accumulator.js";
import type { TerminalOptions } from "./render-terminal.js";
import { type DatasetStats, datasetStats, finishStats, type StatsOptions, statsColumns } from "./stats.js";
import type { StatsJob } from "./stats-worker.js";

export interface LoadOptions {
  /** Hub: branch, tag or commit (default main; `repo@rev` in the spec works too). */
  revision?: string;
  /** Hub token (default `HF_TOKEN`, then the token file). */
  token?: string;
  /** Hub endpoint (default `HF_ENDPOINT`, then https://huggingface.co). */
  hubUrl?: string;
  /** HTTP headers for plain URLs. */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
  env?: Record<string, string | undefined>;
  /** Hub: only files under this folder (default: `data/` when the repo has one, else the whole repo). */
  path?: string;
}

/** What `loadLogitDataset` understood its argument to be. */
export type DatasetSpec =
  | { kind: "file"; path: string }
  | { kind: "folder"; path: string }
  | { kind: "url"; url: string }
  | { kind: "hub"; repo: string; revision?: string; path?: string };

/**
 * Parses a dataset argument: an existing local file or folder; an `http(s)://` URL of one Parquet file; a Hub
 * dataset as `hf://datasets/owner/name[@revision][/path]`, `datasets/owner/name` or `owner/name` (when no such local
 * path exists, and it does not start with `.` or end with `.parquet`).
 */
export function parseDatasetSpec(spec: string): DatasetSpec {
  if (/^https?:\/\//i.test(spec)) {
    return { kind: "url", url: spec };
  }
  const hub = /^(?:hf:\/\/)?(?:datasets\/)?([\w.-]+\/[\w.-]+?)(?:@([\w./-]+?))?(?:\/(.+))?$/.exec(spec);
  const explicit = spec.startsWith("hf://") || spec.startsWith("datasets/");
  if (!explicit && existsSync(spec)) {
    return { kind: "file", path: spec };
  }
  const bare = /^[A-Za-z0-9][\w.-]*\/[\w.-]+(@[\w./-]+)?$/.test(spec) && !/\.parquet$/i.test(spec);
  if (hub && (explicit || bare)) {
    const out: DatasetSpec = { kind: "hub", repo: hub[1] as string };
    if (hub[2]) {
      out.revision = hub[2];
    }
    if (hub[3]) {
      out.path = hub[3];
    }
    return out;
  }
  return { kind: "file", path: spec };
}

async function parquetFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith(".")) {
        continue;
      }
      const p = join(d, e.name);
      if (e.isDirectory()) {
        await walk(p);
      } else if (e.name.endsWith(".parquet")) {
        out.push(p);
      }
    }
  };
  await walk(dir);
  return out.sort((a, b) => {
    const ra = relative(dir, a).split(sep).join("/");
    const rb = relative(dir, b).split(sep).join("/");
    return ra < rb ? -1 : ra > rb ? 1 : 0;
  });
}

function fileShard(path: string): ShardRef {
  return { name: path, open: () => openLogitFileAt(path), locator: { kind: "file", path } };
}

/**
 * The seed's `load_logit_dataset`: a logits dataset from a local file or folder (every `.parquet` below it, in path
 * order), a URL (range reads), or a Hub dataset repo (its Parquet files, read by range requests: the footer, then
 * only the row groups asked for). Several arguments make one dataset.
 */
export async function loadLogitDataset(
  spec: string | readonly string[],
  options: LoadOptions = {},
): Promise<LogitDataset> {
  const specs = typeof spec === "string" ? [spec] : spec;
  const shards: ShardRef[] = [];
  for (const s of specs) {
    shards.push(...(await shardsOf(s, options)));
  }
  return LogitDataset.open(shards, { name: specs.join(", ") });
}

async function shardsOf(spec: string, options: LoadOptions): Promise<ShardRef[]> {
  const parsed = parseDatasetSpec(spec);
  switch (parsed.kind) {
    case "url": {
      const headers = options.headers ?? {};
      return [
        {
          name: parsed.url,
          open: async () =>
            openLogitFile(
              await urlSource(parsed.url, { headers, ...(options.fetch ? { fetch: options.fetch } : {}) }),
              {
                name: parsed.url,
              },
            ),
          locator: { kind: "url", url: parsed.url, headers },
        },
      ];
    }
    case "hub":
      return hubShards(parsed, options);
    default: {
      let st: Awaited<ReturnType<typeof stat>>;
      try {
        st = await stat(parsed.path);
      } catch {
        throw new ExploreError("NOT_FOUND", `${parsed.path}: no such file or folder (nor a Hub repo "owner/name")`);
      }
      if (st.isDirectory()) {
        const files = await parquetFilesUnder(parsed.path);
        if (files.length === 0) {
          throw new ExploreError("NOT_FOUND", `${parsed.path}: no .parquet files in this folder`);
        }
        return files.map(fileShard);
      }
      return [fileShard(parsed.path)];
    }
  }
}

async function hubShards(
  spec: { repo: string; revision?: string; path?: string },
  options: LoadOptions,
): Promise<ShardRef[]> {
  const env = options.env ?? process.env;
  const revision = spec.revision ?? options.revision;
  const base = {
    repo: spec.repo,
    env,
    ...(revision ? { revision } : {}),
    ...(options.token ? { token: options.token } : {}),
    ...(options.hubUrl ? { hubUrl: options.hubUrl } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  };
  const files = (await listRepoFiles(base)).filter((f) => f.path.endsWith(".parquet"));
  const under = spec.path ?? options.path;
  let chosen = under
    ? files.filter((f) => f.path === under || f.path.startsWith(`${under.replace(/\/$/, "")}/`))
    : files;
  if (!under && chosen.some((f) => f.path.startsWith("data/"))) {
    chosen = chosen.filter((f) => f.path.startsWith("data/"));
  }
  if (chosen.length === 0) {
    throw new ExploreError("NOT_FOUND", `datasets/${spec.repo}${under ? `/${under}` : ""}: no Parquet files`);
  }
  const token = await resolveToken(options.token, env);
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  return chosen.map((f) => {
    const url = resolveFileUrl({
      repo: spec.repo,
      path: f.path,
      env,
      ...(revision ? { revision } : {}),
      ...(options.hubUrl ? { hubUrl: options.hubUrl } : {}),
    });
    const locator: ShardLocator = { kind: "url", url, headers, byteLength: f.size };
    return {
      name: `datasets/${spec.repo}/${f.path}`,
      open: (): Promise<LogitFile> => openHubLogitFile({ ...base, path: f.path, size: f.size }),
      locator,
    };
  });
}

/** Terminal options from the environment: colour unless `NO_COLOR` (or not a TTY, or `TERM=dumb`), the width. */
export function terminalOptions(
  stream: { isTTY?: boolean; columns?: number } = process.stdout,
  env: Record<string, string | undefined> = process.env,
): TerminalOptions {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== "";
  const force = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0";
  const color = !noColor && (force || (stream.isTTY === true && env.TERM !== "dumb"));
  const fromEnv = Number(env.COLUMNS);
  const width = stream.columns ?? (Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 80);
  return { color, width: Math.max(20, width) };
}

export interface ParallelStatsOptions extends StatsOptions {
  /**
   * Worker threads. Default: the available cores (at most 8) for datasets of at least `MIN_PARALLEL_ROW_GROUPS` row
   * groups, else this thread only (starting a worker costs about 170 ms, and the column path already counts
   * millions of tokens per second on one core). 1 or fewer runs on this thread.
   */
  workers?: number;
}

/** Row groups (8 MiB each by default) from which worker threads are used by default. */
export const MIN_PARALLEL_ROW_GROUPS = 32;

/** The worker entry beside this module: `.js` once built, `.ts` when run from source (tests, tsx). */
function workerUrl(): URL {
  const here = import.meta.url;
  return new URL(here.endsWith(".ts") ? "./stats-worker.ts" : "./stats-worker.js", here);
}

function startWorker(): Worker {
  const url = workerUrl();
  if (url.href.endsWith(".ts")) {
    const boot = `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); });`;
    return new Worker(boot, { eval: true });
  }
  return new Worker(url);
}

/**
 * `datasetStats` with the row groups spread over worker threads (each decodes and accumulates its own row groups;
 * the bounded-size states are merged). Falls back to this thread for one worker, a row range, a single row group,
 * or shards that a worker cannot reopen (in-memory files).
 */
export async function datasetStatsParallel(
  dataset: LogitDataset,
  options: ParallelStatsOptions = {},
): Promise<DatasetStats> {
  let groups = 0;
  for (const f of dataset.files) {
    groups += f.info.numRowGroups;
  }
  const workers = Math.min(
    options.workers ?? (groups >= MIN_PARALLEL_ROW_GROUPS ? Math.min(8, availableParallelism()) : 1),
    64,
  );
  const jobs: { key: string; locator: ShardLocator; group: number }[] = [];
  let reopenable = true;
  dataset.files.forEach((f, i) => {
    const locator = dataset.shards[i]?.locator;
    if (!locator) {
      reopenable = false;
      return;
    }
    for (let g = 0; g < f.info.numRowGroups; g++) {
      jobs.push({ key: `${i}`, locator, group: g });
    }
  });
  if (
    workers <= 1 ||
    !reopenable ||
    jobs.length < 2 ||
    options.rowStart !== undefined ||
    options.rowEnd !== undefined
  ) {
    return datasetStats(dataset, options);
  }
  const t0 = performance.now();
  const path = options.path ?? (statsColumns(dataset.layout) ? "columns" : "batches");
  const n = Math.min(workers, jobs.length);
  const pool: Worker[] = [];
  const total = newState();
  let next = 0;
  let rows = 0;
  let tokens = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let finished = 0;
      const progress = new Array<{ rows: number; tokens: number }>(n).fill({ rows: 0, tokens: 0 });
      const fail = (e: unknown) => reject(e);
      options.signal?.addEventListener("abort", () => fail(options.signal?.reason), { once: true });
      for (let w = 0; w < n; w++) {
        const worker = startWorker();
        pool.push(worker);
        const send = () => {
          if (options.signal?.aborted) {
            return;
          }
          if (next < jobs.length) {
            const j = jobs[next] as (typeof jobs)[number];
            const msg: StatsJob = { type: "group", id: next++, key: j.key, locator: j.locator, group: j.group, path };
            worker.postMessage(msg);
          } else {
            worker.postMessage({ type: "finish" } satisfies StatsJob);
          }
        };
        worker.on(
          "message",
          (m: {
            type: string;
            state?: AccumulatorState;
            rows?: number;
            tokens?: number;
            message?: string;
            code?: string;
          }) => {
            if (m.type === "done") {
              progress[w] = { rows: m.rows ?? 0, tokens: m.tokens ?? 0 };
              rows = progress.reduce((a, p) => a + p.rows, 0);
              tokens = progress.reduce((a, p) => a + p.tokens, 0);
              options.onProgress?.({ rows, tokens });
              send();
            } else if (m.type === "state" && m.state) {
              mergeStates(total, m.state);
              if (++finished === n) {
                resolve();
              }
            } else if (m.type === "error") {
              fail(new ExploreError("WORKER_FAILED", `statistics worker: ${m.message ?? "failed"}`, { code: m.code }));
            }
          },
        );
        worker.on("error", (e) =>
          fail(new ExploreError("WORKER_FAILED", `statistics worker crashed: ${e.message}`, undefined, { cause: e })),
        );
        send();
      }
    });
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return finishStats(total, dataset, options, (performance.now() - t0) / 1000, n);
}

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, symlink, truncate } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { listFiles } from "@huggingface/hub";
import { type LogitFile, openLogitFile, urlSource } from "@logitpack/codec";
import { type Env, hubCacheDir, parseRepoId, resolveHubUrl, resolveToken } from "./config.js";
import { HubStreamError, toHubStreamError } from "./errors.js";
import { nodeFs, writeFileAtomic } from "./fs.js";
import { resolveUrl } from "./hub-sink.js";
import { backoffDelay, createRetryingFetch, type RetryInfo, type RetryPolicy, sleep } from "./retry.js";

/** Where to read from: a dataset repo at a revision, with the usual token and endpoint resolution. */
export interface HubReadOptions {
  /** Repo id, "namespace/name" (a dataset repo unless `repoType` says "model"). */
  repo: string;
  /** Default "dataset"; "model" for a model repo (e.g. the teacher, downloaded into the standard cache). */
  repoType?: "dataset" | "model";
  /** Branch, tag or commit (default "main"). */
  revision?: string;
  /** Access token (default `HF_TOKEN`, then the token file); public repos need none. */
  token?: string;
  /** Hub endpoint (default `HF_ENDPOINT`, then https://huggingface.co). */
  hubUrl?: string;
  env?: Env;
  fetch?: typeof fetch;
  retry?: RetryPolicy;
  onRetry?: (info: RetryInfo) => void;
}

export interface RepoFile {
  path: string;
  /** Size of the content (the LFS object's size for LFS files). */
  size: number;
  /** sha256 of the content, for LFS files. */
  sha256?: string;
  /** git blob id. */
  oid?: string;
}

async function context(options: HubReadOptions) {
  const env = options.env ?? process.env;
  const token = await resolveToken(options.token, env);
  return {
    repo: parseRepoId(options.repo),
    repoType: options.repoType ?? "dataset",
    revision: options.revision ?? "main",
    hubUrl: resolveHubUrl(options.hubUrl, env),
    token,
    headers: token ? { Authorization: `Bearer ${token}` } : ({} as Record<string, string>),
    fetch: createRetryingFetch({ ...(options.retry ?? {}), fetch: options.fetch, onRetry: options.onRetry }),
  };
}

/** Files of a dataset repo (recursively; directories and `.gitattributes` left out), sorted by path. */
export async function listRepoFiles(options: HubReadOptions & { path?: string }): Promise<RepoFile[]> {
  const c = await context(options);
  const out: RepoFile[] = [];
  try {
    for await (const e of listFiles({
      repo: { type: c.repoType, name: c.repo },
      revision: c.revision,
      path: options.path,
      recursive: true,
      hubUrl: c.hubUrl,
      fetch: c.fetch,
      ...(c.token ? { accessToken: c.token } : {}),
    })) {
      if (e.type === "file" && e.path !== ".gitattributes") {
        out.push({ path: e.path, size: e.lfs?.size ?? e.size, sha256: e.lfs?.oid, oid: e.oid });
      }
    }
  } catch (error) {
    throw toHubStreamError(error, `list files of ${c.repoType}s/${c.repo}`, c.token);
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The URL for (range) reads of a file of a dataset repo, with `HF_ENDPOINT` honoured. */
export function resolveFileUrl(options: {
  repo: string;
  path: string;
  revision?: string;
  hubUrl?: string;
  env?: Env;
}): string {
  return resolveUrl(
    resolveHubUrl(options.hubUrl, options.env ?? process.env),
    options.repo,
    options.path,
    options.revision,
  );
}

/**
 * Open a shard of a dataset repo for range reads (no download): the footer first, then only the row groups and
 * columns asked for. `size` (from `listRepoFiles`) saves one request.
 */
export async function openHubLogitFile(options: HubReadOptions & { path: string; size?: number }): Promise<LogitFile> {
  const c = await context(options);
  const url = resolveUrl(c.hubUrl, c.repo, options.path, c.revision);
  try {
    const source = await urlSource(url, { fetch: c.fetch, headers: c.headers, byteLength: options.size });
    return await openLogitFile(source, { name: `datasets/${c.repo}/${options.path}` });
  } catch (error) {
    throw new HubStreamError(
      "READ_FAILED",
      `cannot open ${options.path} of datasets/${c.repo}: ${toHubStreamError(error, "read", c.token).message.replace(/^\[hub-stream\] read: /, "")}`,
      { url, path: options.path },
    );
  }
}

function cleanEtag(etag: string | null): string | undefined {
  return etag ? etag.replace(/^W\//, "").replace(/"/g, "") : undefined;
}

/** Progress of one file download (for a progress bar: bytes, total, speed). */
export interface DownloadProgress {
  /** The file's path in the repo. */
  path: string;
  /** Bytes of the file on disk so far (resumed bytes included). */
  bytes: number;
  /** The file's size, when the server said. */
  total: number | undefined;
  /** Bytes that were already on disk from an interrupted download when this one started. */
  resumedFrom: number;
  /** Average speed of this download, bytes per second (resumed bytes not counted). */
  bytesPerSecond: number;
  /** The last report for this file. */
  done: boolean;
  /** The file was already in the cache: nothing was downloaded (one report, `done`). */
  cached?: boolean;
}

export interface DownloadOptions extends HubReadOptions {
  /** The file's path in the repo. */
  path: string;
  /** Cache folder (default: the standard Hub cache, `hubCacheDir`). */
  cacheDir?: string;
  /** Told about every ~100 ms while bytes arrive, and once when the file is complete. */
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
  /** Use the cache only, never the network (default: `HF_HUB_OFFLINE` set to 1/true/yes/on). */
  offline?: boolean;
}

/** Whether `HF_HUB_OFFLINE` asks for cache-only operation. */
export function hubOffline(env: Env = process.env): boolean {
  return /^(1|true|yes|on)$/i.test((env.HF_HUB_OFFLINE ?? "").trim());
}

function repoFolder(cacheRoot: string, repoType: string, repo: string): string {
  return join(cacheRoot, `${repoType}s--${repo.replace("/", "--")}`);
}

/** The commit a revision points at in the cache (a commit id is itself), or undefined. */
async function cachedCommit(repoDir: string, revision: string): Promise<string | undefined> {
  if (/^[0-9a-f]{40}$/.test(revision)) {
    return revision;
  }
  try {
    const commit = (await readFile(join(repoDir, "refs", revision), "utf8")).trim();
    return /^[0-9a-f]{40}$/.test(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

async function fileSize(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => s.size,
    () => undefined,
  );
}

async function sha256OfPrefix(path: string, bytes: number, hash: ReturnType<typeof createHash>): Promise<void> {
  if (bytes === 0) {
    return;
  }
  for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1, highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
  }
}

/**
 * Download a file into the standard Hub cache, in the layout Python's huggingface_hub uses, so both share it:
 * `{cache}/{models|datasets}--{ns}--{name}/blobs/{etag}`, `snapshots/{commit}/{path}` (a relative symlink to the
 * blob) and `refs/{revision}`. Returns the snapshot path. A blob already in the cache is not downloaded again.
 *
 * The body streams to `blobs/{etag}.incomplete` (as huggingface_hub does), so memory stays bounded whatever the
 * size; an interrupted transfer is resumed with an HTTP range, within this call (a few retries) and by a later call
 * (the `.incomplete` file is kept). LFS files are checked against their sha256. With `HF_HUB_OFFLINE=1` (or
 * `offline`), only the cache is used and a missing file is a NOT_FOUND error naming it.
 */
export async function downloadToCache(options: DownloadOptions): Promise<string> {
  const c = await context(options);
  const env = options.env ?? process.env;
  const cacheRoot = options.cacheDir ?? hubCacheDir(env);
  const repoDir = repoFolder(cacheRoot, c.repoType, c.repo);
  const offline = options.offline ?? hubOffline(env);
  const what = `download ${options.path} of ${c.repoType}s/${c.repo}`;
  if (offline) {
    const commit = await cachedCommit(repoDir, c.revision);
    const snapshot = commit === undefined ? undefined : join(repoDir, "snapshots", commit, ...options.path.split("/"));
    if (snapshot === undefined || (await fileSize(snapshot)) === undefined) {
      throw new HubStreamError(
        "NOT_FOUND",
        `HF_HUB_OFFLINE is set and ${options.path} of ${c.repoType}s/${c.repo} (revision ${c.revision}) is not in the cache`,
        { path: options.path },
      );
    }
    return snapshot;
  }
  const fileUrl =
    c.repoType === "model"
      ? `${c.hubUrl}/${c.repo}/resolve/${encodeURIComponent(c.revision)}/${options.path.split("/").map(encodeURIComponent).join("/")}`
      : resolveUrl(c.hubUrl, c.repo, options.path, c.revision);
  let head: Response;
  let url = fileUrl;
  try {
    head = await c.fetch(url, { method: "HEAD", headers: c.headers, redirect: "manual", signal: options.signal });
    // A renamed repo answers with a relative redirect to its new name (LFS files redirect to the CDN with the
    // X-Linked-* headers, which is the answer we want): follow the relative ones, as huggingface_hub does.
    for (let hops = 0; hops < 5 && head.status >= 300 && head.status < 400; hops++) {
      const location = head.headers.get("location");
      if (location === null || !location.startsWith("/") || head.headers.get("x-linked-etag") !== null) {
        break;
      }
      url = new URL(location, url).toString();
      head = await c.fetch(url, { method: "HEAD", headers: c.headers, redirect: "manual", signal: options.signal });
    }
  } catch (error) {
    throw toHubStreamError(error, what, c.token);
  }
  if (head.status >= 400) {
    const status = head.status;
    throw toHubStreamError(
      Object.assign(new Error(`HTTP ${status}`), {
        statusCode: status,
        url,
        requestId: head.headers.get("x-request-id") ?? undefined,
      }),
      what,
      c.token,
    );
  }
  const etag = cleanEtag(head.headers.get("x-linked-etag") ?? head.headers.get("etag"));
  const commit = head.headers.get("x-repo-commit") ?? undefined;
  if (!etag || !commit) {
    throw new HubStreamError("HTTP", `${what}: the server sent no ETag or X-Repo-Commit header`, { url });
  }
  const blob = join(repoDir, "blobs", etag);
  const sizeHeader = head.headers.get("x-linked-size") ?? head.headers.get("content-length");
  const size = sizeHeader === null ? undefined : Number(sizeHeader);
  const have = await fileSize(blob);
  if (have === undefined || (size !== undefined && have !== size)) {
    await mkdir(dirname(blob), { recursive: true });
    await fetchToFile(c, url, blob, size, /^[0-9a-f]{64}$/.test(etag) ? etag : undefined, options, what);
  } else {
    options.onProgress?.({
      path: options.path,
      bytes: have,
      total: have,
      resumedFrom: have,
      bytesPerSecond: 0,
      done: true,
      cached: true,
    });
  }
  const snapshot = join(repoDir, "snapshots", commit, ...options.path.split("/"));
  await mkdir(dirname(snapshot), { recursive: true });
  await rm(snapshot, { force: true });
  try {
    await symlink(relative(dirname(snapshot), blob), snapshot);
  } catch {
    await copyFile(blob, snapshot);
  }
  if (!/^[0-9a-f]{40}$/.test(c.revision)) {
    const ref = join(repoDir, "refs", c.revision);
    await mkdir(dirname(ref), { recursive: true });
    await writeFileAtomic(nodeFs, ref, commit);
  }
  return snapshot;
}

/** Attempts at one file's body (the first and resumes after a dropped connection). */
const BODY_ATTEMPTS = 6;

/** Streams `url` into `{blob}.incomplete` (resuming what is there), checks size and sha256, renames to `blob`. */
async function fetchToFile(
  c: Awaited<ReturnType<typeof context>>,
  url: string,
  blob: string,
  size: number | undefined,
  sha256: string | undefined,
  options: DownloadOptions,
  what: string,
): Promise<void> {
  const partial = `${blob}.incomplete`;
  let existing = (await fileSize(partial)) ?? 0;
  if (size !== undefined && existing > size) {
    await truncate(partial, 0);
    existing = 0;
  }
  const resumedFrom = existing;
  let hash = sha256 === undefined ? undefined : createHash("sha256");
  if (hash !== undefined) {
    await sha256OfPrefix(partial, existing, hash);
  }
  const started = performance.now();
  let lastReport = 0;
  let received = existing;
  const report = (done: boolean): void => {
    const now = performance.now();
    if (options.onProgress === undefined || (!done && now - lastReport < 100)) {
      return;
    }
    lastReport = now;
    const seconds = (now - started) / 1000;
    options.onProgress({
      path: options.path,
      bytes: received,
      total: size,
      resumedFrom,
      bytesPerSecond: seconds > 0 ? (received - resumedFrom) / seconds : 0,
      done,
    });
  };
  let lastError: unknown;
  for (let attempt = 0; attempt < BODY_ATTEMPTS; attempt++) {
    if (size !== undefined && received === size) {
      break; // complete (possibly already: an earlier run stopped before the rename)
    }
    if (attempt > 0) {
      await sleep(backoffDelay(attempt, options.retry), options.signal);
    }
    const headers: Record<string, string> = { ...c.headers };
    if (received > 0) {
      headers.Range = `bytes=${received}-`;
    }
    let res: Response;
    try {
      res = await c.fetch(url, { headers, signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted) {
        throw error;
      }
      lastError = error;
      continue;
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw toHubStreamError(
        Object.assign(new Error(`HTTP ${res.status}`), { statusCode: res.status, url }),
        what,
        c.token,
      );
    }
    let start = 0;
    if (res.status === 206) {
      const m = /^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "");
      start = m ? Number(m[1]) : Number.NaN;
      if (start !== received) {
        await res.body?.cancel().catch(() => undefined);
        throw new HubStreamError("HTTP", `${what}: the server answered a range from byte ${start}, not ${received}`, {
          url,
          path: options.path,
        });
      }
    } else if (received > 0) {
      // The server sent the whole file (no range support): start over.
      received = 0;
      hash = sha256 === undefined ? undefined : createHash("sha256");
    }
    const file = await open(partial, received === 0 ? "w" : "a");
    try {
      if (res.body === null) {
        throw new Error("empty body");
      }
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        await file.write(chunk);
        hash?.update(chunk);
        received += chunk.length;
        report(false);
      }
    } catch (error) {
      if (options.signal?.aborted) {
        throw error;
      }
      lastError = error;
    } finally {
      await file.close();
    }
    if (size === undefined) {
      if (lastError !== undefined) {
        throw new HubStreamError(
          "HTTP",
          `${what}: the download stopped at ${received} bytes (${lastError instanceof Error ? lastError.message : "connection closed"}); run again`,
          { url, path: options.path },
        );
      }
      break;
    }
  }
  if (size !== undefined && received !== size) {
    throw new HubStreamError(
      "HTTP",
      `${what}: the download stopped at ${received} of ${size} bytes after ${BODY_ATTEMPTS} attempts (${lastError instanceof Error ? lastError.message : "connection closed"}); run again to resume`,
      { url, path: options.path },
    );
  }
  if (hash !== undefined && sha256 !== undefined) {
    const got = hash.digest("hex");
    if (got !== sha256) {
      await rm(partial, { force: true });
      throw new HubStreamError(
        "CACHE_CORRUPT",
        `${what}: the downloaded bytes have sha256 ${got}, expected ${sha256}; the partial file was removed, run again`,
        { url, path: options.path },
      );
    }
  }
  await rename(partial, blob);
  report(true);
}

/** The ONNX variants of transformers.js / onnx-community repos, by their `dtype` name. */
export type ModelDtype = "fp32" | "fp16" | "q4" | "q4f16" | "int8" | "uint8" | "bnb4" | "quantized";

/** File-name suffix of each variant: `onnx/model{suffix}.onnx` (transformers.js' naming). */
export const DTYPE_SUFFIX: Readonly<Record<ModelDtype, string>> = {
  fp32: "",
  fp16: "_fp16",
  q4: "_q4",
  q4f16: "_q4f16",
  int8: "_int8",
  uint8: "_uint8",
  bnb4: "_bnb4",
  quantized: "_quantized",
};

export const MODEL_DTYPES: readonly ModelDtype[] = Object.keys(DTYPE_SUFFIX) as ModelDtype[];

/**
 * Which variant the default picks, best first, by device: on CPU the exact fp32 first, then the int4/int8
 * quantizations ONNX Runtime's CPU kernels run fast, fp16 last (CPU kernels upcast it); on GPUs fp16 first.
 */
export const DTYPE_PREFERENCE: Readonly<Record<"cpu" | "cuda" | "webgpu", readonly ModelDtype[]>> = {
  cpu: ["fp32", "q4", "int8", "uint8", "quantized", "bnb4", "q4f16", "fp16"],
  cuda: ["fp16", "fp32", "q4f16", "q4", "int8", "uint8", "quantized", "bnb4"],
  webgpu: ["fp16", "q4f16", "fp32", "q4", "int8", "uint8", "quantized", "bnb4"],
};

/** One ONNX model file of a repo with its external data files. */
export interface ModelVariant {
  /** The variant's dtype, undefined for a file outside the naming scheme (chosen with `modelFile`). */
  dtype: ModelDtype | undefined;
  /** Path of the `.onnx` file in the repo. */
  file: string;
  /** Its external data files (`{file}_data`, `{file}_data_1`, ..., `{file}.data`). */
  dataFiles: string[];
  /** Bytes of the model file and its data files. */
  bytes: number;
}

const VARIANT_RE = /^(onnx\/)?(model|decoder_model_merged)(_fp16|_q4f16|_q4|_int8|_uint8|_bnb4|_quantized)?\.onnx$/;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function dataFilesOf(file: string, files: readonly RepoFile[]): RepoFile[] {
  const re = new RegExp(`^${escapeRe(file)}(_data(_\\d+)?|\\.data)$`);
  return files.filter((f) => re.test(f.path));
}

/**
 * The dtype variants a repo listing offers, one per dtype (`onnx/model*.onnx` before root `model*.onnx` before
 * `decoder_model_merged*.onnx`), in `MODEL_DTYPES` order.
 */
export function modelVariants(files: readonly RepoFile[]): ModelVariant[] {
  const best = new Map<ModelDtype, { rank: number; v: ModelVariant }>();
  for (const f of files) {
    const m = VARIANT_RE.exec(f.path);
    if (m === null) {
      continue;
    }
    const suffix = m[3] ?? "";
    const dtype = MODEL_DTYPES.find((d) => DTYPE_SUFFIX[d] === suffix) as ModelDtype;
    const rank = (m[2] === "model" ? 0 : 2) + (m[1] === undefined ? 1 : 0);
    const data = dataFilesOf(f.path, files);
    const v: ModelVariant = {
      dtype,
      file: f.path,
      dataFiles: data.map((d) => d.path),
      bytes: f.size + data.reduce((a, d) => a + d.size, 0),
    };
    const prev = best.get(dtype);
    if (prev === undefined || rank < prev.rank) {
      best.set(dtype, { rank, v });
    }
  }
  return MODEL_DTYPES.flatMap((d) => {
    const e = best.get(d);
    return e === undefined ? [] : [e.v];
  });
}

function describeVariants(variants: readonly ModelVariant[]): string {
  return variants.length === 0 ? "none" : variants.map((v) => `${v.dtype} (${v.file})`).join(", ");
}

/**
 * The variant to use: `modelFile` (a path in the repo), else `dtype`, else the first of `DTYPE_PREFERENCE[device]`
 * the repo has (`auto`: the CPU order, which every provider runs). Throws a NOT_FOUND HubStreamError naming the repo,
 * what was asked and what is available.
 */
export function pickModelVariant(
  repo: string,
  files: readonly RepoFile[],
  choice: { dtype?: ModelDtype; modelFile?: string; device?: "auto" | "cpu" | "cuda" | "webgpu" } = {},
): ModelVariant {
  const variants = modelVariants(files);
  if (choice.modelFile !== undefined) {
    const file = choice.modelFile.replace(/^\.?\/+/, "");
    const f = files.find((x) => x.path === file);
    if (f === undefined || !file.endsWith(".onnx")) {
      throw new HubStreamError(
        "NOT_FOUND",
        `${repo} has no ONNX file ${file}; ONNX files: ${
          files
            .filter((x) => x.path.endsWith(".onnx"))
            .map((x) => x.path)
            .join(", ") || "none"
        }`,
        { path: file },
      );
    }
    const data = dataFilesOf(file, files);
    const m = VARIANT_RE.exec(file);
    const dtype = m === null ? undefined : MODEL_DTYPES.find((d) => DTYPE_SUFFIX[d] === (m[3] ?? ""));
    return { dtype, file, dataFiles: data.map((d) => d.path), bytes: f.size + data.reduce((a, d) => a + d.size, 0) };
  }
  if (variants.length === 0) {
    const onnx = files.filter((x) => x.path.endsWith(".onnx")).map((x) => x.path);
    throw new HubStreamError(
      "NOT_FOUND",
      onnx.length === 0
        ? `${repo} has no ONNX file (looked for onnx/model.onnx and its dtype variants); export one with optimum-cli export onnx`
        : `${repo} has no onnx/model*.onnx variant; its ONNX files are ${onnx.join(", ")}: choose one as the model file`,
    );
  }
  if (choice.dtype !== undefined) {
    const v = variants.find((x) => x.dtype === choice.dtype);
    if (v === undefined) {
      throw new HubStreamError(
        "NOT_FOUND",
        `${repo} has no ${choice.dtype} variant (onnx/model${DTYPE_SUFFIX[choice.dtype]}.onnx); available: ${describeVariants(variants)}`,
        { path: `onnx/model${DTYPE_SUFFIX[choice.dtype]}.onnx` },
      );
    }
    return v;
  }
  const device = choice.device === undefined || choice.device === "auto" ? "cpu" : choice.device;
  for (const d of DTYPE_PREFERENCE[device]) {
    const v = variants.find((x) => x.dtype === d);
    if (v !== undefined) {
      return v;
    }
  }
  return variants[0] as ModelVariant;
}

/** Root-level files a teacher needs besides its weights: configs, tokenizer, chat template. */
const SIDE_FILE_RE = /^[^/]+\.(json|jinja|txt|model)$/;

export interface DownloadModelOptions extends HubReadOptions {
  /** The variant (transformers.js dtype names); default: the best the repo has for `device`. */
  dtype?: ModelDtype;
  /** An explicit ONNX file of the repo (e.g. `onnx/decoder_model_merged.onnx`); overrides `dtype`. */
  modelFile?: string;
  /** The device the model will run on, for the default variant (default `auto`). */
  device?: "auto" | "cpu" | "cuda" | "webgpu";
  cacheDir?: string;
  /** Told about each file's progress. */
  onProgress?: (progress: DownloadProgress & { file: number; files: number }) => void;
  signal?: AbortSignal;
  /** Cache only (default: `HF_HUB_OFFLINE`). */
  offline?: boolean;
}

export interface DownloadedModel {
  /** The snapshot folder in the cache (`{cache}/models--ns--name/snapshots/{commit}`). */
  dir: string;
  /** The commit the files are from. */
  commit: string;
  /** The chosen ONNX file, relative to `dir`. */
  modelFile: string;
  /** The chosen variant's dtype (undefined for an explicit file outside the naming scheme). */
  dtype: ModelDtype | undefined;
  /** Every file fetched (or found in the cache), relative to `dir`. */
  files: string[];
  /** Bytes of the chosen variant (model + data files). */
  bytes: number;
  /** The variants the repo offers. */
  available: ModelVariant[];
}

async function walkFiles(dir: string, prefix = ""): Promise<RepoFile[]> {
  const out: RepoFile[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const rel = prefix === "" ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory()) {
      out.push(...(await walkFiles(join(dir, e.name), rel)));
    } else {
      out.push({ path: rel, size: (await fileSize(join(dir, e.name))) ?? 0 });
    }
  }
  return out;
}

/**
 * Download a teacher from a model repo into the standard Hub cache: the root-level config/tokenizer files and one
 * ONNX variant with its external data files, nothing else. Streaming, resumable, bounded memory (see
 * `downloadToCache`); files already in the cache are not fetched again. With `HF_HUB_OFFLINE=1` the variant is
 * chosen among the files the cached snapshot holds.
 */
export async function downloadModel(options: DownloadModelOptions): Promise<DownloadedModel> {
  const env = options.env ?? process.env;
  const offline = options.offline ?? hubOffline(env);
  const repo = parseRepoId(options.repo);
  const read: HubReadOptions = { ...options, repoType: "model" };
  const revision = options.revision ?? "main";
  const cacheRoot = options.cacheDir ?? hubCacheDir(env);
  let files: RepoFile[];
  if (offline) {
    const repoDir = repoFolder(cacheRoot, "model", repo);
    const commit = await cachedCommit(repoDir, revision);
    files = commit === undefined ? [] : await walkFiles(join(repoDir, "snapshots", commit));
    if (files.length === 0) {
      throw new HubStreamError(
        "NOT_FOUND",
        `HF_HUB_OFFLINE is set and models/${repo} (revision ${revision}) is not in the cache`,
      );
    }
  } else {
    files = await listRepoFiles(read);
  }
  const variant = pickModelVariant(`models/${repo}`, files, options);
  const wanted = [
    ...files.filter((f) => SIDE_FILE_RE.test(f.path)).map((f) => f.path),
    variant.file,
    ...variant.dataFiles,
  ];
  let dir: string | undefined;
  for (let i = 0; i < wanted.length; i++) {
    const path = wanted[i] as string;
    const snapshot = await downloadToCache({
      ...read,
      path,
      cacheDir: cacheRoot,
      offline,
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      ...(options.onProgress !== undefined
        ? { onProgress: (p: DownloadProgress) => options.onProgress?.({ ...p, file: i + 1, files: wanted.length }) }
        : {}),
    });
    const d = snapshot.slice(0, snapshot.length - path.length - 1);
    if (dir !== undefined && d !== dir) {
      throw new HubStreamError(
        "INVALID_STATE",
        `models/${repo} changed while downloading (${path} is from another commit); run again`,
        { path },
      );
    }
    dir = d;
  }
  const root = dir as string;
  return {
    dir: root,
    commit: root.slice(root.lastIndexOf("snapshots") + "snapshots".length + 1),
    modelFile: variant.file,
    dtype: variant.dtype,
    files: wanted,
    bytes: variant.bytes,
    available: modelVariants(files),
  };
}

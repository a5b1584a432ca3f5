import { copyFile, mkdir, rm, stat, symlink } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { listFiles } from "@huggingface/hub";
import { type LogitFile, openLogitFile, urlSource } from "@logitpack/codec";
import { type Env, hubCacheDir, parseRepoId, resolveHubUrl, resolveToken } from "./config.js";
import { HubStreamError, toHubStreamError } from "./errors.js";
import { nodeFs, writeFileAtomic } from "./fs.js";
import { resolveUrl } from "./hub-sink.js";
import { createRetryingFetch, type RetryInfo, type RetryPolicy } from "./retry.js";

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

/**
 * Download a file into the standard Hub cache, in the layout Python's huggingface_hub uses, so both share it:
 * `{cache}/datasets--{ns}--{name}/blobs/{etag}`, `snapshots/{commit}/{path}` (a relative symlink to the blob) and
 * `refs/{revision}`. Returns the snapshot path. A blob already in the cache is not downloaded again.
 */
export async function downloadToCache(options: HubReadOptions & { path: string; cacheDir?: string }): Promise<string> {
  const c = await context(options);
  const env = options.env ?? process.env;
  const cacheRoot = options.cacheDir ?? hubCacheDir(env);
  const repoDir = join(cacheRoot, `${c.repoType}s--${c.repo.replace("/", "--")}`);
  const url =
    c.repoType === "model"
      ? `${c.hubUrl}/${c.repo}/resolve/${encodeURIComponent(c.revision)}/${options.path.split("/").map(encodeURIComponent).join("/")}`
      : resolveUrl(c.hubUrl, c.repo, options.path, c.revision);
  const what = `download ${options.path} of ${c.repoType}s/${c.repo}`;
  let head: Response;
  try {
    head = await c.fetch(url, { method: "HEAD", headers: c.headers, redirect: "manual" });
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
  const size = Number(head.headers.get("x-linked-size") ?? head.headers.get("content-length") ?? Number.NaN);
  const have = await stat(blob).then(
    (s) => s.size,
    () => undefined,
  );
  if (have === undefined || (Number.isFinite(size) && have !== size)) {
    let res: Response;
    try {
      res = await c.fetch(url, { headers: c.headers });
    } catch (error) {
      throw toHubStreamError(error, what, c.token);
    }
    if (!res.ok) {
      await res.arrayBuffer().catch(() => undefined);
      throw toHubStreamError(
        Object.assign(new Error(`HTTP ${res.status}`), { statusCode: res.status, url }),
        what,
        c.token,
      );
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    await mkdir(dirname(blob), { recursive: true });
    await writeFileAtomic(nodeFs, blob, bytes);
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

import { createHash } from "node:crypto";
import { commit, createRepo, listFiles, pathsInfo, whoAmI } from "@huggingface/hub";
import { type ByteSource, urlSource } from "@logitpack/codec";
import { type Env, parseRepoId, resolveHubUrl, resolveToken } from "./config.js";
import { HubStreamError, statusOf, toHubStreamError } from "./errors.js";
import { DATA_DIR, isShardPath } from "./names.js";
import { backoffDelay, createRetryingFetch, RETRY_STATUSES, type RetryInfo, type RetryPolicy, sleep } from "./retry.js";
import type { PutResult, Sink, SinkFile } from "./sink.js";

export interface HubSinkOptions {
  /** Dataset repo id, "namespace/name". */
  repo: string;
  /** Access token (default: `HF_TOKEN`, then the token file). */
  token?: string;
  /** Hub endpoint (default: `HF_ENDPOINT`, then https://huggingface.co). */
  hubUrl?: string;
  /** Branch to commit to (default "main"). */
  revision?: string;
  /** Create the repo as private (default false). */
  private?: boolean;
  /** Environment to read HF_* variables from (default process.env). */
  env?: Env;
  /** Underlying fetch (default global fetch); every request goes through the retrying wrapper. */
  fetch?: typeof fetch;
  /** Retries of failed requests and commits. */
  retry?: RetryPolicy;
  /** Told before each retry (the CLI shows it; never contains the token). */
  onRetry?: (info: RetryInfo) => void;
  /** Let `@huggingface/hub` use the Xet protocol when the Hub offers it (default false: LFS basic uploads). */
  useXet?: boolean;
}

/** A Hub dataset repo as a sink, through `@huggingface/hub` with retries, 412 handling and idempotent commits. */
export class HubSink implements Sink {
  readonly kind = "hub";
  readonly location: string;
  readonly repoId: string;
  readonly hubUrl: string;
  readonly revision: string;
  /** The fetch every request goes through (retrying); use it for reads too. */
  readonly fetch: typeof fetch;
  private readonly repo: { type: "dataset"; name: string };
  private readonly retry: RetryPolicy;

  private constructor(
    private readonly options: HubSinkOptions,
    private readonly token: string | undefined,
  ) {
    this.repoId = parseRepoId(options.repo);
    this.hubUrl = resolveHubUrl(options.hubUrl, options.env ?? process.env);
    this.revision = options.revision ?? "main";
    this.repo = { type: "dataset", name: this.repoId };
    this.location = `${this.hubUrl}/datasets/${this.repoId}@${this.revision}`;
    this.retry = options.retry ?? {};
    this.fetch = createRetryingFetch({
      ...this.retry,
      fetch: options.fetch,
      onRetry: options.onRetry,
      // A commit is retried by `put`, after checking whether the first attempt landed.
      retryable: (method, url) => !(method === "POST" && url.includes("/commit/")),
    });
  }

  /** Resolve the token and endpoint (options, then HF_TOKEN / HF_ENDPOINT) and build the sink. */
  static async create(options: HubSinkOptions): Promise<HubSink> {
    return new HubSink(options, await resolveToken(options.token, options.env ?? process.env));
  }

  /** Authorization headers for reads (empty without a token). Do not log them. */
  authHeaders(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  private common() {
    return {
      repo: this.repo,
      hubUrl: this.hubUrl,
      fetch: this.fetch,
      ...(this.token ? { accessToken: this.token } : {}),
    };
  }

  private fail(error: unknown, what: string): HubStreamError {
    return toHubStreamError(error, what, this.token);
  }

  async prepare(): Promise<void> {
    const token = this.token;
    if (!token) {
      throw new HubStreamError(
        "UNAUTHORIZED",
        `writing to datasets/${this.repoId} needs an access token with write access: pass --token or set HF_TOKEN`,
      );
    }
    let role: string | undefined;
    try {
      const me = await whoAmI({ hubUrl: this.hubUrl, fetch: this.fetch, accessToken: token });
      role = me.auth.accessToken?.role;
    } catch (error) {
      throw this.fail(error, "check the access token");
    }
    if (role === "read") {
      throw new HubStreamError(
        "FORBIDDEN",
        `the access token is read-only, so it cannot write to datasets/${this.repoId}: create a token with the "write" role and pass it with --token or HF_TOKEN`,
        { status: 403 },
      );
    }
    try {
      await createRepo({ ...this.common(), accessToken: token, private: this.options.private ?? false });
    } catch (error) {
      if (statusOf(error) !== 409) {
        throw this.fail(error, `create datasets/${this.repoId}`);
      }
    }
  }

  async list(): Promise<SinkFile[]> {
    const out: SinkFile[] = [];
    try {
      for await (const entry of listFiles({
        ...this.common(),
        path: DATA_DIR,
        recursive: true,
        revision: this.revision,
      })) {
        if (entry.type === "file" && isShardPath(entry.path)) {
          out.push({ path: entry.path, size: entry.lfs?.size ?? entry.size, sha256: entry.lfs?.oid });
        }
      }
    } catch (error) {
      if (statusOf(error) === 404) {
        return [];
      }
      throw this.fail(error, `list ${DATA_DIR}/ of datasets/${this.repoId}`);
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** URL of a file for range reads (the resolve endpoint). */
  resolveUrl(path: string): string {
    return resolveUrl(this.hubUrl, this.repoId, path, this.revision);
  }

  source(file: SinkFile): Promise<ByteSource> {
    return urlSource(this.resolveUrl(file.path), {
      fetch: this.fetch,
      headers: this.authHeaders(),
      byteLength: file.size,
    });
  }

  /**
   * Commit one file. Transient failures (429, 5xx, network) of the upload requests are retried by the fetch
   * wrapper; a failed commit (412 because another writer committed first, a 5xx, a lost answer) is retried here
   * with backoff, after checking through paths-info whether the earlier attempt landed after all.
   */
  async put(path: string, bytes: Uint8Array, message?: string): Promise<PutResult> {
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const retries = this.retry.retries ?? 6;
    for (let attempt = 1; ; attempt++) {
      try {
        await commit({
          ...this.common(),
          accessToken: this.token as string,
          branch: this.revision,
          title: message ?? `Add ${path}`,
          operations: [{ operation: "addOrUpdate", path, content: new Blob([bytes]) }],
          useXet: this.options.useXet ?? false,
        });
        return { written: true };
      } catch (error) {
        const status = statusOf(error);
        const transient = status === undefined || status === 412 || RETRY_STATUSES.has(status);
        if (!transient || attempt > retries) {
          throw this.fail(error, `upload ${path} to datasets/${this.repoId}`);
        }
        const delayMs = backoffDelay(attempt, this.retry);
        this.options.onRetry?.({
          attempt,
          delayMs,
          status,
          method: "POST",
          url: `${this.hubUrl}/api/datasets/${this.repoId}/commit/${this.revision}`,
          reason:
            status === 412
              ? "HTTP 412 (another commit came first): refresh and retry"
              : status
                ? `HTTP ${status}`
                : "network error",
        });
        await sleep(delayMs);
        if (await this.holds(path, bytes, sha256)) {
          return { written: false };
        }
      }
    }
  }

  /** Whether the repo holds exactly these bytes at `path` (refreshes the remote state). */
  private async holds(path: string, bytes: Uint8Array, sha256: string): Promise<boolean> {
    try {
      const [info] = await pathsInfo({ ...this.common(), paths: [path], revision: this.revision });
      if (info?.type !== "file") {
        return false;
      }
      return info.lfs ? info.lfs.oid === sha256 : info.oid === gitBlobId(bytes);
    } catch {
      return false;
    }
  }

  async remove(paths: string[], message?: string): Promise<void> {
    if (paths.length === 0) {
      return;
    }
    try {
      await commit({
        ...this.common(),
        accessToken: this.token as string,
        branch: this.revision,
        title: message ?? `Remove ${paths.length} file(s)`,
        operations: paths.map((path) => ({ operation: "delete" as const, path })),
        useXet: this.options.useXet ?? false,
      });
    } catch (error) {
      throw this.fail(error, `remove files from datasets/${this.repoId}`);
    }
  }

  async readText(path: string): Promise<string | undefined> {
    const url = this.resolveUrl(path);
    let res: Response;
    try {
      res = await this.fetch(url, { headers: this.authHeaders() });
    } catch (error) {
      throw this.fail(error, `read ${path}`);
    }
    if (res.status === 404) {
      await res.arrayBuffer();
      return undefined;
    }
    if (!res.ok) {
      await res.arrayBuffer();
      throw new HubStreamError("HTTP", `read ${path}: HTTP ${res.status}`, {
        status: res.status,
        url,
        requestId: res.headers.get("x-request-id") ?? undefined,
      });
    }
    return res.text();
  }
}

/** `{hubUrl}/datasets/{repo}/resolve/{revision}/{path}`: the URL for (range) reads of a file. */
export function resolveUrl(hubUrl: string, repo: string, path: string, revision = "main"): string {
  const p = path.split("/").map(encodeURIComponent).join("/");
  return `${hubUrl}/datasets/${parseRepoId(repo)}/resolve/${encodeURIComponent(revision)}/${p}`;
}

function gitBlobId(data: Uint8Array): string {
  return createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex");
}

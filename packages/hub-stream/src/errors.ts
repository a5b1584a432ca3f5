/**
 * Every failure hub-stream reports is a `HubStreamError` with a machine-readable `code` and, for HTTP failures, the
 * `status`, `url` and `requestId` of the request. The access token never appears in a message: messages built from
 * server answers are scrubbed of it (`redactToken`).
 */
export type HubStreamErrorCode =
  /** No token, or the Hub refused it (HTTP 401). */
  | "UNAUTHORIZED"
  /** The token cannot write to the repo (read-only or fine-grained without write access; HTTP 403). */
  | "FORBIDDEN"
  /** A repo, revision or file does not exist (HTTP 404). */
  | "NOT_FOUND"
  /** An HTTP request failed after all retries (429, 5xx, network errors) or with another status. */
  | "HTTP"
  /** The earlier run used other extraction settings; `setting` names the first that differs. */
  | "SETTINGS_MISMATCH"
  /** A file of the local cache (checkpoint, pending, backup) could not be written: full disk, no permission... */
  | "CACHE_WRITE_FAILED"
  /** A file of the local cache could not be read or parsed. */
  | "CACHE_CORRUPT"
  /** Writing a shard to the sink failed and it could not be kept as a backup either. */
  | "SHARD_LOST"
  /** A shard of the sink could not be read. */
  | "READ_FAILED"
  /** A shard is broken (cannot be decoded, bytes changed, impossible values) and could not be moved aside. */
  | "CORRUPT_SHARD"
  /** Shards overlap in part (rows stored twice, neither shard a copy of the others): which to keep is not clear. */
  | "DUPLICATE_ROWS"
  /** The writer was used after `close()`/`stop()`, or given a row it cannot take. */
  | "INVALID_STATE"
  /** An option is wrong (repo id, shard spec, threshold). */
  | "INVALID_ARGUMENT";

export interface HubStreamErrorDetails {
  status?: number;
  url?: string;
  requestId?: string;
  /** For SETTINGS_MISMATCH: the setting that differs. */
  setting?: string;
  /** A file the error is about (a cache file, a shard path). */
  path?: string;
}

export class HubStreamError extends Error {
  override readonly name = "HubStreamError";
  readonly code: HubStreamErrorCode;
  readonly status?: number;
  readonly url?: string;
  readonly requestId?: string;
  readonly setting?: string;
  readonly path?: string;

  constructor(code: HubStreamErrorCode, message: string, details: HubStreamErrorDetails = {}, options?: ErrorOptions) {
    super(`[hub-stream] ${message}`, options);
    this.code = code;
    if (details.status !== undefined) {
      this.status = details.status;
    }
    if (details.url !== undefined) {
      this.url = details.url;
    }
    if (details.requestId !== undefined) {
      this.requestId = details.requestId;
    }
    if (details.setting !== undefined) {
      this.setting = details.setting;
    }
    if (details.path !== undefined) {
      this.path = details.path;
    }
  }
}

/** Replace every occurrence of `token` (and its `Bearer` form) in `text`. */
export function redactToken(text: string, token: string | undefined): string {
  if (!token || token.length < 4) {
    return text;
  }
  return text.split(token).join("hf_***");
}

/** The shape of `HubApiError` from `@huggingface/hub` (checked structurally, not with instanceof). */
interface HubApiErrorLike {
  statusCode: number;
  url: string;
  requestId?: string;
  message: string;
}

function isHubApiError(error: unknown): error is HubApiErrorLike {
  return (
    error instanceof Error &&
    typeof (error as Partial<HubApiErrorLike>).statusCode === "number" &&
    typeof (error as Partial<HubApiErrorLike>).url === "string"
  );
}

/** HTTP status of an error from the Hub library or from our fetch wrapper, if it has one. */
export function statusOf(error: unknown): number | undefined {
  if (error instanceof HubStreamError) {
    return error.status;
  }
  return isHubApiError(error) ? error.statusCode : undefined;
}

/**
 * Turn anything thrown while talking to the Hub into a `HubStreamError` with a clear message, the status, URL and
 * request id, and no token. `what` says what we were doing ("upload data/x.parquet to datasets/a/b").
 */
export function toHubStreamError(error: unknown, what: string, token: string | undefined): HubStreamError {
  if (error instanceof HubStreamError) {
    return error;
  }
  const clean = (s: string) => redactToken(s, token);
  if (isHubApiError(error)) {
    const status = error.statusCode;
    const details = { status, url: clean(error.url), requestId: error.requestId };
    const server = clean(error.message);
    if (status === 401) {
      return new HubStreamError(
        "UNAUTHORIZED",
        `${what}: the Hub rejected the token (HTTP 401). Pass a valid token with --token or HF_TOKEN. ${server}`,
        details,
      );
    }
    if (status === 403) {
      return new HubStreamError(
        "FORBIDDEN",
        `${what}: the token has no write access to this repo (HTTP 403). Create a token with the "write" role (or a fine-grained token that may write to the repo) and pass it with --token or HF_TOKEN. ${server}`,
        details,
      );
    }
    if (status === 404) {
      return new HubStreamError("NOT_FOUND", `${what}: not found (HTTP 404). ${server}`, details);
    }
    return new HubStreamError("HTTP", `${what}: HTTP ${status}. ${server}`, details);
  }
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return new HubStreamError("HTTP", clean(`${what}: ${message}${cause}`));
}

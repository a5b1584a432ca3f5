/** How failed requests are retried: exponential backoff with full jitter. */
export interface RetryPolicy {
  /** Retries after the first attempt (default 6). */
  retries?: number;
  /** Delay before the first retry, ms (default 500). */
  minDelayMs?: number;
  /** Upper bound of one delay, ms (default 30 000). `Retry-After` is honoured up to this bound. */
  maxDelayMs?: number;
  /** Random source in [0, 1) for the jitter (default Math.random). */
  random?: () => number;
}

/** A retry about to happen (for progress events; never carries headers or the token). */
export interface RetryInfo {
  attempt: number;
  delayMs: number;
  /** HTTP status, or undefined for a network error. */
  status?: number;
  method: string;
  /** URL without query string. */
  url: string;
  reason: string;
}

/** Statuses worth retrying: timeouts, rate limits and server errors. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Delay before retry number `attempt` (1-based): full jitter over min * 2^(attempt-1), capped. */
export function backoffDelay(attempt: number, policy: RetryPolicy = {}): number {
  const min = policy.minDelayMs ?? 500;
  const max = policy.maxDelayMs ?? 30_000;
  const ceiling = Math.min(max, min * 2 ** (attempt - 1));
  const r = (policy.random ?? Math.random)();
  return Math.round(min / 2 + r * Math.max(0, ceiling - min / 2));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export interface RetryingFetchOptions extends RetryPolicy {
  /** The fetch to wrap (default: global fetch). */
  fetch?: typeof fetch;
  /** Told before each retry. */
  onRetry?: (info: RetryInfo) => void;
  /**
   * Whether a request may be retried at all (default: every request whose body can be sent again). Commits are
   * excluded by the Hub sink, which retries them itself after checking whether the first attempt landed.
   */
  retryable?: (method: string, url: string) => boolean;
}

function bareUrl(input: string | URL | Request): string {
  const raw = typeof input === "string" ? input : input instanceof URL ? input.toString() : input.url;
  const q = raw.indexOf("?");
  return q < 0 ? raw : raw.slice(0, q);
}

/**
 * A `fetch` that retries 408/425/429/5xx answers and network errors with backoff and jitter. Pass it to
 * `@huggingface/hub` through its `fetch` option. It never retries an aborted request or one whose body is a
 * stream (it could not be sent twice).
 */
export function createRetryingFetch(options: RetryingFetchOptions = {}): typeof fetch {
  const inner = options.fetch ?? globalThis.fetch;
  const retries = options.retries ?? 6;
  const wrapped = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const url = bareUrl(input);
    const body = init?.body;
    const replayable =
      !(input instanceof Request) && !(typeof ReadableStream !== "undefined" && body instanceof ReadableStream);
    const allowed = replayable && (options.retryable?.(method, url) ?? true);
    for (let attempt = 1; ; attempt++) {
      let response: Response | undefined;
      let failure: unknown;
      try {
        response = await inner(input, init);
      } catch (error) {
        failure = error;
      }
      if (init?.signal?.aborted) {
        if (failure !== undefined) {
          throw failure;
        }
        return response as Response;
      }
      const status = response?.status;
      const transient = failure !== undefined || (status !== undefined && RETRY_STATUSES.has(status));
      if (!transient || !allowed || attempt > retries) {
        if (failure !== undefined) {
          throw failure;
        }
        return response as Response;
      }
      let delayMs = backoffDelay(attempt, options);
      const retryAfter = response?.headers.get("retry-after");
      if (retryAfter && /^\d+(\.\d+)?$/.test(retryAfter)) {
        delayMs = Math.min(options.maxDelayMs ?? 30_000, Math.max(delayMs, Number(retryAfter) * 1000));
      }
      // Drain the body so the connection can be reused.
      await response?.arrayBuffer().catch(() => undefined);
      options.onRetry?.({
        attempt,
        delayMs,
        status,
        method,
        url,
        reason: failure !== undefined ? networkReason(failure) : `HTTP ${status}`,
      });
      await sleep(delayMs, init?.signal ?? undefined);
    }
  };
  return wrapped as typeof fetch;
}

function networkReason(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(error);
}

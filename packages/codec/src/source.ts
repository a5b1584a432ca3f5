import { CodecError } from "./errors.js";
import type { ByteSource } from "./internal/parquet-reader.js";

export type { ByteSource };

/** A byte source over memory. */
export function memorySource(bytes: Uint8Array | ArrayBuffer): ByteSource {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return {
    byteLength: u8.length,
    slice(start: number, end = u8.length): ArrayBuffer {
      return u8.buffer.slice(u8.byteOffset + start, u8.byteOffset + end) as ArrayBuffer;
    },
  };
}

export interface UrlSourceOptions {
  /** `fetch` to use (default: global fetch). */
  fetch?: typeof fetch;
  /** Extra request headers (e.g. Authorization). They are never put into error messages. */
  headers?: Record<string, string>;
  /** File size, when known: saves the first request. */
  byteLength?: number;
}

/** A byte source over HTTP(S) with range requests, counting what it fetched. */
export interface UrlSource extends ByteSource {
  readonly url: string;
  /** Requests made and bytes received so far. */
  readonly stats: { requests: number; bytes: number };
}

/** Open a URL as a byte source: one request for the size (unless given), then one range request per slice. */
export async function urlSource(url: string, options: UrlSourceOptions = {}): Promise<UrlSource> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const headers = options.headers ?? {};
  const stats = { requests: 0, bytes: 0 };
  const safeUrl = redactUrl(url);
  let byteLength = options.byteLength;
  if (byteLength === undefined) {
    stats.requests++;
    const res = await doFetch(url, { method: "HEAD", headers });
    const len = res.headers.get("content-length");
    if (res.ok && len !== null) {
      byteLength = Number(len);
    } else {
      stats.requests++;
      const probe = await doFetch(url, { headers: { ...headers, Range: "bytes=0-0" } });
      const range = probe.headers.get("content-range");
      await probe.arrayBuffer();
      const total = range ? Number(range.split("/")[1]) : Number.NaN;
      if (!probe.ok || !Number.isFinite(total)) {
        throw new CodecError("OUT_OF_RANGE", `cannot get the size of the file (HTTP ${probe.status})`, {
          file: safeUrl,
        });
      }
      byteLength = total;
    }
  }
  const size = byteLength;
  return {
    url,
    stats,
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      if (end <= start) {
        return new ArrayBuffer(0);
      }
      stats.requests++;
      const res = await doFetch(url, { headers: { ...headers, Range: `bytes=${start}-${end - 1}` } });
      if (!res.ok) {
        throw new CodecError("OUT_OF_RANGE", `HTTP ${res.status} for bytes ${start}-${end - 1}`, { file: safeUrl });
      }
      const body = await res.arrayBuffer();
      stats.bytes += body.byteLength;
      if (res.status === 206) {
        return body;
      }
      if (start === 0 && body.byteLength >= end) {
        return body.slice(0, end);
      }
      throw new CodecError("UNSUPPORTED", "the server ignores HTTP range requests", { file: safeUrl });
    },
  };
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    u.search = "";
    return u.toString();
  } catch {
    return url;
  }
}

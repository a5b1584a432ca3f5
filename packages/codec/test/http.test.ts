import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CodecError,
  encodeLogitFile,
  encodeNucleusSample,
  type NucleusBatch,
  openLogitFile,
  urlSource,
} from "../src/index.js";
import { randomInput, rng } from "./gen.js";

let server: Server;
let base = "";
let file: Uint8Array;
const served: { range: string | undefined; bytes: number }[] = [];

beforeAll(async () => {
  const r = rng(12);
  const rows = Array.from({ length: 60 }, (_, i) =>
    encodeNucleusSample(randomInput(i, r, { tokens: 40 + (i % 5) * 10 })),
  );
  file = await encodeLogitFile(rows, { rowGroupRows: 10 });
  server = createServer((req, res) => {
    if (req.url === "/norange.parquet") {
      res.writeHead(200, { "content-length": file.length });
      res.end(Buffer.from(file));
      return;
    }
    if (req.method === "HEAD") {
      res.writeHead(200, { "content-length": file.length, "accept-ranges": "bytes" });
      res.end();
      return;
    }
    const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? "");
    if (!m) {
      res.writeHead(200, { "content-length": file.length });
      served.push({ range: undefined, bytes: file.length });
      res.end(Buffer.from(file));
      return;
    }
    const a = Number(m[1]);
    const b = Math.min(Number(m[2]), file.length - 1);
    served.push({ range: req.headers.range, bytes: b - a + 1 });
    res.writeHead(206, { "content-range": `bytes ${a}-${b}/${file.length}`, "content-length": b - a + 1 });
    res.end(Buffer.from(file.subarray(a, b + 1)));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.close();
});

describe("reading over HTTP with range requests", () => {
  it("fetches the footer and the index column chunks only, for resume", async () => {
    served.length = 0;
    const src = await urlSource(`${base}/shard.parquet`);
    const f = await openLogitFile(src);
    const indices = await f.readIndices();
    expect([...indices]).toEqual(Array.from({ length: 60 }, (_, i) => i));
    const total = served.reduce((s, x) => s + x.bytes, 0);
    expect(served.every((x) => x.range !== undefined)).toBe(true);
    // footer (<= 64 KiB initial fetch, or the whole small footer) + 6 tiny index chunks
    expect(total).toBeLessThan(Math.min(file.length / 4, 70_000));
    expect(src.stats.requests).toBe(1 + served.length);
  });

  it("reads one sample by fetching only its row group", async () => {
    served.length = 0;
    const f = await openLogitFile(await urlSource(`${base}/shard.parquet`, { byteLength: file.length }));
    const footer = served.reduce((s, x) => s + x.bytes, 0);
    served.length = 0;
    const s = await f.sample(35);
    expect(s.index).toBe(35);
    const group = served.reduce((sum, x) => sum + x.bytes, 0);
    expect(served.length).toBe(1); // adjacent column chunks coalesced into one request
    expect(group).toBeLessThan(file.length / 4);
    expect(footer).toBeGreaterThan(0);
    // and the batch of a full scan over HTTP equals the in-memory one
    const mem = await openLogitFile(file);
    const a = (await mem.readBatch(2)) as NucleusBatch;
    const b = (await f.readBatch(2)) as NucleusBatch;
    expect(b.top.ids).toEqual(a.top.ids);
    expect(b.logsumexp).toEqual(a.logsumexp);
  });

  it("serves a small shard from the footer fetch: one request for footer and index", async () => {
    const small = await encodeLogitFile([encodeNucleusSample(randomInput(7, rng(1), { tokens: 3 }))]);
    let requests = 0;
    const fetchSmall = async (_url: string | URL | Request, init?: RequestInit) => {
      requests++;
      const m = /bytes=(\d+)-(\d+)/.exec(String((init?.headers as Record<string, string>)?.["Range"]));
      const a = Number(m?.[1]);
      const b = Number(m?.[2]);
      return new Response(small.slice(a, b + 1), { status: 206 });
    };
    const f = await openLogitFile(
      await urlSource("http://127.0.0.1:9/small.parquet", { fetch: fetchSmall, byteLength: small.length }),
    );
    expect([...(await f.readIndices())]).toEqual([7]);
    expect((await f.sample(0)).numTokens).toBe(3);
    expect(requests).toBe(1);
  });

  it("says clearly when a server ignores range requests or the file is missing", async () => {
    const src = await urlSource(`${base}/norange.parquet`);
    await expect(openLogitFile(src)).rejects.toThrow(/ignores HTTP range requests/);
    const missing = await urlSource(`${base}/missing.parquet`, {
      byteLength: 100,
      fetch: async () => new Response("nope", { status: 404 }),
    });
    const err = await openLogitFile(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CodecError);
    expect((err as CodecError).message).toMatch(/HTTP 404/);
  });
});

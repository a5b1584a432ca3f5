import { readFile, readlink, stat } from "node:fs/promises";
import { join } from "node:path";
import { type HubServer, startHubServer } from "@logitpack/hub-server";
import { afterEach, describe, expect, it } from "vitest";
import {
  createSink,
  downloadToCache,
  HubSink,
  HubStreamError,
  LocalCache,
  listRepoFiles,
  openHubLogitFile,
  resolveFileUrl,
  resumeState,
  StreamingWriter,
  verifyDataset,
  type WriterEvent,
} from "../src/index.js";
import { effectiveSettings } from "../src/settings.js";
import { makeRow, rowDigest, SETTINGS, sinkRows, tempDir } from "./helpers.js";

const TOKEN = "hf_testWriteToken0123456789";
const READ_TOKEN = "hf_testReadToken0123456789";
const FAST = { retries: 8, minDelayMs: 2, maxDelayMs: 20 };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) {
    await c();
  }
});

async function server(options: Parameters<typeof startHubServer>[0] = {}): Promise<HubServer> {
  const s = await startHubServer({ tokens: { [TOKEN]: "write", [READ_TOKEN]: "read" }, ...options });
  cleanups.push(() => s.close());
  return s;
}

async function dir() {
  const d = await tempDir();
  cleanups.push(d.cleanup);
  return d.path;
}

function hubSink(s: HubServer, repo = "me/logits", extra: Partial<Parameters<typeof HubSink.create>[0]> = {}) {
  return HubSink.create({ repo, token: TOKEN, hubUrl: s.url, retry: FAST, env: {}, ...extra });
}

describe("HubSink against the local Hub server", () => {
  it("creates the repo, uploads shards under data/ and the card, and reads them back", async () => {
    const s = await server({ pageSize: 2 });
    const sink = await hubSink(s);
    const cacheDir = join(await dir(), "cache");
    const w = await StreamingWriter.open({ sink, cacheDir, settings: SETTINGS, uploadEvery: 7 });
    for (let i = 0; i < 30; i++) {
      await w.write(makeRow(i));
    }
    const summary = await w.close();
    expect(summary.shards).toHaveLength(5);
    const files = [...s.files("me/logits").keys()].sort();
    expect(files).toContain("README.md");
    expect(files.filter((f) => f.startsWith("data/") && f.endsWith(".parquet"))).toHaveLength(5);
    // Listing pages through Link headers (page size 2).
    expect((await sink.list()).map((f) => f.path)).toEqual(summary.shards.slice().sort());
    expect(s.log.filter((r) => r.route === "tree").length).toBeGreaterThan(2);
    const rows = await sinkRows(sink);
    for (let i = 0; i < 30; i++) {
      expect(rows.get(i)).toEqual([rowDigest(makeRow(i))]);
    }
    // LFS path was used for the shards: batch + PUT.
    expect(s.log.some((r) => r.route === "lfs-upload" && r.status === 200)).toBe(true);
    const card = new TextDecoder().decode(s.files("me/logits").get("README.md"));
    expect(card).toContain("path: data/*.parquet");
    expect(card).toContain(`DATASET = "me/logits"`);
  });

  it("honours HF_ENDPOINT and HF_TOKEN from the environment", async () => {
    const s = await server();
    const sink = await createSink({
      hub: true,
      repo: "me/env",
      env: { HF_ENDPOINT: `${s.url}/`, HF_TOKEN: TOKEN },
      retry: FAST,
    });
    await sink.prepare();
    await sink.put("data/x.parquet", new Uint8Array([1, 2, 3, 0]));
    expect(s.files("me/env").get("data/x.parquet")).toEqual(new Uint8Array([1, 2, 3, 0]));
    expect(sink.location).toBe(`${s.url}/datasets/me/env@main`);
  });

  it("gives a clear FORBIDDEN error for a read-only token and UNAUTHORIZED for a bad or missing one", async () => {
    const s = await server();
    const ro = await hubSink(s, "me/ro", { token: READ_TOKEN });
    const e1 = await ro.prepare().catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(HubStreamError);
    expect((e1 as HubStreamError).code).toBe("FORBIDDEN");
    expect((e1 as HubStreamError).message).toMatch(/write/);
    expect((e1 as HubStreamError).message).not.toContain(READ_TOKEN);

    const bad = await hubSink(s, "me/ro", { token: "hf_notAKnownToken123" });
    const e2 = (await bad.prepare().catch((e: unknown) => e)) as HubStreamError;
    expect(e2.code).toBe("UNAUTHORIZED");
    expect(e2.status).toBe(401);
    expect(e2.message).not.toContain("hf_notAKnownToken123");

    const none = await HubSink.create({ repo: "me/ro", hubUrl: s.url, env: { HF_HOME: "/nonexistent" } });
    const e3 = (await none.prepare().catch((e: unknown) => e)) as HubStreamError;
    expect(e3.code).toBe("UNAUTHORIZED");
  });

  it("maps a 403 on upload (fine-grained token without write access) to FORBIDDEN with status, url and request id", async () => {
    const s = await server({ faults: [{ routes: ["preupload"], action: { status: 403 } }] });
    const sink = await hubSink(s, "me/fg");
    await sink.prepare();
    const e = (await sink.put("data/a.parquet", new Uint8Array([0, 1])).catch((x: unknown) => x)) as HubStreamError;
    expect(e.code).toBe("FORBIDDEN");
    expect(e.status).toBe(403);
    expect(e.url).toContain("/preupload/");
    expect(e.message).not.toContain(TOKEN);
  });

  it("retries 429, 5xx and connection resets with backoff", async () => {
    const s = await server({
      faults: [
        { routes: ["preupload"], action: { status: 429, retryAfterSeconds: 0 }, times: 2 },
        { routes: ["lfs-batch"], action: { status: 503 }, times: 2 },
        { routes: ["lfs-upload"], action: "reset", times: 2 },
        { routes: ["commit"], action: { status: 500 }, times: 2 },
      ],
    });
    const retries: WriterEvent[] = [];
    const sink = await hubSink(s, "me/retry", { onRetry: (info) => retries.push({ type: "retry", info }) });
    await sink.prepare();
    const bytes = new Uint8Array(100).fill(7);
    await sink.put("data/r.parquet", bytes);
    expect(s.files("me/retry").get("data/r.parquet")).toEqual(bytes);
    expect(retries.length).toBe(8);
    expect(JSON.stringify(retries)).not.toContain(TOKEN);
  });

  it("a commit whose answer was lost is not committed twice (checked by paths-info)", async () => {
    const s = await server({ faults: [{ routes: ["commit"], action: "reset", after: true, times: 1 }] });
    const sink = await hubSink(s, "me/lost");
    await sink.prepare();
    const r = await sink.put("data/l.parquet", new Uint8Array([9, 0, 9]));
    expect(r.written).toBe(false);
    expect(s.commits("me/lost").filter((c) => c.title.includes("data/l.parquet"))).toHaveLength(1);
    expect(s.log.some((x) => x.route === "paths-info")).toBe(true);
  });

  it("a 412 (another writer committed first) is refreshed and retried", async () => {
    const s = await server({ faults: [{ routes: ["commit"], action: { status: 412 }, times: 3 }] });
    const sink = await hubSink(s, "me/c412");
    await sink.prepare();
    await sink.put("data/c.parquet", new Uint8Array([4, 0]));
    expect(s.files("me/c412").has("data/c.parquet")).toBe(true);
    expect(s.log.filter((x) => x.route === "commit" && x.status === 412)).toHaveLength(3);
  });

  it("reads: lists files, resolves URLs, opens shards with range reads and downloads into the standard cache", async () => {
    const s = await server();
    const sink = await hubSink(s, "me/read");
    const w = await StreamingWriter.open({
      sink,
      cacheDir: join(await dir(), "c"),
      settings: SETTINGS,
      uploadEvery: 300,
      encode: { rowGroupRows: 20 },
    });
    for (let i = 0; i < 300; i++) {
      await w.write(makeRow(i, 7, 30));
    }
    await w.close();
    const env = { HF_TOKEN: TOKEN, HF_ENDPOINT: s.url };
    const files = await listRepoFiles({ repo: "me/read", env });
    expect(files.map((f) => f.path)).toEqual(["README.md", expect.stringMatching(/^data\/train-s000of001-/)]);
    const shard = files[1] as (typeof files)[number];
    expect(shard.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(resolveFileUrl({ repo: "me/read", path: shard.path, env })).toBe(
      `${s.url}/datasets/me/read/resolve/main/${shard.path}`,
    );

    const before = s.log.length;
    const lf = await openHubLogitFile({ repo: "me/read", path: shard.path, size: shard.size, env });
    expect(lf.numRows).toBe(300);
    const sample = await lf.sample(233);
    expect(sample.index).toBe(233);
    const reads = s.log.slice(before).filter((r) => r.route === "resolve");
    expect(reads.every((r) => r.status === 206)).toBe(true);
    const bytesRead = reads.reduce((a, r) => a + r.bytes, 0);
    // The footer (one 64 KiB tail read) and one row group, not the file.
    expect(bytesRead).toBeLessThan(shard.size / 2);

    const cache = join(await dir(), "hub");
    const path = await downloadToCache({ repo: "me/read", path: shard.path, env: { ...env, HF_HUB_CACHE: cache } });
    const repoDir = join(cache, "datasets--me--read");
    const head = (await readFile(join(repoDir, "refs", "main"), "utf8")).trim();
    expect(path).toBe(join(repoDir, "snapshots", head, ...shard.path.split("/")));
    expect(await readlink(path)).toBe(`../../../blobs/${shard.sha256}`);
    expect((await stat(join(repoDir, "blobs", shard.sha256 as string))).size).toBe(shard.size);
    const again = s.log.length;
    await downloadToCache({ repo: "me/read", path: shard.path, env: { ...env, HF_HUB_CACHE: cache } });
    expect(s.log.slice(again).filter((r) => r.method === "GET")).toHaveLength(0);
    const report = await verifyDataset({ sink, expectedCount: 300 });
    expect(report.ok).toBe(true);

    // Model repos (the teacher): listed and downloaded into the same cache, under models--owner--name.
    const { createRepo, uploadFiles } = await import("@huggingface/hub");
    const modelFiles = {
      "onnx/model.onnx": new Uint8Array([8, 7, 6, 5]),
      "tokenizer.json": new TextEncoder().encode("{}"),
    };
    await createRepo({ repo: { type: "model", name: "me/tiny-teacher" }, accessToken: TOKEN, hubUrl: s.url });
    await uploadFiles({
      repo: { type: "model", name: "me/tiny-teacher" },
      accessToken: TOKEN,
      hubUrl: s.url,
      useXet: false,
      files: Object.entries(modelFiles).map(([path, bytes]) => ({ path, content: new Blob([bytes]) })),
    });
    const listed = await listRepoFiles({ repo: "me/tiny-teacher", repoType: "model", env });
    expect(listed.map((f) => f.path)).toEqual(["onnx/model.onnx", "tokenizer.json"]);
    const modelPath = await downloadToCache({
      repo: "me/tiny-teacher",
      repoType: "model",
      path: "onnx/model.onnx",
      env: { ...env, HF_HUB_CACHE: cache },
    });
    expect(modelPath.startsWith(join(cache, "models--me--tiny-teacher", "snapshots"))).toBe(true);
    expect([...new Uint8Array(await readFile(modelPath))]).toEqual([8, 7, 6, 5]);

    // Resume without a checkpoint reads only footers and index column chunks, by range requests.
    const before2 = s.log.length;
    const state = await resumeState({
      sink,
      cache: new LocalCache(join(await dir(), "fresh")),
      settings: effectiveSettings("nucleus", SETTINGS),
    });
    expect(state.done.size).toBe(300);
    expect(state.scannedFiles).toBe(1);
    const resumeReads = s.log.slice(before2).filter((r) => r.route === "resolve");
    expect(resumeReads.every((r) => r.method === "GET" && r.status === 206)).toBe(true);
    expect(resumeReads.reduce((a, r) => a + r.bytes, 0)).toBeLessThan(shard.size / 2);

    await sink.remove([shard.path]);
    expect(await sink.list()).toEqual([]);
  });
});

import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeLogitFile } from "@logitpack/codec";
import { startHubServer } from "@logitpack/hub-server";
import { HubSink } from "@logitpack/hub-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  datasetStats,
  displayWidth,
  ExploreError,
  getSample,
  renderSampleInfo,
  sampleInfo,
  toJSONText,
} from "../src/index.js";
import { datasetStatsParallel, loadLogitDataset, parseDatasetSpec, terminalOptions } from "../src/node.js";
import { encodeNucleusSample, rng, shardInput } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "explore-ds-"));
const shardBytes: Uint8Array[] = [];
let server: Server;
let base = "";

beforeAll(async () => {
  const r = rng(5);
  for (let k = 0; k < 2; k++) {
    const rows = Array.from({ length: 6 }, (_, i) =>
      encodeNucleusSample(shardInput(100 + k * 6 + i, 30 + Math.floor(r() * 50), r)),
    );
    shardBytes.push(await encodeLogitFile(rows, { rowGroupRows: 2, settings: { model: "tiny", topPMax: 100 } }));
  }
  mkdirSync(join(dir, "folder", "data"), { recursive: true });
  mkdirSync(join(dir, "folder", ".logit_extraction_cache"), { recursive: true });
  shardBytes.forEach((b, k) => {
    writeFileSync(join(dir, "folder", "data", `train-${k}.parquet`), b);
  });
  writeFileSync(join(dir, "folder", ".logit_extraction_cache", "pending.parquet"), "not a dataset");
  // a static file server with HTTP range requests, on 127.0.0.1
  server = createServer((req, res) => {
    const path = join(dir, "folder", "data", (req.url ?? "/").slice(1));
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (req.method === "HEAD") {
      res.writeHead(200, { "content-length": size, "accept-ranges": "bytes" }).end();
    } else if (m) {
      const a = Number(m[1]);
      const b = Math.min(size - 1, Number(m[2]));
      res.writeHead(206, { "content-length": b - a + 1, "content-range": `bytes ${a}-${b}/${size}` });
      createReadStream(path, { start: a, end: b }).pipe(res);
    } else {
      res.writeHead(200, { "content-length": size });
      createReadStream(path).pipe(res);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe("loading datasets", () => {
  it("parses dataset arguments", () => {
    expect(parseDatasetSpec("https://x.test/a.parquet")).toEqual({ kind: "url", url: "https://x.test/a.parquet" });
    expect(parseDatasetSpec("hf://datasets/me/logits@v1/data")).toEqual({
      kind: "hub",
      repo: "me/logits",
      revision: "v1",
      path: "data",
    });
    expect(parseDatasetSpec("datasets/me/logits")).toEqual({ kind: "hub", repo: "me/logits" });
    expect(parseDatasetSpec("me/logits")).toEqual({ kind: "hub", repo: "me/logits" });
    expect(parseDatasetSpec(dir)).toEqual({ kind: "file", path: dir });
    expect(parseDatasetSpec("./shard.parquet")).toEqual({ kind: "file", path: "./shard.parquet" });
  });

  it("a folder (hidden folders ignored), a file, several files; samples by row and by dataset index", async () => {
    const ds = await loadLogitDataset(join(dir, "folder"));
    expect(ds.numRows).toBe(12);
    expect(ds.info().shards.map((s) => s.rows)).toEqual([6, 6]);
    expect(ds.info().settings.model).toBe("tiny");
    const byRow = await getSample(ds, { row: 8 });
    expect(byRow.sample.index).toBe(108);
    expect(byRow.shardRow).toBe(2);
    const byIndex = await getSample(ds, { index: 109 });
    expect(byIndex.row).toBe(9);
    expect(byIndex.sample.numTokens).toBe((await ds.sample(9)).sample.numTokens);
    await expect(ds.findIndex(5)).rejects.toThrow(/dataset index 5 is in none/);
    await expect(ds.sample(12)).rejects.toThrow(ExploreError);
    const one = await loadLogitDataset(join(dir, "folder", "data", "train-1.parquet"));
    expect(one.numRows).toBe(6);
    const both = await loadLogitDataset([
      join(dir, "folder", "data", "train-1.parquet"),
      join(dir, "folder", "data", "train-0.parquet"),
    ]);
    expect((await both.sample(0)).sample.index).toBe(106);
    await expect(loadLogitDataset(join(dir, "nothing-here"))).rejects.toMatchObject({ code: "NOT_FOUND" });
    mkdirSync(join(dir, "empty"));
    await expect(loadLogitDataset(join(dir, "empty"))).rejects.toMatchObject({ code: "NOT_FOUND" });

    const info = sampleInfo(byRow.sample, { row: byRow.row, settings: byRow.settings });
    const text = renderSampleInfo(info, { width: 72 });
    for (const line of text.split("\n")) {
      expect(displayWidth(line)).toBeLessThanOrEqual(72);
    }
    expect(text).toContain(`Sample 108 (row 8)`);
    expect(text).toContain("model tiny");
    const json = JSON.parse(toJSONText(info)) as { nucleusSizes: number[]; numTokens: number };
    expect(json.nucleusSizes.length).toBe(json.numTokens);
  });

  it("a URL, read by range requests; worker threads reopen it", async () => {
    const ds = await loadLogitDataset(`${base}/train-0.parquet`);
    expect(ds.numRows).toBe(6);
    expect((await ds.sample(3)).sample.index).toBe(103);
    const local = await datasetStats(await loadLogitDataset(join(dir, "folder", "data", "train-0.parquet")));
    const remote = await datasetStatsParallel(ds, { workers: 2 });
    expect(remote.workers).toBe(2);
    expect(remote.nucleusSize).toEqual(local.nucleusSize);
    expect(remote.tokens).toBe(local.tokens);
  });

  it("a Hub dataset repo (local Hub-compatible server): shards under data/, range reads", async () => {
    const hub = await startHubServer({ tokens: { hf_write: "write" } });
    try {
      const sink = await HubSink.create({ repo: "me/logits", token: "hf_write", hubUrl: hub.url, env: {} });
      await sink.prepare();
      await sink.put("data/train-0.parquet", shardBytes[0] as Uint8Array);
      await sink.put("data/train-1.parquet", shardBytes[1] as Uint8Array);
      await sink.put("extra/other.parquet", shardBytes[0] as Uint8Array);
      const ds = await loadLogitDataset("hf://datasets/me/logits", { hubUrl: hub.url, token: "hf_write", env: {} });
      expect(ds.shards.map((s) => s.name)).toEqual([
        "datasets/me/logits/data/train-0.parquet",
        "datasets/me/logits/data/train-1.parquet",
      ]);
      expect(ds.numRows).toBe(12);
      expect((await ds.findIndex(110)).row).toBe(10);
      const stats = await datasetStatsParallel(ds, { workers: 2 });
      const local = await datasetStats(await loadLogitDataset(join(dir, "folder")));
      expect(stats.nucleusSize).toEqual(local.nucleusSize);
      const extra = await loadLogitDataset("me/logits", { hubUrl: hub.url, token: "hf_write", env: {}, path: "extra" });
      expect(extra.numRows).toBe(6);
      await expect(
        loadLogitDataset("me/logits", { hubUrl: hub.url, token: "hf_write", env: {}, path: "nope" }),
      ).rejects.toMatchObject({
        code: "NOT_FOUND",
      });
    } finally {
      await hub.close();
    }
  }, 60_000);

  it("terminal options follow NO_COLOR, TTY and width", () => {
    expect(terminalOptions({ isTTY: true, columns: 100 }, {})).toEqual({ color: true, width: 100 });
    expect(terminalOptions({ isTTY: true, columns: 100 }, { NO_COLOR: "1" })).toEqual({ color: false, width: 100 });
    expect(terminalOptions({ isTTY: false }, { COLUMNS: "50" })).toEqual({ color: false, width: 50 });
    expect(terminalOptions({ isTTY: false }, { FORCE_COLOR: "1" }).color).toBe(true);
    expect(terminalOptions({ isTTY: true }, { TERM: "dumb" }).color).toBe(false);
  });
});

/**
 * Hub conventions on input: a dataset's README `configs` / `data_files` and its splits (default `train`, never mixed,
 * `split` and `config` options; a root `dataset_infos.json` is not data), for local folders and for Hub repos served
 * by the local Hub server (tools/hub-server) through hub-stream's real client; `HF_HUB_OFFLINE` (a cached dataset
 * opens without a request, an uncached one fails with a clear message); column auto-detection.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { startHubServer } from "@logitpack/hub-server";
import { downloadToCache, HubSink, listRepoFiles } from "@logitpack/hub-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { globToRegExp, resolveDataFiles } from "../src/data-files.js";
import { detectInputShape } from "../src/detect.js";
import { type HubFileAccess, hubDatasetProvider, hubOfflineFromEnv } from "../src/hub-provider.js";
import { type DatasetSource, openLocalDataset } from "../src/sources.js";

const README = `---
license: mit
configs:
- config_name: default
  data_files:
  - split: train
    path: "main/train-*.jsonl"
  - split: test
    path: main/test.jsonl
- config_name: extra
  data_files: extra/*.jsonl
---
# chats
`;

const row = (id: string) => ({ id, messages: [{ role: "user", content: id }] });
const FILES: Record<string, string[]> = {
  "main/train-0.jsonl": ["t0", "t1", "t2"],
  "main/train-1.jsonl": ["t3", "t4"],
  "main/test.jsonl": ["x0"],
  "extra/a.jsonl": ["e0", "e1", "e2", "e3"],
  "other/unrelated.jsonl": ["u0"],
};
const jsonl = (ids: string[]) => `${ids.map((i) => JSON.stringify(row(i))).join("\n")}\n`;

async function ids(source: DatasetSource): Promise<string[]> {
  const out: string[] = [];
  for await (const b of source.batches()) {
    out.push(...b.rows.map((r) => r.id as string));
  }
  return out;
}

const work = mkdtempSync(join(tmpdir(), "sampler-conventions-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function writeTree(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
}

describe("data files by the Hub's conventions", () => {
  it("globs as the Hub writes them", () => {
    expect(globToRegExp("data/*.parquet").test("data/train-0.parquet")).toBe(true);
    expect(globToRegExp("data/*.parquet").test("data/x/train-0.parquet")).toBe(false);
    expect(globToRegExp("**/*.jsonl").test("a/b/c.jsonl")).toBe(true);
    expect(globToRegExp("**/*.jsonl").test("c.jsonl")).toBe(true);
    expect(globToRegExp("data/{train,dev}.json").test("data/dev.json")).toBe(true);
  });

  it("split names in paths; default train; metadata files are not data", () => {
    const paths = [
      "dataset_infos.json",
      "README.md",
      "data/train-00000-of-00002.parquet",
      "data/train-00001-of-00002.parquet",
      "data/validation-00000-of-00001.parquet",
      "data/test-00000-of-00001.parquet",
      ".hidden/train.jsonl",
    ];
    const r = resolveDataFiles(paths, undefined);
    expect(r).toMatchObject({ split: "train", how: "split-names" });
    expect(r.files).toEqual(["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"]);
    expect(r.splits.sort()).toEqual(["test", "train", "validation"]);
    expect(resolveDataFiles(paths, undefined, { split: "validation" }).files).toEqual([
      "data/validation-00000-of-00001.parquet",
    ]);
    // no split names: every data file is train, but never dataset_infos.json
    const flat = resolveDataFiles(["dataset_infos.json", "chats.jsonl", "more.jsonl"], undefined);
    expect(flat).toMatchObject({ split: "train", how: "all-files", files: ["chats.jsonl", "more.jsonl"] });
    expect(() => resolveDataFiles(["dataset_infos.json"], undefined)).toThrow(/no .parquet, .jsonl or .json files/);
  });

  it("a local folder follows its README configs, split and config options", async () => {
    const root = join(work, "local");
    writeTree(root, {
      "README.md": README,
      "dataset_infos.json": JSON.stringify({ default: { features: {} } }),
      ...Object.fromEntries(Object.entries(FILES).map(([p, v]) => [p, jsonl(v)])),
    });
    const train = openLocalDataset(root);
    expect(await ids(train)).toEqual(["t0", "t1", "t2", "t3", "t4"]);
    expect(train.dataFiles).toMatchObject({ split: "train", config: "default", how: "readme-configs" });
    expect(await ids(openLocalDataset(root, { split: "test" }))).toEqual(["x0"]);
    expect(await ids(openLocalDataset(root, { config: "extra" }))).toEqual(["e0", "e1", "e2", "e3"]);
    expect(() => openLocalDataset(root, { config: "nope" })).toThrow(/--config.*no config "nope".*default, extra/);
    expect(() => openLocalDataset(root, { split: "validation" })).toThrow(/--split.*no split "validation"/);
  });
});

describe("Hub datasets (local Hub server)", () => {
  let server: Awaited<ReturnType<typeof startHubServer>>;
  const token = "hf_conventions1";
  const cacheDir = join(work, "hf-cache");
  let access: HubFileAccess;
  let requests = 0;

  beforeAll(async () => {
    server = await startHubServer();
    const sink = await HubSink.create({ repo: "org/chats", token, hubUrl: server.url, env: {} });
    await sink.prepare();
    const enc = new TextEncoder();
    await sink.put("README.md", enc.encode(README));
    await sink.put("dataset_infos.json", enc.encode("{}"));
    for (const [p, v] of Object.entries(FILES)) {
      await sink.put(p, enc.encode(jsonl(v)));
    }
    access = {
      listFiles: (o) => {
        requests++;
        return listRepoFiles({ ...o, hubUrl: server.url, token, env: {} });
      },
      download: (o) => {
        requests++;
        return downloadToCache({ ...o, hubUrl: server.url, token, env: {}, cacheDir });
      },
    };
  });
  afterAll(() => server?.close());

  it("follows the repo's README configs and splits", async () => {
    const provider = hubDatasetProvider(access);
    const train = await provider.open("org/chats", {});
    expect(await ids(train)).toEqual(["t0", "t1", "t2", "t3", "t4"]);
    expect(train.dataFiles).toMatchObject({
      split: "train",
      config: "default",
      files: ["main/train-0.jsonl", "main/train-1.jsonl"],
    });
    expect(await ids(await provider.open("org/chats", { split: "test" }))).toEqual(["x0"]);
    expect(await ids(await provider.open("org/chats", { config: "extra" }))).toEqual(["e0", "e1", "e2", "e3"]);
    await expect(provider.open("org/chats", { config: "nope" })).rejects.toThrow(/no config "nope"/);
  });

  it("HF_HUB_OFFLINE: a cached dataset opens without a request; an uncached one fails clearly", async () => {
    expect(hubOfflineFromEnv({ HF_HUB_OFFLINE: "1" })).toBe(true);
    expect(hubOfflineFromEnv({ HF_HUB_OFFLINE: "true" })).toBe(true);
    expect(hubOfflineFromEnv({ HF_HUB_OFFLINE: "0" })).toBe(false);
    expect(hubOfflineFromEnv({})).toBe(false);
    // cached by the online test above
    const before = server.log.length;
    const count = requests;
    const offline = hubDatasetProvider(access, { offline: true, cacheDir });
    const train = await offline.open("org/chats", {});
    expect(await ids(train)).toEqual(["t0", "t1", "t2", "t3", "t4"]);
    expect(await ids(await offline.open("org/chats", { split: "test" }))).toEqual(["x0"]);
    expect(server.log.length).toBe(before);
    expect(requests).toBe(count);
    await expect(offline.open("org/never-downloaded", {})).rejects.toThrow(
      /HF_HUB_OFFLINE is set and the dataset org\/never-downloaded is not in the Hugging Face cache/,
    );
    await expect(hubDatasetProvider(access, { offline: true }).open("org/chats", {})).rejects.toThrow(/HF_HUB_OFFLINE/);
  });
});

describe("column auto-detection", () => {
  it("messages, ShareGPT conversations, prompt/response, instruction/output(+input), question/answer", () => {
    expect(detectInputShape(["id", "messages"]).shape).toEqual({ kind: "messages", column: "messages" });
    const sharegpt = detectInputShape(["conversations"], {
      firstRow: { conversations: [{ from: "human", value: "hi" }] },
    });
    expect(sharegpt.shape).toEqual({ kind: "messages", column: "conversations" });
    expect(sharegpt.description).toContain("ShareGPT from/value");
    expect(detectInputShape(["prompt", "response"]).shape).toEqual({
      kind: "columns",
      userCol: "prompt",
      assistantCol: "response",
    });
    const alpaca = detectInputShape(["instruction", "input", "output"]);
    expect(alpaca.shape).toEqual({
      kind: "columns",
      userCol: "instruction",
      inputCol: "input",
      assistantCol: "output",
    });
    expect(alpaca.description).toBe('user column "instruction" + "input", assistant column "output"');
    expect(alpaca.unused).toEqual([]);
    // without an input column, or with input/output alone, nothing extra is read
    expect(detectInputShape(["instruction", "output"]).shape).toEqual({
      kind: "columns",
      userCol: "instruction",
      assistantCol: "output",
    });
    expect(detectInputShape(["input", "output"]).shape).toEqual({
      kind: "columns",
      userCol: "input",
      assistantCol: "output",
    });
    expect(detectInputShape(["instruction", "input", "response", "system"]).description).toBe(
      'user column "instruction" + "input", assistant column "response", system column "system"',
    );
    expect(detectInputShape(["question", "answer", "system"]).shape).toEqual({
      kind: "columns",
      userCol: "question",
      assistantCol: "answer",
      systemCol: "system",
    });
    expect(detectInputShape(["question", "answer"]).description).toBe(
      'user column "question", assistant column "answer"',
    );
    expect(() => detectInputShape(["a", "b"])).toThrow(/cannot tell which columns.*"a", "b"/);
  });
});

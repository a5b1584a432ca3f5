import { EventEmitter } from "node:events";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { columnsOf } from "@logitpack/codec";
import { startHubServer } from "@logitpack/hub-server";
import { afterEach, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  backoffDelay,
  cardFrontMatter,
  createRetryingFetch,
  deserializeIndexSet,
  diffSettings,
  EventChannel,
  HubStreamError,
  hubCacheDir,
  IndexSet,
  installShutdownHandlers,
  parseRepoId,
  parseShardFileName,
  parseShardSpec,
  renderDatasetCard,
  resolveHubUrl,
  resolveToken,
  serializeIndexSet,
  shardFileName,
} from "../src/index.js";
import { tempDir } from "./helpers.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) {
    await c();
  }
});

describe("IndexSet", () => {
  it("adds, tests, iterates in order and finds gaps", () => {
    const s = IndexSet.from([5, 1, 3, 1000, 3]);
    expect(s.size).toBe(4);
    expect([...s]).toEqual([1, 3, 5, 1000]);
    expect(s.has(3)).toBe(true);
    expect(s.has(4)).toBe(false);
    expect(s.has(-1)).toBe(false);
    expect(s.add(5)).toBe(false);
    expect(s.toRanges()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
      [1000, 1001],
    ]);
    expect(s.gaps(7)).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
      [6, 7],
    ]);
    expect(() => s.add(-1)).toThrow(RangeError);
  });

  it("serializes as ranges when sequential and as a bitmap when fragmented, both round-tripping", () => {
    const seq = IndexSet.from(Array.from({ length: 10_000 }, (_, i) => i));
    const a = serializeIndexSet(seq);
    expect(a).toEqual({ ranges: [[0, 10_000]] });
    const frag = IndexSet.from(Array.from({ length: 5000 }, (_, i) => i * 2 + (i % 3)));
    const b = serializeIndexSet(frag);
    expect("bitmap" in b).toBe(true);
    expect([...deserializeIndexSet(JSON.parse(JSON.stringify(b)))]).toEqual([...frag]);
    expect([...deserializeIndexSet(a)]).toEqual([...seq]);
  });
});

describe("names and settings", () => {
  it("shard names are deterministic, carry the shard and parse back", () => {
    const name = shardFileName({ index: 2, count: 8 }, 1200, 1799, "3fa9c0e1b2d4a6f70000");
    expect(name).toBe("data/train-s002of008-000001200-000001799-3fa9c0e1b2d4a6f7.parquet");
    expect(parseShardFileName(name)).toEqual({
      path: name,
      shard: { index: 2, count: 8 },
      first: 1200,
      last: 1799,
      hash: "3fa9c0e1b2d4a6f7",
    });
    expect(parseShardFileName("data/other.parquet")).toBeUndefined();
    expect(parseShardSpec("3/4")).toEqual({ index: 3, count: 4 });
    expect(() => parseShardSpec("4/4")).toThrow(HubStreamError);
    expect(parseRepoId("datasets/me/x")).toBe("me/x");
    expect(() => parseRepoId("nope")).toThrow(/namespace\/name/);
  });

  it("diffSettings names what differs, in order", () => {
    expect(diffSettings({ a: 1, b: { x: [1, 2] }, c: "s" }, { c: "s", b: { x: [1, 2] }, a: 1 })).toEqual([]);
    expect(diffSettings({ topP: 0.98, model: "m" }, { topP: 0.95, model: "m", seed: 1 })).toEqual([
      { setting: "seed", before: undefined, now: 1 },
      { setting: "topP", before: 0.98, now: 0.95 },
    ]);
  });
});

describe("configuration from options and environment", () => {
  it("endpoint: option > HF_ENDPOINT > huggingface.co, without trailing slash", () => {
    expect(resolveHubUrl(undefined, {})).toBe("https://huggingface.co");
    expect(resolveHubUrl(undefined, { HF_ENDPOINT: "http://127.0.0.1:9/" })).toBe("http://127.0.0.1:9");
    expect(resolveHubUrl("http://a.b//", { HF_ENDPOINT: "http://x" })).toBe("http://a.b");
    expect(() => resolveHubUrl("ftp://x", {})).toThrow(HubStreamError);
  });

  it("token: option > HF_TOKEN > HUGGING_FACE_HUB_TOKEN > token file; never echoed when invalid", async () => {
    const d = await tempDir();
    cleanups.push(d.cleanup);
    await writeFile(join(d.path, "token"), "hf_fromFile123\n");
    expect(await resolveToken("hf_opt", { HF_TOKEN: "hf_env", HF_HOME: d.path })).toBe("hf_opt");
    expect(await resolveToken(undefined, { HF_TOKEN: "hf_env", HF_HOME: d.path })).toBe("hf_env");
    expect(await resolveToken(undefined, { HUGGING_FACE_HUB_TOKEN: "hf_legacy", HF_HOME: d.path })).toBe("hf_legacy");
    expect(await resolveToken(undefined, { HF_HOME: d.path })).toBe("hf_fromFile123");
    expect(await resolveToken(undefined, { HF_HOME: join(d.path, "none") })).toBeUndefined();
    const e = (await resolveToken("secretwithoutprefix", {}).catch((x: unknown) => x)) as Error;
    expect(e.message).not.toContain("secretwithoutprefix");
  });

  it("cache: HF_HUB_CACHE > HUGGINGFACE_HUB_CACHE > HF_HOME/hub > XDG_CACHE_HOME/huggingface/hub", () => {
    expect(hubCacheDir({ HF_HUB_CACHE: "/a", HF_HOME: "/h" })).toBe("/a");
    expect(hubCacheDir({ HUGGINGFACE_HUB_CACHE: "/b", HF_HOME: "/h" })).toBe("/b");
    expect(hubCacheDir({ HF_HOME: "/h" })).toBe("/h/hub");
    expect(hubCacheDir({ XDG_CACHE_HOME: "/x" })).toBe("/x/huggingface/hub");
  });
});

describe("retries", () => {
  it("backoff grows exponentially with full jitter and a cap", () => {
    const lo = { minDelayMs: 100, maxDelayMs: 1000, random: () => 0 };
    const hi = { minDelayMs: 100, maxDelayMs: 1000, random: () => 0.999999 };
    expect(backoffDelay(1, lo)).toBe(50);
    expect(backoffDelay(1, hi)).toBe(100);
    expect(backoffDelay(3, hi)).toBe(400);
    expect(backoffDelay(10, hi)).toBe(1000);
  });

  it("retries 5xx, 429 and resets, not 4xx, and gives up after `retries`", async () => {
    const s = await startHubServer({
      faults: [
        { routes: ["whoami"], action: { status: 502 }, times: 2 },
        { routes: ["whoami"], action: "reset", times: 1 },
      ],
    });
    cleanups.push(() => s.close());
    const retried: number[] = [];
    const f = createRetryingFetch({ minDelayMs: 1, maxDelayMs: 2, onRetry: (i) => retried.push(i.status ?? 0) });
    const ok = await f(`${s.url}/api/whoami-v2`, { headers: { Authorization: "Bearer hf_x" } });
    expect(ok.status).toBe(200);
    expect(retried).toEqual([502, 502, 0]);
    const notFound = await f(`${s.url}/api/datasets/no/repo`);
    expect(notFound.status).toBe(404);
    s.faults = [{ routes: ["whoami"], action: { status: 500 } }];
    const limited = createRetryingFetch({ retries: 2, minDelayMs: 1, maxDelayMs: 2 });
    const r = await limited(`${s.url}/api/whoami-v2`, { headers: { Authorization: "Bearer hf_x" } });
    expect(r.status).toBe(500);
    expect(s.log.filter((x) => x.fault === "status 500")).toHaveLength(3);
  });
});

describe("events and shutdown", () => {
  it("EventChannel coalesces progress snapshots for slow consumers", async () => {
    const ch = new EventChannel<{ type: string; n?: number }>();
    ch.push({ type: "progress", n: 1 });
    ch.push({ type: "progress", n: 2 });
    ch.push({ type: "shard", n: 3 });
    ch.push({ type: "progress", n: 4 });
    ch.end();
    const got: unknown[] = [];
    for await (const e of ch) {
      got.push(e);
    }
    expect(got).toEqual([
      { type: "progress", n: 2 },
      { type: "shard", n: 3 },
      { type: "progress", n: 4 },
    ]);
  });

  it("first signal aborts (graceful), second forces; max runtime aborts the same way", async () => {
    const target = new EventEmitter();
    const forced: string[] = [];
    const stops: string[] = [];
    const h = installShutdownHandlers({ target, onForce: (s) => forced.push(s), onStop: (r) => stops.push(r) });
    expect(h.signal.aborted).toBe(false);
    target.emit("SIGINT", "SIGINT");
    expect(h.signal.aborted).toBe(true);
    expect(h.reason).toBe("SIGINT");
    expect(forced).toEqual([]);
    target.emit("SIGTERM", "SIGTERM");
    expect(forced).toEqual(["SIGTERM"]);
    h.dispose();
    expect(target.listenerCount("SIGINT")).toBe(0);

    const t = installShutdownHandlers({ target, maxRuntimeMinutes: 0.05 / 60 });
    await new Promise((r) => setTimeout(r, 80));
    expect(t.signal.aborted).toBe(true);
    expect(t.reason).toBe("max-runtime");
    t.dispose();
  });
});

describe("dataset card", () => {
  it("front matter is YAML with features matching the schema and configs pointing at data/*.parquet", () => {
    for (const layout of ["nucleus", "importance"] as const) {
      const fm = cardFrontMatter({ layout, settings: { model: 'a "quoted" model' } });
      const y = parseYaml(fm.replace(/^---\n/, "").replace(/\n---$/, "")) as {
        configs: { data_files: { split: string; path: string }[] }[];
        dataset_info: { features: { name: string; dtype?: string; list?: string }[] };
        pretty_name: string;
      };
      expect(y.pretty_name).toBe('Teacher logits of a "quoted" model');
      expect(y.configs[0]?.data_files).toEqual([{ split: "train", path: "data/*.parquet" }]);
      const want = columnsOf(layout).map((c) =>
        c.type.startsWith("list<") ? { name: c.name, list: c.type.slice(5, -1) } : { name: c.name, dtype: c.type },
      );
      expect(y.dataset_info.features).toEqual(want);
    }
  });

  it("explains alignment and decoding (Python and TypeScript) and lists the settings", () => {
    const card = renderDatasetCard({
      layout: "nucleus",
      settings: { model: "Qwen/Qwen3-8B", topP: 0.95, sampledN: 24, templateHash: "ab12" },
      repoId: "me/logits",
    });
    expect(card.startsWith("---\n")).toBe(true);
    expect(card).toContain("## Token Alignment");
    expect(card).toContain("def unpack_indices(low, high_bytes):");
    expect(card).toContain("def print_sampled_logits(sample, token_idx):");
    expect(card).toContain('DATASET = "me/logits"');
    expect(card).toContain('TOKENIZER = "Qwen/Qwen3-8B"');
    expect(card).toContain("~95% probability mass");
    expect(card).toContain('import { openLogitFile, positionIds, positionProbs, urlSource } from "@logitpack/codec";');
    expect(card).toContain('| `templateHash` | `"ab12"` |');
  });

  it("the TypeScript example runs as written against a shard on the local Hub", async () => {
    const { typescriptExample, HubSink, StreamingWriter } = await import("../src/index.js");
    const { makeRow, SETTINGS } = await import("./helpers.js");
    const s = await startHubServer();
    cleanups.push(() => s.close());
    const d = await tempDir();
    cleanups.push(d.cleanup);
    const sink = await HubSink.create({ repo: "me/ex", token: "hf_example123", hubUrl: s.url, env: {} });
    const w = await StreamingWriter.open({ sink, cacheDir: join(d.path, "c"), settings: SETTINGS, uploadEvery: 40 });
    for (let i = 0; i < 40; i++) {
      await w.write(makeRow(i));
    }
    const [shard] = (await w.close()).shards;
    const code = typescriptExample(`${s.url}/datasets/me/ex/resolve/main/${shard}`);
    const dir = join(import.meta.dirname, "..", "node_modules", ".cache", "hub-stream-test");
    await mkdir(dir, { recursive: true });
    const file = join(dir, "card-example.mjs");
    await writeFile(file, code);
    const { execFile } = await import("node:child_process");
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [file],
        { env: { ...process.env, HF_TOKEN: "hf_example123" } },
        (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)),
      ),
    );
    expect(out).toMatch(/^40 rows, layout nucleus, settings \{"mode":"nucleus","model":"test\/teacher-0.5B"/);
    expect(out).toMatch(/example 0: \d+ tokens; token 0 has \d+ entries, top id \d+, mass 0\.\d{4}/);
    expect(out).toMatch(/\n\d+ tokens in the file\n$/);
  });
});

import { createHash } from "node:crypto";
import { mkdir, readFile, readlink, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generatedFile, generatedSha256, type HubServer, startHubServer } from "@logitpack/hub-server";
import { afterEach, describe, expect, it } from "vitest";
import {
  type DownloadProgress,
  downloadModel,
  downloadToCache,
  HubStreamError,
  MODEL_DTYPES,
  pickModelVariant,
} from "../src/index.js";
import { tempDir } from "./helpers.js";

const FAST = { retries: 3, minDelayMs: 2, maxDelayMs: 10 };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) {
    await c();
  }
});

async function server(): Promise<HubServer> {
  const s = await startHubServer();
  cleanups.push(() => s.close());
  return s;
}

async function dir(): Promise<string> {
  const d = await tempDir();
  cleanups.push(d.cleanup);
  return d.path;
}

const SUFFIX: Record<string, string> = {
  fp32: "",
  fp16: "_fp16",
  q4: "_q4",
  q4f16: "_q4f16",
  int8: "_int8",
  uint8: "_uint8",
  bnb4: "_bnb4",
  quantized: "_quantized",
};

/** Distinct binary content per file name (binary, so the server stores it as an LFS file). */
function content(name: string, size = 4096): Uint8Array {
  const out = new Uint8Array(size);
  const h = createHash("sha256").update(name).digest();
  for (let i = 0; i < size; i++) {
    out[i] = (h[i % 32] as number) ^ (i & 0xff);
  }
  out[0] = 0;
  return out;
}

/** An onnx-community-shaped repo: every dtype variant with its `_data` file, configs, tokenizer, other weights. */
function communityRepo(dtypes: readonly string[] = MODEL_DTYPES): Record<string, Uint8Array | string> {
  const files: Record<string, Uint8Array | string> = {
    "config.json": JSON.stringify({ model_type: "qwen3", vocab_size: 32 }),
    "generation_config.json": "{}",
    "tokenizer.json": JSON.stringify({ model: { type: "BPE" } }),
    "tokenizer_config.json": JSON.stringify({ model_max_length: 64 }),
    "README.md": "# a model\n",
    "model.safetensors": content("safetensors", 8192),
  };
  for (const d of dtypes) {
    files[`onnx/model${SUFFIX[d]}.onnx`] = content(`model${SUFFIX[d]}`, 1024);
    files[`onnx/model${SUFFIX[d]}.onnx_data`] = content(`data${SUFFIX[d]}`, 8192);
  }
  return files;
}

function fetched(hub: HubServer): string[] {
  return hub.log
    .filter((r) => r.route === "resolve" && r.method === "GET")
    .map((r) => r.path.split("/resolve/main/")[1] as string)
    .sort();
}

describe("model downloads (onnx-community layout)", () => {
  it("downloads one dtype variant with its data files and the side files, nothing else", async () => {
    const hub = await server();
    const files = communityRepo();
    await hub.seed("onnx-community/tiny", files);
    const cache = await dir();
    const model = await downloadModel({ repo: "onnx-community/tiny", dtype: "q4", hubUrl: hub.url, cacheDir: cache });
    expect(model.dtype).toBe("q4");
    expect(model.modelFile).toBe("onnx/model_q4.onnx");
    expect(fetched(hub)).toEqual(
      [
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "onnx/model_q4.onnx",
        "onnx/model_q4.onnx_data",
      ].sort(),
    );
    expect(model.available.map((v) => v.dtype)).toEqual([...MODEL_DTYPES]);
    expect(model.bytes).toBe(1024 + 8192);
    // Standard cache layout: snapshot symlinks into blobs named by the LFS sha256, refs/main holds the commit.
    expect(model.dir).toBe(join(cache, "models--onnx-community--tiny", "snapshots", model.commit));
    expect(await readFile(join(cache, "models--onnx-community--tiny", "refs", "main"), "utf8")).toBe(model.commit);
    const data = join(model.dir, "onnx", "model_q4.onnx_data");
    const sha = createHash("sha256")
      .update(files["onnx/model_q4.onnx_data"] as Uint8Array)
      .digest("hex");
    expect(await readlink(data)).toBe(join("..", "..", "..", "blobs", sha));
    expect(new Uint8Array(await readFile(data))).toEqual(files["onnx/model_q4.onnx_data"]);
    // A second call finds everything in the cache: only HEAD requests, one "cached" report per file.
    const before = hub.log.length;
    const reports: (DownloadProgress & { file: number; files: number })[] = [];
    await downloadModel({
      repo: "onnx-community/tiny",
      dtype: "q4",
      hubUrl: hub.url,
      cacheDir: cache,
      onProgress: (p) => reports.push(p),
    });
    expect(hub.log.slice(before).filter((r) => r.route === "resolve" && r.method === "GET")).toEqual([]);
    expect(reports.map((r) => [r.file, r.files, r.path, r.cached, r.done])).toEqual(
      model.files.map((f, i) => [i + 1, 6, f, true, true]),
    );
    expect(reports.find((r) => r.path === "onnx/model_q4.onnx_data")?.bytes).toBe(8192);
  });

  it("defaults to the best variant for the device, and to what the repo has", () => {
    const list = (dtypes: string[]) =>
      Object.entries(communityRepo(dtypes)).map(([path, v]) => ({
        path,
        size: typeof v === "string" ? v.length : v.length,
      }));
    expect(pickModelVariant("m", list([...MODEL_DTYPES])).dtype).toBe("fp32");
    expect(pickModelVariant("m", list([...MODEL_DTYPES]), { device: "cuda" }).dtype).toBe("fp16");
    expect(pickModelVariant("m", list(["q4f16"])).file).toBe("onnx/model_q4f16.onnx");
    expect(pickModelVariant("m", list(["fp16", "int8"])).dtype).toBe("int8");
    const merged = [
      { path: "decoder_model_merged.onnx", size: 10 },
      { path: "decoder_model_merged.onnx_data", size: 5 },
    ];
    expect(pickModelVariant("m", merged)).toEqual({
      dtype: "fp32",
      file: "decoder_model_merged.onnx",
      dataFiles: ["decoder_model_merged.onnx_data"],
      bytes: 15,
    });
    const odd = [
      { path: "onnx/other.onnx", size: 10 },
      { path: "onnx/other.onnx.data", size: 3 },
    ];
    expect(pickModelVariant("m", odd, { modelFile: "onnx/other.onnx" })).toEqual({
      dtype: undefined,
      file: "onnx/other.onnx",
      dataFiles: ["onnx/other.onnx.data"],
      bytes: 13,
    });
  });

  it("bad input: no ONNX file, a missing variant, a missing model file: typed errors naming repo and what exists", async () => {
    const hub = await server();
    await hub.seed("me/no-onnx", { "config.json": "{}", "model.safetensors": content("w") });
    await hub.seed("me/some", communityRepo(["q4", "fp16"]));
    const cache = await dir();
    const err = async (p: Promise<unknown>) => {
      const e = await p.then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(HubStreamError);
      return e as HubStreamError;
    };
    const none = await err(downloadModel({ repo: "me/no-onnx", hubUrl: hub.url, cacheDir: cache }));
    expect(none.code).toBe("NOT_FOUND");
    expect(none.message).toContain("models/me/no-onnx has no ONNX file");
    const missing = await err(downloadModel({ repo: "me/some", dtype: "int8", hubUrl: hub.url, cacheDir: cache }));
    expect(missing.message).toBe(
      "[hub-stream] models/me/some has no int8 variant (onnx/model_int8.onnx); available: fp16 (onnx/model_fp16.onnx), q4 (onnx/model_q4.onnx)",
    );
    const file = await err(
      downloadModel({ repo: "me/some", modelFile: "onnx/nope.onnx", hubUrl: hub.url, cacheDir: cache }),
    );
    expect(file.message).toContain("models/me/some has no ONNX file onnx/nope.onnx; ONNX files: onnx/model_fp16.onnx");
    const repo = await err(downloadModel({ repo: "me/absent", hubUrl: hub.url, cacheDir: cache, retry: FAST }));
    expect(repo.code).toBe("NOT_FOUND");
    expect(fetched(hub)).toEqual([]);
  });

  it("streams a large file to disk, reports progress, resumes within a call after a dropped connection", async () => {
    const hub = await server();
    const gen = generatedFile(48 << 20, 5);
    await hub.seed("me/big", { "onnx/model.onnx": content("m"), "onnx/model.onnx_data": gen });
    hub.faults = [{ routes: ["resolve"], method: "GET", action: { dropAfterBytes: 20 << 20 }, times: 1 }];
    const cache = await dir();
    const progress: DownloadProgress[] = [];
    const path = await downloadToCache({
      repo: "me/big",
      repoType: "model",
      path: "onnx/model.onnx_data",
      hubUrl: hub.url,
      cacheDir: cache,
      retry: FAST,
      onProgress: (p) => progress.push(p),
    });
    const expected = new Uint8Array(gen.size);
    gen.fill(0, expected);
    expect(Buffer.compare(await readFile(path), expected)).toBe(0);
    const gets = hub.log.filter((r) => r.route === "resolve" && r.method === "GET");
    expect(gets.map((r) => r.status)).toEqual([200, 206]);
    expect(gets[0]?.fault).toBe(`drop after ${20 << 20} bytes`);
    // resumed, not restarted: the range starts after byte 0 and no later than the drop (bytes still in flight when the
    // server cut the connection may not have reached the client, so it can start a little before it)
    expect(gets[1]?.bytes).toBeGreaterThanOrEqual(gen.size - (20 << 20));
    expect(gets[1]?.bytes).toBeLessThan(gen.size);
    const last = progress[progress.length - 1] as DownloadProgress;
    expect(last).toMatchObject({ path: "onnx/model.onnx_data", bytes: gen.size, total: gen.size, done: true });
    expect(last.bytesPerSecond).toBeGreaterThan(0);
    for (let i = 1; i < progress.length; i++) {
      expect((progress[i] as DownloadProgress).bytes).toBeGreaterThanOrEqual(
        (progress[i - 1] as DownloadProgress).bytes,
      );
    }
  });

  it("a download cut short every time fails with a typed error and is resumed by the next call", async () => {
    const hub = await server();
    const gen = generatedFile(12 << 20, 9);
    await hub.seed("me/cut", { "onnx/model.onnx_data": gen });
    hub.faults = [{ routes: ["resolve"], method: "GET", action: { dropAfterBytes: 1 << 20 } }];
    const cache = await dir();
    const options = {
      repo: "me/cut",
      repoType: "model" as const,
      path: "onnx/model.onnx_data",
      hubUrl: hub.url,
      cacheDir: cache,
      retry: FAST,
    };
    const e = (await downloadToCache(options).catch((x: unknown) => x)) as HubStreamError;
    expect(e).toBeInstanceOf(HubStreamError);
    expect(e.code).toBe("HTTP");
    expect(e.path).toBe("onnx/model.onnx_data");
    const m =
      /^\[hub-stream\] download onnx\/model\.onnx_data of models\/me\/cut: the download stopped at (\d+) of 12582912 bytes after 6 attempts \(.*\); run again to resume$/.exec(
        e.message,
      );
    expect(m).not.toBeNull();
    const got = Number(m?.[1]);
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThan(gen.size);
    const oid = await generatedSha256(gen);
    expect((await stat(join(cache, "models--me--cut", "blobs", `${oid}.incomplete`))).size).toBe(got);
    hub.faults = [];
    const start = hub.log.length;
    const path = await downloadToCache(options);
    const resumed = hub.log.slice(start).filter((r) => r.route === "resolve" && r.method === "GET");
    expect(resumed.map((r) => [r.status, r.bytes])).toEqual([[206, gen.size - got]]);
    expect(
      createHash("sha256")
        .update(await readFile(path))
        .digest("hex"),
    ).toBe(oid);
  });

  it("a partial file that does not match its sha256 is removed with a typed error", async () => {
    const hub = await server();
    const data = content("x", 1 << 20);
    await hub.seed("me/bad", { "onnx/model.onnx": data });
    const cache = await dir();
    const oid = createHash("sha256").update(data).digest("hex");
    const partial = join(cache, "models--me--bad", "blobs", `${oid}.incomplete`);
    await mkdir(join(cache, "models--me--bad", "blobs"), { recursive: true });
    await writeFile(partial, new Uint8Array(1000).fill(7)); // not a prefix of the file
    const e = (await downloadToCache({
      repo: "me/bad",
      repoType: "model",
      path: "onnx/model.onnx",
      hubUrl: hub.url,
      cacheDir: cache,
    }).catch((x: unknown) => x)) as HubStreamError;
    expect(e.code).toBe("CACHE_CORRUPT");
    expect(await stat(partial).catch(() => undefined)).toBeUndefined();
    // The next call downloads it whole.
    const path = await downloadToCache({
      repo: "me/bad",
      repoType: "model",
      path: "onnx/model.onnx",
      hubUrl: hub.url,
      cacheDir: cache,
    });
    expect(Buffer.compare(await readFile(path), data)).toBe(0);
  });

  it("follows a renamed repo's relative redirect", async () => {
    const hub = await server();
    const data = content("renamed", 3000);
    await hub.seed("org/new-name", { "onnx/model.onnx": data });
    const cache = await dir();
    const seen: string[] = [];
    const redirecting: typeof fetch = async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      seen.push(`${init?.method ?? "GET"} ${new URL(url).pathname}`);
      if (url.includes("/org/old-name/")) {
        return new Response(null, {
          status: 307,
          headers: { Location: new URL(url).pathname.replace("/org/old-name/", "/org/new-name/") },
        });
      }
      return fetch(input, init);
    };
    const path = await downloadToCache({
      repo: "org/old-name",
      repoType: "model",
      path: "onnx/model.onnx",
      hubUrl: hub.url,
      cacheDir: cache,
      fetch: redirecting,
    });
    expect(Buffer.compare(await readFile(path), data)).toBe(0);
    expect(seen).toEqual([
      "HEAD /org/old-name/resolve/main/onnx/model.onnx",
      "HEAD /org/new-name/resolve/main/onnx/model.onnx",
      "GET /org/new-name/resolve/main/onnx/model.onnx",
    ]);
  });

  it("HF_HUB_OFFLINE=1 uses the cache only and names a missing file", async () => {
    const hub = await server();
    await hub.seed("me/off", communityRepo(["q4", "fp32"]));
    const cache = await dir();
    const online = await downloadModel({ repo: "me/off", dtype: "q4", hubUrl: hub.url, cacheDir: cache });
    await hub.close();
    const env = { HF_HUB_OFFLINE: "1", HF_HUB_CACHE: cache, HF_ENDPOINT: "http://127.0.0.1:9" };
    const offline = await downloadModel({ repo: "me/off", env });
    expect(offline).toMatchObject({ dir: online.dir, modelFile: "onnx/model_q4.onnx", dtype: "q4" });
    expect(offline.available.map((v) => v.dtype)).toEqual(["q4"]);
    const e = (await downloadModel({ repo: "me/off", dtype: "fp32", env }).catch((x: unknown) => x)) as HubStreamError;
    expect(e.message).toBe(
      "[hub-stream] models/me/off has no fp32 variant (onnx/model.onnx); available: q4 (onnx/model_q4.onnx)",
    );
    const f = (await downloadToCache({ repo: "me/off", repoType: "model", path: "onnx/model.onnx", env }).catch(
      (x: unknown) => x,
    )) as HubStreamError;
    expect(f.code).toBe("NOT_FOUND");
    expect(f.message).toBe(
      "[hub-stream] HF_HUB_OFFLINE is set and onnx/model.onnx of models/me/off (revision main) is not in the cache",
    );
    const r = (await downloadModel({ repo: "me/never", env }).catch((x: unknown) => x)) as HubStreamError;
    expect(r.message).toBe(
      "[hub-stream] HF_HUB_OFFLINE is set and models/me/never (revision main) is not in the cache",
    );
  });
});

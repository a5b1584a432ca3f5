import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openLogitFileAt } from "@logitpack/codec/node";
import { type HubServer, startHubServer } from "@logitpack/hub-server";
import { tinyCommunityRepo } from "@logitpack/tiny-model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddedTokenizerDir } from "../src/lib/inputs.js";
import { run, tempDir } from "./helpers.js";

// `logitpack extract --model owner/name --dtype q4` against the local Hub server serving an onnx-community-shaped
// repo of the tiny teacher (Qwen3 vocabulary) in two variants: only the q4 files are downloaded, the choice is
// printed and recorded, the LM head behind MatMulNBits is found; a missing variant is one line and writes nothing.
describe("a Hub ONNX repo as the teacher", () => {
  let hub: HubServer;
  const tmp = tempDir();
  const REPO = "onnx-community/tiny-teacher-ONNX";
  beforeAll(async () => {
    hub = await startHubServer();
    const files: Record<string, Uint8Array | string> = await tinyCommunityRepo({
      dtypes: ["q4", "fp32"],
      vocabSize: 151_936,
    });
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) {
      files[f] = readFileSync(join(embeddedTokenizerDir(), f));
    }
    await hub.seed(REPO, files);
  }, 120_000);
  afterAll(async () => {
    await hub.close();
    tmp.cleanup();
  });
  const env = () => ({ HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(tmp.dir, "hf"), HF_TOKEN: "" });
  const q4Args = (out: string) => [
    "extract",
    "--model",
    REPO,
    "--dtype",
    "q4",
    "--chat-template",
    "qwen",
    "--limit",
    "3",
    "--output",
    out,
    "--json",
  ];

  it("downloads only the q4 variant, runs it and records the choice", async () => {
    const out = join(tmp.dir, "out-q4");
    const r = await run(q4Args(out), { env: env(), timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    const fetched = hub.log
      .filter((x) => x.route === "resolve" && x.method === "GET")
      .map((x) => x.path.split("/resolve/main/")[1])
      .sort();
    expect(fetched).toEqual(
      [
        "config.json",
        "onnx/model_q4.onnx",
        "onnx/model_q4.onnx_data",
        "tokenizer.json",
        "tokenizer_config.json",
      ].sort(),
    );
    const variant = r.events.find((e) => e.event === "notice" && e.kind === "model-variant");
    expect(variant?.message).toBe(
      "Teacher file: onnx/model_q4.onnx (dtype q4); the repo has fp32 (onnx/model.onnx), q4 (onnx/model_q4.onnx)",
    );
    const downloads = r.events.filter((e) => e.event === "download-progress");
    expect(downloads.map((e) => e.path)).toEqual([
      "config.json",
      "tokenizer.json",
      "tokenizer_config.json",
      "onnx/model_q4.onnx",
      "onnx/model_q4.onnx_data",
    ]);
    expect(downloads.every((e) => e.done === true && e.bytes === e.total)).toBe(true);
    const start = r.events.find((e) => e.event === "start");
    expect(start).toMatchObject({
      device: "cpu",
      modelFile: "onnx/model_q4.onnx",
      dtype: "q4",
      lmHead: "gathered before MatMulNBits",
    });
    expect(r.events.at(-1)).toMatchObject({ event: "done", examples: 3 });
    const shard = readdirSync(join(out, "data")).find((f) => f.endsWith(".parquet")) as string;
    const file = await openLogitFileAt(join(out, "data", shard));
    // the model is recorded by what identifies it: the repo and its commit (issue 16); the repo id is its label
    expect(file.info.settings).toMatchObject({
      model: expect.stringMatching(new RegExp(`^hf:${REPO}@[0-9a-f]{40}$`)),
      labels: { model: REPO },
      modelFile: "onnx/model_q4.onnx",
      dtype: "q4",
      lmHead: "gathered before MatMulNBits",
    });
    // Run again: everything comes from the cache, no GET.
    const before = hub.log.length;
    const again = await run(q4Args(join(tmp.dir, "out-q4b")), { env: env(), timeoutMs: 240_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(hub.log.slice(before).filter((x) => x.method === "GET")).toEqual([]);
  }, 300_000);

  it("a variant the repo does not have: one line naming what it has, nothing written", async () => {
    const out = join(tmp.dir, "out-int8");
    const r = await run(["extract", "--model", REPO, "--dtype", "int8", "--chat-template", "qwen", "--output", out], {
      env: env(),
      timeoutMs: 120_000,
    });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^error: --dtype: models\/onnx-community\/tiny-teacher-ONNX has no int8 variant \(onnx\/model_int8\.onnx\); available: fp32 \(onnx\/model\.onnx\), q4 \(onnx\/model_q4\.onnx\)/,
    );
    expect(() => readdirSync(out)).toThrow();
  }, 180_000);
});

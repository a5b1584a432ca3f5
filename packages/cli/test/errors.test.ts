import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, errorLines, tempDir } from "./helpers.js";

const STACK = /^\s+at .+:\d+:\d+\)?$/m;
let tmp: { dir: string; cleanup: () => void };

/** The first 4 conversations of the bundled dataset: runs that fail after the lengths are computed stay short. */
let small: string[];

beforeAll(async () => {
  tmp = tempDir();
  const { embeddedDatasetPath } = await import("../src/lib/inputs.js");
  const file = join(tmp.dir, "small.jsonl");
  writeFileSync(file, `${readFileSync(embeddedDatasetPath(), "utf8").split("\n").slice(0, 4).join("\n")}\n`);
  small = ["--dataset", file];
});
afterAll(() => tmp.cleanup());

/** Runs a command expected to fail: one `error:` line, the exit code, no stack trace. */
async function fails(args: string[], code: number, pattern: RegExp, env?: Record<string, string>) {
  const r = await cli(["--quiet", ...args], env ? { cwd: tmp.dir, env } : { cwd: tmp.dir });
  const lines = errorLines(r.stderr);
  expect(r.code, r.stderr).toBe(code);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(STACK);
  expect(r.stdout).toBe("");
  return r;
}

describe("usage errors: exit 2, one line naming the flag", () => {
  it("malformed JSON in --sample-subject", async () => {
    await fails(["extract", "--sample-subject", "{*: 5}"], 2, /^error: --sample-subject: not valid JSON/);
  });

  it("malformed JSON in --batch-thresholds", async () => {
    await fails(["extract", "--batch-thresholds", '{"256": 16'], 2, /^error: --batch-thresholds: not valid JSON/);
  });

  it("a JSON value of the wrong shape in --sample-subject", async () => {
    await fails(["extract", "--sample-subject", '{"math": -1}'], 2, /^error: --sample-subject: count for "math"/);
  });

  it("conflicting flags", async () => {
    await fails(["extract", "--resume", "--force-restart"], 2, /--resume and --force-restart cannot be used together/);
    await fails(["extract", "--full-dataset", "--limit", "5"], 2, /--full-dataset and --limit cannot be used together/);
    await fails(["extract", "--mode", "importance", "--top-p", "0.9"], 2, /--top-p is for --mode nucleus/);
    await fails(["extract", "--user-col", "q", "--messages-col", "m"], 2, /--messages-col and --user-col/);
  });

  it("--sampled-n 0 is refused at flag validation, before anything is written", async () => {
    const out = join(tmp.dir, "sampled-n-0");
    await fails(["extract", "--sampled-n", "0", "--output", out], 2, /^error: --sampled-n: .*1/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(tmp.dir, ".logit_extraction_cache"))).toBe(false);
  });

  it("unknown flags, with a suggestion", async () => {
    await fails(
      ["extract", "--top_p", "0.9"],
      2,
      /unknown flag --top_p for 'logitpack extract' \(did you mean --top-p\?\)/,
    );
    await fails(["nope"], 2, /unknown command "nope"/);
  });

  it("out-of-range and malformed numbers", async () => {
    await fails(["extract", "--top-p", "1.5"], 2, /^error: --top-p: expected a number > 0 and <= 1, got 1\.5/);
    await fails(["extract", "--limit", "ten"], 2, /^error: --limit: expected an integer >= 1, got "ten"/);
    await fails(["extract", "--top-p-max", "300"], 2, /^error: --top-p-max: expected an integer in 1\.\.255/);
    await fails(["extract", "--shard", "3/2"], 2, /^error: --shard: /);
    await fails(["extract", "--device", "tpu"], 2, /^error: --device: expected auto, cuda, webgpu or cpu/);
    await fails(["extract", "--limit"], 2, /^error: --limit: needs a value/);
  });

  it("a flag value for a switch, a missing repo for --push-to-hub", async () => {
    await fails(["extract", "--push-to-hub"], 2, /^error: --push-to-hub: needs the Hub dataset repo/);
    await fails(
      ["extract", "--output-repo", "not a repo"],
      2,
      /^error: --output-repo: "not a repo" is not a Hub dataset repo id/,
    );
  });
});

describe("failures: exit 1, one line naming the file, column or flag", () => {
  it("a dataset that does not exist", async () => {
    await fails(
      ["extract", "--dataset", join(tmp.dir, "missing.jsonl")],
      1,
      /^error: --dataset: no such file or folder/,
    );
    await fails(["lengths", "--dataset", "./no/such/place.parquet"], 1, /--dataset: no such file or folder/);
  });

  it("a missing column, named with its flag and the columns that exist", async () => {
    const r = await fails(
      ["extract", "--user-col", "question", "--assistant-col", "answer"],
      1,
      /^error: --user-col.*: no column "question" in the dataset; its columns are: "id", "subject", "messages"/,
    );
    expect(r.stderr).toContain("MISSING_COLUMN");
    await fails(["extract", ...small, "--subject-col", "topic"], 1, /--subject-col.*no column "topic"/);
  });

  it("a chat template without generation markers", async () => {
    const file = join(tmp.dir, "plain.jinja");
    writeFileSync(file, "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}");
    await fails(["extract", "--chat-template", file], 1, /generation/);
    await fails(["lengths", "--chat-template", file], 1, /generation/);
  });

  it("a template that does not exist", async () => {
    await fails(["extract", "--chat-template", "./nope.jinja"], 1, /--chat-template: "\.\/nope\.jinja" is not a file/);
  });

  it("a missing or unreadable model", async () => {
    await fails(["extract", "--model", join(tmp.dir, "no-model")], 1, /^error: --model: no such folder/);
    // a Hub id that is neither cached nor on the Hub (a local Hub server: tests never reach the network)
    const { startHubServer } = await import("@logitpack/hub-server");
    const hub = await startHubServer();
    try {
      await fails(
        ["extract", "--model", "nobody/no-such-model-xyz"],
        1,
        /--model: nobody\/no-such-model-xyz is not a local folder, not in the Hugging Face cache \(.*\), and not a model repo on http:\/\/127\.0\.0\.1/,
        { HF_ENDPOINT: hub.url, HF_TOKEN: "", HF_HOME: join(tmp.dir, "hf-empty") },
      );
    } finally {
      await hub.close();
    }
    const bad = join(tmp.dir, "bad-model");
    mkdirSync(bad, { recursive: true });
    await fails(["extract", "--model", bad], 1, /--model: .*bad-model has no tokenizer\.json/);
    writeFileSync(join(bad, "tokenizer.json"), "{ this is not json");
    await fails(["extract", "--model", bad], 1, /tokenizer\.json.*not valid JSON/);
    // good tokenizer files, but no model, then a model file that is not ONNX
    const { embeddedTokenizerDir } = await import("../src/lib/inputs.js");
    const noModel = join(tmp.dir, "no-onnx");
    cpSync(embeddedTokenizerDir(), noModel, { recursive: true });
    await fails(
      ["extract", "--model", noModel, ...small, "--chat-template", "qwen", "--limit", "2"],
      1,
      /^error: --model: no model\.onnx/,
    );
    writeFileSync(join(noModel, "model.onnx"), "not a protobuf at all");
    await fails(
      ["extract", "--model", noModel, ...small, "--chat-template", "qwen", "--limit", "2"],
      1,
      /^error: --model: model\.onnx: not an ONNX model/,
    );
    expect(existsSync(join(tmp.dir, "logits-out")), "a failed run leaves no output folder").toBe(false);
  });

  it("an output folder that is not writable", async () => {
    const root = process.getuid?.() === 0;
    let target: string;
    if (root) {
      target = "/sys/logitpack-cli-test-output"; // sysfs refuses even root
    } else {
      const ro = join(tmp.dir, "read-only");
      mkdirSync(ro);
      chmodSync(ro, 0o500);
      target = join(ro, "out");
    }
    await fails(
      ["extract", "--output", target],
      1,
      /^error: --output: cannot create the folder .* \((EACCES|EPERM|EROFS|ENOENT)/,
    );
    const file = join(tmp.dir, "a-file");
    writeFileSync(file, "x");
    await fails(["extract", "--output", file], 1, /^error: --output: .*a-file is a file, not a folder/);
    await fails(["lengths", "--output", join(file, "lengths.parquet")], 1, /^error: --output: /);
  });

  it("--debug prints the stack; --json prints the error as a JSON line too", async () => {
    const r = await cli(["extract", "--dataset", "./missing.jsonl", "--debug"], { cwd: tmp.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(STACK);
    const j = await cli(["extract", "--dataset", "./missing.jsonl", "--json", "--quiet"], { cwd: tmp.dir });
    expect(j.code).toBe(1);
    const last = j.events.at(-1);
    expect(last?.event).toBe("error");
    expect(last?.exitCode).toBe(1);
    expect(String(last?.message)).toMatch(/--dataset: no such file or folder/);
  });

  it("verify of a folder that holds no dataset", async () => {
    const empty = join(tmp.dir, "empty");
    mkdirSync(empty, { recursive: true });
    await fails(["verify", empty], 1, /no Parquet shards under data\//);
    await fails(["verify", join(tmp.dir, "nothing-here")], 1, /^error: DATASET: no such folder/);
  });

  it("colour: only when forced or on a terminal, never with NO_COLOR", async () => {
    const args = ["extract", "--limit", "nope"];
    const forced = await cli(args, { cwd: tmp.dir, env: { NO_COLOR: undefined, FORCE_COLOR: "1" } });
    expect(forced.stderr).toContain("\x1b[31merror:\x1b[39m");
    const off = await cli(args, { cwd: tmp.dir, env: { NO_COLOR: "1", FORCE_COLOR: "1" } });
    expect(off.stderr).not.toContain("\x1b[");
    expect(off.stderr.startsWith("error: --limit:")).toBe(true);
    const pipe = await cli(args, { cwd: tmp.dir, env: { NO_COLOR: undefined, FORCE_COLOR: undefined } });
    expect(pipe.stderr).not.toContain("\x1b["); // stderr is a pipe here, not a terminal
  });
});

/**
 * Issue 15's CLI wiring: the learned embedded teacher (the demo's real tokens in the stored nucleus), a local folder
 * read by the Hub's conventions (README configs, --split/--config) with the chosen files and columns reported,
 * --license/--card-extra in the card, the hint for --output owner/name without --push-to-hub.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openLogitFileAt } from "@logitpack/codec/node";
import { describe, expect, it } from "vitest";
import { embeddedDatasetPath } from "../src/lib/inputs.js";
import { cli, errorLines } from "./helpers.js";
import { config, extract, setupPipeline, shared } from "./pipeline-setup.js";

setupPipeline();

describe("issue 15 wiring", () => {
  it("the embedded default runs the learned teacher: the real next token is in the stored nucleus at most positions", async () => {
    const { ChatEncoder, exampleFromRow } = await import("@logitpack/chat");
    const { loadChatTemplate, loadTokenizer } = await import("@logitpack/chat/node");
    const { embeddedTokenizerDir } = await import("../src/lib/inputs.js");
    const { positionIds } = await import("@logitpack/codec");
    const out = join(shared.tmp.dir, "learned");
    await extract(
      config({ folder: out, license: "apache-2.0", cardExtra: "Made by the test." }, { selection: { limit: 20 } }),
    );
    const tokenizer = loadTokenizer(embeddedTokenizerDir());
    const encoder = new ChatEncoder({ tokenizer, template: loadChatTemplate("qwen", tokenizer) });
    const rows = readFileSync(embeddedDatasetPath(), "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const { readdirSync } = await import("node:fs");
    let positions = 0;
    let hits = 0;
    for (const f of readdirSync(join(out, "data"))) {
      const file = await openLogitFileAt(join(out, "data", f));
      for (let r = 0; r < file.numRows; r++) {
        const s = await file.sample(r);
        if (s.layout === "importance") {
          throw new Error("nucleus expected");
        }
        const e = encoder.encode(
          exampleFromRow(rows[s.index] as Record<string, unknown>, { kind: "messages", column: "messages" }),
        );
        const kept = [...e.ids].filter((_, i) => e.extractMask[i] === 1);
        expect(kept.length).toBe(s.numTokens);
        kept.forEach((id, t) => {
          positions++;
          if (positionIds(s.top, t).includes(id)) {
            hits++;
          }
        });
      }
    }
    expect(positions).toBeGreaterThan(500);
    expect(hits / positions).toBeGreaterThanOrEqual(0.8);
    const card = readFileSync(join(out, "README.md"), "utf8");
    expect(card).toContain('license: "apache-2.0"');
    expect(card).toContain("Made by the test.");
    expect(card).toContain('TOKENIZER = "Qwen/Qwen3-0.6B"');
    expect(card).toContain("num_examples: 20");
  });

  it("a folder by its README configs: --split/--config pick the files; the files and columns are reported", async () => {
    const dir = join(shared.tmp.dir, "conv-src");
    mkdirSync(join(dir, "main"), { recursive: true });
    mkdirSync(join(dir, "alt"), { recursive: true });
    const qa = (q: string) => JSON.stringify({ prompt: `What is ${q}?`, response: `It is ${q}.` });
    writeFileSync(
      join(dir, "README.md"),
      "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: main/train*.jsonl\n  - split: test\n    path: main/test.jsonl\n- config_name: alt\n  data_files: alt/*.jsonl\n---\n",
    );
    writeFileSync(join(dir, "main", "train-0.jsonl"), `${["a", "b", "c"].map(qa).join("\n")}\n`);
    writeFileSync(join(dir, "main", "test.jsonl"), `${qa("t")}\n`);
    writeFileSync(join(dir, "alt", "x.jsonl"), `${["x", "y"].map(qa).join("\n")}\n`);
    writeFileSync(join(dir, "dataset_infos.json"), "{}");
    for (const [args, n, said] of [
      [[], 3, 'split "train" of config "default", 1 file(s)'],
      [["--split", "test"], 1, 'split "test" of config "default"'],
      [["--config", "alt"], 2, 'split "train" of config "alt"'],
    ] as const) {
      const out = join(shared.tmp.dir, `conv-out-${args.join("")}`);
      const r = await cli(["extract", "--dataset", dir, ...args, "--output", out], {
        env: { LOGITPACK_CACHE: shared.modelCache },
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr + r.stdout).toContain(said);
      expect(r.stderr + r.stdout).toContain('Columns: user column "prompt", assistant column "response"');
      const files = (await import("node:fs")).readdirSync(join(out, "data"));
      let rows = 0;
      for (const f of files) {
        rows += (await openLogitFileAt(join(out, "data", f))).numRows;
      }
      expect(rows).toBe(n);
      // explore align reads the split and config the extraction recorded: the rows it aligns are the ones extracted
      const align = await cli(["explore", "align", out, "--index", "0", "--dataset", dir]);
      expect(align.code, align.stderr).toBe(0);
      const first = { "": "a", "--splittest": "t", "--configalt": "x" }[args.join("")];
      expect(align.stdout).toContain(`What is ${first}?`);
    }
    const bad = await cli(["extract", "--dataset", dir, "--config", "nope", "--output", join(shared.tmp.dir, "x")], {
      env: { LOGITPACK_CACHE: shared.modelCache },
    });
    expect(bad.code).not.toBe(0);
    expect(errorLines(bad.stderr).join("\n")).toMatch(/--config.*no config "nope".*default, alt/);
  });

  it("--output owner/name without --push-to-hub says so instead of writing ./owner/name", async () => {
    const r = await cli(["extract", "--output", "someone/logits", "--limit", "1"], { cwd: shared.tmp.dir });
    expect(r.code).not.toBe(0);
    expect(errorLines(r.stderr).join("\n")).toMatch(
      /--output: someone\/logits looks like a Hub dataset repo, but --push-to-hub is not set/,
    );
  });
});

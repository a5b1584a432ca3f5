/**
 * The dataset card's front matter against the Hub's dataset-card YAML: parsed by an independent YAML parser (`yaml`),
 * every feature in the syntax `datasets` writes today (`dtype:` for values, `list:` for lists; checked against the
 * codec's column types written out here by hand), the metadata fields the Hub reads, no local path, no duplicated
 * setting, the tokenizer the run used.
 */
import { columnsOf, type ExtractionSettings } from "@logitpack/codec";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { cardFrontMatter, cardTokenizerId, renderDatasetCard, sizeCategory } from "../src/card.js";

/** `datasets` Value dtypes our columns may use, and the YAML of each codec column type (written by hand). */
const DTYPES = new Set(["int32", "binary", "float32", "float64", "uint8", "uint16"]);
const WANT: Record<string, Record<string, string>> = {
  int32: { dtype: "int32" },
  binary: { dtype: "binary" },
  "list<uint16>": { list: "uint16" },
  "list<uint8>": { list: "uint8" },
  "list<float32>": { list: "float32" },
  "list<float64>": { list: "float64" },
};

const SETTINGS: ExtractionSettings = {
  model: "embedded:tiny-qwen3",
  templateHash: "ab12",
  mode: "nucleus",
  seed: 0,
  topP: 0.98,
  topPMax: 100,
  sampledN: 24,
  dataset: "/home/someone/data/chats.jsonl",
  input: { kind: "messages", column: "messages" },
  chat: {
    tokenizer: "/home/someone/models/tok",
    vocabSize: 151_669,
    template: { name: "qwen", source: `{# a long template #}${"x".repeat(4000)}` },
    templateKwargs: {},
  },
};

function frontMatter(card: string): Record<string, unknown> {
  const m = /^---\n([\s\S]*?)\n---\n/.exec(card);
  expect(m).not.toBeNull();
  return parseYaml(m?.[1] ?? "", { uniqueKeys: true }) as Record<string, unknown>;
}

describe("dataset card front matter", () => {
  for (const layout of ["nucleus", "importance"] as const) {
    it(`${layout}: Hub metadata and features in today's datasets syntax`, () => {
      const y = frontMatter(
        renderDatasetCard({
          layout,
          settings: { ...SETTINGS, mode: layout, dataset: "someone/chats" },
          license: "apache-2.0",
          language: ["en"],
          numExamples: 12_345,
          downloadSize: 987_654,
          datasetSize: 2_000_000,
        }),
      );
      expect(y.license).toBe("apache-2.0");
      expect(y.language).toEqual(["en"]);
      expect(y.task_categories).toEqual(["text-generation"]);
      expect(y.size_categories).toEqual(["10K<n<100K"]);
      expect(y.source_datasets).toEqual(["someone/chats"]);
      expect(y.configs).toEqual([{ config_name: "default", data_files: [{ split: "train", path: "data/*.parquet" }] }]);
      const info = y.dataset_info as {
        features: Record<string, string>[];
        splits: { name: string; num_bytes?: number; num_examples: number }[];
        download_size: number;
        dataset_size: number;
      };
      expect(info.splits).toEqual([{ name: "train", num_bytes: 2_000_000, num_examples: 12_345 }]);
      expect(info.download_size).toBe(987_654);
      expect(info.dataset_size).toBe(2_000_000);
      const cols = columnsOf(layout);
      expect(info.features.map((f) => f.name)).toEqual(cols.map((c) => c.name));
      for (const [k, f] of info.features.entries()) {
        const { name: _name, ...rest } = f;
        // exactly one of dtype / list, never the pre-4 `sequence:` form
        expect(Object.keys(rest)).toHaveLength(1);
        expect(rest).not.toHaveProperty("sequence");
        expect(DTYPES.has(Object.values(rest)[0] as string)).toBe(true);
        expect(rest).toEqual(WANT[cols[k]?.type as string]);
      }
    });
  }

  it("leaves out what it does not know, and buckets sizes as the Hub does", () => {
    const y = frontMatter(`${cardFrontMatter({ layout: "nucleus", settings: { model: "./local-model" } })}\n`);
    expect(y).not.toHaveProperty("license");
    expect(y).not.toHaveProperty("size_categories");
    expect(y).not.toHaveProperty("source_datasets");
    expect((y.dataset_info as Record<string, unknown>).splits).toBeUndefined();
    expect(sizeCategory(0)).toBe("n<1K");
    expect(sizeCategory(999)).toBe("n<1K");
    expect(sizeCategory(1000)).toBe("1K<n<10K");
    expect(sizeCategory(2_500_000)).toBe("1M<n<10M");
  });
});

describe("dataset card body", () => {
  it("names the tokenizer the run used, never an embedded:... id", () => {
    expect(cardTokenizerId({ settings: { model: "embedded:tiny-qwen3" } })).toBe("Qwen/Qwen3-0.6B");
    expect(cardTokenizerId({ settings: { model: "Qwen/Qwen3-8B" } })).toBe("Qwen/Qwen3-8B");
    expect(cardTokenizerId({ settings: { model: "/models/qwen" } })).toBeUndefined();
    expect(cardTokenizerId({ settings: { model: "./qwen" } })).toBeUndefined();
    expect(cardTokenizerId({ settings: { model: "/models/qwen" }, tokenizerId: "me/tok" })).toBe("me/tok");
    const card = renderDatasetCard({ layout: "nucleus", settings: SETTINGS, repoId: "me/logits" });
    expect(card).toContain('TOKENIZER = "Qwen/Qwen3-0.6B"');
    expect(card).not.toMatch(/from_pretrained\("embedded:/);
    const local = renderDatasetCard({ layout: "nucleus", settings: { ...SETTINGS, model: "/m/qwen" } });
    expect(local).toContain("TOKENIZER = None");
  });

  it("settings table: no local path, no template source, every key once", () => {
    const card = renderDatasetCard({ layout: "nucleus", settings: SETTINGS, repoId: "me/logits" });
    expect(card).not.toContain("/home/someone");
    expect(card).not.toContain("a long template");
    const table = card.slice(card.indexOf("## Extraction settings"));
    const keys = [...table.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.filter((k) => k === "mode")).toHaveLength(1);
    expect(keys).toEqual(expect.arrayContaining(["chat.template", "chat.tokenizer", "dataset", "templateHash"]));
    expect(table).toContain("`chats.jsonl`");
  });

  it("a Python quick start for both layouts, with print_sampled_logits (seed 003) and the extra text", () => {
    const nucleus = renderDatasetCard({ layout: "nucleus", settings: SETTINGS, extraText: "Filtered to math." });
    expect(nucleus).toContain("def print_sampled_logits(sample, token_idx):");
    expect(nucleus).toContain("print_sampled_logits(sample, token_idx=0)");
    expect(nucleus).toContain("Filtered to math.");
    const importance = renderDatasetCard({
      layout: "importance",
      settings: { ...SETTINGS, mode: "importance", rounds: 50, temperature: 0.7 },
    });
    expect(importance).toContain("def print_drawn_logits(sample, token_idx):");
    expect(importance).toContain("TEMPERATURE = 0.7");
    expect(importance).not.toContain("top_counts");
    for (const card of [nucleus, importance]) {
      expect(card.match(/```python/g)).toHaveLength(1);
      expect(card).toContain('load_dataset(DATASET, split="train", streaming=True)');
    }
  });
});

describe("writeDatasetCard", () => {
  it("counts the rows and bytes of the shards it describes (splits, size_categories, download_size)", async () => {
    const { readdir, stat } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const { FolderSink, StreamingWriter } = await import("../src/index.js");
    const { makeRow, SETTINGS: S, tempDir } = await import("./helpers.js");
    const d = await tempDir();
    try {
      const sink = new FolderSink(join(d.path, "out"));
      const w = await StreamingWriter.open({ sink, cacheDir: join(d.path, "c"), settings: S, uploadEvery: 7 });
      for (let i = 0; i < 23; i++) {
        await w.write(makeRow(i));
      }
      await w.close();
      const { readFile } = await import("node:fs/promises");
      const y = frontMatter(await readFile(join(d.path, "out", "README.md"), "utf8"));
      const info = y.dataset_info as { splits: { num_examples: number }[]; download_size: number };
      expect(info.splits[0]?.num_examples).toBe(23);
      let bytes = 0;
      for (const f of await readdir(join(d.path, "out", "data"))) {
        bytes += (await stat(join(d.path, "out", "data", f))).size;
      }
      expect(info.download_size).toBe(bytes);
      expect(y.size_categories).toEqual(["n<1K"]);
    } finally {
      await d.cleanup();
    }
  });
});

import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureLearnedTinyModel, LEARNED_MODEL_VERSION } from "../src/index.js";
import { contextHashes, HASH_BASE, HASH_Q, LEVELS } from "../src/learned-hash.js";
import table from "../src/learned-sample-chats.json" with { type: "json" };

const here = dirname(fileURLToPath(import.meta.url));

describe("learned tiny teacher", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tiny-learned-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("was fitted to the bundled sample dataset as it is now (rerun fit-learned after regenerating it)", async () => {
    const text = await readFile(join(here, "..", "..", "..", table.dataset), "utf8");
    expect(createHash("sha256").update(text).digest("hex")).toBe(table.datasetSha256);
    expect(table.levels).toEqual([...LEVELS]);
  });

  it("hashes contexts as written (independent BigInt recomputation)", () => {
    const c = [5, 0, 1257, 3, 3, 9, 1, 2, 44, 1000];
    const got: number[] = [];
    contextHashes(c, 9, got);
    const B = BigInt(HASH_BASE);
    const Q = BigInt(HASH_Q);
    const want = LEVELS.map((k) => {
      let g = BigInt(c[9] as number) + 1n;
      for (let j = 1; j < k; j++) {
        g = (g * B + BigInt(9 - j >= 0 ? (c[9 - j] as number) : 0)) % Q;
      }
      return Number((g * B + BigInt(k)) % Q);
    });
    expect(got).toEqual(want);
    // before the start of the sequence the missing tokens read as 0
    contextHashes(c, 0, got);
    expect(got[3]).not.toBe(got[2]);
  });

  it("generates once into the cache and reuses it", async () => {
    const a = await ensureLearnedTinyModel(dir);
    const info = JSON.parse(await readFile(join(a, "logitpack-tiny.json"), "utf8"));
    expect(info.version).toBe(LEARNED_MODEL_VERSION);
    expect(info.kind).toBe("learned");
    expect(info.learned.dataset).toBe("packages/cli/data/sample-chats.jsonl");
    expect(JSON.stringify(info)).not.toContain(tmpdir());
    const config = JSON.parse(await readFile(join(a, "config.json"), "utf8"));
    expect(config.vocab_size).toBe(151_936);
    const b = await ensureLearnedTinyModel(dir);
    expect(b).toBe(a);
  }, 120_000);
});

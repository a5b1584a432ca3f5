/** What the in-process pipeline tests share: a temporary folder, the model cache, precomputed lengths, a reference run. */
import { join } from "node:path";
import { createSink, verifyDataset } from "@logitpack/hub-stream";
import { afterAll, beforeAll, expect } from "vitest";
import { type ExtractionConfig, type ExtractionEvent, runExtraction } from "../src/index.js";
import { sharedLengths, sharedModelCache, tempDir } from "./helpers.js";
import { folderRows } from "./rows.js";

export const shared = {
  tmp: { dir: "", cleanup: () => undefined } as { dir: string; cleanup: () => void },
  /** One model cache for every run: the tiny model is generated once. */
  modelCache: "",
  /** Lengths of the bundled dataset, computed once by runLengths in the global setup. */
  lengthsFile: "",
};

/** Registers the hooks: a temporary folder and HF_HOME for the file's tests. */
export function setupPipeline(): void {
  let savedHome: string | undefined;
  beforeAll(() => {
    shared.tmp = tempDir();
    shared.modelCache = sharedModelCache();
    shared.lengthsFile = sharedLengths();
    savedHome = process.env.HF_HOME;
    process.env.HF_HOME = join(shared.tmp.dir, "hf-home");
  });
  afterAll(() => {
    if (savedHome === undefined) {
      delete process.env.HF_HOME;
    } else {
      process.env.HF_HOME = savedHome;
    }
    shared.tmp.cleanup();
  });
}

/** A config over the bundled dataset with the shared model cache and lengths. */
export function config(output: ExtractionConfig["output"], more: ExtractionConfig = {}): ExtractionConfig {
  return {
    ...more,
    model: { cacheDir: shared.modelCache, ...more.model },
    selection: { tokenizedDataset: shared.lengthsFile, ...more.selection },
    output,
  };
}

/** Runs and collects the events. */
export async function extract(c: ExtractionConfig, signal?: AbortSignal) {
  const events: ExtractionEvent[] = [];
  const result = await runExtraction(c, { onEvent: (e) => events.push(e), ...(signal ? { signal } : {}) });
  return {
    result,
    events,
    of: <K extends ExtractionEvent["event"]>(k: K) =>
      events.filter((e): e is Extract<ExtractionEvent, { event: K }> => e.event === k),
  };
}

let referenceRun: Promise<Map<number, string>> | undefined;

/**
 * The rows of an uninterrupted run over the first 12 examples in batches of 2. Rows depend only on the example and
 * the seed, never on the batch, so any run over some of these examples must give the same rows.
 */
export function reference(): Promise<Map<number, string>> {
  referenceRun ??= (async () => {
    const out = join(shared.tmp.dir, "reference");
    await runExtraction(
      config({ folder: out }, { selection: { limit: 12 }, batching: { thresholds: { "100000": 2 } } }),
    );
    return folderRows(out);
  })();
  return referenceRun;
}

export async function expectReferenceRows(rows: Map<number, string>): Promise<void> {
  const ref = await reference();
  expect(rows.size).toBeGreaterThan(0);
  for (const [index, row] of rows) {
    expect(ref.has(index), `index ${index} in the reference`).toBe(true);
    expect(row === ref.get(index), `row of index ${index} equals the reference`).toBe(true);
  }
}

export async function folderReport(dir: string, expectedCount?: number) {
  const sink = await createSink({ folder: dir });
  return verifyDataset({ sink, ...(expectedCount !== undefined ? { expectedCount } : {}) });
}

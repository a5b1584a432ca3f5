/** The dataset card's sizes next to what `datasets` computes (card_sizes.py), for the interop tests. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));

export interface Sizes {
  card: { dataset_size?: number; num_bytes?: number; num_examples?: number; download_size?: number };
  datasets: { version: string; push_dataset_size: number; download_size: number; num_rows: number; chunks: number };
}

/** Runs card_sizes.py: the card's numbers and datasets' for an output folder. */
export function sizesWithPython(python: string, out: string, env: NodeJS.ProcessEnv): Sizes {
  const result = `${out}-sizes.json`;
  const r = spawnSync(python, [join(here, "card_sizes.py"), out, result], { env, encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`card_sizes.py failed:\n${r.stderr}`);
  }
  return JSON.parse(readFileSync(result, "utf8")) as Sizes;
}

/** The card's dataset_size, num_bytes, num_examples and download_size are datasets' numbers. */
export function expectCardMatches(s: Sizes, rows: number): void {
  expect(s.datasets.num_rows).toBe(rows);
  expect(s.card.num_examples).toBe(rows);
  expect(s.card.dataset_size).toBe(s.datasets.push_dataset_size);
  expect(s.card.num_bytes).toBe(s.datasets.push_dataset_size);
  expect(s.card.download_size).toBe(s.datasets.download_size);
}

import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EncodedRow, encodeNucleusSample, encodeSample, openLogitFile } from "@logitpack/codec";
import type { Sink } from "../src/index.js";

/** Small seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The shape of a synthetic nucleus row: nucleus sizes, tail draws, id range, logit levels. */
export interface RowShape {
  /** Nucleus sizes are 1..maxCount. */
  maxCount: number;
  /** Tail draws per position. */
  sampled: number;
  /** Ids are below this. */
  vocab: number;
  /** The top logit; the j-th nucleus logit is in (top - j - 1, top - j], logsumexp in [top + 0.5, top + 1.5). */
  topLogit: number;
  /** Tail logits are in (tailFrom - tailSpan, tailFrom]. */
  tailFrom: number;
  tailSpan: number;
}

/** A synthetic nucleus row of `numTokens` positions drawn from `r`. */
export function nucleusRow(index: number, r: () => number, numTokens: number, shape: RowShape): EncodedRow {
  const topCounts: number[] = [];
  const topIds: number[] = [];
  const topLogits: number[] = [];
  const sampledIds: number[] = [];
  const sampledLogits: number[] = [];
  const logsumexp: number[] = [];
  for (let t = 0; t < numTokens; t++) {
    const c = 1 + Math.floor(r() * shape.maxCount);
    topCounts.push(c);
    for (let j = 0; j < c; j++) {
      topIds.push(Math.floor(r() * shape.vocab));
      topLogits.push(shape.topLogit - j - r());
    }
    for (let j = 0; j < shape.sampled; j++) {
      sampledIds.push(Math.floor(r() * shape.vocab));
      sampledLogits.push(shape.tailFrom - shape.tailSpan * r());
    }
    logsumexp.push(shape.topLogit + 0.5 + r());
  }
  return encodeNucleusSample({ index, topCounts, topIds, topLogits, sampledIds, sampledLogits, logsumexp });
}

/** A deterministic nucleus row for a dataset index: the same index and seed always give the same bytes. */
export function makeRow(index: number, seed = 7, maxTokens = 6): EncodedRow {
  const r = rng(seed * 1_000_003 + index);
  const numTokens = 1 + Math.floor(r() * maxTokens);
  return nucleusRow(index, r, numTokens, {
    maxCount: 8,
    sampled: 4,
    vocab: 150_000,
    topLogit: 10,
    tailFrom: -5,
    tailSpan: 3,
  });
}

/** A digest of a row's stored bytes (every column). */
export function rowDigest(row: EncodedRow): string {
  const h = createHash("sha256");
  h.update(`${row.index}:${row.numTokens}`);
  for (const key of Object.keys(row.columns).sort()) {
    const v = row.columns[key] as ArrayBufferView;
    h.update(key);
    h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  return h.digest("hex");
}

/** Every row of a sink as index -> digests (more than one digest = a duplicate). */
export async function sinkRows(sink: Sink): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (const file of await sink.list()) {
    const src = await sink.source(file);
    const bytes = new Uint8Array(await src.slice(0, src.byteLength));
    const lf = await openLogitFile(bytes);
    for await (const batch of lf.batches()) {
      for (let r = 0; r < batch.numRows; r++) {
        const { sampleAt } = await import("@logitpack/codec");
        const row = encodeSample(sampleAt(batch, r));
        const list = out.get(row.index) ?? [];
        list.push(rowDigest(row));
        out.set(row.index, list);
      }
    }
  }
  return out;
}

export async function tempDir(prefix = "hub-stream-"): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export const SETTINGS = {
  model: "test/teacher-0.5B",
  templateHash: "abc123",
  topP: 0.98,
  topPMax: 100,
  sampledN: 4,
  seed: 7,
};

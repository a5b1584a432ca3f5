import { writeFileSync } from "node:fs";
import type { EncodedRow } from "../src/index.js";

// Kept apart from test/duckdb.ts so that the benchmark can use it without loading DuckDB's native addon (which
// slows every reader measured in the same process by ~30%).

export const hex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex").toUpperCase();

/**
 * Rows as a JSON file DuckDB can read: lists as arrays, binary columns as hex, and for each quantized column a
 * `<name>_u8` hex string of one byte per value (our uint16 // 257), for the seed-001 variant.
 */
export function writeRowsJson(rows: readonly EncodedRow[], path: string): void {
  writeFileSync(
    path,
    JSON.stringify(
      rows.map((r) => {
        const o: Record<string, unknown> = { index: r.index, num_tokens: r.numTokens };
        for (const [k, v] of Object.entries(r.columns)) {
          o[k] = k.endsWith("_high") ? hex(v as Uint8Array) : Array.from(v as ArrayLike<number>);
          if (k.endsWith("_logits_quantized")) {
            o[`${k}_u8`] = hex(Uint8Array.from(v as Uint16Array, (x) => Math.floor(x / 257)));
          }
        }
        return o;
      }),
    ),
  );
}

import { tableFromIPC } from "apache-arrow";
import * as PW from "parquet-wasm";
import { describe, expect, it } from "vitest";
import { type EncodedRow, encodeLogitFile, encodeNucleusSample } from "../src/index.js";
import { randomInput, rng } from "./gen.js";

/** arrow-rs (through parquet-wasm) as a third independent reader of what we write. */
describe("arrow-rs reads what we write", () => {
  it("sees uint16/uint8 lists, binary, float and double lists, with the same values", async () => {
    const r = rng(31);
    const rows: EncodedRow[] = Array.from({ length: 12 }, (_, i) =>
      encodeNucleusSample(randomInput(i, r, { tokens: i % 4 === 0 ? 0 : 1 + Math.floor(r() * 30), vocab: 262_144 })),
    );
    for (const intEncoding of ["delta", "plain"] as const) {
      const bytes = await encodeLogitFile(rows, { rowGroupRows: 5, intEncoding });
      const table = tableFromIPC(PW.readParquet(bytes).intoIPCStream());
      const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
      expect(types).toMatchObject({
        index: "Int32",
        num_tokens: "Int32",
        top_indices_low: "List<Uint16>",
        top_indices_high: "Binary",
        top_logits_quantized: "List<Uint16>",
        top_counts: "List<Uint8>",
        top_min: "List<Float32>",
        logsumexp: "List<Float64>",
      });
      expect(table.numRows).toBe(rows.length);
      rows.forEach((row, i) => {
        expect(table.getChild("index")?.get(i)).toBe(row.index);
        for (const [name, values] of Object.entries(row.columns)) {
          const got = table.getChild(name)?.get(i);
          expect([...(got ?? [])], `${name} row ${i}`).toEqual(Array.from(values as ArrayLike<number>));
        }
      });
    }
  });
});

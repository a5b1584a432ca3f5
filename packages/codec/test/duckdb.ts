import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

let con: Promise<DuckDBConnection> | undefined;

/** One in-memory DuckDB connection shared by a test file. */
export function duck(): Promise<DuckDBConnection> {
  con ??= DuckDBInstance.create(":memory:").then((db) => db.connect());
  return con;
}

export async function query(sql: string): Promise<Record<string, unknown>[]> {
  return (await (await duck()).runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

export { hex, writeRowsJson } from "./rows-json.js";

const u16 = (c: string) => `${c}::USMALLINT[] AS ${c}`;

/** SELECT list giving the seed layout's exact column types from `writeRowsJson` data. */
export const SEED_SELECT = `index::INTEGER AS index, num_tokens::INTEGER AS num_tokens, ${u16("top_indices_low")},
  unhex(top_indices_high) AS top_indices_high, ${u16("top_logits_quantized")}, top_counts::UTINYINT[] AS top_counts,
  top_min::FLOAT[] AS top_min, top_max::FLOAT[] AS top_max, ${u16("sampled_indices_low")},
  unhex(sampled_indices_high) AS sampled_indices_high, ${u16("sampled_logits_quantized")},
  sampled_min::FLOAT[] AS sampled_min, sampled_max::FLOAT[] AS sampled_max, logsumexp::DOUBLE[] AS logsumexp`;

/** SELECT list of the seed-001 variant: uint8 BLOB values, one float logsumexp, no index/counts/min/max. */
export const LEGACY_SELECT = `num_tokens::INTEGER AS num_tokens, ${u16("top_indices_low")},
  unhex(top_indices_high) AS top_indices_high, unhex(top_logits_quantized_u8) AS top_logits_quantized,
  ${u16("sampled_indices_low")}, unhex(sampled_indices_high) AS sampled_indices_high,
  unhex(sampled_logits_quantized_u8) AS sampled_logits_quantized, logsumexp[1]::FLOAT AS logsumexp`;

/** COPY rows from a `writeRowsJson` file to Parquet with DuckDB. */
export async function duckCopy(json: string, select: string, to: string, options: string, where = ""): Promise<void> {
  await query(
    `COPY (SELECT ${select} FROM read_json('${json}', format='array', maximum_object_size=1000000000) ${where} ORDER BY index) TO '${to}' (${options})`,
  );
}

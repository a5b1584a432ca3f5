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

export const hex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex").toUpperCase();

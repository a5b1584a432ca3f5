/**
 * `bench/run.ts` helper: DuckDB writes the rows JSON (argv[2]) as Parquet (argv[3]) in its own process. DuckDB's
 * native addon loaded into the benchmark's process (even unused) slows every reader measured there by ~30%.
 */
import { duckCopy, SEED_SELECT } from "../test/duckdb.js";

await duckCopy(process.argv[2] as string, SEED_SELECT, process.argv[3] as string, "FORMAT parquet, COMPRESSION zstd");
process.exit(0);

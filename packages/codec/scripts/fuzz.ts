/**
 * The long decoder fuzz run: `pnpm --filter @logitpack/codec fuzz [mutations=20000] [seed]`. Prints the outcome
 * counts as JSON; exits 1 if any rule broke (untyped error, out-of-range id, a case over 1 s).
 */
import { fuzz } from "../test/fuzz-core.js";

const n = Number(process.argv[2] ?? 20_000);
const seed = Number(process.argv[3] ?? 20261206);
const t = performance.now();
const stats = await fuzz(n, seed);
console.log(JSON.stringify({ ...stats, seconds: Number(((performance.now() - t) / 1000).toFixed(1)) }, null, 1));
process.exit(stats.untyped.length === 0 && stats.outOfRangeIds === 0 && stats.over1s === 0 ? 0 : 1);

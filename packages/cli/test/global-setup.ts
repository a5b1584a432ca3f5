import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureLearnedTinyModel } from "@logitpack/inference-gpu";
import { build } from "tsup";
import { runLengths } from "../src/lib/lengths.js";
import config from "../tsup.config.js";

/**
 * The end-to-end tests run the built command (`node dist/bin.js`): build it from the current sources first. The
 * tiny model is generated once into a cache every test file shares (LOGITPACK_TEST_MODEL_CACHE), and the lengths of the
 * bundled dataset are computed once (LOGITPACK_TEST_LENGTHS); both are removed at the end.
 */
export default async function setup(): Promise<() => void> {
  const options = Array.isArray(config) ? config[0] : config;
  const cache = mkdtempSync(join(tmpdir(), "logitpack-cli-test-models-"));
  process.env.LOGITPACK_TEST_MODEL_CACHE = cache;
  const lengths = join(cache, "lengths.parquet");
  process.env.LOGITPACK_TEST_LENGTHS = lengths;
  await Promise.all([
    // clean: false keeps the declarations `pnpm build` emitted (tsc): a packed package needs them
    build({ ...(options as object), silent: true, config: false, clean: false }),
    ensureLearnedTinyModel(cache),
    runLengths({ output: { file: lengths }, runtime: { numProc: 1 } }),
  ]);
  return () => rmSync(cache, { recursive: true, force: true });
}

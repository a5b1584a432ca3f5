import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureTinyModel } from "@logitpack/inference-gpu";
import { build } from "tsup";
import config from "../tsup.config.js";

/**
 * The end-to-end tests run the built command (`node dist/bin.js`): build it from the current sources first. The
 * tiny model is generated once into a cache every test file shares (LOGITPACK_TEST_MODEL_CACHE), removed at the end.
 */
export default async function setup(): Promise<() => void> {
  const options = Array.isArray(config) ? config[0] : config;
  const cache = mkdtempSync(join(tmpdir(), "logitpack-cli-test-models-"));
  process.env.LOGITPACK_TEST_MODEL_CACHE = cache;
  await Promise.all([build({ ...(options as object), silent: true, config: false }), ensureTinyModel(cache)]);
  return () => rmSync(cache, { recursive: true, force: true });
}

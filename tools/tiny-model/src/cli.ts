#!/usr/bin/env node
// Generate the tiny model: logitpack-tiny-model <dir> [plain|decoder] [vocabSize]
import { generateTinyModel, type TinyModelShape } from "./generate.js";

const [dir, shape = "plain", vocab] = process.argv.slice(2);
if (!dir || (shape !== "plain" && shape !== "decoder")) {
  console.error("usage: logitpack-tiny-model <dir> [plain|decoder] [vocabSize]");
  process.exitCode = 2;
} else {
  const t0 = performance.now();
  const info = await generateTinyModel(dir, {
    shape: shape as TinyModelShape,
    ...(vocab ? { vocabSize: Number(vocab) } : {}),
  });
  console.log(`${dir}: ${info.shape}, vocab ${info.vocabSize}, ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}

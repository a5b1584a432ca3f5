import { defineConfig } from "tsup";

export default defineConfig({
  // the worker is its own entry: computeLengths starts it from dist/lengths-worker.js
  entry: ["src/index.ts", "src/lengths-worker.ts"],
  format: ["esm"],
  target: "node20",
  platform: "node",
  sourcemap: true,
  clean: true,
  dts: false,
});

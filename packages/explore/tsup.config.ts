import { defineConfig } from "tsup";

export default defineConfig({
  // the stats worker is its own entry: datasetStatsParallel starts it from dist/stats-worker.js
  entry: ["src/index.ts", "src/node.ts", "src/stats-worker.ts"],
  format: ["esm"],
  target: "node20",
  platform: "node",
  sourcemap: true,
  clean: true,
  dts: false,
});

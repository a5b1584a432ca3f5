import { defineConfig } from "tsup";

export default defineConfig({
  // the session worker is its own entry: runtime.ts starts it from dist/runtime-worker.js
  entry: ["src/index.ts", "src/runtime-worker.ts"],
  format: ["esm"],
  target: "node20",
  platform: "node",
  sourcemap: true,
  clean: true,
  dts: false,
  // the tiny-model generator is a private workspace package: bundle it
  noExternal: ["@logitpack/tiny-model"],
});

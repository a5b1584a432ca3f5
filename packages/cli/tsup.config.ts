import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/bin.ts", "src/index.ts"],
  format: ["esm"],
  target: "node20",
  platform: "node",
  sourcemap: true,
  clean: true,
  dts: false,
  // the command is run directly (`logitpack`, `node dist/bin.js`)
  banner: { js: "#!/usr/bin/env node" },
});

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // vitest's default is one worker less than the cores: on 2 cores, one test file at a time
    maxWorkers: "100%",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/*.gpu.test.ts"],
    // the end-to-end tests run the built command: build it once first
    globalSetup: ["test/global-setup.ts"],
    // in-process tests: HF_ENDPOINT goes to a refused local port (no test reaches the real Hub by accident), no colour
    env: { HF_ENDPOINT: "http://127.0.0.1:9", NO_COLOR: "1", HF_TOKEN: "" },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});

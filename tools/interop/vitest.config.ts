import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // vitest's default is one worker less than the cores: on 2 cores, one test file at a time
    maxWorkers: "100%",
    include: ["test/**/*.test.ts"],
    exclude: ["**/node_modules/**"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});

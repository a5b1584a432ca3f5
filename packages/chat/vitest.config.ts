import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // vitest's default is one worker less than the cores: on 2 cores, one test file at a time
    maxWorkers: "100%",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/*.gpu.test.ts"],
    testTimeout: 60_000,
  },
});

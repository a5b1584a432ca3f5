import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.gpu.test.ts", "test/**/*.gpu.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});

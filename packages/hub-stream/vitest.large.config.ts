import { defineConfig } from "vitest/config";

/** The large-download test (4.5 GiB through the local Hub server): `pnpm test:large`, not in the default run. */
export default defineConfig({
  test: {
    include: ["test/large/**/*.large.ts"],
    testTimeout: 900_000,
  },
});

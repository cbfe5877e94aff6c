import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", "data/**", "bench/rivals/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // End-to-end suites start real processes; two cores do not run them well side by side.
    fileParallelism: true,
    maxWorkers: 2,
  },
});

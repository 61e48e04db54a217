import { defineConfig } from "vitest/config";

// Unit tests run in node: the modules under test are sans-I/O (no DOM needed).
export default defineConfig({
  test: { include: ["src/**/*.test.ts"], environment: "node", testTimeout: 10_000 },
});

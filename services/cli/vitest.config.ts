import { defineProject } from "vitest/config";

// Projects do not inherit the root's timeouts: these tests start real proxy processes, which
// take seconds on a loaded 2-core machine, so vitest's 5 s default is a flake, not a guard.
export default defineProject({
  test: { name: "cli", include: ["test/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 60_000 },
});

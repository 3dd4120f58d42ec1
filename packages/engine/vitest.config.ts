import { defineProject } from "vitest/config";

export default defineProject({
  // Property tests replay many evaluations; on a busy shared machine they need more than the default.
  test: { name: "engine", include: ["test/**/*.test.ts"], testTimeout: 60_000 },
});

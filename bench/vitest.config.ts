import { defineProject } from "vitest/config";

// Pure parts of the benchmark (report table, plot specs, run analysis); never timed assertions.
export default defineProject({
  test: { name: "bench", include: ["test/**/*.test.ts"] },
});

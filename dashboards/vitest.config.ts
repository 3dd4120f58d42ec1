import { defineProject } from "vitest/config";

export default defineProject({
  // hookTimeout: the promtool/prometheus helper may fetch Debian's prometheus package once.
  test: { name: "dashboards", include: ["test/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 300_000 },
});

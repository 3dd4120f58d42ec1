import { defineProject } from "vitest/config";

export default defineProject({
  // hookTimeout: the promtool test may fetch Debian's prometheus package once (telemetry.test.ts).
  test: { name: "proxy", include: ["test/**/*.test.ts"], testTimeout: 30_000, hookTimeout: 300_000 },
});

import { defineConfig } from "vitest/config";

// One vitest project per package (issue #3); each package's own vitest.config.ts names it.
export default defineConfig({
  test: {
    projects: ["packages/*", "services/*", "test", "dashboards", "bench"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

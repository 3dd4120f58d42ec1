import { defineProject } from "vitest/config";

export default defineProject({
  // The Redis Cluster test starts three redis-server processes (testkit startRedisCluster).
  test: { name: "engine-service", include: ["test/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 120_000 },
});

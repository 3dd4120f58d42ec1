import { defineProject } from "vitest/config";

export default defineProject({
  // hookTimeout: a private Kafka broker may be fetched with Maven once.
  test: { name: "actuator", include: ["test/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 300_000 },
});

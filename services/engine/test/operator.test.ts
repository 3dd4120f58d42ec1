/**
 * Operator settings through Redis (contracts operator.ts), as the actuator's admin API writes
 * them: dry-run per cluster, the global kill switch, a pin — read by the job and honoured.
 */
import { createRedis } from "@meshtune/adapters";
import { type Decision, OPERATOR_SETTING_FIELDS, redisKeys } from "@meshtune/contracts";
import { resolveEngineConfig } from "@meshtune/engine";
import { endpointName } from "@meshtune/engine/sim";
import { afterAll, describe, expect, test } from "vitest";
import { createEngineStore, runEvaluationJob } from "../src/index.js";
import { randomPrefix, requireRedis, SimWindows } from "./helpers.js";

const START = Date.UTC(2026, 0, 1, 9);
const CLUSTER = "api.example.com";

describe("operator settings from Redis", async () => {
  const url = await requireRedis();
  const redis = createRedis(url);
  afterAll(() => redis.quit());

  async function runSeconds(prefix: string, seconds: number): Promise<Decision[]> {
    const windows = new SimWindows(START, () => ({
      endpoints: 4,
      proxies: 10,
      ratePerEndpoint: 40,
      faults: [{ endpoint: 1, kind: "refuse", from: 5_000, to: 60_000 }],
    }));
    const deps = {
      store: createEngineStore(redis, { prefix }),
      windows,
      config: resolveEngineConfig(),
      dryRun: false,
      lockTtlMs: 5_000,
      lockWaitMs: 500,
    };
    const out: Decision[] = [];
    for (let s = 1; s <= seconds; s++) {
      const r = await runEvaluationJob(deps, CLUSTER, START + s * 1000);
      if (r.result === "evaluated") out.push(...r.added);
    }
    return out;
  }

  test("cluster dry-run: the ejection is published with dryRun true", async () => {
    const prefix = randomPrefix();
    await redis.hset(redisKeys(prefix).settings(CLUSTER), OPERATOR_SETTING_FIELDS.dryRun, "true");
    const ej = (await runSeconds(prefix, 8)).find((d) => d.kind === "eject");
    expect(ej).toMatchObject({ endpoint: endpointName(1), dryRun: true });
    expect(ej?.guardrails?.map((g) => g.name)).toContain("dry-run");
  });

  test("global kill switch: the ejection is recorded as blocked; a pin still goes out", async () => {
    const prefix = randomPrefix();
    const keys = redisKeys(prefix);
    await redis.hset(keys.globalSettings(), OPERATOR_SETTING_FIELDS.killSwitch, "true");
    await redis.hset(keys.pins(CLUSTER), endpointName(2), JSON.stringify({ weight: 300, by: "sre-oncall" }));
    const ds = await runSeconds(prefix, 8);
    const ej = ds.filter((d) => d.kind === "eject");
    expect(ej).toHaveLength(1);
    expect(ej[0]?.guardrails?.[0]).toMatchObject({ name: "kill-switch", action: "blocked" });
    expect(ds.find((d) => d.rule === "operator-pin")).toMatchObject({
      endpoint: endpointName(2),
      after: { weight: 300 },
    });
    await redis.del(keys.globalSettings());
  });
});

import { createRedis } from "@meshtune/adapters";
import { type Decision, redisKeys } from "@meshtune/contracts";
import { decisionId, evaluate, initialState, NO_OPERATOR_SETTINGS, resolveEngineConfig } from "@meshtune/engine";
import { FleetSim } from "@meshtune/engine/sim";
import { afterAll, describe, expect, test } from "vitest";
import { createEngineStore, ENGINE_HELP, EXPLAIN_HELP, runEngine, runExplain } from "../src/index.js";
import { randomPrefix, requireRedis } from "./helpers.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

describe("meshtune engine --help", () => {
  test("names every flag and its environment variable; a bad flag exits 2", async () => {
    for (const flag of ["--address", "--redis-url", "--prefix", "--concurrency", "--dry-run", "--log-level", "--help"])
      expect(ENGINE_HELP).toContain(flag);
    for (const v of [
      "MESHTUNE_ENGINE_ADDRESS",
      "REDIS_URL",
      "MESHTUNE_REDIS_PREFIX",
      "MESHTUNE_ENGINE_CONCURRENCY",
      "MESHTUNE_DRY_RUN",
    ])
      expect(ENGINE_HELP).toContain(v);
    const log = console.log;
    const error = console.error;
    const printed: string[] = [];
    console.log = (t: string) => printed.push(t);
    console.error = (t: string) => printed.push(t);
    try {
      expect(await runEngine(["--help"])).toBe(0);
      expect(await runEngine(["--no-such-flag"])).toBe(2);
      expect(await runEngine(["--concurrency", "0"])).toBe(2);
      expect(await runEngine(["--address", "nowhere"])).toBe(2);
    } finally {
      console.log = log;
      console.error = error;
    }
    expect(printed[0]).toBe(ENGINE_HELP);
  });
});

describe("meshtune explain (real Redis)", async () => {
  const url = await requireRedis();
  const redis = createRedis(url);
  afterAll(() => redis.quit());

  test("prints a decision from the stream readably, and says so when it is not there", async () => {
    const prefix = randomPrefix();
    const sim = new FleetSim({
      cluster: "api.example.com",
      endpoints: 4,
      proxies: 12,
      ratePerEndpoint: 40,
      faults: [{ endpoint: 3, kind: "refuse", from: 5_000, to: 60_000 }],
    });
    const config = resolveEngineConfig();
    let state = initialState();
    const all: Decision[] = [];
    for (let t = 0; t < 8; t++) {
      const w = sim.step();
      const r = evaluate({ config, windows: w, state, now: w.at, operator: NO_OPERATOR_SETTINGS });
      state = r.state;
      all.push(...r.decisions);
    }
    const store = createEngineStore(redis, { prefix });
    const token = (await store.lock("api.example.com", 5_000))!;
    expect((await store.commit("api.example.com", token, state, all)).ok).toBe(true);
    await store.unlock("api.example.com", token);
    const eject = all.find((d) => d.kind === "eject")!;

    const c = capture();
    expect(await runExplain([eject.id, "--redis-url", url, "--prefix", prefix], {}, c.io)).toBe(0);
    const text = c.out.join("\n");
    expect(text).toContain(`Decision ${eject.id}`);
    expect(text).toContain("eject on api.example.com / 10.0.0.3:443: APPLIED");
    expect(text).toContain("Rule: fleet-eject");
    expect(text).toContain("hard evidence");
    expect(text).toContain("Window figures used:");
    expect(text).toContain("proxiesReporting: 12");
    expect(text).toContain("Guardrails:\n  none fired");
    expect(text).toContain("Without this decision:");

    const j = capture();
    expect(await runExplain([eject.id, "--json"], { REDIS_URL: url, MESHTUNE_REDIS_PREFIX: prefix }, j.io)).toBe(0);
    expect(JSON.parse(j.out.join(""))).toEqual(eject);

    const missing = decisionId({ cluster: "api.example.com", rule: "fleet-eject", kind: "eject", at: Date.now() });
    const m = capture();
    expect(await runExplain([missing, "--redis-url", url, "--prefix", prefix], {}, m.io)).toBe(1);
    expect(m.err.join("")).toContain("not found");
    const bad = capture();
    expect(await runExplain(["nonsense"], {}, bad.io)).toBe(2);
    expect(await runExplain([], {}, bad.io)).toBe(2);
    const help = capture();
    expect(await runExplain(["--help"], {}, help.io)).toBe(0);
    expect(help.out[0]).toBe(EXPLAIN_HELP);
    expect(await redis.exists(redisKeys(prefix).decisions("api.example.com"))).toBe(1);
  });
});

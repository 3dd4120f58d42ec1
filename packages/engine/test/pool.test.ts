import { describe, expect, test } from "vitest";
import { evaluate, initialState, NO_OPERATOR_SETTINGS, resolveEngineConfig } from "../src/index.js";
import { clusterWindows, type EndpointFigures, EP, T0 } from "./windows.js";

const config = resolveEngineConfig();
const run = (eps: EndpointFigures[], state = initialState(), now = T0) =>
  evaluate({ config, windows: clusterWindows(now, eps), state, now, operator: NO_OPERATOR_SETTINGS });
const connects = (ms: number, n = 60) => new Array(n).fill(ms) as number[];

describe("connect timeout and pool limit tuning", () => {
  test("connect timeout = p99 of the observed connects × 3, rounded, clamped to 250 ms .. 10 s", () => {
    const cases: Array<[number, number]> = [
      [100, 300], // p99 99.5 ms (bucket 50..100 ms) × 3 = 298.5 -> 300
      [2_000, 7_500], // p99 2.49 s × 3 = 7.46 s -> 7.5 s
      [1, 250], // clamped up
      [4_000, 10_000], // clamped down
    ];
    for (const [ms, want] of cases) {
      const d = run([{ endpoint: EP(0), ok: 100, connectMs: connects(ms) }]).decisions.find(
        (x) => x.kind === "set_connect_timeout",
      );
      expect(d, `${ms} ms connects`).toMatchObject({
        rule: "connect-timeout-tuning",
        after: { connectTimeoutMs: want },
        before: { connectTimeoutMs: null },
      });
    }
  });

  test("fewer than 50 connects tune nothing; a change under 20 % is not pushed", () => {
    expect(
      run([{ endpoint: EP(0), ok: 100, connectMs: connects(100, 40) }]).decisions.filter(
        (d) => d.kind === "set_connect_timeout",
      ),
    ).toEqual([]);
    // Pool limits 39 -> 42 wanted (+8 %): under the hysteresis, nothing is pushed.
    const s = run([{ endpoint: EP(0), ok: 60_000, meanLatencyMs: 100 }]).state;
    expect(s.cluster.maxConnections?.value).toBe(39);
    const next = run([{ endpoint: EP(0), ok: 66_000, meanLatencyMs: 100 }], s, T0 + 1000);
    expect(next.decisions.filter((d) => d.kind === "set_pool_limits")).toEqual([]);
  });

  test("no traffic is no evidence: pool limits are not tuned before 200 attempts in the long view", () => {
    // The demo capped every cluster at 8 connections at start from a concurrency of 0.
    const idle = run([{ endpoint: EP(0), ok: 0, connectMs: connects(5) }]);
    expect(idle.decisions.filter((d) => d.kind === "set_pool_limits")).toEqual([]);
    const few = run([{ endpoint: EP(0), ok: 150, meanLatencyMs: 100 }]);
    expect(few.decisions.filter((d) => d.kind === "set_pool_limits")).toEqual([]);
    const enough = run([{ endpoint: EP(0), ok: 250, meanLatencyMs: 100 }]).decisions.find(
      (d) => d.kind === "set_pool_limits",
    );
    expect(enough?.inputs).toMatchObject({ attempts: 250 });
    // Few attempts, but the pools queue (a slow service at its limit): that is evidence.
    const queued = run([{ endpoint: EP(0), ok: 20, meanLatencyMs: 30_000, poolActive: 80, poolPending: 40 }]);
    expect(queued.decisions.find((d) => d.kind === "set_pool_limits")?.after).toMatchObject({
      maxConnectionsPerEndpoint: 24,
    });
  });

  test("pool limits follow the concurrency one proxy needs (Little's law + 3√L), × 2 headroom, at least 8", () => {
    const low = run([{ endpoint: EP(0), ok: 600, meanLatencyMs: 100 }]).decisions.find(
      (d) => d.kind === "set_pool_limits",
    );
    expect(low?.after).toEqual({ maxConnectionsPerEndpoint: 8, maxPendingRequests: 8 });
    // 60 000 attempts in 60 s over 10 proxies at 100 ms: L = 10, 10 + 3√10 = 19.5, × 2 -> 39.
    const high = run([{ endpoint: EP(0), ok: 60_000, meanLatencyMs: 100 }]).decisions.find(
      (d) => d.kind === "set_pool_limits",
    );
    expect(high?.after).toEqual({ maxConnectionsPerEndpoint: 39, maxPendingRequests: 39 });
    expect(high?.inputs).toMatchObject({ busiestEndpoint: EP(0), clusterProxies: 10 });
  });
});

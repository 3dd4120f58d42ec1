/**
 * Every dashboard query (panels, template variables, annotations) and every recording rule
 * returns data from a real Prometheus (Debian's package) scraping the demo fleet with the tuner:
 * a simulator with one black-holed endpoint, two proxies under load, and `meshtune tuner` on the
 * test's Redis. A failure lists each query that stayed empty by dashboard, panel and query ref.
 *
 * One malformed OTLP export is sent to the collector on purpose: a healthy fleet rejects nothing,
 * and the rejection panel and recording rule must be shown to work on real data too.
 */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomName, requireRedis } from "../../packages/adapters/test/services.js";
import { ALERT_GROUPS, RECORDING_GROUPS } from "../src/prometheus/rules.js";
import { CLUSTER, type Fleet, ROUTE_HOST, startFleet } from "./live/fleet.js";
import { waitFor } from "./live/processes.js";
import { type Prometheus, startPrometheus } from "./live/prometheus.js";
import { dashboardExtras, expandVariables, type LocatedQuery, panels } from "./queries.js";

/** Open-loop-ish load through the proxies until stopped: one request every `everyMs`, at most 32 in flight. */
function startLoad(listeners: string[], everyMs: number): () => Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let stopped = false;
  let inFlight = 0;
  let i = 0;
  const loop = (async () => {
    while (!stopped) {
      if (inFlight < 32) {
        const [host, port] = listeners[i++ % listeners.length]!.split(":");
        inFlight++;
        const req = http.request({ host, port, path: "/live-test", agent, headers: { host: ROUTE_HOST } }, (res) => {
          res.resume();
          res.on("end", () => inFlight--);
        });
        req.on("error", () => inFlight--);
        req.end();
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    agent.destroy();
  };
}

describe("dashboards and rules against a real Prometheus scraping the demo fleet with the tuner", () => {
  let fleet: Fleet | undefined;
  let prom: Prometheus | undefined;
  let stopLoad: (() => Promise<void>) | undefined;
  let since = 0;

  beforeAll(async () => {
    const redisUrl = await requireRedis();
    fleet = await startFleet(redisUrl, randomName("dashboards"));
    prom = await startPrometheus(fleet.targets);
    since = Date.now();
    stopLoad = startLoad(fleet.listeners, 20);
    const rejected = await fetch(`${fleet.collectorUrl}/v1/metrics`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf" },
      body: new Uint8Array([0xff, 0xff, 0xff, 0xff]),
    });
    expect(rejected.status).toBeGreaterThanOrEqual(400);
  }, 180_000);

  afterAll(async () => {
    await stopLoad?.();
    await prom?.stop();
    await fleet?.stop();
  }, 60_000);

  it("returns data for every panel query, variable, annotation and recording rule", async () => {
    const queries: LocatedQuery[] = [
      ...panels().flatMap((p) => p.queries),
      ...dashboardExtras(),
      // Prometheus evaluates the committed rule files itself: the recorded series must exist.
      ...RECORDING_GROUPS.flatMap((g) => g.rules.map((r) => ({ where: `recording rule ${r.record}`, expr: r.record }))),
    ];
    const vars = { cluster: CLUSTER, endpoint: ".*", __rate_interval: "10s", __interval: "5s" };
    let empty: LocatedQuery[] = queries;
    const firstData = new Map<string, number>();
    try {
      await waitFor(
        "every query to return data",
        async () => {
          const still: LocatedQuery[] = [];
          for (const q of empty) {
            if ((await prom!.queryRange(expandVariables(q.expr, vars), since)).length === 0) still.push(q);
            else firstData.set(q.where, Date.now() - since);
          }
          empty = still;
          return empty.length === 0 ? true : undefined;
        },
        150_000,
        3_000,
      );
    } catch {
      // Reported below with every query that stayed empty.
    }
    const slowest = [...firstData].sort((a, b) => b[1] - a[1]).slice(0, 5);
    console.log(
      `live: ${firstData.size}/${queries.length} queries returned data; slowest: ${slowest.map(([w, ms]) => `${w} after ${ms} ms`).join("; ")}`,
    );
    const report = empty.map((q) => `${q.where}: ${expandVariables(q.expr, vars)}`);
    const logs = empty.length ? fleet!.procs.map((p) => `--- ${p.name}\n${p.output().slice(-2000)}`).join("\n") : "";
    expect(report, `queries without data (fleet output below)\n${logs}`).toEqual([]);
  }, 240_000);

  it("loads every recording and alert rule and evaluates each without error", async () => {
    const rules = await prom!.rules();
    const names = [...RECORDING_GROUPS, ...ALERT_GROUPS].flatMap((g) =>
      g.rules.map((r) => ("record" in r ? r.record : r.alert)),
    );
    expect(rules.map((r) => r.name).sort()).toEqual(names.sort());
    const unhealthy = rules.filter((r) => r.health !== "ok").map((r) => `${r.name}: ${r.health} ${r.lastError ?? ""}`);
    expect(unhealthy).toEqual([]);
  });
});

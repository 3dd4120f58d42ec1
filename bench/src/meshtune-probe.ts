/**
 * Instrumented meshtune launcher for the benchmark: the same EgressProxy the CLI runs (config
 * from a YAML/JSON file, same admin API), plus ForwardHooks that record, per upstream attempt,
 * the pool wait (acquire() until a connection) and the attempt's latency, and per request the
 * time spent inside the proxy; with the event loop's utilisation, delay and GC pauses. Served
 * at /bench/pool-wait on the admin API (`?reset=1` starts a new window). Pool wait is what the
 * traffic-step goal is about and the proxy does not export it yet; the hooks cost an array
 * push each.
 *
 * Usage: node bench/dist/meshtune-probe.js CONFIG_FILE   (SIGTERM/SIGINT drain and exit 0)
 */
import { readFileSync } from "node:fs";
import { monitorEventLoopDelay, PerformanceObserver, performance } from "node:perf_hooks";
import { EgressProxy } from "@meshtune/dataplane";
import { parse as parseYaml } from "yaml";

const file = process.argv[2];
if (!file) {
  console.error("usage: meshtune-probe CONFIG_FILE");
  process.exit(2);
}

const MAX_SAMPLES = 2_000_000;
let waits: number[] = [];
let attemptMs: number[] = [];
let requestMs: number[] = [];
let waited = 0;
let fresh = 0;

const eld = monitorEventLoopDelay({ resolution: 5 });
eld.enable();
let elu = performance.eventLoopUtilization();
let gcMs = 0;
let gcMaxMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    gcMaxMs = Math.max(gcMaxMs, e.duration);
  }
}).observe({ entryTypes: ["gc"] });

const r3 = (x: number) => Math.round(x * 1000) / 1000;

function pct(values: number[]) {
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) =>
    sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return {
    p50: r3(at(50)),
    p99: r3(at(99)),
    p999: r3(at(99.9)),
    max: r3(sorted.length ? sorted[sorted.length - 1]! : 0),
  };
}

function summary() {
  const u = performance.eventLoopUtilization(elu);
  return {
    attempts: waits.length,
    waited,
    fresh,
    ...pct(waits),
    upstreamAttemptMs: pct(attemptMs),
    inProxyRequestMs: pct(requestMs),
    loop: {
      eventLoopUtilization: r3(u.utilization),
      // monitorEventLoopDelay samples every 5 ms; values include that resolution.
      eventLoopDelayMs: {
        p50: r3(eld.percentile(50) / 1e6),
        p99: r3(eld.percentile(99) / 1e6),
        max: r3(eld.max / 1e6),
      },
      gcMs: Math.round(gcMs),
      gcMaxPauseMs: r3(gcMaxMs),
    },
  };
}

function reset() {
  waits = [];
  attemptMs = [];
  requestMs = [];
  waited = 0;
  fresh = 0;
  eld.reset();
  elu = performance.eventLoopUtilization();
  gcMs = 0;
  gcMaxMs = 0;
}

const proxy = new EgressProxy(
  {
    readCa: (p) => readFileSync(p, "utf8"),
    log: (level, msg, fields) => {
      if (level !== "info") console.error(JSON.stringify({ level, msg, ...fields }));
    },
    onClusterEvent: (ev) => {
      if (ev.type === "warmup_done" && ev.failed > 0)
        console.error(JSON.stringify({ msg: "warm-up failures", endpoint: ev.host.key, reason: ev.failures[0] }));
      else if (ev.type === "outlier") console.error(JSON.stringify({ msg: "outlier", type: ev.event.type }));
    },
    hooks: {
      onAttempt: (a) => {
        if (waits.length < MAX_SAMPLES) {
          waits.push(a.poolWaitMs);
          attemptMs.push(a.latencyMs);
        }
        if (a.poolWaitMs > 0) waited++;
        if (!a.reused) fresh++;
      },
      onRequest: (r) => {
        if (requestMs.length < MAX_SAMPLES) requestMs.push(r.latencyMs);
      },
    },
    admin: {
      routes: {
        "/bench/pool-wait": (req, res) => {
          const body = JSON.stringify(summary());
          if ((req.url ?? "").includes("reset=1")) reset();
          res.writeHead(200, { "content-type": "application/json" });
          res.end(body);
        },
      },
    },
  },
  "bench-probe",
);

const raw = parseYaml(readFileSync(file, "utf8"));
const applied = await proxy.applyConfig(1, raw, file);
if (applied.status === "NACK") {
  console.error(`invalid config ${file}: ${applied.reason}`);
  process.exit(1);
}
await proxy.start();
console.error(JSON.stringify({ msg: "probe ready", listener: proxy.listenerAddress?.port }));
const stop = () => {
  void proxy.shutdown().then(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);

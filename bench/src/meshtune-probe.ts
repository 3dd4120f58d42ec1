/**
 * Instrumented meshtune launcher for the benchmark: the same EgressProxy the CLI runs (config
 * from a YAML/JSON file, same admin API), plus a ForwardHooks.onAttempt hook that records
 * every upstream attempt's pool wait (time from acquire() to a connection), served on the
 * admin API at /bench/pool-wait. Pool wait is what the traffic-step goal is about and the
 * proxy does not export it yet; the hook costs one array push per attempt.
 *
 * Usage: node bench/dist/meshtune-probe.js CONFIG_FILE   (SIGTERM/SIGINT drain and exit 0)
 */
import { readFileSync } from "node:fs";
import { EgressProxy } from "@meshtune/dataplane";
import { parse as parseYaml } from "yaml";

const file = process.argv[2];
if (!file) {
  console.error("usage: meshtune-probe CONFIG_FILE");
  process.exit(2);
}

const MAX_SAMPLES = 2_000_000;
let waits: number[] = [];
let waited = 0;
let fresh = 0;

function summary() {
  const sorted = Float64Array.from(waits).sort();
  const at = (p: number) =>
    sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    attempts: waits.length,
    waited,
    fresh,
    p50: r3(at(50)),
    p99: r3(at(99)),
    p999: r3(at(99.9)),
    max: r3(sorted.length ? sorted[sorted.length - 1]! : 0),
  };
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
        if (waits.length < MAX_SAMPLES) waits.push(a.poolWaitMs);
        if (a.poolWaitMs > 0) waited++;
        if (!a.reused) fresh++;
      },
    },
    admin: {
      routes: {
        "/bench/pool-wait": (req, res) => {
          const body = JSON.stringify(summary());
          if ((req.url ?? "").includes("reset=1")) {
            waits = [];
            waited = 0;
            fresh = 0;
          }
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

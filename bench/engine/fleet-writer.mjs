/**
 * Writes the simulated fleet into Redis through the product's own writer: every proxy's share of
 * one simulated second goes in as one `WindowBatch` of delta points (`createWindowStore().write`,
 * the collector's merge script), and the second's fast signals through `appendSignals`. So the
 * latency benchmark reads exactly the layout the collector leaves (1-second buckets, per-proxy
 * buckets for the short view, one gauge snapshot per proxy; decisions 0007, 0008).
 *
 * The simulator (packages/engine/src/sim) produces the fleet's totals per endpoint and second;
 * this module splits them over the proxies the way 200 proxies behind one balancer would see
 * them: integer units dealt round robin from a rotating start (so every proxy reports some
 * endpoints each second, ~0.5 attempts per proxy and endpoint at 100 req/s), histogram buckets
 * dealt the same way (the collector rejects non-integer bucket counts), the sum in proportion.
 * Failures and health results are already per proxy in the simulator (`failuresByProxy`,
 * `healthyByProxy`, one signal per failed health check), so they keep their proxy. Series names
 * and the proxyField marks follow services/collector/src/otlp (catalog.ts, metrics.ts).
 */
import { adapters } from "./lib.mjs";

const { createWindowStore, appendSignals, bucketField, gaugeField, BUCKET_KIND: K, GAUGE } = adapters;

/** Proxy i's share of `total` units when dealt round robin over n proxies starting at `from`. */
function share(total, i, n, from) {
  const t = Math.round(total);
  if (t <= 0) return 0;
  return Math.floor(t / n) + ((i - from + n) % n < t % n ? 1 : 0);
}

/** Proxy i's histogram: each bucket dealt round robin (integer counts), sum in proportion. */
function histogramShare(h, i, n, from) {
  let count = 0;
  const counts = h.counts.map((c, b) => {
    const x = share(c, i, n, from + b * 7);
    count += x;
    return x;
  });
  const total = h.counts.reduce((a, c) => a + Math.round(c), 0);
  return { count, counts, sum: total > 0 ? (h.sum * count) / total : 0 };
}

export function createFleetWriter(redis, { prefix, cluster, proxies, horizonSec }) {
  const store = createWindowStore(redis, { prefix, horizonSec });
  const names = Array.from({ length: proxies }, (_, i) => `proxy-${i}`);
  const stats = { batches: 0, points: 0, counted: 0, skipped: 0, outOfRange: 0 };

  /** Points of proxy i for one endpoint-second `w`; healthFail = its failed health checks. */
  function endpointPoints(out, w, i, from, sec, healthFail) {
    const proxy = names[i];
    const ep = w.endpoint;
    const startUs = sec * 1_000_000;
    const timeUs = startUs + 999_000;
    const counter = (kind, label, value, mark) => {
      if (!(value > 0)) return; // a delta exporter's zero point adds nothing to a bucket
      out.push({
        type: "counter",
        series: `${kind}|${ep}|${label ?? ""}|`,
        startUs,
        timeUs,
        temporality: "delta",
        value,
        field: bucketField(ep, kind, label),
        ...(mark ? { proxyField: bucketField(ep, mark) } : {}),
      });
    };
    const histogram = (kind, h) => {
      const x = histogramShare(h, i, proxies, from);
      if (x.count === 0) return;
      out.push({
        type: "histogram",
        series: `${kind}|${ep}`,
        startUs,
        timeUs,
        temporality: "delta",
        ...x,
        field: bucketField(ep, kind),
      });
    };
    const failedAttempts = Math.max(0, (w.failuresByProxy[proxy] ?? 0) - healthFail);
    const errorClass = (w.attempts.error ?? 0) > 0 ? "error" : "5xx";
    counter(K.attempts, "2xx", share(w.attempts["2xx"] ?? 0, i, proxies, from));
    counter(K.attempts, errorClass, failedAttempts, K.failByProxy);
    for (const reason of Object.keys(w.connectFailures))
      counter(K.connectFailures, reason, failedAttempts, K.failByProxy);
    counter(K.health, "success", w.healthyByProxy[proxy] ?? 0, K.okByProxy);
    counter(K.health, "failure", healthFail, K.failByProxy);
    counter(K.picks, undefined, share(w.picks, i, proxies, from));
    histogram(K.latency, w.latency);
    histogram(K.connectLatency, w.connectLatency);
    const at = sec * 1000 + 999;
    const gauge = (g, v) => out.push({ type: "gauge", field: gaugeField(ep, g), timeMs: at, value: v });
    gauge(GAUGE.inFlight, share(w.gauges.inFlight, i, proxies, from));
    gauge(GAUGE.poolIdle, share(w.gauges.poolIdle, i, proxies, from));
    gauge(GAUGE.poolActive, share(w.gauges.poolActive, i, proxies, from));
    gauge(GAUGE.poolConnecting, share(w.gauges.poolConnecting, i, proxies, from));
    gauge(GAUGE.poolPending, share(w.gauges.poolPending, i, proxies, from));
  }

  return {
    stats,
    /** Writes one simulated second (`sec`, Unix s): one batch per proxy, then the signals. */
    async writeSecond(sec, second, signals) {
      const healthFail = new Map();
      for (const s of signals) {
        if (s.kind !== "health_check_failure") continue;
        const k = `${s.endpoint} ${s.proxy}`;
        healthFail.set(k, (healthFail.get(k) ?? 0) + 1);
      }
      const writes = names.map((proxy, i) => {
        const points = [];
        second.forEach((w, e) => {
          endpointPoints(
            points,
            w,
            i,
            (sec * 13 + e * 31) % proxies,
            sec,
            healthFail.get(`${w.endpoint} ${proxy}`) ?? 0,
          );
        });
        stats.batches++;
        stats.points += points.length;
        return store.write({ cluster, proxy, receivedAt: sec * 1000 + 999, points });
      });
      for (const r of await Promise.all(writes)) {
        if (!r.ok) throw new Error(r.error);
        stats.counted += r.value.counted;
        stats.skipped += r.value.skipped;
        stats.outOfRange += r.value.outOfRange;
      }
      const sig = await appendSignals(redis, cluster, signals, { prefix });
      if (!sig.ok) throw new Error(sig.error);
    },
  };
}

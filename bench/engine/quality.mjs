/** Decision quality on a scripted fault schedule with noise over simulated time (see run.mjs). */
import { engine, pct, r2, sim } from "./lib.mjs";

const { evaluate, initialState, NO_OPERATOR_SETTINGS, resolveEngineConfig } = engine;
const { FleetSim, endpointName } = sim;

/** Scripted faults, seconds from the start; a fault every ~5 min on a different endpoint. */
export function schedule(hours) {
  const faults = [];
  const kinds = ["refuse", "latency", "blackhole", "errors", "latency", "refuse"];
  for (let i = 0, t = 300; t < hours * 3600 - 300; i++, t += 300) {
    const kind = kinds[i % kinds.length];
    const endpoint = (i * 7) % 20;
    const len = kind === "latency" ? 180 : 90;
    faults.push({
      endpoint,
      kind,
      from: t * 1000,
      to: (t + len) * 1000,
      ...(kind === "latency" ? { factor: 3.5 } : kind === "errors" ? { factor: 0.7 } : {}),
    });
  }
  return faults;
}

export function runQuality({ seed, hours, faults }) {
  const config = resolveEngineConfig();
  const sim = new FleetSim({
    endpoints: 20,
    proxies: 50,
    ratePerEndpoint: 50,
    latencySigma: 0.35,
    backgroundErrorRate: 0.003,
    seed,
    faults,
  });
  const start = sim.now;
  let state = initialState();
  const decisions = [];
  for (let t = 0; t < hours * 3600; t++) {
    const w = sim.step();
    const r = evaluate({ config, windows: w, state, now: w.at, operator: NO_OPERATOR_SETTINGS });
    state = r.state;
    decisions.push(...r.decisions);
    sim.apply(r.decisions);
  }
  const applied = decisions.filter((d) => !d.dryRun && !d.guardrails?.some((g) => g.action === "blocked"));
  const at = (d) => Date.parse(d.decidedAt) - start;
  const ejectable = new Set(["refuse", "blackhole", "errors"]);
  // New ejections (not renewals of a standing one).
  const newEjections = applied.filter((d) => d.kind === "eject" && d.before.ejected === false);
  const truthAt = (d) =>
    faults.find(
      (f) =>
        endpointName(f.endpoint) === d.endpoint && ejectable.has(f.kind) && at(d) >= f.from && at(d) <= f.to + 1000,
    );
  const tp = newEjections.filter(truthAt).length;
  const hardDelays = [];
  const degradeDelays = [];
  let detected = 0;
  let ejectableFaults = 0;
  for (const f of faults) {
    const ep = endpointName(f.endpoint);
    if (ejectable.has(f.kind)) {
      ejectableFaults++;
      const d = newEjections.find((x) => x.endpoint === ep && at(x) >= f.from && at(x) <= f.to);
      // Already ejected when the fault began (an earlier fault's ejection still standing) counts as covered.
      const standing = applied.some(
        (x) => x.endpoint === ep && x.kind === "eject" && at(x) <= f.from && at(x) > f.from - 300_000,
      );
      if (d || standing) detected++;
      if (d && f.kind !== "errors") hardDelays.push(at(d) - f.from);
    } else if (f.kind === "latency") {
      const d = applied.find(
        (x) =>
          x.endpoint === ep &&
          x.kind === "set_weight" &&
          at(x) >= f.from &&
          Number(x.after.weight) < Number(x.before.weight),
      );
      degradeDelays.push(d ? at(d) - f.from : Number.POSITIVE_INFINITY);
    }
  }
  // Reversals: a weight change whose direction is opposite to the previous change of the same endpoint.
  let reversals = 0;
  const lastDir = new Map();
  for (const d of applied.filter((x) => x.kind === "set_weight")) {
    const dir = Math.sign(Number(d.after.weight) - Number(d.before.weight));
    if (lastDir.has(d.endpoint) && lastDir.get(d.endpoint) !== dir) reversals++;
    lastDir.set(d.endpoint, dir);
  }
  return {
    seed,
    hours,
    faults: faults.length,
    decisions: decisions.length,
    applied: applied.length,
    ejections: newEjections.length,
    precision: newEjections.length ? tp / newEjections.length : 1,
    recall: ejectableFaults ? detected / ejectableFaults : 1,
    falseEjections: newEjections.length - tp,
    hardFailureToDecisionMs: { p50: pct(hardDelays, 0.5), max: hardDelays.length ? Math.max(...hardDelays) : null },
    latencyDegradationDetectMs: {
      p50: pct(degradeDelays, 0.5),
      max: degradeDelays.length ? Math.max(...degradeDelays) : null,
    },
    weightReversalsPerEndpointHour: r2(reversals / 20 / hours),
    changesPerEndpointHour: r2(applied.length / 20 / hours),
  };
}

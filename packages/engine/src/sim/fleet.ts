/**
 * A simulated fleet of proxies in front of one cluster, second by second, producing the
 * ClusterWindows the collector would produce, with seeded noise and a fault schedule. It
 * follows the engine's decisions (ejected endpoints get no traffic, weights split it), so
 * scenario tests and the quality benchmark run the loop closed. Latency is log-normal around
 * each endpoint's base; rates are Poisson; background errors are spread over random proxies.
 */
import {
  type ClusterWindows,
  type Decision,
  type EndpointWindow,
  type FastSignal,
  LATENCY_BUCKETS_SECONDS,
  SHORT_BUCKETS_SECONDS,
  WINDOW_VIEWS,
} from "@meshtune/contracts";
import { type Rng, rng } from "./random.js";
import { emptyWindow, RunningWindow } from "./views.js";

export type FaultKind = "refuse" | "blackhole" | "latency" | "errors" | "surge";

export interface Fault {
  endpoint: number;
  kind: FaultKind;
  /** Offsets from the simulation start, ms. */
  from: number;
  to: number;
  /** latency: multiplier; errors: error share; surge: rate multiplier. */
  factor?: number;
}

export interface FleetSimOptions {
  cluster?: string;
  endpoints: number;
  proxies: number;
  /** Fleet attempts per second per endpoint at equal weights. */
  ratePerEndpoint: number;
  baseLatencyMs?: number;
  /** Log-normal sigma of a request's latency. */
  latencySigma?: number;
  backgroundErrorRate?: number;
  /** Each proxy health-checks each endpoint every this many seconds. */
  healthIntervalS?: number;
  faults?: Fault[];
  seed?: number;
  start?: number;
  /** Latency samples drawn per endpoint-second (the rest is scaled), bounding the work. */
  samplesPerSecond?: number;
}

export const endpointName = (i: number) => `10.0.${i >> 8}.${i & 255}:443`;

function bucketOf(bounds: readonly number[], v: number): number {
  let i = 0;
  while (i < bounds.length && v > (bounds[i] ?? 0)) i++;
  return i;
}

export class FleetSim {
  readonly #o: Required<Omit<FleetSimOptions, "faults">> & { faults: Fault[] };
  readonly #r: Rng;
  readonly #short: RunningWindow[];
  readonly #long: RunningWindow[];
  readonly #rates: number[][];
  readonly #signals: FastSignal[] = [];
  readonly #ejected = new Set<string>();
  readonly #weights = new Map<string, number>();
  #t = 0;
  #last: EndpointWindow[] = [];

  constructor(opts: FleetSimOptions) {
    this.#o = {
      cluster: "sim.example.com",
      baseLatencyMs: 20,
      latencySigma: 0.3,
      backgroundErrorRate: 0.002,
      healthIntervalS: 5,
      faults: [],
      seed: 1,
      start: Date.UTC(2026, 0, 1),
      samplesPerSecond: 64,
      ...opts,
    };
    this.#r = rng(this.#o.seed);
    this.#rates = Array.from({ length: this.#o.endpoints }, () => []);
    const running = (len: number) =>
      Array.from(
        { length: this.#o.endpoints },
        (_, i) => new RunningWindow(endpointName(i), len, LATENCY_BUCKETS_SECONDS, SHORT_BUCKETS_SECONDS),
      );
    this.#short = running(WINDOW_VIEWS.short);
    this.#long = running(WINDOW_VIEWS.long);
  }

  get now(): number {
    return this.#o.start + this.#t * 1000;
  }

  /** Follows applied decisions (not dry-run, not blocked) as the fleet's proxies would. */
  apply(decisions: readonly Decision[]): void {
    for (const d of decisions) {
      if (!d.endpoint || d.dryRun || d.guardrails?.some((g) => g.action === "blocked")) continue;
      if (d.kind === "eject") this.#ejected.add(d.endpoint);
      if (d.kind === "uneject") this.#ejected.delete(d.endpoint);
      if (d.kind === "set_weight" && typeof d.after.weight === "number") this.#weights.set(d.endpoint, d.after.weight);
    }
  }

  #faults(i: number, ms: number): Fault[] {
    return this.#o.faults.filter((f) => f.endpoint === i && ms >= f.from && ms < f.to);
  }

  /** Advances one second and returns the windows as of the new time. */
  step(): ClusterWindows {
    const o = this.#o;
    const ms = this.#t * 1000;
    const names = Array.from({ length: o.endpoints }, (_, i) => endpointName(i));
    const live = names.filter((n) => !this.#ejected.has(n));
    const totalWeight = live.reduce((t, n) => t + (this.#weights.get(n) ?? 100), 0);
    const second: EndpointWindow[] = names.map((name, i) =>
      this.#endpointSecond(name, i, ms, live.length, totalWeight),
    );
    this.#last = second;
    second.forEach((s, i) => {
      this.#short[i]?.push(s);
      this.#long[i]?.push(s);
    });
    this.#t++;
    return this.windows();
  }

  #endpointSecond(name: string, i: number, ms: number, live: number, totalWeight: number): EndpointWindow {
    const o = this.#o;
    const r = this.#r;
    const w = emptyWindow(name, LATENCY_BUCKETS_SECONDS, SHORT_BUCKETS_SECONDS);
    const faults = this.#faults(i, ms);
    const hard = faults.find((f) => f.kind === "refuse" || f.kind === "blackhole");
    const surge = faults.find((f) => f.kind === "surge")?.factor ?? 1;
    const share = this.#ejected.has(name) || totalWeight === 0 ? 0 : (this.#weights.get(name) ?? 100) / totalWeight;
    const attempts = r.poisson(o.ratePerEndpoint * o.endpoints * share * surge);
    this.#rates[i]?.push(attempts);
    if ((this.#rates[i]?.length ?? 0) > WINDOW_VIEWS.long) this.#rates[i]?.shift();
    const fail = (n: number, cls: "5xx" | "error") => {
      w.attempts[cls] = (w.attempts[cls] ?? 0) + n;
      for (let k = 0; k < n; k++) {
        const p = `proxy-${r.int(o.proxies)}`;
        w.failuresByProxy[p] = (w.failuresByProxy[p] ?? 0) + 1;
      }
    };
    if (hard) {
      const reason = hard.kind === "refuse" ? "refused" : "timeout";
      w.connectFailures[reason] = attempts;
      fail(attempts, "error");
    } else {
      const errShare = faults.find((f) => f.kind === "errors")?.factor ?? o.backgroundErrorRate;
      const errors = Math.min(attempts, r.poisson(attempts * errShare));
      fail(errors, "5xx");
      w.attempts["2xx"] = attempts - errors;
      const factor = faults.find((f) => f.kind === "latency")?.factor ?? 1;
      this.#latency(w, attempts, o.baseLatencyMs * factor);
    }
    this.#health(w, name, ms, hard !== undefined);
    const inFlight = r.poisson((attempts * o.baseLatencyMs) / 1000);
    w.gauges = { inFlight, poolIdle: o.proxies, poolActive: inFlight, poolConnecting: 0, poolPending: 0 };
    w.picks = attempts;
    w.proxiesReporting = live > 0 ? o.proxies : 0;
    return w;
  }

  #latency(w: EndpointWindow, attempts: number, baseMs: number): void {
    const r = this.#r;
    const n = Math.min(attempts, this.#o.samplesPerSecond);
    if (n === 0) return;
    const scale = attempts / n;
    const sigma = this.#o.latencySigma;
    for (let k = 0; k < n; k++) {
      const s = (baseMs / 1000) * Math.exp(sigma * r.normal() - (sigma * sigma) / 2);
      const b = bucketOf(w.latency.bounds, s);
      w.latency.counts[b] = (w.latency.counts[b] ?? 0) + scale;
      w.latency.sum += s * scale;
    }
    w.latency.count += attempts;
    const connects = Math.max(1, Math.round(attempts / 50));
    for (let k = 0; k < connects; k++) {
      const c = 0.005 * Math.exp(0.4 * r.normal());
      const b = bucketOf(w.connectLatency.bounds, c);
      w.connectLatency.counts[b] = (w.connectLatency.counts[b] ?? 0) + 1;
      w.connectLatency.count++;
      w.connectLatency.sum += c;
    }
  }

  /** A fifth of the proxies health-check each endpoint each second (interval 5 s, spread). */
  #health(w: EndpointWindow, name: string, ms: number, failing: boolean): void {
    const o = this.#o;
    const per = Math.max(1, Math.round(o.proxies / o.healthIntervalS));
    const offset = (this.#t * per) % o.proxies;
    for (let k = 0; k < per; k++) {
      const p = `proxy-${(offset + k) % o.proxies}`;
      if (failing) {
        w.health.failure = (w.health.failure ?? 0) + 1;
        w.failuresByProxy[p] = (w.failuresByProxy[p] ?? 0) + 1;
        const at = this.#o.start + ms + Math.floor((k * 1000) / per);
        this.#signals.push({
          kind: "health_check_failure",
          cluster: o.cluster,
          endpoint: name,
          proxy: p,
          at,
          receivedAt: at + 50,
          attributes: {},
        });
      } else {
        w.health.success = (w.health.success ?? 0) + 1;
        w.healthyByProxy[p] = (w.healthyByProxy[p] ?? 0) + 1;
      }
    }
  }

  /** The one-second windows of the last step (what the collector writes as one bucket). */
  lastSecond(): readonly EndpointWindow[] {
    return this.#last;
  }

  /** Fast signals seen in the last step. */
  lastSignals(): FastSignal[] {
    const at = this.now;
    return this.#signals.filter((s) => s.at >= at - 1000 && s.at < at);
  }

  get proxies(): number {
    return this.#o.proxies;
  }

  windows(): ClusterWindows {
    const o = this.#o;
    const at = this.now;
    while (this.#signals.length > 0 && (this.#signals[0]?.at ?? at) < at - WINDOW_VIEWS.long * 1000)
      this.#signals.shift();
    const view = (running: RunningWindow[]) => running.map((r) => r.snapshot());
    const rates: Record<string, number[]> = {};
    for (let i = 0; i < o.endpoints; i++) rates[endpointName(i)] = [...(this.#rates[i] ?? [])];
    return {
      cluster: o.cluster,
      at,
      proxiesReporting: o.proxies,
      views: { short: view(this.#short), long: view(this.#long) },
      rates,
      signals: this.#signals.filter((s) => s.at < at),
    };
  }
}

/**
 * Effective weights (host weight × slow-start factor) and the cached table of available hosts
 * every weighted policy picks from.
 *
 * Slow start follows Envoy's slow_start_config
 * (https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/slow_start):
 *   factor = max(minWeightPercent / 100, timeFactor^(1 / aggression)),
 *   timeFactor = max(elapsed, 1 ms) / window.
 * Host.availableSince restarts on recovery from any flag, so slow start also applies after an
 * ejection or a failed health check — the gap HAProxy/NGINX have ("slow start only after
 * recovery", and Linkerd has none at all, linkerd2 #7277; DESIGN.md section 7).
 */
import type { LoadBalancerConfig } from "@meshtune/contracts";
import type { Clock } from "../clock.js";
import type { Host } from "../host.js";
import type { HostSource } from "./source.js";

export type SlowStartConfig = LoadBalancerConfig["slowStart"];

/** Slow-start multiplier in (0, 1]; 1 outside the window or when slow start is off. */
export function slowStartFactor(host: Host, cfg: SlowStartConfig, now: number): number {
  const window = cfg.windowMs;
  if (window <= 0) return 1;
  const elapsed = now - host.availableSince;
  if (elapsed >= window) return 1;
  // Envoy clamps elapsed to at least one second; we work in ms, so one ms.
  const timeFactor = Math.max(elapsed, 1) / window;
  const ramp = cfg.aggression === 1 ? timeFactor : timeFactor ** (1 / cfg.aggression);
  return Math.max(cfg.minWeightPercent / 100, ramp);
}

/** The weight a weighted policy uses for `host` at `now`: its weight scaled by slow start. */
export function effectiveWeight(host: Host, cfg: SlowStartConfig, now: number): number {
  const w = host.weight;
  if (w <= 0) return 0;
  return w * slowStartFactor(host, cfg, now);
}

/**
 * During a ramp, weights are recomputed at most this many times per window: 1/64 of the window
 * per step is finer than anything a benchmark can resolve and keeps pick() amortized O(1).
 */
const RAMP_STEPS_PER_WINDOW = 64;

/**
 * The available hosts of a source with their effective weights and prefix sums, rebuilt lazily:
 * the membership/flag callbacks only mark it dirty (cheap, and safe to call re-entrantly), and
 * the next pick() rebuilds once. While any host is inside its slow-start window the table also
 * refreshes every window/64 ms of clock time.
 */
export class AvailableHosts {
  /** Available hosts at the last rebuild. */
  hosts: Host[] = [];
  /** Effective weight per entry of `hosts`. */
  weights: Float64Array = new Float64Array(0);
  /** host.weight per entry at the last rebuild, to notice weight writes that came without a callback. */
  baseWeights: Float64Array = new Float64Array(0);
  /** cumulative[i] = weights[0] + … + weights[i]. */
  cumulative: Float64Array = new Float64Array(0);
  total = 0;
  /** All effective weights equal (the unweighted fast paths apply). */
  allEqual = true;
  /** Some host is inside its slow-start window: weights will move again at the next refresh. */
  ramping = false;
  /** Bumped on every rebuild, so policies know to recompute derived structures. */
  version = 0;
  /** Bumped only when the list of hosts itself changed (not just their weights). */
  membershipVersion = 0;

  readonly #source: HostSource;
  readonly #slowStart: SlowStartConfig | undefined;
  readonly #clock: Clock;
  readonly #index = new Map<Host, number>();
  readonly #unsubscribe: Array<() => void>;
  #dirty = true;
  #refreshAt = Number.POSITIVE_INFINITY;

  /** `slowStart` undefined = unweighted table (plain round robin): weights are all 1. */
  constructor(source: HostSource, clock: Clock, slowStart: SlowStartConfig | undefined) {
    this.#source = source;
    this.#clock = clock;
    this.#slowStart = slowStart;
    const dirty = (): void => {
      this.#dirty = true;
    };
    this.#unsubscribe = [source.onChange(dirty), source.onFlagChange(dirty)];
  }

  /** Force a rebuild on the next refresh() (e.g. a picked host turned out to be unavailable). */
  markDirty(): void {
    this.#dirty = true;
  }

  /** Rebuild when stale; returns true when it did. Call at the top of pick(). */
  refresh(): boolean {
    if (!this.#dirty && (this.#refreshAt === Number.POSITIVE_INFINITY || this.#clock.now() < this.#refreshAt)) {
      return false;
    }
    this.#rebuild();
    return true;
  }

  /**
   * Is hosts[i] still usable? O(1). A control-plane weight push writes Host.overrideWeight with no
   * callback, so a picked host whose weight or availability moved under us marks the table dirty
   * and the caller moves on to another candidate.
   */
  usable(i: number): boolean {
    const h = this.hosts[i]!;
    if (h.available && h.weight === this.baseWeights[i]) return true;
    this.#dirty = true;
    return h.available;
  }

  indexOf(host: Host): number {
    return this.#index.get(host) ?? -1;
  }

  /**
   * Is there an available host that `exclude` does not cover? O(|exclude|): counts the excluded
   * hosts that are in the table instead of scanning the table.
   */
  anyAllowed(exclude: ReadonlySet<Host> | undefined): boolean {
    const n = this.hosts.length;
    if (n === 0) return false;
    if (exclude === undefined || exclude.size < n) return true;
    let covered = 0;
    for (const h of exclude) if (this.#index.has(h)) covered++;
    return covered < n;
  }

  close(): void {
    for (const u of this.#unsubscribe) u();
  }

  #rebuild(): void {
    this.#dirty = false;
    const src = this.#source.hosts;
    const prev = this.hosts;
    const hosts: Host[] = [];
    for (const h of src) if (h.available) hosts.push(h);
    let same = hosts.length === prev.length;
    for (let i = 0; same && i < hosts.length; i++) same = hosts[i] === prev[i];
    if (!same) {
      this.hosts = hosts;
      this.#index.clear();
      for (let i = 0; i < hosts.length; i++) this.#index.set(hosts[i]!, i);
      this.membershipVersion++;
    }
    const n = this.hosts.length;
    if (this.weights.length !== n) {
      this.weights = new Float64Array(n);
      this.baseWeights = new Float64Array(n);
      this.cumulative = new Float64Array(n);
    }
    const ss = this.#slowStart;
    const now = ss !== undefined && ss.windowMs > 0 ? this.#clock.now() : 0;
    let total = 0;
    let allEqual = true;
    let ramping = false;
    for (let i = 0; i < n; i++) {
      const h = this.hosts[i]!;
      this.baseWeights[i] = h.weight;
      let w = 1;
      if (ss !== undefined) {
        w = effectiveWeight(h, ss, now);
        if (ss.windowMs > 0 && now - h.availableSince < ss.windowMs) ramping = true;
      }
      this.weights[i] = w;
      total += w;
      this.cumulative[i] = total;
      if (i > 0 && w !== this.weights[0]) allEqual = false;
    }
    this.total = total;
    this.allEqual = allEqual;
    this.ramping = ramping;
    this.#refreshAt =
      ramping && ss !== undefined ? now + Math.max(1, ss.windowMs / RAMP_STEPS_PER_WINDOW) : Number.POSITIVE_INFINITY;
    this.version++;
  }
}

/** Index of the first cumulative weight > x (x in [0, total)). O(log n). */
export function searchCumulative(cumulative: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

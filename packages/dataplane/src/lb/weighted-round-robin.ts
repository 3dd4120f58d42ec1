/**
 * Smooth weighted round robin, nginx's algorithm (ngx_http_upstream_get_peer, nginx commit
 * 52327e0627f4, 2012): every pick adds each host's weight to its `current`, takes the host with
 * the largest `current`, and subtracts the total from it. Weights {5,1,1} give a a b a c a a
 * rather than a a a a a b c, so a heavy host never receives a burst.
 *
 * Hot path: with integer weights the sequence repeats every sum(w)/gcd(w) picks (after one
 * period every `current` is back at 0), so when no host is ramping and the period is small
 * the period is precomputed in the membership/flag callback and pick() is O(1). While a host is
 * in slow start (weights move every window/64 ms) or the period is large, pick() runs the nginx
 * loop live over the cached effective weights: O(n), allocation-free, and only for the ramp.
 */
import type { LbPolicy } from "@meshtune/contracts";
import type { Clock, Random } from "../clock.js";
import type { HostSource } from "./source.js";
import type { LoadBalancer, PickContext, PickResult } from "./types.js";
import { AvailableHosts, type SlowStartConfig } from "./weights.js";

/** Longest precomputed schedule (entries) and build cost (period × hosts) we accept. */
const MAX_SCHEDULE = 8192;
const MAX_SCHEDULE_WORK = 1 << 20;

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

export class WeightedRoundRobinLoadBalancer implements LoadBalancer {
  readonly policy: LbPolicy = "weighted_round_robin";
  readonly #table: AvailableHosts;
  readonly #random: Random;
  #version = -1;
  #membershipVersion = -1;
  /** Precomputed period (indices into table.hosts), or undefined in live mode. */
  #schedule: Int32Array | undefined;
  #pos = 0;
  /** nginx `current` per host for live mode. */
  #current = new Float64Array(0);

  constructor(source: HostSource, slowStart: SlowStartConfig, deps: { clock: Clock; random: Random }) {
    this.#table = new AvailableHosts(source, deps.clock, slowStart);
    this.#random = deps.random;
  }

  /** "schedule" (O(1) picks) or "live" (nginx loop, during slow start or for huge periods). */
  get mode(): "schedule" | "live" {
    return this.#schedule === undefined ? "live" : "schedule";
  }

  pick(ctx?: PickContext): PickResult | undefined {
    const table = this.#table;
    table.refresh();
    if (table.version !== this.#version) this.#prepare();
    const hosts = table.hosts;
    const n = hosts.length;
    if (n === 0) return undefined;
    const exclude = ctx?.exclude;
    if (exclude !== undefined && exclude.size > 0 && !table.anyAllowed(exclude)) return undefined;
    // Skipping an excluded/stale host just advances the sequence; within one period (or 4n live
    // steps, where every host with weight ≥ total/4n comes up) an allowed host appears.
    const limit = this.#schedule !== undefined ? this.#schedule.length : 4 * n + 16;
    for (let step = 0; step < limit; step++) {
      const i = this.#schedule !== undefined ? this.#nextScheduled(this.#schedule) : this.#nextLive(n);
      if (!table.usable(i)) continue;
      const host = hosts[i]!;
      if (exclude?.has(host)) continue;
      return { host };
    }
    // Tiny-weight allowed hosts only (retry path): take the heaviest allowed one.
    let best = -1;
    for (let i = 0; i < n; i++) {
      const h = hosts[i]!;
      if (!h.available || exclude?.has(h)) continue;
      if (best < 0 || table.weights[i]! > table.weights[best]!) best = i;
    }
    return best < 0 ? undefined : { host: hosts[best]! };
  }

  close(): void {
    this.#table.close();
  }

  #nextScheduled(schedule: Int32Array): number {
    const i = schedule[this.#pos]!;
    this.#pos = this.#pos + 1 === schedule.length ? 0 : this.#pos + 1;
    return i;
  }

  #nextLive(n: number): number {
    const w = this.#table.weights;
    const cur = this.#current;
    let best = 0;
    let bestCur = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const c = cur[i]! + w[i]!;
      cur[i] = c;
      if (c > bestCur) {
        bestCur = c;
        best = i;
      }
    }
    cur[best] = bestCur - this.#table.total;
    return best;
  }

  #prepare(): void {
    const table = this.#table;
    this.#version = table.version;
    const n = table.hosts.length;
    const membershipChanged = table.membershipVersion !== this.#membershipVersion;
    this.#membershipVersion = table.membershipVersion;
    // Weight-only refreshes during a ramp keep `current` (nginx also adjusts effective_weight in
    // place); a new host list starts over.
    if (membershipChanged || this.#current.length !== n) this.#current = new Float64Array(n);
    this.#schedule = this.#buildSchedule();
    if (this.#schedule !== undefined) {
      // Random phase: proxies built at the same moment do not all start on the heaviest host.
      this.#pos = Math.floor(this.#random() * this.#schedule.length);
    }
  }

  #buildSchedule(): Int32Array | undefined {
    const table = this.#table;
    const n = table.hosts.length;
    // Weights move every window/64 ms during a ramp; a schedule would be rebuilt as often.
    if (n === 0 || table.ramping) return undefined;
    let g = 0;
    for (let i = 0; i < n; i++) {
      const w = table.weights[i]!;
      // Fractional weights (slow start, or a control-plane push) have no finite period.
      if (!Number.isInteger(w) || w <= 0) return undefined;
      g = gcd(g, w);
    }
    const period = table.total / g;
    if (period > MAX_SCHEDULE || period * n > MAX_SCHEDULE_WORK) return undefined;
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) w[i] = table.weights[i]! / g;
    const cur = new Float64Array(n);
    const schedule = new Int32Array(period);
    for (let s = 0; s < period; s++) {
      let best = 0;
      let bestCur = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < n; i++) {
        const c = cur[i]! + w[i]!;
        cur[i] = c;
        if (c > bestCur) {
          bestCur = c;
          best = i;
        }
      }
      cur[best] = bestCur - period;
      schedule[s] = best;
    }
    return schedule;
  }
}

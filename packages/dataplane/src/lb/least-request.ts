/**
 * Least request: power of `choiceCount` choices over the *available* hosts (Mitzenmacher 2001,
 * "The Power of Two Choices in Randomized Load Balancing"; linkerd2-proxy's P2C samples only
 * ready endpoints, and so do we).
 *
 * Score (lower is better), following Envoy's least_request
 * (https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/load_balancers#weighted-least-request):
 * - all effective weights equal: the in-flight count; the candidate with fewer requests wins;
 * - weights differ: the inverse of Envoy's effective weight, (inFlight + 1)^bias / weight, so
 *   the host with the larger weight / (inFlight + 1)^activeRequestBias wins. Under load this
 *   drives in-flight toward proportional-to-weight (bias 1) and the request share with it.
 * Slow start scales `weight` through effectiveWeight(), so a ramping host scores worse.
 *
 * Candidates are distinct (as in tower's p2c, which linkerd2-proxy uses): sampling with
 * replacement wastes a comparison whenever both draws hit the same host, which with two hosts
 * sends the loaded one a quarter of the traffic regardless of its load.
 *
 * Issue #5 hook: `scoreOf` replaces the default score, e.g. with pool pressure (idle connections)
 * and latency terms; its terms are surfaced in PickResult.terms for the admin API.
 */
import type { LbPolicy } from "@meshtune/contracts";
import type { Clock, Random } from "../clock.js";
import type { Host } from "../host.js";
import type { HostSource } from "./source.js";
import type { HostScoreFn, LoadBalancer, PickContext, PickResult } from "./types.js";
import { AvailableHosts, type SlowStartConfig } from "./weights.js";

export interface LeastRequestOptions {
  choiceCount: number;
  activeRequestBias: number;
  slowStart: SlowStartConfig;
  /** Replaces the default active-request score (issue #5). */
  scoreOf?: HostScoreFn;
}

/** The default score for a host with effective weight `weight` (see the module comment). */
export function activeRequestScore(
  inFlight: number,
  weight: number,
  allWeightsEqual: boolean,
  activeRequestBias: number,
): number {
  if (allWeightsEqual) return inFlight;
  if (weight <= 0) return Number.POSITIVE_INFINITY;
  if (activeRequestBias === 1) return (inFlight + 1) / weight;
  if (activeRequestBias === 0) return 1 / weight;
  return (inFlight + 1) ** activeRequestBias / weight;
}

const MAX_CHOICES = 10;

export class LeastRequestLoadBalancer implements LoadBalancer {
  readonly policy: LbPolicy = "least_request";
  readonly #table: AvailableHosts;
  readonly #random: Random;
  readonly #choices: number;
  readonly #bias: number;
  readonly #scoreOf: HostScoreFn | undefined;
  /** Scratch for k > 2 distinct candidates; reused so pick() allocates nothing. */
  readonly #picked = new Int32Array(MAX_CHOICES);

  constructor(source: HostSource, opts: LeastRequestOptions, deps: { clock: Clock; random: Random }) {
    this.#table = new AvailableHosts(source, deps.clock, opts.slowStart);
    this.#random = deps.random;
    this.#choices = Math.min(MAX_CHOICES, Math.max(2, Math.floor(opts.choiceCount)));
    this.#bias = opts.activeRequestBias;
    this.#scoreOf = opts.scoreOf;
  }

  pick(ctx?: PickContext): PickResult | undefined {
    const table = this.#table;
    table.refresh();
    const hosts = table.hosts;
    const n = hosts.length;
    if (n === 0) return undefined;
    const exclude = ctx?.exclude;
    const k = this.#choices;
    let best = -1;
    let bestScore = Number.POSITIVE_INFINITY;
    let bestTerms: Record<string, number> | undefined;
    if (n <= k) {
      // Every host is a candidate; start at a random offset so ties do not always go to hosts[0].
      const off = Math.floor(this.#random() * n);
      for (let j = 0; j < n; j++) {
        const i = (off + j) % n;
        if (!this.#eligible(i, exclude)) continue;
        const s = this.#score(i, ctx);
        if (s < bestScore || best < 0) {
          best = i;
          bestScore = s;
          bestTerms = this.#lastTerms;
        }
      }
    } else {
      const r = this.#random;
      const first = Math.floor(r() * n);
      let count = 1;
      this.#picked[0] = first;
      if (k === 2) {
        // Distinct second draw without rejection: uniform over the other n - 1 hosts.
        let second = Math.floor(r() * (n - 1));
        if (second >= first) second++;
        this.#picked[1] = second;
        count = 2;
      } else {
        while (count < k) {
          const c = Math.floor(r() * n);
          let dup = false;
          for (let j = 0; j < count; j++) if (this.#picked[j] === c) dup = true;
          if (!dup) this.#picked[count++] = c;
        }
      }
      for (let j = 0; j < count; j++) {
        const i = this.#picked[j]!;
        if (!this.#eligible(i, exclude)) continue;
        const s = this.#score(i, ctx);
        if (s < bestScore || best < 0) {
          best = i;
          bestScore = s;
          bestTerms = this.#lastTerms;
        }
      }
      // Every candidate excluded or stale (retry path): full scan over the allowed hosts.
      if (best < 0) {
        for (let i = 0; i < n; i++) {
          if (!this.#eligible(i, exclude)) continue;
          const s = this.#score(i, ctx);
          if (s < bestScore || best < 0) {
            best = i;
            bestScore = s;
            bestTerms = this.#lastTerms;
          }
        }
      }
    }
    if (best < 0) return undefined;
    const result: PickResult = { host: hosts[best]!, score: bestScore };
    if (bestTerms !== undefined) result.terms = bestTerms;
    return result;
  }

  close(): void {
    this.#table.close();
  }

  #lastTerms: Record<string, number> | undefined;

  #eligible(i: number, exclude: ReadonlySet<Host> | undefined): boolean {
    if (!this.#table.usable(i)) return false;
    return exclude === undefined || !exclude.has(this.#table.hosts[i]!);
  }

  #score(i: number, ctx: PickContext | undefined): number {
    const table = this.#table;
    const host = table.hosts[i]!;
    if (this.#scoreOf !== undefined) {
      const s = this.#scoreOf(host, ctx);
      this.#lastTerms = s.terms;
      return s.score;
    }
    this.#lastTerms = undefined;
    return activeRequestScore(host.inFlight, table.weights[i]!, table.allEqual, this.#bias);
  }
}

/**
 * Random: uniform when all effective weights are equal, otherwise weighted random by
 * effectiveWeight() (so slow start applies) via prefix sums and binary search, O(log n).
 */
import type { LbPolicy } from "@meshtune/contracts";
import type { Clock, Random } from "../clock.js";
import type { HostSource } from "./source.js";
import type { LoadBalancer, PickContext, PickResult } from "./types.js";
import { AvailableHosts, type SlowStartConfig, searchCumulative } from "./weights.js";

/** Draws before the retry path falls back to a scan over the allowed hosts. */
const DRAWS = 4;

export class RandomLoadBalancer implements LoadBalancer {
  readonly policy: LbPolicy = "random";
  readonly #table: AvailableHosts;
  readonly #random: Random;

  constructor(source: HostSource, slowStart: SlowStartConfig, deps: { clock: Clock; random: Random }) {
    this.#table = new AvailableHosts(source, deps.clock, slowStart);
    this.#random = deps.random;
  }

  pick(ctx?: PickContext): PickResult | undefined {
    const table = this.#table;
    table.refresh();
    const hosts = table.hosts;
    const n = hosts.length;
    if (n === 0) return undefined;
    const exclude = ctx?.exclude;
    for (let d = 0; d < DRAWS; d++) {
      const i = table.allEqual
        ? Math.floor(this.#random() * n)
        : searchCumulative(table.cumulative, n, this.#random() * table.total);
      if (!table.usable(i)) continue;
      const host = hosts[i]!;
      if (exclude?.has(host)) continue;
      return { host };
    }
    // Retry path (most weight excluded): weighted draw over the allowed hosts only, O(n).
    let allowed = 0;
    for (let i = 0; i < n; i++) {
      const h = hosts[i]!;
      if (h.available && !exclude?.has(h)) allowed += table.weights[i]!;
    }
    if (allowed <= 0) return undefined;
    let x = this.#random() * allowed;
    let last = -1;
    for (let i = 0; i < n; i++) {
      const h = hosts[i]!;
      if (!h.available || exclude?.has(h)) continue;
      last = i;
      x -= table.weights[i]!;
      if (x < 0) return { host: h };
    }
    return last < 0 ? undefined : { host: hosts[last]! };
  }

  close(): void {
    this.#table.close();
  }
}

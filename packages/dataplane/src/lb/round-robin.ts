/**
 * Plain round robin over the available hosts, weights ignored (weighted_round_robin honours them).
 *
 * The start index is random: if every proxy of a fleet started at index 0, they would all send
 * their first request to the same endpoint at the same moment (Envoy randomizes the RR start for
 * the same reason; cf. Linkerd "first pod took 100% of traffic", linkerd2 #9652).
 */
import type { LbPolicy } from "@meshtune/contracts";
import type { Clock, Random } from "../clock.js";
import type { HostSource } from "./source.js";
import type { LoadBalancer, PickContext, PickResult } from "./types.js";
import { AvailableHosts } from "./weights.js";

export class RoundRobinLoadBalancer implements LoadBalancer {
  readonly policy: LbPolicy = "round_robin";
  readonly #table: AvailableHosts;
  readonly #random: Random;
  #next = -1;

  constructor(source: HostSource, deps: { clock: Clock; random: Random }) {
    this.#table = new AvailableHosts(source, deps.clock, undefined);
    this.#random = deps.random;
  }

  pick(ctx?: PickContext): PickResult | undefined {
    const table = this.#table;
    table.refresh();
    const hosts = table.hosts;
    const n = hosts.length;
    if (n === 0) return undefined;
    if (this.#next < 0) this.#next = Math.floor(this.#random() * n);
    const exclude = ctx?.exclude;
    if (exclude !== undefined && exclude.size > 0 && !table.anyAllowed(exclude)) return undefined;
    // At most one lap: every host is looked at once before giving up.
    for (let step = 0; step < n; step++) {
      const i = this.#next % n;
      this.#next = i + 1;
      if (!table.usable(i)) continue;
      const host = hosts[i]!;
      if (exclude?.has(host)) continue;
      return { host };
    }
    return undefined;
  }

  close(): void {
    this.#table.close();
  }
}

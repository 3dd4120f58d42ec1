/**
 * Endpoint discovery: static lists, strict_dns (periodic re-resolve, every A/AAAA record is
 * an endpoint) and pushed (the control plane's EDS equivalent). Discovery only calls
 * HostSet.update(); HostSet keeps the Host object — and so its pool, health flags and
 * ejection state — for every address that did not change. That is the fix for Istio #35475
 * (DNS IP rotation drained pools) and #8673 (re-resolve reset outlier ejections).
 */
import { promises as dns } from "node:dns";
import type { Discovery, Endpoint } from "@meshtune/contracts";
import type { Clock, TimerHandle } from "../clock.js";
import type { HostSet } from "../host.js";

/** Port for name resolution so tests can fake DNS. Returns IP addresses. */
export type Resolver = (hostname: string, family: "any" | "ipv4" | "ipv6") => Promise<string[]>;

export const systemResolver: Resolver = async (hostname, family) => {
  const res = await dns.lookup(hostname, { all: true, family: family === "ipv4" ? 4 : family === "ipv6" ? 6 : 0 });
  return res.map((r) => r.address);
};

export type DiscoveryEvent =
  | { type: "resolved"; hostname: string; addresses: string[]; added: number; removed: number }
  | { type: "resolve_failed"; hostname: string; error: string };

export interface DiscoveryHandle {
  readonly type: Discovery["type"];
  /** First resolution done (static/pushed: immediately). */
  readonly ready: Promise<void>;
  /** pushed only: replace the endpoint set. */
  push(endpoints: readonly Endpoint[]): void;
  /** Re-resolve now (strict_dns); no-op for the others. */
  refresh(): Promise<void>;
  close(): void;
}

export function startDiscovery(
  cfg: Discovery,
  hosts: HostSet,
  deps: { clock: Clock; resolver?: Resolver; onEvent?: (ev: DiscoveryEvent) => void },
): DiscoveryHandle {
  switch (cfg.type) {
    case "static":
      hosts.update(cfg.endpoints);
      return fixed("static", hosts, false);
    case "pushed":
      hosts.update(cfg.initialEndpoints);
      return fixed("pushed", hosts, true);
    case "strict_dns":
      return strictDns(cfg, hosts, deps);
  }
}

function fixed(type: "static" | "pushed", hosts: HostSet, pushable: boolean): DiscoveryHandle {
  return {
    type,
    ready: Promise.resolve(),
    push(endpoints) {
      if (!pushable) throw new Error(`endpoints cannot be pushed to a ${type} cluster`);
      hosts.update(endpoints);
    },
    refresh: async () => {},
    close() {},
  };
}

function strictDns(
  cfg: Extract<Discovery, { type: "strict_dns" }>,
  hosts: HostSet,
  deps: { clock: Clock; resolver?: Resolver; onEvent?: (ev: DiscoveryEvent) => void },
): DiscoveryHandle {
  const resolve = deps.resolver ?? systemResolver;
  let timer: TimerHandle | undefined;
  let closed = false;
  const refresh = async () => {
    try {
      const addresses = [...new Set(await resolve(cfg.hostname, cfg.family))].sort();
      if (closed) return;
      if (addresses.length === 0) throw new Error("no addresses");
      const change = hosts.update(
        addresses.map((address) => ({
          address,
          port: cfg.port,
          weight: cfg.weight,
          zone: cfg.zone,
          // External services are addressed by name: SNI and Host default to the DNS name.
          sni: cfg.sni ?? cfg.hostname,
        })),
      );
      deps.onEvent?.({
        type: "resolved",
        hostname: cfg.hostname,
        addresses,
        added: change.added.length,
        removed: change.removed.length,
      });
    } catch (err) {
      // Keep the last good set: a DNS outage must not empty the cluster.
      deps.onEvent?.({ type: "resolve_failed", hostname: cfg.hostname, error: (err as Error).message });
    }
  };
  const loop = () => {
    timer = deps.clock.setTimeout(() => {
      void refresh().finally(() => {
        if (!closed) loop();
      });
    }, cfg.refreshIntervalMs);
  };
  const ready = refresh().then(() => {
    if (!closed) loop();
  });
  return {
    type: "strict_dns",
    ready,
    push() {
      throw new Error("endpoints cannot be pushed to a strict_dns cluster");
    },
    refresh,
    close() {
      closed = true;
      timer?.cancel();
    },
  };
}

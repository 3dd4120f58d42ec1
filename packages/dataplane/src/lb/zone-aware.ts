/**
 * Zone-aware preference around any policy (DESIGN.md section 2): pick among the proxy's
 * local-zone hosts while that zone is healthy and not overloaded, otherwise spill over to all
 * available hosts. Two instances of the inner policy run side by side — one over a filtered view
 * of the local zone, one over the whole set — sharing the same Host objects.
 *
 * Simpler than Envoy's zone-aware routing (which splits traffic by upstream/downstream zone
 * percentages, https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/zone_aware):
 * an external service has no downstream-zone census, so the rule is local-first with two
 * spill conditions:
 * - unhealthy: local available < minHealthyPercent % of local hosts (Envoy's
 *   healthy_panic_threshold idea applied per zone);
 * - overloaded: maxInFlightPerEndpoint > 0 and the mean in-flight per available local host is
 *   above it. This reads in-flight counts live, O(local hosts) per pick, only when enabled:
 *   in-flight changes on every request with no callback, so it cannot be cached.
 */
import type { LbPolicy, LoadBalancerConfig } from "@meshtune/contracts";
import type { Host } from "../host.js";
import { FilteredHostSource, type HostSource } from "./source.js";
import type { LoadBalancer, PickContext, PickResult } from "./types.js";

export type ZoneAwareConfig = LoadBalancerConfig["zoneAware"];

/** Which host set the last pick used: the local zone, all hosts, or no zone preference at all. */
export type ZoneMode = "local" | "spillover" | "disabled";
export type SpillReason = "no_local_hosts" | "unhealthy" | "overloaded" | "local_exhausted";

export class ZoneAwareLoadBalancer implements LoadBalancer {
  readonly policy: LbPolicy;
  /** For the admin API: the mode of the most recent pick. */
  lastZoneMode: ZoneMode = "disabled";
  /** Why the most recent spillover happened (undefined when the last pick was local). */
  lastSpillReason: SpillReason | undefined;
  /** Totals since creation, for /clusters. */
  localPicks = 0;
  spilloverPicks = 0;

  readonly #cfg: ZoneAwareConfig;
  readonly #localZone: string | undefined;
  readonly #all: LoadBalancer;
  readonly #local: LoadBalancer | undefined;
  readonly #localSource: FilteredHostSource | undefined;
  readonly #unsubscribe: Array<() => void> = [];
  #countsDirty = true;
  #localTotal = 0;
  #localAvailable: Host[] = [];

  constructor(
    source: HostSource,
    cfg: ZoneAwareConfig,
    localZone: string | undefined,
    makeInner: (source: HostSource) => LoadBalancer,
  ) {
    this.#cfg = cfg;
    this.#localZone = localZone;
    this.#all = makeInner(source);
    this.policy = this.#all.policy;
    if (cfg.enabled && localZone !== undefined) {
      const local = new FilteredHostSource(source, (h) => h.zone === localZone);
      this.#localSource = local;
      this.#local = makeInner(local);
      const dirty = (): void => {
        this.#countsDirty = true;
      };
      this.#unsubscribe.push(local.onChange(dirty), local.onFlagChange(dirty));
    }
  }

  get localZone(): string | undefined {
    return this.#localZone;
  }

  pick(ctx?: PickContext): PickResult | undefined {
    const local = this.#local;
    if (local === undefined) {
      this.lastZoneMode = "disabled";
      this.lastSpillReason = undefined;
      return this.#all.pick(ctx);
    }
    const reason = this.#spillReason();
    if (reason === undefined) {
      const r = local.pick(ctx);
      if (r !== undefined) {
        this.lastZoneMode = "local";
        this.lastSpillReason = undefined;
        this.localPicks++;
        return r;
      }
    }
    // Local zone unhealthy/overloaded, or every local host excluded by this request's retries.
    this.lastZoneMode = "spillover";
    this.lastSpillReason = reason ?? "local_exhausted";
    this.spilloverPicks++;
    return this.#all.pick(ctx);
  }

  close(): void {
    for (const u of this.#unsubscribe) u();
    this.#local?.close();
    this.#localSource?.close();
    this.#all.close();
  }

  #spillReason(): SpillReason | undefined {
    if (this.#countsDirty) this.#recount();
    const total = this.#localTotal;
    if (total === 0) return "no_local_hosts";
    const avail = this.#localAvailable;
    // Integer-safe form of avail/total*100 < minHealthyPercent.
    if (avail.length === 0 || avail.length * 100 < this.#cfg.minHealthyPercent * total) return "unhealthy";
    const max = this.#cfg.maxInFlightPerEndpoint;
    if (max > 0) {
      let sum = 0;
      for (let i = 0; i < avail.length; i++) sum += avail[i]!.inFlight;
      if (sum > max * avail.length) return "overloaded";
    }
    return undefined;
  }

  #recount(): void {
    this.#countsDirty = false;
    const hosts = this.#localSource?.hosts ?? [];
    this.#localTotal = hosts.length;
    this.#localAvailable = hosts.filter((h) => h.available);
  }
}

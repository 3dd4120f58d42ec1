/**
 * Host (endpoint) state. Health is a set of flags, each written by exactly one detector
 * (Envoy upstream style): active health check, outlier detection, warm-up, drain and the
 * control plane. A host is selectable only when no flag is set and its weight is above 0.
 * Owners receive a FlagWriter for their flag only, so no detector can clear another's verdict.
 */
import type { Endpoint } from "@meshtune/contracts";

export const HEALTH_FLAGS = [
  "failed_active_hc",
  "ejected_outlier",
  "failed_warmup",
  "draining",
  "ejected_control_plane",
] as const;
export type HealthFlag = (typeof HEALTH_FLAGS)[number];

/** Read-only view of a host's connection pool; the pool (issue #4/#5) implements it. */
export interface PoolView {
  readonly idle: number;
  readonly active: number;
  readonly connecting: number;
  readonly pending: number;
  readonly maxConnections: number;
}

const EMPTY_POOL: PoolView = { idle: 0, active: 0, connecting: 0, pending: 0, maxConnections: 0 };

export type FlagListener = (host: Host, flag: HealthFlag, on: boolean) => void;

export class Host {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  zone: string | undefined;
  sni: string | undefined;
  /** Weight from discovery/config. */
  configWeight: number;
  /** Weight pushed by the control plane; overrides configWeight when set. */
  overrideWeight: number | undefined;
  /** Requests currently in flight to this host (written by the request path only). */
  inFlight = 0;
  /** Requests sent to this host so far (request path only); the predictive scaler reads rates from it. */
  requestsTotal = 0;
  /** When the host entered the set, or last became available again (slow-start origin). */
  availableSince: number;
  /** The pool attached to this host; EMPTY until the pool manager attaches one. */
  pool: PoolView = EMPTY_POOL;
  readonly #flags = new Map<HealthFlag, string>();
  readonly #listeners = new Set<FlagListener>();

  constructor(ep: Endpoint, now: number) {
    this.address = ep.address;
    this.port = ep.port;
    this.key = hostKey(ep.address, ep.port);
    this.zone = ep.zone;
    this.sni = ep.sni;
    this.configWeight = ep.weight;
    this.overrideWeight = undefined;
    this.availableSince = now;
  }

  get weight(): number {
    return this.overrideWeight ?? this.configWeight;
  }

  /** Selectable by a load balancer. */
  get available(): boolean {
    return this.#flags.size === 0 && this.weight > 0;
  }

  hasFlag(flag: HealthFlag): boolean {
    return this.#flags.has(flag);
  }

  flagReason(flag: HealthFlag): string | undefined {
    return this.#flags.get(flag);
  }

  get flags(): ReadonlyMap<HealthFlag, string> {
    return this.#flags;
  }

  onFlagChange(listener: FlagListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Internal: use a FlagWriter. */
  _setFlag(flag: HealthFlag, on: boolean, reason: string, now: number): void {
    const had = this.#flags.has(flag);
    if (on) this.#flags.set(flag, reason);
    else this.#flags.delete(flag);
    if (had === on) return;
    // Recovering from any flag restarts slow start (Envoy slow_start on host recovery).
    if (!on && this.#flags.size === 0) this.availableSince = now;
    for (const l of this.#listeners) l(this, flag, on);
  }
}

export function hostKey(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The only way to write a flag: one writer per owner. */
export interface FlagWriter {
  readonly flag: HealthFlag;
  set(host: Host, reason: string): void;
  clear(host: Host): void;
}

export function flagWriter(flag: HealthFlag, now: () => number): FlagWriter {
  return {
    flag,
    set: (host, reason) => host._setFlag(flag, true, reason, now()),
    clear: (host) => host._setFlag(flag, false, "", now()),
  };
}

export interface HostSetChange {
  added: Host[];
  removed: Host[];
}
export type MembershipListener = (hosts: readonly Host[], change: HostSetChange) => void;

/**
 * The hosts of one cluster. Membership changes go through callbacks with unsubscribe handles
 * (Envoy's PrioritySet::addMemberUpdateCb); load balancers recompute in the callback.
 * update() keeps the Host object (and so its pool, flags and ejection state) for every
 * address that did not change (Istio #35475, #8673).
 */
export class HostSet {
  #hosts: Host[] = [];
  readonly #byKey = new Map<string, Host>();
  readonly #listeners = new Set<MembershipListener>();
  readonly #flagListeners = new Set<FlagListener>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  get hosts(): readonly Host[] {
    return this.#hosts;
  }

  get(key: string): Host | undefined {
    return this.#byKey.get(key);
  }

  onChange(listener: MembershipListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Called on any host's flag change (e.g. LBs that cache the available list). */
  onFlagChange(listener: FlagListener): () => void {
    this.#flagListeners.add(listener);
    return () => this.#flagListeners.delete(listener);
  }

  /**
   * Tell listeners that host attributes changed without a membership change (control-plane
   * weight overrides), so load balancers rebuild their cached tables.
   */
  touch(): void {
    const change = { added: [], removed: [] };
    for (const l of this.#listeners) l(this.#hosts, change);
  }

  update(endpoints: readonly Endpoint[]): HostSetChange {
    const now = this.#now();
    const next: Host[] = [];
    const added: Host[] = [];
    const seen = new Set<string>();
    for (const ep of endpoints) {
      const key = hostKey(ep.address, ep.port);
      if (seen.has(key)) continue;
      seen.add(key);
      let host = this.#byKey.get(key);
      if (host) {
        host.configWeight = ep.weight;
        host.zone = ep.zone;
        host.sni = ep.sni;
      } else {
        host = new Host(ep, now);
        host.onFlagChange((h, f, on) => {
          for (const l of this.#flagListeners) l(h, f, on);
        });
        this.#byKey.set(key, host);
        added.push(host);
      }
      next.push(host);
    }
    const removed = this.#hosts.filter((h) => !seen.has(h.key));
    for (const h of removed) this.#byKey.delete(h.key);
    this.#hosts = next;
    const change = { added, removed };
    for (const l of this.#listeners) l(this.#hosts, change);
    return change;
  }
}

/**
 * What a load balancer needs from a host set: the members and the two callbacks. HostSet
 * satisfies it structurally; the zone-aware wrapper hands its inner policy a filtered view
 * (the local zone) that reuses the *same* Host objects, so flags, in-flight counts and pools
 * stay shared (Envoy builds per-locality host lists from one PrioritySet the same way).
 */
import type { FlagListener, Host, HostSetChange, MembershipListener } from "../host.js";

export interface HostSource {
  readonly hosts: readonly Host[];
  onChange(listener: MembershipListener): () => void;
  onFlagChange(listener: FlagListener): () => void;
}

/**
 * The members of `parent` that satisfy `keep`, re-evaluated on every membership update (a host's
 * zone can change across a DNS re-resolve or an EDS push, so the filter is not fixed at add time).
 */
export class FilteredHostSource implements HostSource {
  #hosts: Host[] = [];
  #members = new Set<Host>();
  readonly #listeners = new Set<MembershipListener>();
  readonly #flagListeners = new Set<FlagListener>();
  readonly #unsubscribe: Array<() => void>;
  readonly #keep: (host: Host) => boolean;

  constructor(parent: HostSource, keep: (host: Host) => boolean) {
    this.#keep = keep;
    this.#recompute(parent.hosts);
    this.#unsubscribe = [
      parent.onChange((hosts) => {
        const change = this.#recompute(hosts);
        for (const l of this.#listeners) l(this.#hosts, change);
      }),
      parent.onFlagChange((host, flag, on) => {
        if (!this.#members.has(host)) return;
        for (const l of this.#flagListeners) l(host, flag, on);
      }),
    ];
  }

  get hosts(): readonly Host[] {
    return this.#hosts;
  }

  onChange(listener: MembershipListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onFlagChange(listener: FlagListener): () => void {
    this.#flagListeners.add(listener);
    return () => this.#flagListeners.delete(listener);
  }

  close(): void {
    for (const u of this.#unsubscribe) u();
    this.#listeners.clear();
    this.#flagListeners.clear();
  }

  #recompute(all: readonly Host[]): HostSetChange {
    const next = all.filter(this.#keep);
    const nextSet = new Set(next);
    const added = next.filter((h) => !this.#members.has(h));
    const removed = this.#hosts.filter((h) => !nextSet.has(h));
    this.#hosts = next;
    this.#members = nextSet;
    return { added, removed };
  }
}

/**
 * Ring hash (Karger et al. 1997 consistent hashing, ketama layout): each host owns
 * points = weight × k virtual nodes at murmur3("<host.key>_<i>"); a request hashes its configured
 * header and goes to the first point clockwise. Requests without the header (or with an empty
 * one, which would otherwise pile every anonymous request onto one host) go to a random point,
 * which is still weight-proportional.
 *
 * Minimal remap. Envoy recomputes its scale from the *current* normalized weights on every
 * update, so removing one of ten hosts also grows every other host's point count and moves
 * ~8% more keys than the 10% that had to move. Here a host's points depend only on its own key
 * and weight: k (points per weight unit, a power of two) is kept across updates and changes
 * only when the ring would fall below minRingSize or grow past 8× it. So removing a host moves
 * exactly the keys it owned, and adding one moves only the keys it takes.
 *
 * Health does not reshape the ring (a flapping host would remap keys every time): unavailable
 * hosts keep their points and lookups walk clockwise to the next available one, through a
 * `nextAvailable` table rebuilt in the flag callback, so pick() stays O(log n) (binary search).
 * Slow start does not apply: changing point counts while ramping would remap keys.
 */
import type { LbPolicy } from "@meshtune/contracts";
import type { Random } from "../clock.js";
import type { Host } from "../host.js";
import { murmur3 } from "./hash.js";
import type { HostSource } from "./source.js";
import type { LoadBalancer, PickContext, PickResult } from "./types.js";

export interface RingHashOptions {
  /** Header to hash; matched lower-cased (PickContext.headers are lower-cased). */
  header: string;
  minRingSize: number;
}

/** Hard cap on ring points (the schema's minRingSize maximum; Envoy's max_ring_size is 8M). */
const MAX_RING = 1 << 20;
/** Shrink k only when the ring exceeds this multiple of minRingSize (hysteresis against remaps). */
const SHRINK_FACTOR = 8;
/** Sort key = hash × 2^20 + member index, exact in a double (< 2^52). */
const MEMBER_SPAN = 1 << 20;

export class RingHashLoadBalancer implements LoadBalancer {
  readonly policy: LbPolicy = "ring_hash";
  readonly #source: HostSource;
  readonly #header: string;
  readonly #minRingSize: number;
  readonly #random: Random;
  readonly #unsubscribe: Array<() => void>;

  #members: Host[] = [];
  #memberWeights = new Float64Array(0);
  readonly #memberIndex = new Map<Host, number>();
  /** Sorted point hashes and the member index owning each point. */
  #ring = new Uint32Array(0);
  #owner = new Int32Array(0);
  /** nextAvailable[i] = first point j ≥ i (cyclic) whose host is available, or -1. */
  #nextAvailable = new Int32Array(0);
  #availableCount = 0;
  /** Points per unit of weight; 0 until the first build. */
  #k = 0;
  /** Point hashes per host, kept across rebuilds so a membership change only hashes new hosts. */
  readonly #pointCache = new Map<Host, Uint32Array>();
  #ringDirty = true;
  #availabilityDirty = true;

  constructor(source: HostSource, opts: RingHashOptions, deps: { random: Random }) {
    this.#source = source;
    this.#header = opts.header.toLowerCase();
    this.#minRingSize = Math.max(1, Math.min(MAX_RING, opts.minRingSize));
    this.#random = deps.random;
    this.#unsubscribe = [
      source.onChange(() => {
        this.#ringDirty = true;
      }),
      source.onFlagChange(() => {
        this.#availabilityDirty = true;
      }),
    ];
  }

  /** Number of points on the ring (for /clusters and tests). */
  get ringSize(): number {
    this.#refresh();
    return this.#ring.length;
  }

  pick(ctx?: PickContext): PickResult | undefined {
    this.#refresh();
    const len = this.#ring.length;
    if (len === 0 || this.#availableCount === 0) return undefined;
    const exclude = ctx?.exclude;
    if (exclude !== undefined && exclude.size > 0 && !this.#anyAllowed(exclude)) return undefined;

    let start: number;
    const key = this.#key(ctx);
    if (key === undefined) start = Math.floor(this.#random() * len);
    else {
      start = this.#lowerBound(murmur3(key));
      if (start === len) start = 0;
    }

    // Walk clockwise over available points; each step consumes ≥ 1 point, so ≤ len steps.
    let j = start;
    for (let steps = 0; steps < len; steps++) {
      const a = this.#nextAvailable[j]!;
      if (a < 0) return undefined;
      const m = this.#owner[a]!;
      const host = this.#members[m]!;
      if (host.weight !== this.#memberWeights[m]) this.#ringDirty = true; // weight pushed without a callback
      j = a + 1 === len ? 0 : a + 1;
      if (!host.available) {
        this.#availabilityDirty = true;
        continue;
      }
      if (exclude?.has(host)) continue;
      return { host };
    }
    return undefined;
  }

  close(): void {
    for (const u of this.#unsubscribe) u();
    this.#pointCache.clear();
  }

  #key(ctx: PickContext | undefined): string | undefined {
    const v = ctx?.headers?.[this.#header];
    if (v === undefined) return undefined;
    // Node joins repeated headers with ", " (except set-cookie); do the same for arrays.
    const s = typeof v === "string" ? v : v.join(", ");
    return s.length === 0 ? undefined : s;
  }

  #anyAllowed(exclude: ReadonlySet<Host>): boolean {
    if (exclude.size < this.#availableCount) return true;
    let covered = 0;
    for (const h of exclude) if (this.#memberIndex.has(h) && h.available) covered++;
    return covered < this.#availableCount;
  }

  #lowerBound(hash: number): number {
    const ring = this.#ring;
    let lo = 0;
    let hi = ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #refresh(): void {
    if (this.#ringDirty) this.#buildRing();
    if (this.#availabilityDirty) this.#buildNextAvailable();
  }

  #buildRing(): void {
    this.#ringDirty = false;
    this.#availabilityDirty = true;
    const members = this.#source.hosts.filter((h) => h.weight > 0);
    let total = 0;
    for (const h of members) total += h.weight;
    this.#members = members;
    this.#memberWeights = Float64Array.from(members, (h) => h.weight);
    this.#memberIndex.clear();
    for (let i = 0; i < members.length; i++) this.#memberIndex.set(members[i]!, i);
    const live = new Set(members);
    for (const h of this.#pointCache.keys()) if (!live.has(h)) this.#pointCache.delete(h);
    if (total === 0) {
      this.#ring = new Uint32Array(0);
      this.#owner = new Int32Array(0);
      return;
    }

    const size = this.#k * total;
    if (this.#k === 0 || size < this.#minRingSize || size > SHRINK_FACTOR * this.#minRingSize) {
      this.#k = 2 ** Math.ceil(Math.log2(this.#minRingSize / total));
    }
    // Huge weights: scale down to the cap (fractional k; per-host rounding below).
    const k = this.#k * total > MAX_RING ? MAX_RING / total : this.#k;

    const counts = members.map((h) => Math.max(1, Math.round(h.weight * k)));
    let points = 0;
    for (const c of counts) points += c;
    const keys = new Float64Array(points);
    let p = 0;
    members.forEach((h, m) => {
      const count = counts[m]!;
      let hashes = this.#pointCache.get(h);
      if (hashes === undefined || hashes.length < count) {
        const grown = new Uint32Array(count);
        const have = hashes?.length ?? 0;
        if (hashes !== undefined) grown.set(hashes);
        for (let i = have; i < count; i++) grown[i] = murmur3(`${h.key}_${i}`);
        hashes = grown;
        this.#pointCache.set(h, hashes);
      }
      for (let i = 0; i < count; i++) keys[p++] = hashes[i]! * MEMBER_SPAN + m;
    });
    keys.sort();
    const ring = new Uint32Array(points);
    const owner = new Int32Array(points);
    for (let i = 0; i < points; i++) {
      const v = keys[i]!;
      const hash = Math.floor(v / MEMBER_SPAN);
      ring[i] = hash;
      owner[i] = v - hash * MEMBER_SPAN;
    }
    this.#ring = ring;
    this.#owner = owner;
  }

  #buildNextAvailable(): void {
    this.#availabilityDirty = false;
    const len = this.#ring.length;
    const avail = new Uint8Array(this.#members.length);
    let count = 0;
    this.#members.forEach((h, i) => {
      if (h.available) {
        avail[i] = 1;
        count++;
      }
    });
    this.#availableCount = count;
    const next = this.#nextAvailable.length === len ? this.#nextAvailable : new Int32Array(len);
    // Two backward passes: the first finds the wrap-around target for the tail of the ring.
    let target = -1;
    for (let pass = 0; pass < 2; pass++) {
      for (let i = len - 1; i >= 0; i--) {
        if (avail[this.#owner[i]!] === 1) target = i;
        if (pass === 1) next[i] = target;
      }
    }
    this.#nextAvailable = next;
  }
}

/**
 * One pass over a read's 1-second bucket hashes that yields both views' totals and the per-second
 * attempt rates. The 60 buckets of a read repeat the same field names (~570 per bucket at 200
 * proxies × 50 endpoints, 34k per read), so each distinct field is parsed once and summed into
 * one accumulator; the views are then built from ~600 totals instead of re-parsing 34k fields per
 * view and again for the rates (bench/engine/profile-read.mjs: parseField and sumView were the
 * reader's largest JS cost). Sums run over the buckets oldest first, one accumulator per field,
 * as before, so the floating-point results are the same.
 */
import type { EndpointWindow, StatusClassName } from "@meshtune/contracts";
import { BUCKET_KIND, parseField } from "./fields.js";

export type Bucket = Record<string, string>;

export interface FieldTotal {
  endpoint: string;
  kind: string;
  rest: string;
  /** Sum over all buckets of the read. */
  long: number;
  /** Sum over the buckets from `shortFrom` on; meaningful only when `inShort`. */
  short: number;
  inShort: boolean;
}

export interface Folded {
  /** In first-seen order (oldest bucket first). */
  totals: FieldTotal[];
  /** Attempts per second per endpoint, one entry per bucket, oldest first. */
  rates: Record<string, number[]>;
}

/** Sums `buckets` (oldest first); buckets at index ≥ `shortFrom` also count in the short view. */
export function foldBuckets(buckets: readonly Bucket[], shortFrom: number): Folded {
  const byField = new Map<string, FieldTotal | null>();
  const totals: FieldTotal[] = [];
  const rates: Record<string, number[]> = {};
  for (let i = 0; i < buckets.length; i++) {
    const bucket = buckets[i]!;
    const short = i >= shortFrom;
    for (const field in bucket) {
      const n = Number(bucket[field]);
      if (!Number.isFinite(n)) continue;
      let t = byField.get(field);
      if (t === undefined) {
        const f = parseField(field);
        t = f ? { ...f, long: 0, short: 0, inShort: false } : null;
        byField.set(field, t);
        if (t) totals.push(t);
      }
      if (t === null) continue;
      t.long += n;
      if (short) {
        t.short += n;
        t.inShort = true;
      }
      if (t.kind === BUCKET_KIND.attempts) {
        let r = rates[t.endpoint];
        if (!r) {
          r = new Array<number>(buckets.length).fill(0);
          rates[t.endpoint] = r;
        }
        r[i]! += n;
      }
    }
  }
  return { totals, rates };
}

export function addBucketField(w: EndpointWindow, kind: string, rest: string, v: number): void {
  switch (kind) {
    case BUCKET_KIND.attempts: {
      const c = rest as StatusClassName;
      w.attempts[c] = (w.attempts[c] ?? 0) + v;
      return;
    }
    case BUCKET_KIND.latency:
    case BUCKET_KIND.poolWait:
    case BUCKET_KIND.connectLatency: {
      const h =
        kind === BUCKET_KIND.latency ? w.latency : kind === BUCKET_KIND.poolWait ? w.poolWait : w.connectLatency;
      if (rest === "n") h.count += v;
      else if (rest === "sum") h.sum += v;
      else if (rest.startsWith("b")) {
        const i = Number(rest.slice(1));
        if (Number.isInteger(i) && i >= 0 && i < h.counts.length) h.counts[i]! += v;
      }
      return;
    }
    case BUCKET_KIND.connectFailures:
      w.connectFailures[rest] = (w.connectFailures[rest] ?? 0) + v;
      return;
    case BUCKET_KIND.warmup:
      w.warmup[rest] = (w.warmup[rest] ?? 0) + v;
      return;
    case BUCKET_KIND.health:
      w.health[rest] = (w.health[rest] ?? 0) + v;
      return;
    case BUCKET_KIND.ejections:
      w.ejections[rest] = (w.ejections[rest] ?? 0) + v;
      return;
    case BUCKET_KIND.picks:
      w.picks += v;
      return;
  }
}

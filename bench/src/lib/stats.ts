/** Small exact statistics over latency samples (ms) collected through runLoad's onResult. */

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface Summary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export const r3 = (x: number): number => Math.round(x * 1000) / 1000;
export const r1 = (x: number): number => Math.round(x * 10) / 10;

export function summarize(values: readonly number[]): Summary {
  const s = Float64Array.from(values).sort();
  const mean = s.length === 0 ? 0 : s.reduce((a, b) => a + b, 0) / s.length;
  return {
    count: s.length,
    p50: r3(percentile(s, 50)),
    p90: r3(percentile(s, 90)),
    p99: r3(percentile(s, 99)),
    p999: r3(percentile(s, 99.9)),
    max: r3(s.length ? s[s.length - 1]! : 0),
    mean: r3(mean),
  };
}

/** The middle value (the lower middle for an even count); null for none. */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

export const ratio = (a: number, b: number): number | null => (b > 0 ? Math.round((a / b) * 100) / 100 : null);

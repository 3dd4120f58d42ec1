/**
 * Log-linear histogram in the spirit of HdrHistogram: values below 2^bits are exact, and every
 * power of two above is split into 2^(bits-1) equal buckets, so the relative error of a
 * reported value is at most 2^-(bits-1) (0.39 % with the default bits = 9). Reported
 * percentiles are the bucket's highest equivalent value (never under the true value), clamped
 * to the recorded min/max. Integer values only (the load generator records microseconds).
 */
export interface HistogramOptions {
  /** Precision: 2^(bits-1) buckets per power of two. Default 9 (≤ 0.39 % error). */
  bits?: number;
  /** Largest trackable value; larger values are recorded as this (and counted as clamped). Default 2^36. */
  maxValue?: number;
}

export class Histogram {
  readonly bits: number;
  readonly maxValue: number;
  readonly #sub: number; // 2^bits
  readonly #half: number; // 2^(bits-1)
  readonly #counts: Float64Array;
  #count = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;
  #clamped = 0;

  constructor(opts: HistogramOptions = {}) {
    this.bits = opts.bits ?? 9;
    if (!Number.isInteger(this.bits) || this.bits < 2 || this.bits > 16) throw new RangeError("bits must be in 2..16");
    this.maxValue = Math.floor(opts.maxValue ?? 2 ** 36);
    this.#sub = 2 ** this.bits;
    this.#half = this.#sub / 2;
    this.#counts = new Float64Array(this.#indexOf(this.maxValue) + 1);
  }

  #indexOf(v: number): number {
    if (v < this.#sub) return v;
    let k = Math.floor(Math.log2(v));
    // Guard against floating-point error in log2 near powers of two.
    if (2 ** k > v) k--;
    else if (2 ** (k + 1) <= v) k++;
    const shift = k - this.bits + 1;
    const sub = Math.floor(v / 2 ** shift); // in [half, sub)
    return this.#sub + (k - this.bits) * this.#half + (sub - this.#half);
  }

  #highestEquivalent(idx: number): number {
    if (idx < this.#sub) return idx;
    const rel = idx - this.#sub;
    const k = Math.floor(rel / this.#half) + this.bits;
    const sub = (rel % this.#half) + this.#half;
    const shift = k - this.bits + 1;
    return (sub + 1) * 2 ** shift - 1;
  }

  /** Records `value` (rounded to an integer, negatives as 0) `count` times. */
  record(value: number, count = 1): void {
    let v = Math.round(value);
    if (!(v >= 0)) v = 0; // also catches NaN
    if (v > this.maxValue) {
      v = this.maxValue;
      this.#clamped += count;
    }
    this.#counts[this.#indexOf(v)]! += count;
    this.#count += count;
    this.#sum += v * count;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  get count(): number {
    return this.#count;
  }
  get min(): number {
    return this.#count === 0 ? 0 : this.#min;
  }
  get max(): number {
    return this.#max;
  }
  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }
  /** Values above maxValue recorded as maxValue. */
  get clamped(): number {
    return this.#clamped;
  }

  /** Value at percentile p (0..100); 0 when empty. */
  valueAtPercentile(p: number): number {
    if (this.#count === 0) return 0;
    const target = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * this.#count));
    let seen = 0;
    const counts = this.#counts;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i]!;
      if (seen >= target) return Math.min(this.#max, Math.max(this.#min, this.#highestEquivalent(i)));
    }
    return this.#max;
  }

  /** Adds every recorded value of `other` (same bits and maxValue). */
  add(other: Histogram): void {
    if (other.bits !== this.bits || other.maxValue !== this.maxValue) throw new RangeError("histogram layouts differ");
    const src = other.#counts;
    for (let i = 0; i < src.length; i++) this.#counts[i]! += src[i]!;
    this.#count += other.#count;
    this.#sum += other.#sum;
    this.#clamped += other.#clamped;
    if (other.#count > 0) {
      this.#min = Math.min(this.#min, other.#min);
      this.#max = Math.max(this.#max, other.#max);
    }
  }

  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#min = Number.POSITIVE_INFINITY;
    this.#max = 0;
    this.#clamped = 0;
  }
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  min: number;
}

/** Summary of a histogram of microseconds, in milliseconds. */
export function summarizeMicros(h: Histogram): LatencySummary {
  const ms = (us: number) => us / 1000;
  return {
    p50: ms(h.valueAtPercentile(50)),
    p90: ms(h.valueAtPercentile(90)),
    p99: ms(h.valueAtPercentile(99)),
    p999: ms(h.valueAtPercentile(99.9)),
    max: ms(h.max),
    mean: ms(h.mean),
    min: ms(h.min),
  };
}

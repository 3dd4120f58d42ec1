/**
 * Peak-EWMA latency estimate (Linkerd / Finagle "peak EWMA"): a slower observation replaces
 * the estimate at once, a faster one is blended in with weight exp(-dt/tau), and the estimate
 * decays toward zero while nothing is observed. So one slow response makes an endpoint lose
 * every P2C comparison immediately — long before outlier detection would eject it — and the
 * decay makes it probed again every ~tau·ln(slow/fast) seconds to notice recovery.
 * (https://linkerd.io/2016/03/16/beyond-round-robin-load-balancing-for-latency/)
 */
export class PeakEwma {
  #estimate: number;
  #at: number;
  readonly #tauMs: number;

  constructor(tauMs: number, now: number, initialMs = 0) {
    this.#tauMs = tauMs;
    this.#estimate = initialMs;
    this.#at = now;
  }

  /** Current estimate in ms, decayed to `now`. */
  value(now: number): number {
    const dt = Math.max(0, now - this.#at);
    return this.#estimate * Math.exp(-dt / this.#tauMs);
  }

  observe(latencyMs: number, now: number): void {
    const current = this.value(now);
    if (latencyMs > current) this.#estimate = latencyMs;
    else {
      const w = Math.exp(-Math.max(0, now - this.#at) / this.#tauMs);
      this.#estimate = current * w + latencyMs * (1 - w);
    }
    this.#at = now;
  }
}

/** Plain EWMA with a fixed weight, for connect times. */
export class Ewma {
  value: number | undefined;
  constructor(readonly alpha: number) {}
  observe(x: number): void {
    this.value = this.value === undefined ? x : this.value + this.alpha * (x - this.value);
  }
}

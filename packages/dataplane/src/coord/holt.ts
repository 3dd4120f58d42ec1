/**
 * Holt's linear (double exponential) smoothing: level + trend, so a ramp is forecast ahead
 * rather than followed (Holt 1957; DESIGN.md section 3 "EWMA/Holt or better").
 */
export class Holt {
  level: number | undefined;
  trend = 0;
  constructor(
    readonly alpha = 0.5,
    readonly beta = 0.3,
  ) {}

  /** Add an observation taken one step after the previous one. */
  observe(x: number): void {
    if (this.level === undefined) {
      this.level = x;
      return;
    }
    const prev = this.level;
    this.level = this.alpha * x + (1 - this.alpha) * (prev + this.trend);
    this.trend = this.beta * (this.level - prev) + (1 - this.beta) * this.trend;
  }

  /** Forecast `steps` steps ahead (never negative). */
  forecast(steps: number): number {
    if (this.level === undefined) return 0;
    return Math.max(0, this.level + steps * this.trend);
  }
}

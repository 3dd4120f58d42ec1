/**
 * Holt's linear trend method with a damped trend (Holt 1957; Gardner & McKenzie 1985;
 * Hyndman & Athanasopoulos, "Forecasting: Principles and Practice", section 8.2), as plain data
 * so it survives in Redis:
 *   level_t = α·x_t + (1 − α)·(level_{t−1} + φ·trend_{t−1})
 *   trend_t = β·(level_t − level_{t−1}) + (1 − β)·φ·trend_{t−1}
 *   forecast(h) = level_t + (φ + φ² + … + φ^h)·trend_t   (never below 0 for a rate)
 * φ < 1 damps the trend: a traffic step looks like a steep ramp for a few seconds, and an
 * undamped 30 s forecast of that ramp asked for 6× the connections the new rate needs (a 10×
 * step in forecast.test.ts); with φ = 0.9 the trend adds at most 9 steps' worth. φ = 1 is
 * plain Holt. The data plane's coord/holt.ts is plain Holt as a class; it is not imported
 * because @meshtune/dataplane drags undici into a package that must stay free of I/O.
 */
export interface HoltState {
  level?: number;
  trend: number;
}

export const EMPTY_HOLT: HoltState = { trend: 0 };

export function holtObserve(s: HoltState, x: number, alpha: number, beta: number, phi = 1): HoltState {
  if (s.level === undefined) return { level: x, trend: 0 };
  const level = alpha * x + (1 - alpha) * (s.level + phi * s.trend);
  const trend = beta * (level - s.level) + (1 - beta) * phi * s.trend;
  return { level, trend };
}

export function holtForecast(s: HoltState, steps: number, phi = 1): number {
  if (s.level === undefined) return 0;
  // Σ_{i=1..h} φ^i = φ(1 − φ^h)/(1 − φ), or h when φ = 1.
  const damp = phi === 1 ? steps : (phi * (1 - phi ** steps)) / (1 - phi);
  return Math.max(0, s.level + damp * s.trend);
}

/**
 * Holt's linear trend method (double exponential smoothing; Holt 1957, Hyndman & Athanasopoulos,
 * "Forecasting: Principles and Practice", section 8.2), as plain data so it survives in Redis:
 *   level_t = α·x_t + (1 − α)·(level_{t−1} + trend_{t−1})
 *   trend_t = β·(level_t − level_{t−1}) + (1 − β)·trend_{t−1}
 *   forecast(h) = level_t + h·trend_t   (never below 0 for a rate)
 * The data plane's coord/holt.ts is the same method as a class; it is not imported because
 * @meshtune/dataplane drags undici into a package that must stay free of I/O.
 */
export interface HoltState {
  level?: number;
  trend: number;
}

export const EMPTY_HOLT: HoltState = { trend: 0 };

export function holtObserve(s: HoltState, x: number, alpha: number, beta: number): HoltState {
  if (s.level === undefined) return { level: x, trend: 0 };
  const level = alpha * x + (1 - alpha) * (s.level + s.trend);
  const trend = beta * (level - s.level) + (1 - beta) * s.trend;
  return { level, trend };
}

export function holtForecast(s: HoltState, steps: number): number {
  if (s.level === undefined) return 0;
  return Math.max(0, s.level + steps * s.trend);
}

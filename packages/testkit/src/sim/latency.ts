import type { Latency } from "@meshtune/contracts";

/** Upper bound for one sampled delay: heavy-tailed distributions must not park a timer for hours. */
export const MAX_SAMPLED_LATENCY_MS = 600_000;

/** Standard normal variate (Box–Muller); `1 - random()` keeps the logarithm finite. */
function gaussian(random: () => number): number {
  const u1 = 1 - random();
  const u2 = random();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** One delay in ms drawn from `latency`; never negative, never above MAX_SAMPLED_LATENCY_MS. */
export function sampleLatencyMs(latency: Latency, random: () => number = Math.random): number {
  let v: number;
  switch (latency.dist) {
    case "fixed":
      v = latency.ms;
      break;
    case "uniform": {
      const lo = Math.min(latency.minMs, latency.maxMs);
      const hi = Math.max(latency.minMs, latency.maxMs);
      v = lo + random() * (hi - lo);
      break;
    }
    case "normal":
      v = latency.meanMs + latency.stdevMs * gaussian(random);
      break;
    case "lognormal":
      v = latency.medianMs * Math.exp(latency.sigma * gaussian(random));
      break;
    case "exponential":
      v = -latency.meanMs * Math.log(1 - random());
      break;
  }
  if (!Number.isFinite(v) || v < 0) return 0;
  return Math.min(v, MAX_SAMPLED_LATENCY_MS);
}

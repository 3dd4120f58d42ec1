/**
 * Injected time. Decision code never reads Date.now() or calls setTimeout directly, so tests
 * run on paused time (linkerd2-proxy style) with the FakeClock from @meshtune/testkit.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    // Timers owned by the data plane never keep the process alive on their own.
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

/** Injected randomness: [0, 1). Tests pass a seeded generator. */
export type Random = () => number;

/** Mulberry32: small, fast, seedable; good enough for P2C sampling and tests. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

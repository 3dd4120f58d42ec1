/** Seeded randomness for simulations (mulberry32; Box-Muller), so a test or bench run repeats exactly. */
export interface Rng {
  next(): number;
  normal(): number;
  poisson(mean: number): number;
  int(n: number): number;
}

export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return {
    next,
    normal,
    // Normal approximation above 30 (bounded work per call); Knuth's product method below.
    poisson(mean) {
      if (mean <= 0) return 0;
      if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal()));
      const l = Math.exp(-mean);
      let k = 0;
      let p = 1;
      while (k < 1000) {
        p *= next();
        if (p <= l) break;
        k++;
      }
      return k;
    },
    int: (n) => Math.floor(next() * n),
  };
}

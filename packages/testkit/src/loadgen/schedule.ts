/** Arrival-rate schedules for the open-loop load generator. */

export interface LoadStage {
  /** How long this stage lasts. */
  durationMs: number;
  /** Constant arrival rate during the stage (0 pauses sending). */
  rps: number;
}

export interface RateSchedule {
  /** Requests per second at `elapsedMs` since the start. */
  rps: (elapsedMs: number) => number;
  durationMs: number;
}

/** Piecewise-constant rate from stages, e.g. [{durationMs: 1000, rps: 100}, {durationMs: 1000, rps: 1000}] for a 10x step. */
export function scheduleFromStages(stages: readonly LoadStage[]): RateSchedule {
  if (stages.length === 0) throw new RangeError("stages must not be empty");
  const ends: number[] = [];
  let total = 0;
  for (const s of stages) {
    if (!(s.durationMs >= 0) || !(s.rps >= 0)) throw new RangeError("stage durationMs and rps must be >= 0");
    total += s.durationMs;
    ends.push(total);
  }
  return {
    durationMs: total,
    rps: (t) => {
      for (let i = 0; i < stages.length; i++) if (t < ends[i]!) return stages[i]!.rps;
      return 0;
    },
  };
}

/** A rate of `before` until `atMs`, then `after` (the 10x step test). */
export function stepRps(before: number, after: number, atMs: number): (elapsedMs: number) => number {
  return (t) => (t < atMs ? before : after);
}

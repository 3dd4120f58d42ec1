/**
 * Performs an act's fault on the simulator and the fleets (the story in story.ts says which).
 */
import type { Simulator } from "@meshtune/testkit";
import type { DemoProxy } from "./fleet.js";
import { type Fault, type ServiceName, simName } from "./story.js";

export interface ActWorld {
  sim: Simulator;
  proxies: DemoProxy[];
  /** Simulator endpoint names removed from the proxies' configs so far. */
  removed: Set<string>;
  /** Current load multiplier per service. */
  surge: Map<ServiceName, number>;
}

/** Before the fleets start: faults that warm-up must meet (the black hole). True when applied. */
export async function applyEarly(world: ActWorld, fault: Fault): Promise<boolean> {
  if (fault.type !== "black_hole") return false;
  await world.sim.endpoint(simName(fault.service, fault.endpoint)).setFaults({ blackHole: true });
  return true;
}

export async function applyFault(world: ActWorld, fault: Fault): Promise<void> {
  switch (fault.type) {
    case "black_hole":
      await applyEarly(world, fault);
      return;
    case "slow":
      await world.sim
        .endpoint(simName(fault.service, fault.endpoint))
        .setFaults({ latency: { dist: "lognormal", medianMs: 3 + fault.addMs, sigma: 0.3 } });
      return;
    case "die":
      await world.sim.endpoint(simName(fault.service, fault.endpoint)).setFaults({ refuse: true, resetRate: 1 });
      return;
    case "surge":
      world.surge.set(fault.service, fault.factor);
      return;
    case "remove":
      world.removed.add(simName(fault.service, fault.endpoint));
      for (const p of world.proxies) p.reconfigure(world.removed);
      return;
  }
}

/** Ends an act's fault where the story moves on (a surge ends; dead endpoints stay dead). */
export function endFault(world: ActWorld, fault: Fault): void {
  if (fault.type === "surge") world.surge.delete(fault.service);
}

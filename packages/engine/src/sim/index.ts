export type { Fault, FaultKind, FleetSimOptions } from "./fleet.js";
export { endpointName, FleetSim } from "./fleet.js";
export type { Rng } from "./random.js";
export { rng } from "./random.js";

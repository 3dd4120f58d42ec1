import type { FaultsInput, SimProtocol } from "@meshtune/contracts";
import type { SimEndpointSpec } from "../lib/sim.js";

export const ENDPOINT_NAMES = ["e1", "e2", "e3", "e4", "e5"];

/** Five endpoints with the same faults, with per-endpoint overrides. */
export function fiveEndpoints(
  faults: FaultsInput,
  protocol: SimProtocol = "http1",
  overrides: Record<string, FaultsInput> = {},
): SimEndpointSpec[] {
  return ENDPOINT_NAMES.map((name) => ({ name, protocol, faults: { ...faults, ...overrides[name] } }));
}

export const ALL_COORDINATION_OFF = {
  lbDirectedWarmup: false,
  warmupFailureEjects: false,
  poolAwareScore: false,
  predictiveScaleUp: false,
} as const;

export const num = (x: unknown): number | undefined => (typeof x === "number" && Number.isFinite(x) ? x : undefined);

/** Reads a nested numeric field of a system's figures; undefined when missing or failed. */
export function pick(obj: Record<string, unknown> | undefined, ...keys: string[]): number | undefined {
  let cur: unknown = obj;
  for (const k of keys) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return num(cur);
}

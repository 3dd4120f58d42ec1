/**
 * Owner of the operator-settings contract the engine reads every evaluation (issue #10,
 * guardrails): the per-cluster and fleet-wide settings hashes (`redisKeys().settings(cluster)`,
 * `redisKeys().globalSettings()`) and the per-endpoint pins (`redisKeys().pins(cluster)`,
 * hash endpoint -> EndpointPin JSON). Writers: the CLI and SREs with redis-cli; reader: engine.
 */
import { z } from "zod";

/** Field names of the settings hashes (values are strings, as Redis stores them). */
export const OPERATOR_SETTING_FIELDS = {
  /** "true": decisions are made and published with dryRun true, never applied. */
  dryRun: "dryRun",
  /** "true": the engine makes no changes for the cluster (or for every cluster, when global). */
  killSwitch: "killSwitch",
  /** Integer: changes per cluster per minute (per-cluster hash only; overrides the engine's default). */
  maxChangesPerMinute: "maxChangesPerMinute",
} as const;

/** A truthy settings value: "true", "1", "yes", "on" (case-insensitive). */
export function settingEnabled(value: string | null | undefined): boolean {
  return value !== undefined && value !== null && /^(true|1|yes|on)$/i.test(value.trim());
}

/**
 * An operator's pin on one endpoint. `weight` and `ejected` are held as given (the engine
 * decides them and never moves them); `freeze` stops every engine change for the endpoint.
 * A pin with `until` (Unix ms) lapses by itself.
 */
export const EndpointPinSchema = z
  .object({
    weight: z.number().int().min(1).max(1000).optional(),
    ejected: z.boolean().optional(),
    freeze: z.boolean().optional(),
    reason: z.string().optional(),
    by: z.string().optional(),
    until: z.number().int().min(0).optional(),
  })
  .strict();
export type EndpointPin = z.infer<typeof EndpointPinSchema>;

/**
 * Owner of the control-plane contract between the actuator and proxies: versioned config
 * snapshots, the ACK/NACK each proxy returns, and pushed endpoint sets (the EDS equivalent).
 */
import { z } from "zod";
import { EndpointSchema } from "./config.js";
import { CONFIG_API_VERSION } from "./version.js";

/** Per-endpoint overrides the tuner may push; absent fields leave the local value alone. */
export const EndpointOverrideSchema = z
  .object({
    weight: z.number().int().min(0).max(1000).optional(),
    ejected: z.boolean().optional(),
    ejectReason: z.string().optional(),
    minWarm: z.number().int().min(0).optional(),
    preconnect: z.number().int().min(0).optional(),
  })
  .strict();
export type EndpointOverride = z.infer<typeof EndpointOverrideSchema>;

export const ClusterOverrideSchema = z
  .object({
    /** Replaces the endpoint set of a `pushed` cluster. */
    endpoints: z.array(EndpointSchema).optional(),
    /** Keyed by "address:port". */
    endpointOverrides: z.record(z.string(), EndpointOverrideSchema).default({}),
  })
  .strict();
export type ClusterOverride = z.infer<typeof ClusterOverrideSchema>;

export const ControlSnapshotSchema = z
  .object({
    apiVersion: z.literal(CONFIG_API_VERSION),
    kind: z.literal("ControlSnapshot"),
    version: z.number().int().min(0),
    clusters: z.record(z.string(), ClusterOverrideSchema),
  })
  .strict();
export type ControlSnapshot = z.infer<typeof ControlSnapshotSchema>;

export type ApplyResult = { status: "ACK"; version: number } | { status: "NACK"; version: number; reason: string };

export const ApplyResultSchema = z.discriminatedUnion("status", [
  z.object({ status: z.literal("ACK"), version: z.number().int(), proxyId: z.string().optional() }),
  z.object({
    status: z.literal("NACK"),
    version: z.number().int(),
    reason: z.string(),
    proxyId: z.string().optional(),
  }),
]);

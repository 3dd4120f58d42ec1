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
    /** Tuned pool limits for the whole cluster (issue #10, rule 4); absent fields keep the config's. */
    pool: z
      .object({
        connectTimeoutMs: z.number().int().min(1).max(600_000).optional(),
        maxConnectionsPerEndpoint: z.number().int().min(1).optional(),
        maxPendingRequests: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
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

/**
 * One cluster's control state as the actuator publishes it (issue #11): the full override
 * (never a diff), its per-cluster version, and when it was issued. It travels inside a
 * SignedSnapshot; the cluster name and version are inside the signed bytes, so a snapshot
 * cannot be replayed into another cluster or as another version.
 */
export const ClusterSnapshotSchema = z
  .object({
    apiVersion: z.literal(CONFIG_API_VERSION),
    kind: z.literal("ClusterSnapshot"),
    cluster: z.string().min(1),
    version: z.number().int().min(1),
    /** Unix ms. */
    issuedAt: z.number().int().min(0),
    /** Set when this version restores an earlier one (rollback). */
    rollbackOf: z.number().int().min(1).optional(),
    override: ClusterOverrideSchema,
  })
  .strict();
export type ClusterSnapshot = z.infer<typeof ClusterSnapshotSchema>;

/**
 * Envelope stored in Redis: `payload` is the exact JSON text of a ClusterSnapshot and `sig`
 * its MAC (`hmac-sha256:<hex>` over the payload bytes); `keyId` names the key for rotation.
 * Verifying the bytes as stored avoids any JSON canonicalisation question.
 */
export const SignedSnapshotSchema = z
  .object({
    payload: z.string().min(2),
    sig: z.string().optional(),
    keyId: z.string().optional(),
  })
  .strict();
export type SignedSnapshot = z.infer<typeof SignedSnapshotSchema>;

/** A proxy's answer to a cluster snapshot version (published on the cluster's acks channel). */
export const ConfigAckSchema = z
  .object({
    cluster: z.string().min(1),
    proxyId: z.string().min(1),
    version: z.number().int(),
    status: z.enum(["ACK", "NACK"]),
    reason: z.string().optional(),
    /** Unix ms when the proxy applied (or refused) it. */
    at: z.number().int().min(0),
  })
  .strict();
export type ConfigAck = z.infer<typeof ConfigAckSchema>;

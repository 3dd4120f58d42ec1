/**
 * Owner of the decision contract: what the tuner decided, why, and the CloudEvents envelope
 * that carries it on Kafka. Every decision is explained: inputs, rule, before and after
 * (DESIGN.md section 3, guardrails).
 */
import { z } from "zod";
import { DECISION_API_VERSION } from "./version.js";

export const DecisionKindSchema = z.enum([
  "eject",
  "uneject",
  "set_weight",
  "set_pool_min",
  "set_preconnect",
  "set_lb_policy",
  "set_connect_timeout",
  "set_pool_limits",
]);
export type DecisionKind = z.infer<typeof DecisionKindSchema>;

export const DecisionSchema = z
  .object({
    apiVersion: z.literal(DECISION_API_VERSION),
    id: z.string().min(1),
    cluster: z.string().min(1),
    endpoint: z.string().min(1).optional().describe("address:port; absent for cluster-wide decisions"),
    kind: DecisionKindSchema,
    rule: z.string().min(1).describe("Name of the rule that fired, e.g. warmup-failure-fleet-eject"),
    reason: z.string().min(1),
    inputs: z.record(z.string(), z.unknown()),
    before: z.record(z.string(), z.unknown()),
    after: z.record(z.string(), z.unknown()),
    dryRun: z.boolean(),
    decidedAt: z.iso.datetime(),
    configVersion: z.number().int().min(0).optional(),
    /** 0..1: how sure the rule is (e.g. share of reporting proxies that agree). */
    confidence: z.number().min(0).max(1).optional(),
    /** When the decision lapses unless renewed (e.g. an ejection's end), ISO time. */
    expiresAt: z.iso.datetime().optional(),
    /**
     * What the guardrails did to this decision. A decision a guardrail `blocked` is recorded
     * and published but never applied; `trimmed` means `after` is the trimmed value and
     * `wanted` says what the rule asked for.
     */
    guardrails: z
      .array(
        z
          .object({
            name: z.string().min(1),
            action: z.enum(["blocked", "trimmed"]),
            detail: z.string(),
            wanted: z.record(z.string(), z.unknown()).optional(),
          })
          .strict(),
      )
      .optional(),
    /** What the rule expected without this decision (explain: "what would have happened"). */
    counterfactual: z.string().optional(),
    /**
     * W3C trace context (`traceparent` header value) of the evaluation that decided this, so
     * the actuator's publish continues the same trace (docs/decisions/0018-tuner-tracing.md).
     */
    traceparent: z
      .string()
      .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
      .optional(),
  })
  .strict();
export type Decision = z.infer<typeof DecisionSchema>;

/** CloudEvents 1.0 structured-mode envelope (https://github.com/cloudevents/spec). */
export const DECISION_EVENT_TYPE = "io.meshtune.decision.v1" as const;
export const DecisionEventSchema = z
  .object({
    specversion: z.literal("1.0"),
    id: z.string().min(1),
    source: z.string().min(1),
    type: z.literal(DECISION_EVENT_TYPE),
    subject: z.string().min(1).describe("cluster name; also the Kafka partition key"),
    time: z.iso.datetime(),
    datacontenttype: z.literal("application/json"),
    data: DecisionSchema,
  })
  .strict();
export type DecisionEvent = z.infer<typeof DecisionEventSchema>;

export function toDecisionEvent(decision: Decision, source: string): DecisionEvent {
  return {
    specversion: "1.0",
    id: decision.id,
    source,
    type: DECISION_EVENT_TYPE,
    subject: decision.cluster,
    time: decision.decidedAt,
    datacontenttype: "application/json",
    data: decision,
  };
}

/**
 * Events the actuator adds to the decision stream (issue #11): a cluster's snapshot version
 * has converged (every known proxy ACKed), or it was rolled back because too many proxies
 * NACKed it. Same topic, same key (the cluster), so they are ordered with the decisions that
 * caused them; consumers tell them apart by `type`.
 */
export const CONFIG_CONVERGED_EVENT_TYPE = "io.meshtune.config.converged.v1" as const;
export const CONFIG_ROLLED_BACK_EVENT_TYPE = "io.meshtune.config.rolledback.v1" as const;

export const ConfigConvergedSchema = z
  .object({
    cluster: z.string().min(1),
    version: z.number().int().min(1),
    /** Unix ms when the actuator published the version. */
    issuedAt: z.number().int().min(0),
    /** Unix ms of the last ACK that completed it. */
    convergedAt: z.number().int().min(0),
    convergeMs: z.number().min(0),
    /** Proxy ids that ACKed. */
    acked: z.array(z.string()),
  })
  .strict();
export type ConfigConverged = z.infer<typeof ConfigConvergedSchema>;

export const ConfigRolledBackSchema = z
  .object({
    cluster: z.string().min(1),
    /** The version too many proxies refused. */
    badVersion: z.number().int().min(1),
    /** The new version that carries the restored override. */
    version: z.number().int().min(1),
    /** The earlier version whose override was restored. */
    restoredVersion: z.number().int().min(1),
    nacks: z.array(z.object({ proxyId: z.string(), reason: z.string() }).strict()),
    /** NACKs / known proxies when the rollback was decided, and the configured threshold. */
    nackShare: z.number().min(0).max(1),
    threshold: z.number().min(0).max(1),
    at: z.number().int().min(0),
  })
  .strict();
export type ConfigRolledBack = z.infer<typeof ConfigRolledBackSchema>;

const envelope = {
  specversion: z.literal("1.0"),
  id: z.string().min(1),
  source: z.string().min(1),
  subject: z.string().min(1).describe("cluster name; also the Kafka partition key"),
  time: z.iso.datetime(),
  datacontenttype: z.literal("application/json"),
};
export const ConfigConvergedEventSchema = z
  .object({ ...envelope, type: z.literal(CONFIG_CONVERGED_EVENT_TYPE), data: ConfigConvergedSchema })
  .strict();
export type ConfigConvergedEvent = z.infer<typeof ConfigConvergedEventSchema>;
export const ConfigRolledBackEventSchema = z
  .object({ ...envelope, type: z.literal(CONFIG_ROLLED_BACK_EVENT_TYPE), data: ConfigRolledBackSchema })
  .strict();
export type ConfigRolledBackEvent = z.infer<typeof ConfigRolledBackEventSchema>;

/** Every event on the decision topic. */
export const MeshtuneEventSchema = z.discriminatedUnion("type", [
  DecisionEventSchema,
  ConfigConvergedEventSchema,
  ConfigRolledBackEventSchema,
]);
export type MeshtuneEvent = z.infer<typeof MeshtuneEventSchema>;

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

/**
 * The decision stream on Kafka through the CloudEvents Kafka protocol binding, using the
 * maintained `cloudevents` SDK (issue #11). Structured content mode: the whole event (id,
 * type, subject, data) is one JSON value, `content-type: application/cloudevents+json`
 * (docs/decisions/0013-cloudevents-structured-mode.md says why). The message key is the
 * cluster, so one cluster's events stay on one partition, in order.
 */
import { formatIssues, issuesOf, type MeshtuneEvent, MeshtuneEventSchema } from "@meshtune/contracts";
import { CloudEvent, CONSTANTS, Kafka } from "cloudevents";
import type { IHeaders } from "kafkajs";
import { errorMessage, type Result } from "./result.js";

/**
 * The content-type header of a structured-mode record, as the cloudevents SDK's binding writes
 * it (toEventRecord), so consumers can compare against the header they actually receive.
 */
export const CLOUDEVENTS_CONTENT_TYPE: string = CONSTANTS.DEFAULT_CE_CONTENT_TYPE;

/** A Kafka record ready to send: key, value and headers as the binding maps them. */
export interface EventRecord {
  key: string;
  value: string;
  headers: Record<string, string>;
  /** CloudEvent id (same on every retry), for logs and dedupe. */
  id: string;
  type: string;
}

/** Maps an event onto a Kafka record (structured mode), validating it against the contract first. */
export function toEventRecord(event: MeshtuneEvent): Result<EventRecord> {
  const parsed = MeshtuneEventSchema.safeParse(event);
  if (!parsed.success) {
    return { ok: false, retryable: false, error: `not a valid event:\n${formatIssues(issuesOf(parsed.error))}` };
  }
  try {
    // No `partitionkey` extension on the event: it would become an attribute inside the JSON
    // value; the binding's key mapping is done here, with the cluster (the event's subject).
    const msg = Kafka.structured(new CloudEvent(parsed.data as unknown as Record<string, unknown>, true));
    return {
      ok: true,
      value: {
        key: event.subject,
        value: String(msg.value),
        headers: Object.fromEntries(Object.entries(msg.headers).map(([k, v]) => [k, String(v)])),
        id: event.id,
        type: event.type,
      },
    };
  } catch (err) {
    return { ok: false, retryable: false, error: `CloudEvents binding refused the event: ${errorMessage(err)}` };
  }
}

/** Reads a Kafka record (structured or binary mode) back into a validated event. */
export function fromKafkaRecord(record: {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: IHeaders;
}): Result<MeshtuneEvent> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(record.headers ?? {})) if (v !== undefined) headers[k] = String(v);
  try {
    // The binding reads `key` and `value` (KafkaMessage) although toEvent() is typed with Message.
    const message = { key: record.key?.toString() ?? "", value: record.value ?? "", headers, body: record.value };
    const ce = Kafka.toEvent(message as Parameters<typeof Kafka.toEvent>[0]) as CloudEvent<unknown>;
    const { partitionkey: _key, ...attrs } = JSON.parse(JSON.stringify(ce)) as Record<string, unknown>;
    const parsed = MeshtuneEventSchema.safeParse(attrs);
    if (!parsed.success) return { ok: false, retryable: false, error: formatIssues(issuesOf(parsed.error)) };
    return { ok: true, value: parsed.data };
  } catch (err) {
    return { ok: false, retryable: false, error: `not a CloudEvent: ${errorMessage(err)}` };
  }
}

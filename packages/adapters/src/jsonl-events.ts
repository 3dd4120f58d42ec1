/**
 * An EventPublisher that appends each CloudEvent (structured mode: the record value is the
 * whole event as JSON) as one line to a file — the decision stream when no Kafka broker is
 * available (`meshtune tuner --decisions-file`, `meshtune demo --no-kafka`, issue #12).
 * Same contract as the Kafka publisher: records in order, a failure is a retryable Done.
 */
import { appendFile } from "node:fs/promises";
import type { EventRecord } from "./cloudevents-kafka.js";
import type { EventPublisher } from "./event-publisher.js";
import { errorMessage } from "./result.js";

export function createJsonlEventPublisher(file: string): EventPublisher {
  return {
    topic: `file:${file}`,
    async send(records: readonly EventRecord[]) {
      if (records.length === 0) return { ok: true };
      try {
        await appendFile(file, records.map((r) => `${r.value}\n`).join(""));
        return { ok: true };
      } catch (err) {
        return { ok: false, retryable: true, error: `append to ${file}: ${errorMessage(err)}` };
      }
    },
    close: async () => {},
  };
}

/**
 * Consuming meshtune's decision stream from your own automation (docs/decision-stream.md).
 *
 * Every record on `meshtune.decisions.v1` is a CloudEvent 1.0 in the Kafka binding's structured
 * mode, keyed by cluster: decisions (`io.meshtune.decision.v1`), versions that converged on every
 * proxy (`io.meshtune.config.converged.v1`) and rollbacks (`io.meshtune.config.rolledback.v1`).
 * Delivery is at-least-once: dedupe by the event id. JSON Schemas of every payload are in
 * packages/contracts/schema/ (meshtune-event.schema.json validates a whole record).
 *
 * Needs only kafkajs and the cloudevents SDK (`npm i kafkajs cloudevents`); Node 24 runs the
 * TypeScript as it is:
 *
 *   node examples/consume-decisions.ts --brokers 127.0.0.1:39092 [--group my-automation]
 *        [--topic meshtune.decisions.v1] [--from-beginning] [--max N]
 */
import { parseArgs } from "node:util";
import { Kafka as CloudEventsKafka } from "cloudevents";
import kafkajs from "kafkajs";

// The example runs outside the turbo pipeline; KAFKA_BROKERS is the project-wide broker variable.
// biome-ignore lint/suspicious/noUndeclaredEnvVars: read at run time by a standalone example, not a turbo task
const defaultBrokers = process.env.KAFKA_BROKERS ?? "127.0.0.1:9092";
const { values } = parseArgs({
  options: {
    brokers: { type: "string", default: defaultBrokers },
    topic: { type: "string", default: "meshtune.decisions.v1" },
    group: { type: "string", default: "meshtune-example-consumer" },
    "from-beginning": { type: "boolean", default: false },
    max: { type: "string" },
  },
});
const max = values.max ? Number(values.max) : Number.POSITIVE_INFINITY;

type Data = Record<string, unknown>;
/** One line per event; what a runbook bot or a ticketing hook would act on. */
function describe(type: string, d: Data): string {
  switch (type) {
    case "io.meshtune.decision.v1":
      return `${d.dryRun ? "[dry-run] " : ""}${d.kind} ${d.endpoint ?? "(cluster)"} by ${d.rule}: ${d.reason}${
        d.configVersion ? ` (in version ${d.configVersion})` : ""
      }`;
    case "io.meshtune.config.converged.v1":
      return `version ${d.version} applied by ${(d.acked as string[]).length} proxies in ${d.convergeMs} ms`;
    case "io.meshtune.config.rolledback.v1":
      return `version ${d.badVersion} ROLLED BACK to ${d.restoredVersion} (as ${d.version}): ${(d.nacks as Data[])
        .map((n) => `${n.proxyId}: ${n.reason}`)
        .join("; ")}`;
    default:
      return `unknown event type ${type}`;
  }
}

const kafka = new kafkajs.Kafka({
  clientId: "meshtune-example",
  brokers: values.brokers.split(","),
  logLevel: kafkajs.logLevel.WARN,
});
const consumer = kafka.consumer({ groupId: values.group });
// At-least-once delivery: a retried publish repeats an event with the same id. Remember the
// recent ids (bounded) and skip repeats.
const seen = new Set<string>();
let count = 0;

await consumer.connect();
await consumer.subscribe({ topics: [values.topic], fromBeginning: values["from-beginning"] });
const done = new Promise<void>((resolve) => {
  void consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      // Kafka.toEvent reads `key` and `value`, although it is typed with the generic Message.
      const record = { key: message.key?.toString() ?? "", value: message.value, headers, body: message.value };
      const event = CloudEventsKafka.toEvent(record as Parameters<typeof CloudEventsKafka.toEvent>[0]);
      for (const ev of Array.isArray(event) ? event : [event]) {
        if (seen.has(ev.id)) continue;
        seen.add(ev.id);
        if (seen.size > 100_000) seen.delete(seen.values().next().value as string);
        console.log(`${ev.time} ${ev.subject} ${describe(ev.type, ev.data as Data)} [${ev.id}]`);
        if (++count >= max) resolve();
      }
    },
  });
});
const stop = () => void consumer.disconnect().then(() => process.exit(0));
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
await done;
await consumer.disconnect();

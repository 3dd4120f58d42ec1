// Writes JSON Schema for every YAML-facing contract so editors can validate config files
// (yaml-language-server: `# yaml-language-server: $schema=<path>`). Run after tsc (build).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import {
  ClusterSnapshotSchema,
  ConfigAckSchema,
  ConfigConvergedEventSchema,
  ConfigConvergedSchema,
  ConfigRolledBackEventSchema,
  ConfigRolledBackSchema,
  ControlSnapshotSchema,
  DecisionEventSchema,
  DecisionSchema,
  FastSignalSchema,
  MeshtuneEventSchema,
  ProxyConfigSchema,
  SignedSnapshotSchema,
  SimConfigSchema,
} from "../dist/index.js";

const out = join(dirname(fileURLToPath(import.meta.url)), "..", "schema");
mkdirSync(out, { recursive: true });
const schemas = {
  "proxy-config": ProxyConfigSchema,
  "sim-config": SimConfigSchema,
  "control-snapshot": ControlSnapshotSchema,
  "decision-event": DecisionEventSchema,
  "cluster-snapshot": ClusterSnapshotSchema,
  "signed-snapshot": SignedSnapshotSchema,
  "config-ack": ConfigAckSchema,
  "fast-signal": FastSignalSchema,
  // Kafka decision stream (issue #11): each event payload (CloudEvent `data`) and envelope.
  decision: DecisionSchema,
  "config-converged": ConfigConvergedSchema,
  "config-rolled-back": ConfigRolledBackSchema,
  "config-converged-event": ConfigConvergedEventSchema,
  "config-rolled-back-event": ConfigRolledBackEventSchema,
  "meshtune-event": MeshtuneEventSchema,
};
for (const [name, schema] of Object.entries(schemas)) {
  // io: "input" describes what a user writes (defaults make fields optional).
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  writeFileSync(join(out, `${name}.schema.json`), `${JSON.stringify(json, null, 2)}\n`);
}

/**
 * examples/consume-decisions.ts works as documented: run with Node against a real broker and
 * only kafkajs and the cloudevents SDK installed beside it, it prints one line per event and
 * prints a repeated event (same id) once.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createEventPublisher, type EventRecord, silentLogger, toEventRecord } from "@meshtune/adapters";
import { type DecisionEvent, toDecisionEvent } from "@meshtune/contracts";
import { afterAll, expect, it } from "vitest";
import { randomName, requireKafka } from "../../../packages/adapters/test/services.js";

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const EXAMPLE = fileURLToPath(new URL("../../../examples/consume-decisions.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "meshtune-example-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("examples/consume-decisions.ts prints each event once", async () => {
  const brokers = await requireKafka();
  // What a user's project has: the example and its two dependencies, nothing of meshtune.
  mkdirSync(join(dir, "node_modules"));
  for (const pkg of ["kafkajs", "cloudevents"])
    symlinkSync(dirname(require.resolve(`${pkg}/package.json`)), join(dir, "node_modules", pkg));
  cpSync(EXAMPLE, join(dir, "consume-decisions.ts"));
  const topic = randomName("example");
  const ev: DecisionEvent = toDecisionEvent(
    {
      apiVersion: "meshtune.io/decision/v1alpha1",
      id: randomName("d"),
      cluster: "payments",
      endpoint: "10.0.0.7:443",
      kind: "eject",
      rule: "warmup-failure-fleet-eject",
      reason: "TLS handshake failed during warm-up",
      inputs: {},
      before: { ejected: false },
      after: { ejected: true },
      dryRun: false,
      decidedAt: new Date().toISOString(),
      configVersion: 3,
    },
    "meshtune/test",
  );
  const rec = toEventRecord(ev);
  if (!rec.ok) throw new Error(rec.error);
  const publisher = createEventPublisher({ brokers, topic, logger: silentLogger(), topicSpec: { numPartitions: 1 } });
  const second = toEventRecord({ ...ev, id: `${ev.id}-2`, data: { ...ev.data, id: `${ev.id}-2`, dryRun: true } });
  if (!second.ok) throw new Error(second.error);
  // The first event twice (a retried publish), then another.
  const records: EventRecord[] = [rec.value, rec.value, second.value];
  expect(await publisher.send(records)).toEqual({ ok: true });
  await publisher.close();
  const { stdout } = await run(
    process.execPath,
    [
      join(dir, "consume-decisions.ts"),
      "--brokers",
      brokers,
      "--topic",
      topic,
      "--group",
      randomName("g"),
      "--from-beginning",
      "--max",
      "2",
    ],
    { timeout: 60_000, cwd: dir },
  );
  const lines = stdout.trim().split("\n");
  expect(lines).toHaveLength(2);
  expect(lines[0]).toContain(
    "payments eject 10.0.0.7:443 by warmup-failure-fleet-eject: TLS handshake failed during warm-up (in version 3)",
  );
  expect(lines[1]).toContain("[dry-run] eject");
}, 90_000);

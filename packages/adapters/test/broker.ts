/**
 * A private Kafka broker for tests that stop and restart one or need another Kafka version:
 * `infra/scripts/services.sh broker` on free ports under a temporary directory, never the
 * shared broker. A broker that cannot start fails the test (never a skip).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SERVICES = join(ROOT, "infra/scripts/services.sh");

export const KAFKA_POMS = {
  "3.9": join(ROOT, "infra/kafka/pom.xml"),
  "4.x": join(ROOT, "infra/kafka/pom-4.xml"),
} as const;

export interface PrivateBroker {
  readonly brokers: string;
  /** Stops the JVM (SIGTERM, controlled shutdown); data is kept. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

async function services(args: string[]): Promise<string> {
  try {
    const { stdout } = await run("bash", [SERVICES, ...args], { timeout: 300_000, maxBuffer: 1 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`services.sh ${args.join(" ")} failed: ${e.stderr?.trim() || e.message}`);
  }
}

export async function startPrivateBroker(version: keyof typeof KAFKA_POMS): Promise<PrivateBroker> {
  const dir = mkdtempSync(join(tmpdir(), `meshtune-kafka-${version}-`));
  const args = ["--dir", dir, "--pom", KAFKA_POMS[version]];
  const out = await services(["broker", "start", ...args]);
  const brokers = /KAFKA_BROKERS=(\S+)/.exec(out)?.[1];
  if (!brokers) throw new Error(`services.sh broker start printed no address: ${out}`);
  let closed = false;
  return {
    brokers,
    stop: async () => void (await services(["broker", "stop", ...args])),
    async start() {
      const again = /KAFKA_BROKERS=(\S+)/.exec(await services(["broker", "start", ...args]))?.[1];
      if (again !== brokers) throw new Error(`broker came back on ${again}, not ${brokers}`);
    },
    async close() {
      if (closed) return;
      closed = true;
      await services(["broker", "stop", ...args]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `meshtune status`: per cluster, the current config version and its convergence across the
 * proxies, ejected endpoints and the last decisions — read from Redis like any tuner
 * component reads it (the actuator's readStatus), so it works while the tuner is down.
 */
import { parseArgs } from "node:util";
import { type ClusterStatus, readStatus } from "@meshtune/actuator";
import { createRedis, redactUrl } from "@meshtune/adapters";
import { DEFAULT_PREFIX, OPERATOR_SETTING_FIELDS as F, settingEnabled } from "@meshtune/contracts";

export const STATUS_HELP = `Usage: meshtune status [options]

Prints, per cluster the tuner knows: the current config version, how many proxies ACKed,
NACKed or have not answered it (and how long it took to converge), the endpoints the current
snapshot ejects and why, pending decisions and outbox depth, and the last decisions.

Options:
      --redis-url URL    Redis holding the tuner's state (env REDIS_URL; default redis://127.0.0.1:6379)
      --prefix P         Redis key prefix (env MESHTUNE_REDIS_PREFIX; default ${DEFAULT_PREFIX})
      --cluster NAME     Only this cluster (repeatable)
      --decisions N      Decisions listed per cluster (default 5)
      --json             Print the status as JSON
  -h, --help             Show this help`;

export async function runStatus(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      "redis-url": { type: "string" },
      prefix: { type: "string" },
      cluster: { type: "string", multiple: true },
      decisions: { type: "string", default: "5" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(STATUS_HELP);
    return 0;
  }
  const lastDecisions = Number(values.decisions);
  if (!Number.isInteger(lastDecisions) || lastDecisions < 0 || lastDecisions > 1000) {
    console.error("meshtune status: --decisions must be an integer from 0 to 1000");
    return 2;
  }
  const url = values["redis-url"] ?? env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const redis = createRedis(url, { name: "meshtune-status", ioredis: { maxRetriesPerRequest: 1 } });
  redis.on("error", () => undefined);
  try {
    const clusters = await readStatus(redis, {
      prefix: values.prefix ?? env.MESHTUNE_REDIS_PREFIX ?? DEFAULT_PREFIX,
      clusters: values.cluster,
      lastDecisions,
    });
    if (values.json) console.log(JSON.stringify(clusters, null, 2));
    else console.log(formatStatus(clusters).join("\n"));
    return 0;
  } catch (err) {
    console.error(`meshtune status: cannot read the tuner's state from ${redactUrl(url)}: ${(err as Error).message}`);
    return 1;
  } finally {
    redis.disconnect();
  }
}

export function formatStatus(clusters: readonly ClusterStatus[]): string[] {
  if (clusters.length === 0) return ["no clusters yet: the collector has not received telemetry from any proxy"];
  const out: string[] = [];
  for (const c of clusters) {
    const conv = c.convergence;
    const converged = conv
      ? `${conv.state}: ${conv.acked.length}/${conv.known.length} ACK, ${conv.nacked.length} NACK, ${conv.pending.length} waiting${conv.convergeMs !== undefined ? `, converged in ${conv.convergeMs} ms` : ""}`
      : "no version published";
    out.push(
      `${c.cluster}  version ${c.version}${c.rollbackOf ? ` (rollback of ${c.rollbackOf})` : ""}  ${converged}`,
      `  ejected: ${c.ejected.length === 0 ? "none" : c.ejected.map((e) => `${e.endpoint}${e.reason ? ` (${e.reason})` : ""}`).join(", ")}`,
      `  pending decisions: ${c.pendingDecisions}   outbox: ${c.outboxDepth}   dry-run: ${onOff(c.settings[F.dryRun])}   kill switch: ${onOff(c.settings[F.killSwitch])}`,
    );
    for (const d of c.lastDecisions)
      out.push(`  ${d.decidedAt}  ${d.kind} ${d.endpoint ?? "(cluster)"}  ${d.rule}: ${d.reason}  [${d.id}]`);
    out.push("");
  }
  return out;
}

const onOff = (v: string | undefined) => (settingEnabled(v) ? "on" : "off");

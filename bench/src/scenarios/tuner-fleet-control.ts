/**
 * The control plane of a tuned tuner-fleet run, read back from Redis after the load: the
 * engine's decisions (its stream), the actuator's versions (snapshot history) and every
 * proxy's ACK (per-version convergence records) — the inputs of analyseControl. Key names come
 * from contracts (redisKeys). The run's keys are deleted once its tuner stopped.
 */
import { createRedis } from "@meshtune/adapters";
import { ConfigAckSchema, redisKeys } from "@meshtune/contracts";
import type { AckRecord, DecisionRecord, VersionRecord } from "./tuner-fleet-analysis.js";

/** The cluster name in meshtuneConfig (bench/src/systems/meshtune.ts). */
export const CLUSTER = "sim";

/** What the scenario reads after a tuned run: the Redis and the run's random key prefix. */
export interface ControlHandle {
  redisUrl: string;
  prefix: string;
}

/** Deletes a run's keys (windows, decisions, snapshots, BullMQ queue) once the tuner stopped. */
export async function purgeControl(h: ControlHandle): Promise<void> {
  const redis = createRedis(h.redisUrl, { name: "bench-tuner-fleet" });
  try {
    for (const pattern of [`${h.prefix}:*`, `{${h.prefix}:bull}*`]) {
      const all = await redis.keys(pattern);
      for (let i = 0; i < all.length; i += 500) await redis.del(...all.slice(i, i + 500));
    }
  } finally {
    redis.disconnect();
  }
}

/** The engine's decisions, the actuator's versions and every proxy's ACKs of one run. */
export async function readControl(h: ControlHandle): Promise<{
  decisions: DecisionRecord[];
  versions: VersionRecord[];
  acks: AckRecord[];
}> {
  const redis = createRedis(h.redisUrl, { name: "bench-tuner-fleet" });
  const keys = redisKeys(h.prefix);
  try {
    const entries = await redis.xrange(keys.decisions(CLUSTER), "-", "+");
    const decisions: DecisionRecord[] = [];
    for (const [id, fields] of entries) {
      const i = fields.indexOf("d");
      if (i < 0) continue;
      const d = JSON.parse(fields[i + 1] ?? "{}") as {
        id: string;
        kind: string;
        rule: string;
        endpoint?: string;
        decidedAt: string;
        dryRun: boolean;
        guardrails?: { action: string }[];
      };
      decisions.push({
        id: d.id,
        kind: d.kind,
        rule: d.rule,
        ...(d.endpoint ? { endpoint: d.endpoint } : {}),
        decidedAt: Date.parse(d.decidedAt),
        writtenAt: Number(id.split("-")[0]),
        applied: !d.dryRun && !(d.guardrails ?? []).some((g) => g.action === "blocked"),
      });
    }
    const history = await redis.hgetall(keys.snapshotHistory(CLUSTER));
    const versions: VersionRecord[] = [];
    for (const [v, json] of Object.entries(history)) {
      const payload = JSON.parse((JSON.parse(json) as { payload: string }).payload) as Pick<
        VersionRecord,
        "issuedAt" | "override"
      >;
      versions.push({ version: Number(v), issuedAt: payload.issuedAt, override: payload.override });
    }
    const acks: AckRecord[] = [];
    for (const v of versions) {
      const record = await redis.hgetall(keys.convergence(CLUSTER, v.version));
      for (const [field, json] of Object.entries(record)) {
        if (field.startsWith("_")) continue;
        const p = ConfigAckSchema.safeParse(JSON.parse(json));
        if (p.success)
          acks.push({ proxyId: p.data.proxyId, version: p.data.version, status: p.data.status, at: p.data.at });
      }
    }
    return { decisions, versions, acks };
  } finally {
    redis.disconnect();
  }
}

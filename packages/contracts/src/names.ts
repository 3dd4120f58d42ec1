/**
 * Owner of every Redis key and channel and every Kafka topic name. Nothing else builds one
 * by hand. Redis keys put the cluster in a hash tag `{cluster}` so that one cluster's keys
 * land in one Redis Cluster slot (DESIGN.md section 4) and Lua scripts can touch them together.
 */
export const DEFAULT_PREFIX = "mt";

export function redisKeys(prefix: string = DEFAULT_PREFIX) {
  const p = prefix;
  return {
    /** Per-endpoint rolling telemetry window (hash). */
    window: (cluster: string, endpoint: string) => `${p}:{${cluster}}:win:${endpoint}`,
    /** Set of endpoints that have a window in this cluster. */
    windowIndex: (cluster: string) => `${p}:{${cluster}}:win-index`,
    /** Latest versioned control snapshot for a cluster (string, JSON). */
    snapshot: (cluster: string) => `${p}:{${cluster}}:snapshot`,
    /** Monotonic snapshot version counter. */
    snapshotVersion: (cluster: string) => `${p}:{${cluster}}:snapshot-version`,
    /** Hash of proxyId -> last ApplyResult JSON. */
    acks: (cluster: string) => `${p}:{${cluster}}:acks`,
    /** Set of known clusters. */
    clusters: () => `${p}:clusters`,
    /** BullMQ queue prefix (BullMQ owns the keys below it). */
    queuePrefix: () => `${p}:bull`,
  } as const;
}

export function redisChannels(prefix: string = DEFAULT_PREFIX) {
  return {
    /** Actuator -> proxies: a new snapshot version is available. */
    config: (cluster: string) => `${prefix}:{${cluster}}:config`,
    /** Proxies -> actuator: ACK/NACK of applied versions. */
    acks: (cluster: string) => `${prefix}:{${cluster}}:acks`,
  } as const;
}

export const KAFKA_TOPICS = {
  /** CloudEvents decision events, keyed by cluster so one cluster stays ordered. */
  decisions: "meshtune.decisions.v1",
} as const;

export const QUEUE_NAMES = {
  evaluate: "meshtune-evaluate",
} as const;

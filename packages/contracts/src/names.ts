/**
 * Owner of every Redis key and channel and every Kafka topic name. Nothing else builds one
 * by hand. Redis keys put the cluster in a hash tag `{cluster}` so that one cluster's keys
 * land in one Redis Cluster slot (DESIGN.md section 4) and Lua scripts can touch them together.
 * Keys that are not per cluster carry their own tag `{<prefix>}` so they share one slot too.
 */
export const DEFAULT_PREFIX = "mt";

export function redisKeys(prefix: string = DEFAULT_PREFIX) {
  const p = prefix;
  const c = (cluster: string) => `${p}:{${cluster}}`;
  return {
    // --- collector (issue #9) ---------------------------------------------------------------
    /**
     * One cluster's telemetry for one Unix second (hash). Fields are `<endpoint>|<field>` as
     * written by the collector's window store; expires after the configured horizon.
     */
    windowBucket: (cluster: string, unixSecond: number) => `${c(cluster)}:win:${unixSecond}`,
    /**
     * The per-proxy counts of one cluster's second (hash: proxy -> JSON `{"<endpoint>": {"fail":
     * n, "ok": n}}`), apart from `windowBucket` so a reader of the long view does not fetch them
     * (at 200 proxies they are most of a second's data); same expiry.
     */
    windowProxyBucket: (cluster: string, unixSecond: number) => `${c(cluster)}:winp:${unixSecond}`,
    /** Last cumulative value of every series of one proxy instance (hash), for delta conversion. */
    cumulative: (cluster: string, proxyInstance: string) => `${c(cluster)}:cum:${proxyInstance}`,
    /**
     * Latest gauge snapshot of one proxy instance for a cluster (string: `<time ms>|<JSON object
     * "<endpoint>|<gauge>" -> value>`); expires after the horizon, so a proxy that stopped
     * reporting drops out. Kept apart from the 1-second buckets so a reader gets every proxy's
     * latest values with one MGET instead of scanning every bucket (docs/decisions/0007).
     */
    gauges: (cluster: string, proxyInstance: string) => `${c(cluster)}:gauges:${proxyInstance}`,
    /** Proxies that reported for a cluster (sorted set: proxy instance -> last report, Unix ms). */
    proxies: (cluster: string) => `${c(cluster)}:proxies`,
    /** Fast signals (warm-up/health failures, ejections, NACKs) of a cluster (stream of FastSignal JSON). */
    signals: (cluster: string) => `${c(cluster)}:signals`,
    // --- engine (issue #10) -----------------------------------------------------------------
    /** The engine's state for a cluster that must survive a worker restart (string, JSON). */
    engineState: (cluster: string) => `${c(cluster)}:engine-state`,
    /** Decisions of a cluster in the order they were made (stream; field `d` = Decision JSON). */
    decisions: (cluster: string) => `${c(cluster)}:decisions`,
    /** Marker that a decision id was already written (string, expires), so a retried job adds nothing. */
    decisionSeen: (cluster: string, decisionId: string) => `${c(cluster)}:decision-seen:${decisionId}`,
    /** Operator settings of a cluster (hash): dry-run, kill switch, change limits. */
    settings: (cluster: string) => `${c(cluster)}:settings`,
    /** Operator pins and overrides per endpoint (hash: endpoint -> EndpointPin JSON). */
    pins: (cluster: string) => `${c(cluster)}:pins`,
    /** Fleet-wide operator settings (hash): global dry-run and kill switch. */
    globalSettings: () => `${p}:{${p}}:settings`,
    /** Short-lived lock so one cluster is evaluated or actuated by one process at a time. */
    lock: (cluster: string, what: string) => `${c(cluster)}:lock:${what}`,
    // --- actuator (issue #11) ---------------------------------------------------------------
    /** Latest signed control snapshot for a cluster (string, SignedSnapshot JSON). */
    snapshot: (cluster: string) => `${c(cluster)}:snapshot`,
    /** Monotonic snapshot version counter. */
    snapshotVersion: (cluster: string) => `${c(cluster)}:snapshot-version`,
    /** Earlier snapshots by version (hash: version -> SignedSnapshot JSON), for rollback. */
    snapshotHistory: (cluster: string) => `${c(cluster)}:snapshot-history`,
    /** Stream id of the last decision folded into a snapshot (string). */
    actuatorCursor: (cluster: string) => `${c(cluster)}:actuator-cursor`,
    /** Hash of proxyId -> last ConfigAck JSON. */
    acks: (cluster: string) => `${c(cluster)}:acks`,
    /** Convergence record of one version (hash: proxyId -> ConfigAck JSON, plus `_meta`). */
    convergence: (cluster: string, version: number) => `${c(cluster)}:conv:${version}`,
    /** Durable outbox of events waiting for Kafka (stream; bounded by MAXLEN). */
    outbox: (cluster: string) => `${c(cluster)}:outbox`,
    /** Set of known clusters. */
    clusters: () => `${p}:{${p}}:clusters`,
    /**
     * BullMQ queue prefix (BullMQ owns the keys below it). In a hash tag so that every key of
     * a queue lands in one Redis Cluster slot, as BullMQ requires on Redis Cluster.
     */
    queuePrefix: () => `{${p}:bull}`,
  } as const;
}

export function redisChannels(prefix: string = DEFAULT_PREFIX) {
  return {
    /** Actuator -> proxies: a new snapshot version is available (message: `<version>`). */
    config: (cluster: string) => `${prefix}:{${cluster}}:config`,
    /** Proxies -> actuator: ACK/NACK of applied versions (message: ConfigAck JSON). */
    acks: (cluster: string) => `${prefix}:{${cluster}}:acks`,
    /** Engine -> actuator: a cluster has new decisions (message: cluster name). */
    decisions: () => `${prefix}:{${prefix}}:decisions`,
  } as const;
}

export const KAFKA_TOPICS = {
  /** CloudEvents decision events, keyed by cluster so one cluster stays ordered. */
  decisions: "meshtune.decisions.v1",
} as const;

export const QUEUE_NAMES = {
  /** Collector -> engine workers: evaluate a cluster's windows. */
  evaluate: "meshtune-evaluate",
  /** Engine -> actuator: fold a cluster's new decisions into its snapshot. */
  actuate: "meshtune-actuate",
} as const;

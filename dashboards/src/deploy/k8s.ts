/**
 * Kubernetes manifests for the tuner (collector, engine, actuator), a single Redis, and an
 * example application pod with the meshtune proxy as its egress sidecar. generate.ts writes
 * them to infra/k8s/*.yaml (one file per component, applied with `kubectl apply -k infra/k8s`).
 *
 * Sizing (requests) follows docs/operations.md (the proxy's from its benchmark; collector and
 * engine replicas scale out horizontally, their state is in Redis).
 * Kafka is the user's own cluster: its brokers are a ConfigMap value.
 */

import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { ConfigMap, type IVolume, type IVolumeMount } from "kubernetes-models/v1";
import { stringify } from "yaml";
import { ALERT_GROUPS, RECORDING_GROUPS } from "../prometheus/rules.js";
import { JOBS, METRICS_PORTS } from "../prometheus/scrape.js";
import {
  container,
  labels,
  type MeshtuneContainer,
  NAMESPACE,
  POD_ENV,
  pdb,
  selector,
  service,
  serviceMonitor,
} from "./k8s-parts.js";
import { k8sProxyConfig } from "./proxy-config.js";

export const SETTINGS_CONFIGMAP = "meshtune-settings";
export const CONTROL_KEY_SECRET = "meshtune-control-key";
export const REDIS_SERVICE = "meshtune-redis";

const fromSettings = (name: string, key: string) => ({
  name,
  valueFrom: { configMapKeyRef: { name: SETTINGS_CONFIGMAP, key } },
});
const controlKeyEnv = {
  name: "MESHTUNE_CONTROL_KEY",
  valueFrom: { secretKeyRef: { name: CONTROL_KEY_SECRET, key: "key", optional: true } },
};
const tmp: { volume: IVolume; mount: IVolumeMount } = {
  volume: { name: "tmp", emptyDir: {} },
  mount: { name: "tmp", mountPath: "/tmp" },
};

function deployment(name: string, component: string, replicas: number, c: MeshtuneContainer): Deployment {
  return new Deployment({
    metadata: { name, namespace: NAMESPACE, labels: labels(name, component) },
    spec: {
      replicas,
      selector: selector(name),
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: labels(name, component) },
        spec: {
          terminationGracePeriodSeconds: 30,
          containers: [{ ...container(c), volumeMounts: [tmp.mount] }],
          volumes: [tmp.volume],
        },
      },
    },
  });
}

/** A tuner component: Deployment, Service, PodDisruptionBudget, ServiceMonitor. */
function component(name: string, role: string, replicas: number, c: MeshtuneContainer): unknown[] {
  const port = c.ports[0]!;
  return [
    deployment(name, role, replicas, c),
    service(name, role, [{ name: port.name, port: port.containerPort }]),
    pdb(name, role),
    serviceMonitor(name, role, port.name),
  ];
}

const redisEnv = [fromSettings("REDIS_URL", "redisUrl"), fromSettings("MESHTUNE_REDIS_PREFIX", "redisPrefix")];

function settings(): ConfigMap {
  return new ConfigMap({
    metadata: { name: SETTINGS_CONFIGMAP, namespace: NAMESPACE, labels: labels(SETTINGS_CONFIGMAP, "settings") },
    data: {
      redisUrl: `redis://${REDIS_SERVICE}:6379`,
      redisPrefix: "mt",
      // Your Kafka brokers (comma separated); without them decision events wait in the Redis outbox.
      kafkaBrokers: "kafka.kafka.svc:9092",
    },
  });
}

function redis(): unknown[] {
  const l = labels(REDIS_SERVICE, "redis");
  const ping = { exec: { command: ["redis-cli", "ping"] }, periodSeconds: 10, timeoutSeconds: 2 };
  return [
    new Deployment({
      metadata: { name: REDIS_SERVICE, namespace: NAMESPACE, labels: l },
      spec: {
        replicas: 1,
        selector: selector(REDIS_SERVICE),
        strategy: { type: "Recreate" },
        template: {
          metadata: { labels: l },
          spec: {
            containers: [
              {
                name: "redis",
                image: "redis:7.4-alpine",
                // Windows and snapshots are short-lived: no persistence, bounded memory.
                args: ["--save", "", "--appendonly", "no", "--maxmemory", "768mb", "--maxmemory-policy", "noeviction"],
                ports: [{ name: "redis", containerPort: 6379, protocol: "TCP" }],
                livenessProbe: ping,
                readinessProbe: ping,
                resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } },
              },
            ],
          },
        },
      },
    }),
    service(REDIS_SERVICE, "redis", [{ name: "redis", port: 6379 }]),
  ];
}

export const COLLECTOR: MeshtuneContainer = {
  name: "collector",
  args: ["collector", "--address", `0.0.0.0:${METRICS_PORTS.collector}`, "--redis-url", "$(REDIS_URL)"],
  ports: [{ name: "http", containerPort: METRICS_PORTS.collector }],
  probePort: "http",
  env: redisEnv,
  sizing: { cpu: "500m", memory: "256Mi", memoryLimit: "512Mi" },
};

export const ENGINE: MeshtuneContainer = {
  name: "engine",
  args: ["engine", "--address", `0.0.0.0:${METRICS_PORTS.engine}`, "--redis-url", "$(REDIS_URL)"],
  ports: [{ name: "http", containerPort: METRICS_PORTS.engine }],
  probePort: "http",
  env: redisEnv,
  // Engine benchmark: 442 MiB RSS at 200 proxies × 50 endpoints (docs/operations.md).
  sizing: { cpu: "500m", memory: "512Mi", memoryLimit: "768Mi" },
};

export const ACTUATOR: MeshtuneContainer = {
  name: "actuator",
  args: [
    "actuator",
    "--admin",
    `0.0.0.0:${METRICS_PORTS.actuator}`,
    "--redis-url",
    "$(REDIS_URL)",
    "--kafka-brokers",
    "$(KAFKA_BROKERS)",
  ],
  ports: [{ name: "admin", containerPort: METRICS_PORTS.actuator }],
  probePort: "admin",
  // The actuator's admin API has no /ready yet: readiness is liveness until it does.
  readyPath: "/live",
  env: [...redisEnv, fromSettings("KAFKA_BROKERS", "kafkaBrokers"), controlKeyEnv],
  sizing: { cpu: "250m", memory: "128Mi", memoryLimit: "256Mi" },
};

export const PROXY: MeshtuneContainer = {
  name: "meshtune-proxy",
  args: [
    "proxy",
    "--config",
    "/etc/meshtune/proxy.yaml",
    "--id",
    "$(POD_NAME)",
    "--otlp-endpoint",
    `http://${JOBS.collector}.${NAMESPACE}.svc:${METRICS_PORTS.collector}`,
    "--redis-url",
    "$(REDIS_URL)",
  ],
  ports: [{ name: "admin", containerPort: METRICS_PORTS.proxy }],
  probePort: "admin",
  env: [...POD_ENV, ...redisEnv, controlKeyEnv],
  // bench/results/latest.json: 0.32 CPU-ms per request and 262.5 MiB RSS at 2,000 rps
  // (docs/operations.md); 250m covers ~800 rps per pod.
  sizing: { cpu: "250m", memory: "256Mi", memoryLimit: "384Mi" },
};

const EXAMPLE = "example-app";
const PROXY_ADMIN_SERVICE = JOBS.proxy;

/** An application pod whose egress goes through the meshtune proxy sidecar on 127.0.0.1:15001. */
function proxyExample(): unknown[] {
  const config = new ConfigMap({
    metadata: { name: `${EXAMPLE}-meshtune-proxy`, namespace: NAMESPACE, labels: labels(EXAMPLE, "example") },
    data: { "proxy.yaml": stringify(k8sProxyConfig()) },
  });
  const app = new Deployment({
    metadata: { name: EXAMPLE, namespace: NAMESPACE, labels: labels(EXAMPLE, "example") },
    spec: {
      replicas: 2,
      selector: selector(EXAMPLE),
      template: {
        // The proxy's metrics Service selects pods by this label too, so its job is meshtune-proxy.
        metadata: { labels: { ...labels(EXAMPLE, "example"), "meshtune.io/proxy": "sidecar" } },
        spec: {
          terminationGracePeriodSeconds: 30,
          containers: [
            {
              name: "app",
              image: "curlimages/curl:8.11.1",
              // Stands in for your application: it calls the external API through the sidecar.
              command: [
                "sh",
                "-c",
                "while true; do curl -s -H 'host: api.example.com' http://127.0.0.1:15001/ >/dev/null; sleep 1; done",
              ],
              resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "32Mi" } },
            },
            {
              ...container(PROXY),
              volumeMounts: [{ name: "proxy-config", mountPath: "/etc/meshtune", readOnly: true }, tmp.mount],
            },
          ],
          volumes: [{ name: "proxy-config", configMap: { name: `${EXAMPLE}-meshtune-proxy` } }, tmp.volume],
        },
      },
    },
  });
  const adminService = service(PROXY_ADMIN_SERVICE, "proxy", [{ name: "admin", port: METRICS_PORTS.proxy }]);
  adminService.spec!.selector = { "meshtune.io/proxy": "sidecar" };
  return [config, app, pdb(EXAMPLE, "example"), adminService, serviceMonitor(PROXY_ADMIN_SERVICE, "proxy", "admin")];
}

/**
 * The recording and alert rules of infra/prometheus/rules for the Prometheus Operator (the same
 * groups; the ServiceMonitors give them the job labels they select on).
 */
function prometheusRules(): PrometheusRule {
  return new PrometheusRule({
    metadata: { name: "meshtune", namespace: NAMESPACE, labels: labels("meshtune-rules", "monitoring") },
    spec: { groups: [...RECORDING_GROUPS, ...ALERT_GROUPS].map((g) => ({ name: g.name, rules: g.rules })) },
  });
}

/** Every manifest file: name under infra/k8s -> its objects. */
export function k8sManifests(): Map<string, unknown[]> {
  return new Map<string, unknown[]>([
    ["settings.yaml", [settings()]],
    ["redis.yaml", redis()],
    ["collector.yaml", component(JOBS.collector, "collector", 2, COLLECTOR)],
    ["engine.yaml", component(JOBS.engine, "engine", 2, ENGINE)],
    ["actuator.yaml", component(JOBS.actuator, "actuator", 2, ACTUATOR)],
    ["proxy-sidecar-example.yaml", proxyExample()],
    ["prometheus-rules.yaml", [prometheusRules()]],
  ]);
}

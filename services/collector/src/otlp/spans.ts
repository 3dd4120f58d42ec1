/**
 * ExportTraceServiceRequest -> fast signals (PROXY_SPANS entries with `fast: true`; a config
 * application only when it was a NACK). Every other span is counted and ignored: request
 * traces are for people, the tuner decides from metrics and these events. Pure.
 */
import { ATTR, type FastSignal, type FastSignalKind, PROXY_RESOURCE, PROXY_SPANS } from "@meshtune/contracts";
import { attributeRecord, stringAttr } from "./attributes.js";
import { type ExportTraceRequest, int64 } from "./proto.js";

const KIND_BY_SPAN: ReadonlyMap<string, FastSignalKind> = new Map<string, FastSignalKind>([
  [PROXY_SPANS.warmupFailure.name, "warmup_failure"],
  [PROXY_SPANS.healthCheckFailure.name, "health_check_failure"],
  [PROXY_SPANS.ejection.name, "ejection"],
  [PROXY_SPANS.unejection.name, "unejection"],
  [PROXY_SPANS.configApply.name, "config_nack"],
]);

export interface SpansExtract {
  spans: number;
  /** Signals with their cluster; a NACK has none (it is proxy-wide): `cluster` is "". */
  signals: FastSignal[];
  ignored: number;
  rejected: Map<string, number>;
}

export function extractSignals(req: ExportTraceRequest, receivedAt: number): SpansExtract {
  const out: SpansExtract = { spans: 0, signals: [], ignored: 0, rejected: new Map() };
  const reject = (reason: string) => out.rejected.set(reason, (out.rejected.get(reason) ?? 0) + 1);
  for (const rs of req.resourceSpans ?? []) {
    const proxy = stringAttr(rs.resource?.attributes, PROXY_RESOURCE.serviceInstanceId.name);
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        out.spans++;
        const kind = KIND_BY_SPAN.get(span.name ?? "");
        if (!kind) {
          out.ignored++;
          continue;
        }
        const attributes = attributeRecord(span.attributes);
        if (kind === "config_nack" && attributes[ATTR.configResult] !== "NACK") {
          out.ignored++;
          continue;
        }
        const cluster = attributes[ATTR.cluster];
        if (!proxy) {
          reject("missing_instance_id");
          continue;
        }
        if (kind !== "config_nack" && (typeof cluster !== "string" || cluster === "")) {
          reject("missing_label");
          continue;
        }
        const endpoint = attributes[ATTR.endpoint];
        out.signals.push({
          kind,
          cluster: typeof cluster === "string" ? cluster : "",
          ...(typeof endpoint === "string" ? { endpoint } : {}),
          proxy,
          at: Math.floor(int64(span.startTimeUnixNano) / 1e6),
          receivedAt,
          attributes,
        });
      }
    }
  }
  return out;
}

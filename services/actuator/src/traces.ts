/**
 * The actuator's part of a decision's trace (docs/decisions/0018-tuner-tracing.md). A round that
 * folds decisions runs under `meshtune.actuator.publish`, the child of the first decision's rule
 * span (linked to the others'); the version it publishes remembers that span, and every ACK or
 * NACK this replica hears for the version is recorded as a `meshtune.actuator.ack` child of it
 * until the version converges or is superseded. One entry per cluster, so memory is bounded by
 * the clusters; a replica that did not publish the version records no ACK spans for it.
 */
import { recordSpan } from "@meshtune/adapters";
import type { ConfigAck } from "@meshtune/contracts";
import { type Context, context, trace } from "@opentelemetry/api";

export class PublishTraces {
  readonly #byCluster = new Map<string, { version: number; context: Context }>();

  /** Called inside the publish span when `version` is committed and announced. */
  published(cluster: string, version: number, ctx: Context = context.active()): void {
    if (!trace.getSpanContext(ctx)) return;
    this.#byCluster.set(cluster, { version, context: ctx });
  }

  ack(ack: ConfigAck): void {
    const p = this.#byCluster.get(ack.cluster);
    if (!p || p.version !== ack.version) return;
    recordSpan("meshtune.actuator.ack", {
      parent: p.context,
      attributes: {
        "meshtune.cluster": ack.cluster,
        "meshtune.proxy_id": ack.proxyId,
        "meshtune.config_version": ack.version,
        "meshtune.ack_status": ack.status,
        "meshtune.ack_at": ack.at,
      },
      ...(ack.status === "NACK" ? { error: ack.reason ?? "NACK" } : {}),
    });
  }

  /** The version converged: one last span says so (with its convergence time), then forget it. */
  converged(cluster: string, version: number, convergeMs: number): void {
    const p = this.#byCluster.get(cluster);
    if (!p || p.version !== version) return;
    recordSpan("meshtune.actuator.converged", {
      parent: p.context,
      attributes: {
        "meshtune.cluster": cluster,
        "meshtune.config_version": version,
        "meshtune.converge_ms": convergeMs,
      },
    });
    this.#byCluster.delete(cluster);
  }
}

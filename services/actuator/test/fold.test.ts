/** The fold and the convergence judgement, pure (no Redis): what a version contains and when it rolls back. */
import type { ConfigAck, Decision } from "@meshtune/contracts";
import { describe, expect, it } from "vitest";
import { assessConvergence, emptyOverride, foldDecisions } from "../src/index.js";

let n = 0;
const d = (kind: Decision["kind"], after: Record<string, unknown>, extra: Partial<Decision> = {}): Decision => ({
  apiVersion: "meshtune.io/decision/v1alpha1",
  id: `d${++n}`,
  cluster: "api",
  endpoint: "10.0.0.1:443",
  kind,
  rule: "test",
  reason: "because",
  inputs: {},
  before: {},
  after,
  dryRun: false,
  decidedAt: "2026-01-01T00:00:00.000Z",
  ...extra,
});

describe("foldDecisions", () => {
  it("maps every decision kind onto the override", () => {
    const r = foldDecisions(emptyOverride(), [
      d("eject", { ejected: true, ejectReason: "fleet:warmup" }),
      d("set_weight", { weight: 40 }, { endpoint: "10.0.0.2:443" }),
      d("set_pool_min", { minWarm: 3 }, { endpoint: "10.0.0.2:443" }),
      d("set_preconnect", { preconnect: 5 }, { endpoint: "10.0.0.2:443" }),
      d("set_connect_timeout", { connectTimeoutMs: 800 }, { endpoint: undefined }),
      d("set_pool_limits", { maxConnectionsPerEndpoint: 64, maxPendingRequests: 64 }, { endpoint: undefined }),
    ]);
    expect(r.changed).toBe(true);
    expect(r.override).toEqual({
      endpointOverrides: {
        "10.0.0.1:443": { ejected: true, ejectReason: "fleet:warmup" },
        "10.0.0.2:443": { weight: 40, minWarm: 3, preconnect: 5 },
      },
      pool: { connectTimeoutMs: 800, maxConnectionsPerEndpoint: 64, maxPendingRequests: 64 },
    });
    expect(r.outcomes.every((o) => o.outcome === "applied")).toBe(true);
  });

  it("uneject restores the state before the ejection exactly", () => {
    const ejected = foldDecisions(emptyOverride(), [d("eject", {})]).override;
    const back = foldDecisions(ejected, [d("uneject", { ejected: false })]);
    expect(back.override).toEqual(emptyOverride());
  });

  it("never applies dry-run or blocked decisions, and reports no change", () => {
    const r = foldDecisions(emptyOverride(), [
      d("eject", {}, { dryRun: true }),
      d("eject", {}, { guardrails: [{ name: "max-ejection-percent", action: "blocked", detail: "50% ejected" }] }),
      d("set_lb_policy", { policy: "least_request" }),
    ]);
    expect(r.changed).toBe(false);
    expect(r.outcomes.map((o) => o.outcome)).toEqual(["dry_run", "blocked", "unsupported"]);
  });

  it("a decision that repeats the current state changes nothing", () => {
    const base = foldDecisions(emptyOverride(), [d("set_weight", { weight: 10 })]).override;
    const r = foldDecisions(base, [d("set_weight", { weight: 10 })]);
    expect(r.changed).toBe(false);
    expect(r.outcomes[0]?.outcome).toBe("unchanged");
  });
});

const ack = (proxyId: string, version: number, status: "ACK" | "NACK", at: number): ConfigAck => ({
  cluster: "api",
  proxyId,
  version,
  status,
  at,
  ...(status === "NACK" ? { reason: "bad" } : {}),
});

describe("assessConvergence", () => {
  const base = { version: 5, issuedAt: 1_000, now: 2_000, staleMs: 30_000, nackThreshold: 0.5, lastAcks: {} };

  it("converges when every known proxy ACKed, timed from the issue to the last ACK", () => {
    const v = assessConvergence({
      ...base,
      reported: { p1: 900, p2: 900 },
      answers: { p1: ack("p1", 5, "ACK", 1_050), p2: ack("p2", 5, "ACK", 1_120) },
    });
    expect(v).toMatchObject({ state: "converged", convergeMs: 120, pending: [], rollback: false });
  });

  it("lists proxies that have not answered, and forgets proxies gone for longer than staleMs", () => {
    const v = assessConvergence({
      ...base,
      now: 100_000,
      reported: { p1: 99_000, p2: 99_000, dead: 1_000 },
      answers: { p1: ack("p1", 5, "ACK", 99_500) },
    });
    expect(v.known).toEqual(["p1", "p2"]);
    expect(v.pending).toEqual(["p2"]);
    expect(v.state).toBe("pending");
  });

  it("rolls back when the NACK share reaches the threshold, never a rollback version itself", () => {
    const input = {
      ...base,
      reported: { p1: 900, p2: 900, p3: 900, p4: 900 },
      answers: { p1: ack("p1", 5, "NACK", 1_010), p2: ack("p2", 5, "NACK", 1_010), p3: ack("p3", 5, "ACK", 1_010) },
    };
    expect(assessConvergence(input)).toMatchObject({ rollback: true, nackShare: 0.5 });
    expect(assessConvergence({ ...input, nackThreshold: 0.75 }).rollback).toBe(false);
    expect(assessConvergence({ ...input, isRollback: true }).rollback).toBe(false);
  });

  it("counts a proxy that already ACKed a later version as ACKed", () => {
    const v = assessConvergence({
      ...base,
      reported: { p1: 900 },
      answers: {},
      lastAcks: { p1: ack("p1", 6, "ACK", 1_500) },
    });
    expect(v.state).toBe("converged");
  });
});

/**
 * Convergence of one snapshot version (issue #11), pure: which known proxies ACKed, NACKed or
 * have not answered, when it converged, and whether NACKs passed the rollback threshold.
 *
 * Known proxies are those seen recently: in the cluster's proxies set (the collector writes it
 * from telemetry, the proxies' config clients refresh it on every version check) or in the
 * cluster's acks hash, with a last sign of life within `staleMs`. A proxy that died drops out
 * after `staleMs` instead of holding convergence back forever.
 */
import type { ConfigAck } from "@meshtune/contracts";

export type ConvergenceState = "pending" | "converged" | "rolled_back" | "failed";

export interface ConvergenceInput {
  version: number;
  /** Unix ms the version was published. */
  issuedAt: number;
  /** Answers to this version (proxyId -> ack). */
  answers: Readonly<Record<string, ConfigAck>>;
  /** Each proxy's last ACK for the cluster, any version (proxyId -> ack). */
  lastAcks: Readonly<Record<string, ConfigAck>>;
  /** Proxies set: proxyId -> last report, Unix ms. */
  reported: Readonly<Record<string, number>>;
  now: number;
  staleMs: number;
  /** Share of known proxies whose NACK triggers a rollback, in (0, 1]. */
  nackThreshold: number;
  /** Set once the version was rolled back (kept in the record). */
  rolledBack?: boolean;
  /** A rollback version is never rolled back again (that could loop). */
  isRollback?: boolean;
}

export interface ConvergenceView {
  version: number;
  state: ConvergenceState;
  issuedAt: number;
  known: string[];
  acked: string[];
  nacked: Array<{ proxyId: string; reason: string }>;
  pending: string[];
  /** Unix ms of the last ACK that completed the version. */
  convergedAt?: number;
  convergeMs?: number;
  nackShare: number;
  /** True when the caller should roll the cluster back now. */
  rollback: boolean;
}

export function knownProxies(input: Pick<ConvergenceInput, "lastAcks" | "reported" | "answers" | "now" | "staleMs">) {
  const seen = new Map<string, number>();
  const note = (id: string, at: number) => seen.set(id, Math.max(seen.get(id) ?? 0, at));
  for (const [id, at] of Object.entries(input.reported)) note(id, at);
  for (const [id, ack] of Object.entries(input.lastAcks)) note(id, ack.at);
  for (const [id, ack] of Object.entries(input.answers)) note(id, ack.at);
  return [...seen]
    .filter(([, at]) => at >= input.now - input.staleMs)
    .map(([id]) => id)
    .sort();
}

export function assessConvergence(input: ConvergenceInput): ConvergenceView {
  const known = knownProxies(input);
  const acked: string[] = [];
  const nacked: ConvergenceView["nacked"] = [];
  const pending: string[] = [];
  let lastAckAt = 0;
  for (const id of known) {
    const a = input.answers[id];
    // A proxy that already ACKed a later version holds this state or a newer one.
    const later = input.lastAcks[id];
    if (a?.status === "ACK" || (later?.status === "ACK" && later.version >= input.version)) {
      acked.push(id);
      lastAckAt = Math.max(lastAckAt, a?.at ?? later?.at ?? 0);
    } else if (a?.status === "NACK") nacked.push({ proxyId: id, reason: a.reason ?? "" });
    else pending.push(id);
  }
  const nackShare = known.length === 0 ? 0 : nacked.length / known.length;
  const rollback = !input.rolledBack && !input.isRollback && nacked.length > 0 && nackShare >= input.nackThreshold;
  let state: ConvergenceState = "pending";
  if (input.rolledBack) state = "rolled_back";
  else if (known.length > 0 && acked.length === known.length) state = "converged";
  else if (pending.length === 0 && nacked.length > 0) state = "failed";
  const view: ConvergenceView = {
    version: input.version,
    state,
    issuedAt: input.issuedAt,
    known,
    acked,
    nacked,
    pending,
    nackShare,
    rollback,
  };
  if (state === "converged") {
    view.convergedAt = Math.max(lastAckAt, input.issuedAt);
    view.convergeMs = view.convergedAt - input.issuedAt;
  }
  return view;
}

/**
 * Signed control snapshots (issue #11): a proxy configured with a key applies only snapshots
 * whose MAC it can verify, so a client that can write to Redis cannot steer the fleet.
 *
 * HMAC-SHA256 over the exact payload bytes as stored (no JSON canonicalisation question), hex
 * in `sig` as `hmac-sha256:<hex>`, compared with crypto.timingSafeEqual so the comparison
 * leaks no prefix length. `keyId` names the key so keys can be rotated: a verifier holds a
 * keyring and accepts any key in it while the fleet moves to the new one.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import {
  type ClusterSnapshot,
  ClusterSnapshotSchema,
  formatIssues,
  issuesOf,
  type SignedSnapshot,
  SignedSnapshotSchema,
} from "@meshtune/contracts";

const SCHEME = "hmac-sha256:";

export interface SigningKey {
  id: string;
  /** Raw key bytes; at least 32 bytes is recommended (RFC 2104: at least the hash length). */
  secret: Buffer;
}

/**
 * Parses `--control-key` / MESHTUNE_CONTROL_KEY: `<keyId>:<secret>` or just `<secret>` (keyId
 * "default"). Several keys, comma-separated, form a keyring (the first one signs).
 */
export function parseSigningKeys(spec: string): SigningKey[] {
  return spec
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const i = s.indexOf(":");
      return i > 0
        ? { id: s.slice(0, i), secret: Buffer.from(s.slice(i + 1)) }
        : { id: "default", secret: Buffer.from(s) };
    });
}

function mac(secret: Buffer, payload: string): Buffer {
  return createHmac("sha256", secret).update(payload, "utf8").digest();
}

/** Serialises and signs; without a key the envelope carries no signature (unsigned mode). */
export function signSnapshot(snapshot: ClusterSnapshot, key: SigningKey | undefined): SignedSnapshot {
  const payload = JSON.stringify(snapshot);
  if (!key) return { payload };
  return { payload, sig: `${SCHEME}${mac(key.secret, payload).toString("hex")}`, keyId: key.id };
}

/** Why a snapshot was refused; an explicit enum so counters and tests need no string matching. */
export type RefusalKind = "malformed" | "unsigned" | "unknown_key" | "bad_signature" | "wrong_cluster" | "invalid";

export type VerifyResult =
  | { ok: true; snapshot: ClusterSnapshot; signed: boolean }
  | { ok: false; kind: RefusalKind; reason: string };

export interface VerifyOptions {
  /** Empty or absent: unsigned snapshots are accepted (and signatures are not checked). */
  keys?: readonly SigningKey[];
  /** The cluster the snapshot was read for; one for another cluster is refused. */
  cluster: string;
}

/** Verifies the MAC over the stored bytes first, then parses and validates the payload. */
export function verifySnapshot(raw: string | SignedSnapshot, opts: VerifyOptions): VerifyResult {
  let envelope: unknown = raw;
  if (typeof raw === "string") {
    try {
      envelope = JSON.parse(raw);
    } catch {
      return { ok: false, kind: "malformed", reason: "snapshot envelope is not JSON" };
    }
  }
  const env = SignedSnapshotSchema.safeParse(envelope);
  if (!env.success) return { ok: false, kind: "malformed", reason: formatIssues(issuesOf(env.error)) };
  const { payload, sig, keyId } = env.data;
  const keys = opts.keys ?? [];
  if (keys.length > 0) {
    if (!sig) return { ok: false, kind: "unsigned", reason: "snapshot is not signed" };
    if (!sig.startsWith(SCHEME)) return { ok: false, kind: "bad_signature", reason: "unknown signature scheme" };
    const candidates = keyId ? keys.filter((k) => k.id === keyId) : keys;
    if (candidates.length === 0) return { ok: false, kind: "unknown_key", reason: `unknown key id '${keyId}'` };
    const given = Buffer.from(sig.slice(SCHEME.length), "hex");
    const good = candidates.some((k) => {
      const want = mac(k.secret, payload);
      return given.length === want.length && timingSafeEqual(given, want);
    });
    if (!good) return { ok: false, kind: "bad_signature", reason: "signature does not match" };
  }
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    return { ok: false, kind: "malformed", reason: "snapshot payload is not JSON" };
  }
  const parsed = ClusterSnapshotSchema.safeParse(json);
  if (!parsed.success) return { ok: false, kind: "invalid", reason: formatIssues(issuesOf(parsed.error)) };
  if (parsed.data.cluster !== opts.cluster) {
    return { ok: false, kind: "wrong_cluster", reason: `snapshot is for cluster '${parsed.data.cluster}'` };
  }
  return { ok: true, snapshot: parsed.data, signed: keys.length > 0 };
}

/** Signed snapshots: what a proxy with a key accepts and what it refuses (issue #11). */
import type { ClusterSnapshot } from "@meshtune/contracts";
import { describe, expect, it } from "vitest";
import { parseSigningKeys, signSnapshot, verifySnapshot } from "../src/index.js";

const snap = (cluster = "api", version = 3): ClusterSnapshot => ({
  apiVersion: "meshtune.io/v1alpha1",
  kind: "ClusterSnapshot",
  cluster,
  version,
  issuedAt: 1_700_000_000_000,
  override: { endpointOverrides: { "10.0.0.1:443": { ejected: true, ejectReason: "warm-up failed" } } },
});
const [key] = parseSigningKeys("k1:0123456789abcdef0123456789abcdef");
const keys = parseSigningKeys("k1:0123456789abcdef0123456789abcdef");

describe("snapshot signing", () => {
  it("accepts a snapshot signed with a key of the ring and returns it parsed", () => {
    const r = verifySnapshot(JSON.stringify(signSnapshot(snap(), key)), { keys, cluster: "api" });
    expect(r).toMatchObject({ ok: true, signed: true, snapshot: { version: 3, cluster: "api" } });
  });

  it("refuses unsigned, forged, tampered, unknown-key and other-cluster snapshots", () => {
    const kinds = (raw: string, cluster = "api") => {
      const r = verifySnapshot(raw, { keys, cluster });
      return r.ok ? "ok" : r.kind;
    };
    expect(kinds(JSON.stringify(signSnapshot(snap(), undefined)))).toBe("unsigned");
    const forged = signSnapshot(snap(), { id: "k1", secret: Buffer.from("not the key") });
    expect(kinds(JSON.stringify(forged))).toBe("bad_signature");
    const good = signSnapshot(snap(), key);
    const tampered = { ...good, payload: good.payload.replace('"ejected":true', '"ejected":false') };
    expect(kinds(JSON.stringify(tampered))).toBe("bad_signature");
    expect(kinds(JSON.stringify({ ...good, keyId: "k9" }))).toBe("unknown_key");
    expect(kinds(JSON.stringify(signSnapshot(snap("other"), key)))).toBe("wrong_cluster");
    expect(kinds("{not json")).toBe("malformed");
    expect(kinds(JSON.stringify({ ...good, sig: `${good.sig}00` }))).toBe("bad_signature");
  });

  it("accepts unsigned snapshots only when no key is configured", () => {
    const r = verifySnapshot(JSON.stringify(signSnapshot(snap(), undefined)), { cluster: "api" });
    expect(r).toMatchObject({ ok: true, signed: false });
  });

  it("parses a keyring: id:secret pairs, a bare secret is key 'default'", () => {
    expect(parseSigningKeys("a:x, b:y").map((k) => k.id)).toEqual(["a", "b"]);
    expect(parseSigningKeys("secret")[0]).toMatchObject({ id: "default" });
  });
});

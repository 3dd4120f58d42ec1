/**
 * Kafka TLS and SASL pass-through (issue #14): the environment variables of docs/security.md
 * become kafkajs `ssl`/`sasl` options, a wrong value is an error naming the variable (never a
 * silent plaintext fallback), and a client with TLS on really speaks TLS: against the plaintext
 * test broker it fails instead of connecting.
 */
import { describe, expect, it } from "vitest";
import { kafkaSecurityFromEnv, pingKafka } from "../src/index.js";
import { requireKafka } from "./services.js";

describe("Kafka security from the environment", () => {
  it("nothing set: plaintext, no SASL", () => {
    expect(kafkaSecurityFromEnv({})).toEqual({});
  });

  it("TLS with a private CA and SCRAM credentials", () => {
    const sec = kafkaSecurityFromEnv(
      {
        KAFKA_SSL: "true",
        KAFKA_SSL_CA_FILE: "/etc/kafka/ca.pem",
        KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
        KAFKA_SASL_USERNAME: "meshtune",
        KAFKA_SASL_PASSWORD: "s3cret",
      },
      (p) => `PEM of ${p}`,
    );
    expect(sec).toEqual({
      ssl: { rejectUnauthorized: true, ca: ["PEM of /etc/kafka/ca.pem"] },
      sasl: { mechanism: "scram-sha-512", username: "meshtune", password: "s3cret" },
    });
  });

  it("a wrong value names the variable", () => {
    expect(() => kafkaSecurityFromEnv({ KAFKA_SSL: "yes please" })).toThrow(/KAFKA_SSL must be true or false/);
    expect(() => kafkaSecurityFromEnv({ KAFKA_SASL_MECHANISM: "gssapi" })).toThrow(
      /KAFKA_SASL_MECHANISM must be one of/,
    );
    expect(() => kafkaSecurityFromEnv({ KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_USERNAME: "u" })).toThrow(
      /needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/,
    );
  });

  it("TLS on is really TLS: the plaintext broker cannot be reached with it", async () => {
    const brokers = await requireKafka();
    const saved = process.env.KAFKA_SSL;
    process.env.KAFKA_SSL = "true";
    try {
      const r = await pingKafka(brokers, 3_000);
      expect(r.ok).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.KAFKA_SSL;
      else process.env.KAFKA_SSL = saved;
    }
    expect((await pingKafka(brokers, 5_000)).ok).toBe(true);
  }, 30_000);
});

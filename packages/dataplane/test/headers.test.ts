import { describe, expect, it } from "vitest";
import { responseHeaderList, scanRequestFields, withFields } from "../src/proxy/headers.js";

describe("scanRequestFields (one pass over rawHeaders)", () => {
  it("builds the upstream list without hop-by-hop fields and reads host, body and the warm-up token", () => {
    const f = scanRequestFields(
      [
        "Host",
        "api.example",
        "X-Trace",
        "1",
        "Connection",
        "keep-alive, X-Hop",
        "X-Hop",
        "secret",
        "Keep-Alive",
        "timeout=5",
        "Content-Length",
        "12",
        "x-meshtune-warmup",
        "tok",
        "Host",
        "second.example",
      ],
      "x-meshtune-warmup",
    );
    expect(f.list).toEqual([
      "host",
      "api.example",
      "x-trace",
      "1",
      "content-length",
      "12",
      "x-meshtune-warmup",
      "tok",
      "host",
      "second.example",
    ]);
    expect(f.host).toBe("api.example");
    expect(f.hasBody).toBe(true);
    expect(f.warm).toBe("tok");
  });

  it("sees a body in Transfer-Encoding, none in Content-Length 0 or no field, and reads no token unless asked", () => {
    expect(scanRequestFields(["Transfer-Encoding", "chunked"]).hasBody).toBe(true);
    expect(scanRequestFields(["content-length", "0"]).hasBody).toBe(false);
    const plain = scanRequestFields(["host", "h", "x-meshtune-warmup", "tok"]);
    expect(plain.hasBody).toBe(false);
    expect(plain.warm).toBeUndefined();
    // Transfer-Encoding is hop-by-hop: undici frames the body itself.
    expect(scanRequestFields(["Transfer-Encoding", "chunked"]).list).toEqual([]);
  });

  it("withFields replaces the client's trace context with the proxy's own", () => {
    const list = scanRequestFields(["host", "h", "traceparent", "client"]).list;
    expect(withFields(list, { traceparent: "proxy" })).toEqual(["host", "h", "traceparent", "proxy"]);
  });

  it("drops a field the Connection header lists even when it comes first, in responses too", () => {
    const raw = [
      "X-Hop",
      "1",
      "Content-Type",
      "text/plain",
      "Connection",
      "X-Hop, keep-alive",
      "Keep-Alive",
      "timeout=5",
    ];
    expect(responseHeaderList(raw.map((x) => Buffer.from(x, "latin1")))).toEqual(["content-type", "text/plain"]);
    expect(scanRequestFields(raw).list).toEqual(["content-type", "text/plain"]);
    // The common case lists no field and costs no second pass.
    expect(
      responseHeaderList([Buffer.from("Connection"), Buffer.from("close"), Buffer.from("Date"), Buffer.from("x")]),
    ).toEqual(["date", "x"]);
  });
});

import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import { performance } from "node:perf_hooks";
import { SIM_API_VERSION, type SimConfigInput, type SimEndpoint } from "@meshtune/contracts";
import { testCerts } from "../src/certs.js";

type EndpointInput = Partial<Omit<SimEndpoint, "faults">> & {
  name: string;
  faults?: SimConfigInput["endpoints"][number]["faults"];
};

/** A simulator config on loopback with free ports and the control API on a free port. */
export function simConfig(endpoints: EndpointInput[]): SimConfigInput {
  return { apiVersion: SIM_API_VERSION, kind: "SimConfig", control: { host: "127.0.0.1", port: 0 }, endpoints };
}

export interface GetResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  ms: number;
}

export interface GetOptions {
  /** false (the default) opens a fresh connection. */
  agent?: http.Agent | false;
  timeoutMs?: number;
  headers?: Record<string, string>;
  method?: string;
  body?: string;
}

/** One HTTP/1.1 request (https trusts the test CA); rejects on socket errors and timeouts. */
export function get(url: string, opts: GetOptions = {}): Promise<GetResult> {
  const t0 = performance.now();
  const isHttps = url.startsWith("https:");
  return new Promise((resolve, reject) => {
    const req = (isHttps ? https : http).request(url, {
      method: opts.method ?? "GET",
      agent: opts.agent ?? false,
      headers: opts.headers,
      ...(isHttps ? { ca: testCerts.caPem } : {}),
    });
    const timer = setTimeout(() => {
      const e = Object.assign(new Error(`client timeout after ${opts.timeoutMs} ms`), { code: "CLIENT_TIMEOUT" });
      req.destroy(e);
    }, opts.timeoutMs ?? 5000);
    req.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      res.on("aborted", () => {
        clearTimeout(timer);
        reject(Object.assign(new Error("response aborted"), { code: "ECONNRESET" }));
      });
      res.on("end", () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          ms: performance.now() - t0,
        });
      });
    });
    req.end(opts.body);
  });
}

export interface H2Result extends GetResult {
  alpn: string | false | undefined;
}

/** One request on a fresh HTTP/2 session (h2c for http:, h2 over TLS for https:). */
export function h2get(url: string, timeoutMs = 5000): Promise<H2Result> {
  const t0 = performance.now();
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const session = http2.connect(u.origin, { ca: testCerts.caPem });
    const fail = (e: Error) => {
      clearTimeout(timer);
      session.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(new Error("client timeout")), timeoutMs);
    session.on("error", fail);
    const stream = session.request({ ":path": `${u.pathname}${u.search}` });
    let headers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      headers = h;
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", fail);
    stream.on("end", () => {
      clearTimeout(timer);
      const alpn = session.alpnProtocol;
      session.close();
      resolve({
        status: Number(headers[":status"]),
        headers: headers as http.IncomingHttpHeaders,
        body: Buffer.concat(chunks),
        ms: performance.now() - t0,
        alpn,
      });
    });
    stream.end();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` every 10 ms for up to `ms` (bounded). */
export async function waitFor(cond: () => boolean, ms = 2000): Promise<boolean> {
  for (let i = 0; i < Math.ceil(ms / 10); i++) {
    if (cond()) return true;
    await sleep(10);
  }
  return cond();
}

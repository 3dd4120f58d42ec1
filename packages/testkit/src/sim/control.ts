/**
 * The simulator's control API (node:http): lets the demo, benchmarks and operators change
 * faults while traffic flows. Bodies are JSON; invalid input answers 400 with `path: reason`
 * issues, the same shape the config loaders print (issue #3).
 */

import http from "node:http";
import type net from "node:net";
import { type ConfigIssue, FaultsPatchSchema, issuesOf } from "@meshtune/contracts";
import type { EndpointServer } from "./endpoint.js";

const MAX_BODY_BYTES = 64 * 1024;

export interface ControlServer {
  readonly url: string;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function badRequest(res: http.ServerResponse, error: string, issues: ConfigIssue[]): void {
  send(res, 400, { error, issues });
}

function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export async function startControlServer(
  endpoints: ReadonlyMap<string, EndpointServer>,
  host: string,
  port: number,
): Promise<ControlServer> {
  const sockets = new Set<net.Socket>();
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://control.invalid");
    const parts = url.pathname.split("/").filter((p) => p !== "");
    const method = req.method ?? "GET";
    if (parts.length === 1 && parts[0] === "health" && method === "GET") return send(res, 200, { status: "ok" });
    if (parts.length === 1 && parts[0] === "endpoints" && method === "GET") {
      return send(
        res,
        200,
        [...endpoints.values()].map((e) => e.status()),
      );
    }
    if (parts.length === 1 && parts[0] === "reset-stats" && method === "POST") {
      for (const e of endpoints.values()) e.resetStats();
      return send(res, 200, { reset: [...endpoints.keys()] });
    }
    if (parts[0] === "endpoints" && parts.length >= 2) {
      const name = decodeURIComponent(parts[1] ?? "");
      const ep = endpoints.get(name);
      if (ep === undefined) return send(res, 404, { error: `no endpoint named ${JSON.stringify(name)}` });
      if (parts.length === 2 && method === "GET") return send(res, 200, ep.status());
      if (parts.length === 3 && parts[2] === "faults" && method === "GET") return send(res, 200, ep.faults);
      if (parts.length === 3 && parts[2] === "faults" && (method === "PATCH" || method === "POST")) {
        const text = await readBody(req);
        if (text === undefined)
          return badRequest(res, "body too large", [{ path: "(root)", message: `over ${MAX_BODY_BYTES} bytes` }]);
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch (err) {
          return badRequest(res, "invalid JSON", [{ path: "(root)", message: (err as Error).message }]);
        }
        const parsed = FaultsPatchSchema.safeParse(json);
        if (!parsed.success) return badRequest(res, "invalid faults patch", issuesOf(parsed.error));
        const faults = await ep.setFaults(parsed.data);
        return send(res, 200, { name, faults });
      }
      if (parts.length === 3 && parts[2] === "reset-stats" && method === "POST") {
        ep.resetStats();
        return send(res, 200, { name, stats: ep.stats() });
      }
    }
    send(res, 404, { error: `no route ${method} ${url.pathname}` });
  };
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { error: (err as Error).message ?? String(err) });
      else res.destroy();
    });
  });
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as net.AddressInfo;
  const h = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${h}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

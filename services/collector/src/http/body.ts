/**
 * Reads an export request body within bounds: at most `maxBytes` on the wire (413 beyond, the
 * read stops at once) and at most `maxDecompressedBytes` after gunzip (zlib's maxOutputLength,
 * so a gzip bomb stops at the limit instead of filling memory).
 */
import type { IncomingMessage } from "node:http";
import { promisify } from "node:util";
import zlib from "node:zlib";

const gunzip = promisify(zlib.gunzip);

export type BodyResult =
  | { ok: true; body: Buffer }
  | { ok: false; status: 400 | 413 | 415; reason: string; message: string };

export interface BodyLimits {
  maxBytes: number;
  maxDecompressedBytes: number;
}

export async function readBody(req: IncomingMessage, limits: BodyLimits): Promise<BodyResult> {
  const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase().trim();
  if (encoding !== "gzip" && encoding !== "identity")
    return {
      ok: false,
      status: 415,
      reason: "unsupported_encoding",
      message: `unsupported Content-Encoding '${encoding}'`,
    };
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limits.maxBytes)
    return tooLarge(`body of ${declared} bytes exceeds the limit of ${limits.maxBytes}`);
  const raw = await collect(req, limits.maxBytes);
  if (!raw) return tooLarge(`body exceeds the limit of ${limits.maxBytes} bytes`);
  if (encoding === "identity") return { ok: true, body: raw };
  try {
    return { ok: true, body: await gunzip(raw, { maxOutputLength: limits.maxDecompressedBytes }) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE")
      return tooLarge(`decompressed body exceeds the limit of ${limits.maxDecompressedBytes} bytes`);
    return { ok: false, status: 400, reason: "bad_gzip", message: `invalid gzip body: ${(err as Error).message}` };
  }
}

function tooLarge(message: string): BodyResult {
  return { ok: false, status: 413, reason: "too_large", message };
}

/** The whole body, or undefined once it passes `max` (the rest is not read). */
function collect(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.off("data", onData);
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(c);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks, size)));
    req.once("error", reject);
    req.once("aborted", () => reject(new Error("request aborted")));
  });
}

/**
 * The committed test PKI (see certs/README.md): a self-signed CA and a server certificate for
 * localhost, 127.0.0.1 and ::1 signed by it. Proxies under test trust `caPem` / `caFile`.
 * Test-only material: the keys are public in the repository.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

// src/ and dist/ are both one level below the package root, so this resolves from either.
const dir = fileURLToPath(new URL("../certs/", import.meta.url));

export interface TestCerts {
  /** Absolute directory holding the PEM files. */
  readonly dir: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

const pemCache = new Map<string, string>();
function pem(file: string): string {
  let text = pemCache.get(file);
  if (text === undefined) {
    text = readFileSync(file, "utf8");
    pemCache.set(file, text);
  }
  return text;
}

/** Paths are fixed; PEM text is read on first access. */
export const testCerts: TestCerts = {
  dir,
  caFile: `${dir}ca.pem`,
  certFile: `${dir}server.pem`,
  keyFile: `${dir}server-key.pem`,
  get caPem() {
    return pem(this.caFile);
  },
  get certPem() {
    return pem(this.certFile);
  },
  get keyPem() {
    return pem(this.keyFile);
  },
};

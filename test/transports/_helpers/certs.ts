// Test TLS material: a throwaway CA and a localhost/127.0.0.1 server certificate made with the
// `openssl` CLI in a temp dir at test time (nothing secret is checked in).

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** PEM strings: the CA certificate to trust, and the server's certificate and key. */
export interface TestCerts {
  ca: string;
  cert: string;
  key: string;
}

let cached: TestCerts | undefined;

/**
 * Generates (once per process) a CA and a server certificate for `localhost` and `127.0.0.1`.
 *
 * @example
 * ```ts
 * const { ca, cert, key } = testCerts();
 * ```
 */
export function testCerts(): TestCerts {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), "kvwire-certs-"));
  try {
    const file = (name: string): string => join(dir, name);
    const openssl = (...args: string[]): void => {
      execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
    };
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
      "req",
      "-x509",
      ...ec,
      "-days",
      "2",
      "-subj",
      "/CN=kvwire test CA",
      "-keyout",
      file("ca-key.pem"),
      "-out",
      file("ca.pem"),
    );
    openssl(
      "req",
      ...ec,
      "-subj",
      "/CN=localhost",
      "-keyout",
      file("key.pem"),
      "-out",
      file("csr.pem"),
    );
    writeFileSync(
      file("ext.cnf"),
      [
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "basicConstraints=CA:FALSE",
        "keyUsage=digitalSignature",
        "extendedKeyUsage=serverAuth",
      ].join("\n") + "\n",
    );
    openssl(
      "x509",
      "-req",
      "-in",
      file("csr.pem"),
      "-CA",
      file("ca.pem"),
      "-CAkey",
      file("ca-key.pem"),
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      file("ext.cnf"),
      "-out",
      file("cert.pem"),
    );
    cached = {
      ca: readFileSync(file("ca.pem"), "utf8"),
      cert: readFileSync(file("cert.pem"), "utf8"),
      key: readFileSync(file("key.pem"), "utf8"),
    };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

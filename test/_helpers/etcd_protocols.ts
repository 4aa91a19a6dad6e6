// The two wire protocols of EtcdClient for test files that run their tests on both: native
// gRPC (the default) and the JSON gateway. `eachProtocol` registers one test per protocol.
import { test } from "node:test";
import { EtcdClient } from "../../src/etcd/client.ts";
import type { EtcdClientOptions } from "../../src/etcd/client_options.ts";

/** The protocols, gRPC first. */
export const ETCD_PROTOCOLS = ["grpc", "gateway"] as const;

/** One of {@link ETCD_PROTOCOLS}. */
export type EtcdProtocol = (typeof ETCD_PROTOCOLS)[number];

let running: EtcdProtocol = "grpc";

/**
 * The protocol of the test of {@link eachProtocol} running now, for a file's own helpers (the
 * clients they make speak it).
 *
 * @example
 * ```ts
 * const client = (): EtcdClient => new EtcdClient({ protocol: runningProtocol() });
 * eachProtocol("etcd: get", async () => void await client().get("k"));
 * ```
 */
export function runningProtocol(): EtcdProtocol {
  return running;
}

/**
 * Registers `body` once per protocol, titled `<title> [grpc]` and `<title> [gateway]`.
 *
 * @example
 * ```ts
 * eachProtocol("etcd: put then get", async (protocol) => {
 *   await using etcd = new EtcdClient({ protocol });
 *   await etcd.put("k", "v");
 * });
 * ```
 */
export function eachProtocol(
  title: string,
  body: (protocol: EtcdProtocol) => Promise<void> | void,
  options: { timeout?: number } = {},
): void {
  for (const protocol of ETCD_PROTOCOLS) {
    test(`${title} [${protocol}]`, options, () => {
      running = protocol;
      return body(protocol);
    });
  }
}

/** What a test of {@link perProtocol} runs with. */
export interface ProtocolRun {
  protocol: EtcdProtocol;
  /** The file's client for this protocol. */
  etcd: EtcdClient;
  /** A key prefix of this protocol's own (`<base><protocol>/`). */
  p: string;
}

/**
 * One client per protocol on `endpoint` (or endpoints; with `options`, if given); `each` registers
 * a test per protocol, calling `enter` with that protocol's run first (a file sets its `etcd` and
 * `p` from it).
 *
 * @example
 * ```ts
 * let etcd: EtcdClient;
 * const runs = perProtocol("127.0.0.1:2379", "t/", (r) => ({ etcd } = r));
 * runs.each("etcd: get", async () => void await etcd.get("k"));
 * after(() => runs.close());
 * ```
 */
export function perProtocol(
  endpoint: string | string[],
  base: string,
  enter: (run: ProtocolRun) => void,
  options: Omit<EtcdClientOptions, "endpoints" | "protocol"> = {},
): {
  each: (title: string, body: () => Promise<void>, options?: { timeout?: number }) => void;
  close: () => Promise<void>;
} {
  const endpoints = typeof endpoint === "string" ? [endpoint] : endpoint;
  const clients = {
    grpc: new EtcdClient({ ...options, endpoints, protocol: "grpc" }),
    gateway: new EtcdClient({ ...options, endpoints, protocol: "gateway" }),
  };
  return {
    each: (title, body, options) =>
      eachProtocol(title, async (protocol) => {
        enter({ protocol, etcd: clients[protocol], p: `${base}${protocol}/` });
        await body();
      }, options),
    close: async () => {
      await Promise.all(Object.values(clients).map((c) => c.close()));
    },
  };
}

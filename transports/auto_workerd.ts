// transports/auto.ts for Cloudflare Workers bundles: the same exports, but the only connector
// is `cloudflare:sockets`, so nothing reachable from a Worker imports node:net or node:tls.
// The npm package maps it in through the "workerd" export condition (see tsup.config.ts).
// Workers have no DNS resolver API: `srvResolver` answers with a clear error.

import type { ResolveSrv } from "../src/core/srv.ts";
import type { Address, Connect, ConnectOptions, Transport } from "./types.ts";

export type { ResolveSrv, SrvRecord } from "../src/core/srv.ts";

export type {
  Address,
  Connect,
  ConnectOptions,
  TlsOptions,
  Transport,
  TransportInfo,
} from "./types.ts";

/**
 * The runtimes kvwire tells apart (the same type as in transports/auto.ts).
 *
 * @example
 * ```ts
 * import { type RuntimeName, runtimeName } from "@kvwire/kvwire/transports/auto";
 * const name: RuntimeName = runtimeName();
 * ```
 */
export type RuntimeName = "deno" | "bun" | "node" | "workerd" | "unknown";

/**
 * Names the JavaScript runtime: `"workerd"` on Cloudflare Workers.
 *
 * @example
 * ```ts
 * import { runtimeName } from "@kvwire/kvwire/transports/auto";
 * console.log(runtimeName()); // "workerd"
 * ```
 */
export function runtimeName(): RuntimeName {
  const global = globalThis as unknown as { navigator?: { userAgent?: string } };
  return global.navigator?.userAgent === "Cloudflare-Workers" ? "workerd" : "unknown";
}

let native: Promise<Connect> | undefined;

/**
 * Connects with `connectCloudflare` (`cloudflare:sockets`). Remember that on Workers a socket
 * belongs to the request that opened it.
 *
 * @example
 * ```ts
 * import { connect } from "@kvwire/kvwire/transports/auto";
 * const t = await connect({ host: "203.0.113.7", port: 6379 });
 * console.log(t.info.kind); // "cloudflare"
 * t.close();
 * ```
 */
export const connect: Connect = async (
  address: Address,
  options?: ConnectOptions,
): Promise<Transport> => {
  native ??= import("./cloudflare.ts").then((module) => module.connectCloudflare);
  let connector: Connect;
  try {
    connector = await native;
  } catch (error) {
    native = undefined;
    throw error;
  }
  return connector(address, options);
};

/**
 * Workers cannot query DNS records: the resolver rejects with a `TypeError` saying to pass
 * `endpoints`, or a `resolveSrv` of your own (DNS over HTTPS, for instance).
 *
 * @example
 * ```ts
 * import { srvResolver } from "@kvwire/kvwire/transports/auto";
 * await srvResolver()("_etcd-client._tcp.example.com").catch((e) => console.log(e.message));
 * ```
 */
export function srvResolver(_options?: unknown): ResolveSrv {
  return (name) =>
    Promise.reject(
      new TypeError(
        `Cannot look up the DNS SRV record ${name} on Cloudflare Workers (no DNS API): pass ` +
          "endpoints, or a resolveSrv of your own (DNS over HTTPS, for instance)",
      ),
    );
}

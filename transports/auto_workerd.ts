// transports/auto.ts for Cloudflare Workers bundles: the same exports, but the only connector
// is `cloudflare:sockets`, so nothing reachable from a Worker imports node:net or node:tls.
// The npm package maps it in through the "workerd" export condition (see tsup.config.ts).

import type { Address, Connect, ConnectOptions, Transport } from "./types.ts";

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

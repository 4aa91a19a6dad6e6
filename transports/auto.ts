// Picks the native transport of the running runtime (DESIGN.md §4): Deno, Bun, Workers (workerd),
// else Node. Each connector is loaded with a dynamic import, only when first used. Bundles for
// Workers use transports/auto_workerd.ts instead (package.json "workerd" condition), so that
// they never reach node:net or node:tls through the Node branch below. The SRV resolver is
// picked the same way (transports/dns.ts).

import { denoSrvResolver, nodeSrvResolver, type SrvResolverOptions } from "./dns.ts";
import type { ResolveSrv } from "../src/core/srv.ts";
import type { Address, Connect, ConnectOptions, Transport } from "./types.ts";

export type { ResolveSrv, SrvRecord, SrvResolverOptions } from "./dns.ts";

export type {
  Address,
  Connect,
  ConnectOptions,
  TlsOptions,
  Transport,
  TransportInfo,
} from "./types.ts";

/**
 * The runtimes kvwire tells apart.
 *
 * @example
 * ```ts
 * import { type RuntimeName, runtimeName } from "@kvwire/kvwire/transports/auto";
 * const name: RuntimeName = runtimeName();
 * ```
 */
export type RuntimeName = "deno" | "bun" | "node" | "workerd" | "unknown";

/**
 * Names the JavaScript runtime this code runs on.
 *
 * @example
 * ```ts
 * import { runtimeName } from "@kvwire/kvwire/transports/auto";
 * console.log(runtimeName()); // "deno", "bun", "node", "workerd" or "unknown"
 * ```
 */
export function runtimeName(): RuntimeName {
  const global = globalThis as unknown as {
    Deno?: { version?: { deno?: string } };
    Bun?: { version?: string };
    navigator?: { userAgent?: string };
    process?: { versions?: { node?: string } };
  };
  if (global.Deno?.version?.deno) return "deno";
  if (global.Bun?.version) return "bun";
  if (global.navigator?.userAgent === "Cloudflare-Workers") return "workerd";
  if (global.process?.versions?.node) return "node";
  return "unknown";
}

let native: Promise<Connect> | undefined;

function loadNative(): Promise<Connect> {
  switch (runtimeName()) {
    case "deno":
      return import("./deno.ts").then((module) => module.connectDeno);
    case "bun":
      return import("./bun.ts").then((module) => module.connectBun);
    case "workerd":
      return import("./cloudflare.ts").then((module) => module.connectCloudflare);
    default:
      return import("./node.ts").then((module) => module.connectNode);
  }
}

/**
 * Connects with the runtime's own transport: `connectDeno` on Deno, `connectBun` on Bun,
 * `connectCloudflare` on Cloudflare Workers (`cloudflare:sockets`), `connectNode` elsewhere.
 *
 * @example
 * ```ts
 * import { connect } from "@kvwire/kvwire/transports/auto";
 * const t = await connect({ host: "127.0.0.1", port: 6379 });
 * console.log(t.info.kind); // "deno", "bun", "cloudflare" or "node"
 * t.close();
 * ```
 */
export const connect: Connect = async (
  address: Address,
  options?: ConnectOptions,
): Promise<Transport> => {
  native ??= loadNative();
  let connector: Connect;
  try {
    connector = await native;
  } catch (error) {
    native = undefined; // let a later call try again
    throw error;
  }
  return connector(address, options);
};

let systemResolver: ResolveSrv | undefined;

/**
 * The running runtime's SRV resolver: `Deno.resolveDns` on Deno, `node:dns` on Node and Bun;
 * the system's name servers unless `nameServer` says otherwise.
 *
 * @example
 * ```ts
 * import { srvResolver } from "@kvwire/kvwire/transports/auto";
 * const records = await srvResolver()("_etcd-client._tcp.example.com");
 * const local = srvResolver({ nameServer: { host: "127.0.0.1", port: 5353 } });
 * ```
 */
export function srvResolver(options?: SrvResolverOptions): ResolveSrv {
  if (!options?.nameServer && systemResolver) return systemResolver;
  const resolver = runtimeName() === "deno" ? denoSrvResolver(options) : nodeSrvResolver(options);
  if (!options?.nameServer) systemResolver = resolver;
  return resolver;
}

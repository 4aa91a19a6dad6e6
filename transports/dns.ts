// SRV resolvers of the runtimes (the `ResolveSrv` seam of src/core/srv.ts): `node:dns` on Node
// and Bun, `Deno.resolveDns` on Deno. A name that does not exist or has no SRV record resolves
// to `[]`; any other failure rejects. transports/auto.ts picks one per runtime.

import type { ResolveSrv, SrvRecord } from "../src/core/srv.ts";

export type { ResolveSrv, SrvRecord } from "../src/core/srv.ts";

/** Which name server to ask instead of the system's. */
export interface SrvResolverOptions {
  /** The name server's address and port (default 53). */
  nameServer?: { host: string; port?: number };
}

/**
 * An SRV resolver over `node:dns/promises` (Node, Bun, and Deno's Node layer).
 *
 * @example
 * ```ts
 * // Reached through srvResolver of "@kvwire/kvwire/transports/auto" on Node and Bun.
 * const resolveSrv = nodeSrvResolver({ nameServer: { host: "127.0.0.1", port: 5353 } });
 * const records = await resolveSrv("_etcd-client._tcp.example.com");
 * ```
 */
export function nodeSrvResolver(options: SrvResolverOptions = {}): ResolveSrv {
  const dns = import("node:dns/promises").then(({ Resolver }) => {
    const resolver = new Resolver();
    const server = options.nameServer;
    if (server) {
      const host = server.host.includes(":") ? `[${server.host}]` : server.host;
      resolver.setServers([`${host}:${server.port ?? 53}`]);
    }
    return resolver;
  });
  return async (name) => {
    try {
      const records = await (await dns).resolveSrv(name);
      return records.map(({ name, port, priority, weight }) => ({ name, port, priority, weight }));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ENOTFOUND" || code === "ENODATA") return [];
      throw error;
    }
  };
}

/** The slice of the `Deno` namespace used here. */
interface DenoDns {
  resolveDns(
    query: string,
    type: "SRV",
    options?: { nameServer?: { ipAddr: string; port?: number } },
  ): Promise<{ priority: number; weight: number; port: number; target: string }[]>;
  errors: { NotFound: new (...args: never[]) => Error };
}

/**
 * An SRV resolver over `Deno.resolveDns`.
 *
 * @example
 * ```ts
 * // Reached through srvResolver of "@kvwire/kvwire/transports/auto" on Deno.
 * const resolveSrv = denoSrvResolver({ nameServer: { host: "127.0.0.1", port: 5353 } });
 * const records = await resolveSrv("_etcd-client._tcp.example.com");
 * ```
 */
export function denoSrvResolver(options: SrvResolverOptions = {}): ResolveSrv {
  const deno = (globalThis as unknown as { Deno?: DenoDns }).Deno;
  if (!deno) throw new TypeError("denoSrvResolver needs the Deno runtime; use nodeSrvResolver");
  const server = options.nameServer;
  const lookup = server ? { nameServer: { ipAddr: server.host, port: server.port ?? 53 } } : {};
  return async (name): Promise<SrvRecord[]> => {
    try {
      const records = await deno.resolveDns(name, "SRV", lookup);
      return records.map(({ target, port, priority, weight }) => ({
        name: target.endsWith(".") ? target.slice(0, -1) : target,
        port,
        priority,
        weight,
      }));
    } catch (error) {
      if (error instanceof deno.errors.NotFound) return [];
      throw error;
    }
  };
}

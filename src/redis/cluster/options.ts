// Options of the Redis Cluster client: seed nodes, address translation (natMap), retry and
// refresh settings, on top of every per-connection option of the plain client.

import type { RedisClientOptions } from "../client_options.ts";

/** A node address: `"host:port"` or `{ host, port }`. */
export type ClusterNodeAddress = string | { host: string; port: number };

/** Everything a {@link RedisClusterClient} can be told. */
export interface RedisClusterOptions
  extends Omit<RedisClientOptions, "url" | "host" | "port" | "path" | "db"> {
  /** Seed nodes asked for the slot map (any subset of the cluster). */
  nodes: readonly ClusterNodeAddress[];
  /**
   * Announced address (`"host:port"`) → address to connect to, for clusters behind NAT, in
   * containers or reached through a tunnel. Addresses not listed are used as announced.
   */
  natMap?: Readonly<Record<string, ClusterNodeAddress>>;
  /** MOVED/ASK redirections followed per command before giving up. Default 16. */
  maxRedirections?: number;
  /**
   * How long a command without its own deadline keeps retrying through TRYAGAIN,
   * CLUSTERDOWN, a lost node or a slot no master serves, in ms. Default 5,000. A command with
   * a deadline (`commandTimeout`, `with({ timeout })`) retries until that deadline instead.
   */
  retryTimeout?: number;
  /** Milliseconds between periodic slot map refreshes; 0 turns them off. Default 10,000. */
  refreshInterval?: number;
  /**
   * Where read-only commands go: `"master"` (default); `"replica"`: a random replica of the
   * slot's shard (its master when the map lists none); `"preferReplica"`: like `"replica"`, but
   * a read that lost its replica connection is retried on the master. Replica connections send
   * `READONLY`; replica reads may lag behind the master (asynchronous replication).
   */
  readFrom?: ReadFrom;
}

/** Where a cluster client sends read-only commands; see {@link RedisClusterOptions.readFrom}. */
export type ReadFrom = "master" | "replica" | "preferReplica";

/** The values of {@link ReadFrom}. */
export const READ_FROM = ["master", "replica", "preferReplica"] as const;

/**
 * Parses `"host:port"` (IPv6 in brackets) or passes an object through, checking the port.
 *
 * @example
 * ```ts
 * import { parseNodeAddress } from "@kvwire/kvwire/redis";
 * parseNodeAddress("10.0.0.1:7000"); // { host: "10.0.0.1", port: 7000 }
 * ```
 */
export function parseNodeAddress(address: ClusterNodeAddress): { host: string; port: number } {
  const parsed = typeof address === "string" ? splitHostPort(address) : address;
  const { host, port } = parsed ?? { host: "", port: NaN };
  if (
    typeof host !== "string" || host === "" || !(Number.isInteger(port) && port > 0 && port < 65536)
  ) {
    throw new TypeError(
      `Invalid cluster node address ${JSON.stringify(address)}: expected "host:port"`,
    );
  }
  return { host, port };
}

function splitHostPort(text: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text.trim());
  return match ? { host: match[1] ?? match[2], port: Number(match[3]) } : undefined;
}

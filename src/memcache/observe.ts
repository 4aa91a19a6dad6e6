// What an operator sees of a memcache client: its events (each server's connection events plus
// serverDown/serverUp), each server's stats with its dead flag, and the start of an operation.

import type {
  ClientStats,
  ConnectionEvents,
  ConnectionStats,
  EndpointAddress,
} from "../core/observe.ts";
import type { Instrumenter, Operation } from "../core/instrument.ts";
import type { ServerSpec } from "./client_options.ts";

/**
 * The events of a {@link MemcacheClient}: the connection events of every server (`address` is
 * the server's `host:port` or socket path), and the pool's view of each server.
 *
 * @example
 * ```ts
 * import { MemcacheClient } from "@kvwire/kvwire/memcache";
 * const mc = new MemcacheClient({ servers: ["10.0.0.1:11211", "10.0.0.2:11211"] });
 * mc.on("serverDown", (e) => console.warn(e.address, "down, retried in", e.retryIn, "ms"));
 * mc.on("serverUp", (e) => console.info(e.address, "is back"));
 * ```
 */
export interface MemcacheEvents extends ConnectionEvents {
  /**
   * A server was marked dead (a connect, its check or its connection failed): its requests fail
   * at once, or fail over, for `retryIn` ms (`deadRetry`). Emitted once per outage.
   */
  serverDown: { address: EndpointAddress; error: Error; retryIn: number };
  /** A server marked dead connected and passed its check again. */
  serverUp: { address: EndpointAddress };
}

/** One server of a memcache pool in `stats()`: its connection's counters and its dead flag. */
export interface MemcacheMemberStats extends ConnectionStats {
  /** True while the pool leaves the server alone after a failure (`deadRetry`). */
  dead: boolean;
}

/** A memcache client's `stats()`: one member per server. */
export interface MemcacheClientStats extends ClientStats {
  /** Each server, in the order given. */
  members: MemcacheMemberStats[];
}

/**
 * Starts an operation when a hook listens, else returns undefined having built nothing. With
 * `servers` (the servers the request goes to), a single server is named in the operation; a
 * batch spread over several names none.
 *
 * @example
 * ```ts
 * import { Instrumenter } from "@kvwire/kvwire";
 * import { beginMemcacheOperation } from "@kvwire/kvwire/memcache";
 * const op = beginMemcacheOperation(new Instrumenter(), "get"); // undefined: no hook
 * ```
 */
export function beginMemcacheOperation(
  instrumenter: Instrumenter,
  operation: string,
  servers?: readonly ServerSpec[],
  batchSize?: number,
): Operation | undefined {
  if (!instrumenter.enabled) return undefined;
  const only = servers?.length === 1 ? servers[0] : undefined;
  return instrumenter.start({
    protocol: "memcache",
    operation,
    serverAddress: only?.host,
    serverPort: only && only.port > 0 ? only.port : undefined,
    batchSize,
  });
}

/** Moves an operation to another server (a failover): the server named, one redirection more. */
export function redirectOperation(op: Operation, to: ServerSpec): void {
  op.serverAddress = to.host;
  op.serverPort = to.port > 0 ? to.port : undefined;
  op.redirections++;
}

/**
 * Ends `op` when `work` settles and passes the outcome on; `work` itself without an operation.
 *
 * @example
 * ```ts
 * import { Instrumenter } from "@kvwire/kvwire";
 * import { trackMemcacheOperation } from "@kvwire/kvwire/memcache";
 * await trackMemcacheOperation(new Instrumenter(), undefined, Promise.resolve(1)); // 1
 * ```
 */
export function trackMemcacheOperation<T>(
  instrumenter: Instrumenter,
  op: Operation | undefined,
  work: Promise<T>,
): Promise<T> {
  if (op === undefined) return work;
  return work.then((value) => {
    instrumenter.end(op);
    return value;
  }, (error) => {
    instrumenter.end(op, error);
    throw error;
  });
}

// What the Redis clients show an operator: their event maps (the connection events plus master
// switches, cluster topology, redirections and resubscriptions) and the helpers that describe
// a command as an instrumentation Operation (never a key, value or credential).

import type { Instrumenter, Operation, OperationStart } from "../core/instrument.ts";
import type { Observability } from "../core/observability.ts";
import type { EventHub } from "../core/events.ts";
import type { ConnectionEvents, EndpointAddress } from "../core/observe.ts";

/**
 * The events of a {@link RedisClient} (and its pool, subscribers and sentinel subscription).
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * const redis = await RedisClient.connect({ port: 6379 });
 * redis.on("reconnecting", (e) => console.warn(e.address, "attempt", e.attempt, "in", e.delay));
 * redis.on("resubscribe", (e) => console.warn("pub/sub gap on", e.address));
 * await redis.close();
 * ```
 */
export interface RedisEvents extends ConnectionEvents {
  /**
   * A subscriber's connection was replaced and its subscriptions are being restored (messages
   * may have been lost meanwhile). Counts only: channel names never appear in events.
   */
  resubscribe: {
    address: EndpointAddress;
    channels: number;
    patterns: number;
    shardChannels: number;
  };
  /**
   * The sentinels moved the master of `masterName` from `from` (unset when unknown) to `to`,
   * as seen by a `+switch-master` message or by a discovery that found another master.
   */
  switchMaster: { masterName: string; from?: EndpointAddress; to: EndpointAddress };
}

/**
 * The events of a {@link RedisClusterClient}: those of {@link RedisEvents} for each node, plus
 * the slot map's changes.
 *
 * @example
 * ```ts
 * import { RedisClusterClient } from "@kvwire/kvwire/redis";
 * const cluster = await RedisClusterClient.connect({ nodes: ["127.0.0.1:7000"] });
 * cluster.on("topology", (e) => console.info(e.reason, e.nodes.length, "masters"));
 * cluster.on("failover", (e) => console.warn(e.from, "->", e.to));
 * await cluster.close();
 * ```
 */
export interface RedisClusterEvents extends RedisEvents {
  /**
   * A slot map refresh found a map unlike the one before (the first map included): `nodes`
   * are its masters; `reason` is what started the refresh.
   */
  topology: { nodes: EndpointAddress[]; reason: RefreshReason };
  /** A command was redirected (logged at debug): `from` answered MOVED/ASK naming `to`. */
  redirect: { kind: "MOVED" | "ASK"; slot: number; from: EndpointAddress; to: EndpointAddress };
  /**
   * A master of the previous map is no master in the new one (lost, demoted or failed) and
   * its slots moved to `to`; `slots` counts them.
   */
  failover: { from: EndpointAddress; to: EndpointAddress; slots: number };
}

/**
 * Why the cluster slot map was loaded: the first load (`connect`), a MOVED reply, a lost node
 * connection, CLUSTERDOWN or a slot nobody served (`retry`), the periodic timer, or a call of
 * `refreshSlots()` (`manual`).
 */
export type RefreshReason = "connect" | "moved" | "disconnect" | "retry" | "periodic" | "manual";

/**
 * The hub and instrumenter a Redis client and all its connections share (one hub type for the
 * plain and the cluster client; a plain client's `on()` offers the {@link RedisEvents}).
 */
export type RedisObservability = Observability<RedisClusterEvents>;

/**
 * The hub as a connection sees it (it emits only the connection events).
 *
 * @example
 * ```ts
 * import { connectionEvents, observability } from "@kvwire/kvwire/redis";
 * connectionEvents(observability({}, "redis"));
 * ```
 */
export function connectionEvents(
  observed: RedisObservability | undefined,
): EventHub<ConnectionEvents> | undefined {
  return observed?.events as EventHub<ConnectionEvents> | undefined;
}

/**
 * `serverAddress`/`serverPort` of an endpoint named `host:port` (IPv6 hosts without brackets),
 * a Unix socket path, or nothing for a label that names no endpoint yet.
 *
 * @example
 * ```ts
 * import { serverOf } from "@kvwire/kvwire/redis";
 * serverOf("127.0.0.1:6379"); // { serverAddress: "127.0.0.1", serverPort: 6379 }
 * ```
 */
export function serverOf(address: string): Pick<OperationStart, "serverAddress" | "serverPort"> {
  const match = /^\[?([^\s\]]+?)\]?:(\d+)$/.exec(address);
  if (match) return { serverAddress: match[1], serverPort: Number(match[2]) };
  return address.startsWith("/") ? { serverAddress: address } : {};
}

/**
 * Starts the Operation of one Redis command (or `PIPELINE`/`MULTI` with `batchSize`) sent to
 * `address`; undefined when nobody instruments.
 *
 * @example
 * ```ts
 * import { Instrumenter, startRedisOperation } from "@kvwire/kvwire/redis";
 * const op = startRedisOperation(new Instrumenter({}), "GET", "127.0.0.1:6379", "0");
 * ```
 */
export function startRedisOperation(
  instrumenter: Instrumenter,
  operation: string,
  address: string | undefined,
  namespace: string | undefined,
  batchSize?: number,
  kind?: "stream",
): Operation | undefined {
  const info: OperationStart = { protocol: "redis", operation };
  if (kind !== undefined) info.kind = kind;
  if (address !== undefined) Object.assign(info, serverOf(address));
  if (namespace !== undefined) info.namespace = namespace;
  if (batchSize !== undefined) info.batchSize = batchSize;
  return instrumenter.start(info);
}

/**
 * Makes a pending call's settlers end `op` first (the instrumented path only: the plain path
 * keeps its closure-free settlers).
 *
 * @example
 * ```ts
 * import { Instrumenter, ShapedReply, asValue, endWithSettlement, startRedisOperation } from "@kvwire/kvwire/redis";
 * const inst = new Instrumenter({ onEnd: (op) => console.log(op.operation) });
 * const call = new ShapedReply(asValue<string>, { decode: true });
 * const value = call.promise();
 * endWithSettlement(call, inst, startRedisOperation(inst, "GET", undefined, undefined));
 * call.reply("v"); // logs "GET"
 * ```
 */
export function endWithSettlement<T>(
  call: { resolve: (value: T) => void; reject: (error: Error) => void },
  instrumenter: Instrumenter,
  op: Operation | undefined,
  at?: Endpoint,
): void {
  if (op === undefined) return;
  const { resolve, reject } = call;
  call.resolve = (value) => {
    endRedisOperation(instrumenter, op, at);
    resolve(value);
  };
  call.reject = (error) => {
    endRedisOperation(instrumenter, op, at, error);
    reject(error);
  };
}

/** Where an operation went, known once it settles (a located connection moves). */
export interface Endpoint {
  /** `host:port`, the socket path, or a label naming no endpoint yet. */
  readonly address: string;
}

/**
 * Ends `op` (when there is one), naming the endpoint `at` reached by then.
 *
 * @example
 * ```ts
 * import { Instrumenter, endRedisOperation, startRedisOperation } from "@kvwire/kvwire/redis";
 * const inst = new Instrumenter({ onEnd: (op) => console.log(op.serverPort) });
 * endRedisOperation(inst, startRedisOperation(inst, "PING", undefined, "0"), { address: "h:1" });
 * ```
 */
export function endRedisOperation(
  instrumenter: Instrumenter,
  op: Operation | undefined,
  at?: Endpoint,
  error?: unknown,
): void {
  if (op === undefined) return;
  if (at !== undefined && op.endTime === undefined) retarget(op, at);
  instrumenter.end(op, error);
}

/**
 * Points `op` at the endpoint `at` names now, when it names one (a stream's connection, once
 * located).
 *
 * @example
 * ```ts
 * import { Instrumenter, retarget, startRedisOperation } from "@kvwire/kvwire/redis";
 * const op = startRedisOperation(new Instrumenter({}), "SUBSCRIBE", undefined, undefined);
 * if (op) retarget(op, { address: "127.0.0.1:6379" }); // op.serverPort === 6379
 * ```
 */
export function retarget(op: Operation, at: Endpoint): void {
  const where = serverOf(at.address);
  if (where.serverAddress === undefined) return;
  op.serverAddress = where.serverAddress;
  op.serverPort = where.serverPort;
}

/**
 * Ends `op` (when there is one) once `promise` settles; returns `promise`.
 *
 * @example
 * ```ts
 * import { Instrumenter, endWhenSettled, startRedisOperation } from "@kvwire/kvwire/redis";
 * const inst = new Instrumenter({ onEnd: (op) => console.log(op.operation, op.duration) });
 * await endWhenSettled(inst, startRedisOperation(inst, "BLPOP", undefined, "0"), Promise.resolve());
 * ```
 */
export function endWhenSettled<T>(
  instrumenter: Instrumenter,
  op: Operation | undefined,
  promise: Promise<T>,
  at?: Endpoint,
): Promise<T> {
  if (op !== undefined) {
    promise.then(
      () => endRedisOperation(instrumenter, op, at),
      (error) => endRedisOperation(instrumenter, op, at, error),
    );
  }
  return promise;
}

/**
 * The database index as the Operation's `namespace`: always set, `"0"` by default, so that
 * every operation of a plain client names its database.
 */
export function dbNamespace(db: number | undefined): string {
  return String(db ?? 0);
}

// Transactions over a cluster: MULTI/EXEC bound to the master of its one slot, and WATCH
// transactions on a dedicated connection of it. A refusal proving nothing ran (MOVED, ASK,
// TRYAGAIN or CLUSTERDOWN of WATCH or of a queued command) runs it again, within its deadline.

import type { ReplyHandler, RequestOptions } from "../../core/driver.ts";
import type { Instrumenter, Operation } from "../../core/instrument.ts";
import type { ManagedRequestOptions } from "../../core/managed_connection.ts";
import { endRedisOperation, startRedisOperation } from "../observe.ts";
import type { RedisClient } from "../client.ts";
import { commandName } from "../command_info.ts";
import type { RedisKey } from "../commands/base.ts";
import type { ReplyContext } from "../commands/transforms.ts";
import type { KeyPrefix } from "../key_prefix.ts";
import type { RedisCommand } from "../connection.ts";
import { RedisError } from "../errors.ts";
import { Transaction } from "../pipeline.ts";
import type { RedisArg } from "../resp_encoder.ts";
import type { RespValue } from "../resp_types.ts";
import { commandKeys, CROSS_SLOT, NO_KEYS, slotOfKeys } from "../command_keys.ts";
import { redirectTarget, retryDelay } from "./routed_request.ts";
import type { ClusterNode, ClusterTopology } from "./topology.ts";

/** Cluster mode has database 0 only. */
export const CLUSTER_NAMESPACE = "0";

/** Refusals after which a transaction is run again: the slot moved or is on its way. */
const REFUSALS = new Set(["MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN"]);

/**
 * The server's refusal of a transaction that did not run: of WATCH (or a read of the WATCH
 * callback), or of a queued command, which EXEC's EXECABORT carries as its cause.
 *
 * @example
 * ```ts
 * import { RedisError, refusalOf } from "@kvwire/kvwire/redis";
 * refusalOf(new RedisError("MOVED 42 127.0.0.1:7001"))?.serverCode; // "MOVED"
 * ```
 */
export function refusalOf(error: unknown): RedisError | undefined {
  if (!(error instanceof RedisError)) return undefined;
  const refusal = error.serverCode === "EXECABORT" ? error.cause : error;
  return refusal instanceof RedisError && REFUSALS.has(refusal.serverCode) ? refusal : undefined;
}

/**
 * Runs `attempt` (with what is left of `timeout`, in ms) until it is not refused: after a
 * MOVED the map is updated and it runs again at once (up to `maxRedirections` times), after
 * ASK, TRYAGAIN or CLUSTERDOWN the map is refreshed and it runs again after a backoff, until
 * the deadline (`timeout`, else `retryTimeout`). `from()` is the node the last attempt used.
 * Any other failure, a fate unknown among them, is thrown as is.
 *
 * @example
 * ```ts
 * import { ClusterTopology, runUnrefused } from "@kvwire/kvwire/redis";
 * const topology = new ClusterTopology({ nodes: ["127.0.0.1:7000"] });
 * await runUnrefused(topology, 500, () => Promise.resolve(1), () => undefined); // 1
 * ```
 */
export async function runUnrefused<T>(
  topology: ClusterTopology,
  timeout: number | undefined,
  attempt: (left: number | undefined) => Promise<T>,
  from: () => ClusterNode | undefined,
): Promise<T> {
  const giveUpAt = performance.now() + (timeout ?? topology.retryTimeout);
  let redirects = 0;
  for (let retries = 0;;) {
    const left = giveUpAt - performance.now();
    try {
      return await attempt(timeout === undefined ? undefined : Math.max(left, 1));
    } catch (error) {
      const refusal = refusalOf(error);
      if (!refusal) throw error;
      const at = from()?.key;
      if (refusal.serverCode === "MOVED") {
        const moved = redirectTarget(refusal.message, at);
        if (!moved || ++redirects > topology.maxRedirections) throw error;
        topology.watch.redirected("MOVED", moved.slot, at ?? "", moved.target);
        topology.moved(moved.slot, moved.target);
        continue;
      }
      const delay = retryDelay(retries++);
      if (performance.now() + delay >= giveUpAt) throw error;
      topology.refreshSoon("retry");
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * An optimistic WATCH transaction (see `RedisClient.transaction`) on a dedicated connection of
 * the master serving `slot`, run again wherever the map says after a refusal (`fn` too).
 *
 * @example
 * ```ts
 * import { ClusterTopology, keySlot, watchTransaction } from "@kvwire/kvwire/redis";
 * const topology = new ClusterTopology({ nodes: ["127.0.0.1:7000"], decode: true });
 * await topology.refresh();
 * await watchTransaction(topology, {}, keySlot("n"), async (conn) => {
 *   const n = Number(await conn.get("n"));
 *   return conn.multi().set("n", `${n + 1}`);
 * }, ["n"]);
 * ```
 */
export function watchTransaction<V>(
  topology: ClusterTopology,
  options: RequestOptions,
  slot: number,
  fn: (conn: RedisClient<V>) => Promise<Transaction<V>>,
  watch: readonly RedisKey[],
): Promise<unknown[]> {
  let node: ClusterNode | undefined;
  return runUnrefused(topology, options.timeout, (left) => {
    node = topology.masterOf(slot);
    if (!node) throw new RangeError(`No master serves slot ${slot} yet`);
    const view = left === undefined ? options : { ...options, timeout: left };
    const client = topology.dedicated(node).with(view) as unknown as RedisClient<V>;
    return client.transaction(fn, ...watch);
  }, () => node);
}

/** What a {@link PinnedTarget} needs of the cluster client. */
export interface PinnedShared {
  topology: ClusterTopology;
  context: ReplyContext;
  observed: { instrumenter: Instrumenter };
  /** The `keyPrefix` option (pipelines and transactions apply it as they queue). */
  prefix: KeyPrefix | undefined;
}

/**
 * Sends a transaction's commands to the one master of its slot, unrouted and unrepeated.
 *
 * @example
 * ```ts
 * import { RedisClusterClient } from "@kvwire/kvwire/redis";
 * await using cluster = await RedisClusterClient.connect({ nodes: ["127.0.0.1:7000"] });
 * await cluster.multi().incr("{a}1").incr("{a}2").exec(); // on a PinnedTarget
 * ```
 */
export class PinnedTarget {
  #node: ClusterNode | undefined;
  /** A target using the client's topology, reply shaping and hooks with `requestOptions`. */
  constructor(readonly shared: PinnedShared, readonly requestOptions: RequestOptions) {}

  /** The master the transaction is bound to, once pinned. */
  get node(): ClusterNode | undefined {
    return this.#node;
  }

  /** Reply shaping settings. */
  get context(): ReplyContext {
    return this.shared.context;
  }

  /** The client's `keyPrefix`, which the transaction applies as it queues. */
  get keyPrefix(): KeyPrefix | undefined {
    return this.shared.prefix;
  }

  /** Binds the target to the master of `slot` ({@link NO_KEYS}: any master). */
  pin(slot: number): void {
    const topology = this.shared.topology;
    this.#node = slot === NO_KEYS ? topology.anyMaster() : topology.masterOf(slot);
    if (!this.#node) throw new RangeError(`No master serves slot ${slot} yet`);
  }

  /** Sends one command to the pinned master. */
  request(args: readonly RedisArg[], options: ManagedRequestOptions = {}): Promise<RespValue> {
    this.shared.topology.cache?.noteSent(args);
    return this.#node!.conn.request(args as RedisCommand, options, String(args[0]));
  }

  /** Starts the transaction's Operation; undefined when uninstrumented. */
  startOperation(operation: string, batchSize: number): Operation | undefined {
    const instrumenter = this.shared.observed.instrumenter;
    if (!instrumenter.enabled) return undefined;
    return startRedisOperation(
      instrumenter,
      commandName(operation),
      this.#node?.conn.address,
      CLUSTER_NAMESPACE,
      batchSize,
    );
  }

  /** Ends what {@link startOperation} started. */
  endOperation(op: Operation | undefined, error?: unknown): void {
    endRedisOperation(this.shared.observed.instrumenter, op, undefined, error);
  }

  /** Callback form of {@link request}. */
  sendCommand(
    command: RedisCommand,
    options: ManagedRequestOptions,
    handler: ReplyHandler<RespValue>,
  ): void {
    this.shared.topology.cache?.noteSent(command);
    this.#node!.conn.send(command, options, String(command[0]), handler);
  }
}

/**
 * A transaction whose keys must share a slot; it runs on that slot's master. When the slot
 * moved (or is moving), the server refuses the queued commands and EXEC answers EXECABORT, so
 * nothing ran: it is sent again where the map then says ({@link runUnrefused}).
 *
 * @example
 * ```ts
 * import { RedisClusterClient } from "@kvwire/kvwire/redis";
 * await using cluster = await RedisClusterClient.connect({ nodes: ["127.0.0.1:7000"] });
 * await cluster.multi().incr("{user1}:a").incr("{user1}:b").exec(); // a SlotTransaction
 * ```
 */
export class SlotTransaction<V> extends Transaction<V> {
  /** Runs the queued commands on the slot's master; see the class. */
  override exec(): Promise<unknown[]> {
    const slot = slotOfKeys(this.queued.flatMap((q) => commandKeys(q.command)));
    if (slot === CROSS_SLOT) return Promise.reject(crossSlotError("MULTI"));
    const target = this.target as PinnedTarget;
    const commands = [...this.queued];
    return runUnrefused(target.shared.topology, target.requestOptions.timeout, () => {
      target.pin(slot);
      this.queued = [...commands];
      return super.exec();
    }, () => target.node);
  }
}

/**
 * The error of a command whose keys map to different slots.
 *
 * @example
 * ```ts
 * import { crossSlotError } from "@kvwire/kvwire/redis";
 * throw crossSlotError("SINTER");
 * ```
 */
export function crossSlotError(name: string): RangeError {
  return new RangeError(
    `${name}: the keys map to different cluster slots; keep them in one slot with a {hash tag}`,
  );
}

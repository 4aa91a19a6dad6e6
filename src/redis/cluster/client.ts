// RedisClusterClient: the typed Redis commands over a Redis Cluster, routed by key slot to one
// auto-pipelined connection per master; pipelines split per node, slot-bound transactions.
// Spec: https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/

import type { ReplyHandler, RequestOptions } from "../../core/driver.ts";
import type { ManagedRequestOptions } from "../../core/managed_connection.ts";
import type { Operation } from "../../core/instrument.ts";
import type { CacheStats } from "../client_cache.ts";
import { observability } from "../../core/observability.ts";
import { type ClientStats, summarizeStats } from "../../core/observe.ts";
import {
  endRedisOperation,
  endWhenSettled,
  endWithSettlement,
  type RedisClusterEvents,
  type RedisObservability,
  startRedisOperation,
  SubscriberSet,
} from "../observe.ts";
import type { CallOptions, RedisClient } from "../client.ts";
import { ShapedReply } from "../shaped_reply.ts";
import type { ResolvedRedisOptions } from "../client_options.ts";
import { commandInfo, commandName } from "../command_info.ts";
import type { Out, RedisKey } from "../commands/base.ts";
import type { ScanOptions } from "../commands/keys.ts";
import { RedisCommands } from "../commands/mod.ts";
import { type KeyPrefix, keyPrefixOf } from "../key_prefix.ts";
import type { ReplyContext, Transform } from "../commands/transforms.ts";
import type { RedisCommand } from "../connection.ts";
import { Pipeline, Transaction } from "../pipeline.ts";
import { PubSub, type PubSubOptions } from "../pubsub.ts";
import type { RedisArg } from "../resp_encoder.ts";
import type { RespValue } from "../resp_types.ts";
import { iterateCursor } from "../scan.ts";
import { Script } from "../script.ts";
import { CROSS_SLOT, slotOfKeys } from "../command_keys.ts";
import type { RedisClusterOptions } from "./options.ts";
import { dispatchBySlot, sendBlockingRouted } from "./dispatch.ts";
import { ShardPubSub } from "./shard_pubsub.ts";
import {
  CLUSTER_NAMESPACE,
  crossSlotError,
  PinnedTarget,
  SlotTransaction,
  watchTransaction,
} from "./slot_transaction.ts";
import { type ClusterNode, ClusterTopology } from "./topology.ts";

/** What the views of one cluster client share. */
interface Shared {
  topology: ClusterTopology;
  context: ReplyContext;
  /** The hub and hooks of the client and every node connection. */
  observed: RedisObservability;
  /** Subscribers made by `pubsub()` and `shardPubsub()`, until closed. */
  subscribers: SubscriberSet;
  /** The `keyPrefix` option: applied before routing, so slots are those of prefixed keys. */
  prefix: KeyPrefix | undefined;
}

/**
 * A Redis Cluster client with the same typed commands as {@link RedisClient}. Each command goes
 * to the master of its key's slot (keyless commands to any master); MOVED, ASK, TRYAGAIN and
 * CLUSTERDOWN are handled, and the slot map follows the cluster. MGET, MSET, DEL, UNLINK,
 * EXISTS and TOUCH whose keys span slots are split per slot (not atomic across slots); other
 * multi-key commands must keep their keys in one slot (use a `{hash tag}`) or are refused
 * with a `RangeError` before anything is sent. Other keyless commands go to one master
 * (SCRIPT, FLUSHALL and FLUSHDB to every master); `perMaster()` reaches each one.
 *
 * @example
 * ```ts
 * import { RedisClusterClient } from "@kvwire/kvwire/redis";
 * await using cluster = await RedisClusterClient.connect({
 *   nodes: ["127.0.0.1:7000", "127.0.0.1:7001"],
 *   decode: true,
 * });
 * await cluster.set("{user1}:name", "Ada");
 * const [name, visits] = await cluster.pipeline().get("{user1}:name").incr("visits").exec();
 * ```
 */
export class RedisClusterClient<V = Uint8Array> extends RedisCommands<V, "promise"> {
  readonly #shared: Shared;
  readonly #requestOptions: RequestOptions;
  /** Set on per-node views (scanIter): commands go to this node, unrouted. */
  readonly #pinned: ClusterNode | undefined;

  /** Connects: loads the slot map from the first seed node that answers. */
  static connect(
    options: RedisClusterOptions & { decode: true },
  ): Promise<RedisClusterClient<string>>;
  /** Connects: loads the slot map from the first seed node that answers. */
  static connect(options: RedisClusterOptions): Promise<RedisClusterClient<Uint8Array>>;
  static async connect(
    options: RedisClusterOptions,
  ): Promise<RedisClusterClient<string> | RedisClusterClient<Uint8Array>> {
    const client = new RedisClusterClient<Uint8Array>(options);
    try {
      await client.#shared.topology.refresh("connect");
    } catch (error) {
      client.destroy();
      throw error;
    }
    return client;
  }

  /** Creates a client that loads the slot map on its first command. Prefer `connect`. */
  constructor(
    options: RedisClusterOptions,
    view?: { shared: Shared; call: CallOptions; pinned?: ClusterNode },
  ) {
    super();
    if (view) {
      this.#shared = view.shared;
      this.#requestOptions = view.call;
      this.#pinned = view.pinned;
      return;
    }
    const observed = observability<RedisClusterEvents>(options, "redis cluster");
    const topology = new ClusterTopology({ ...options, observed });
    this.#shared = {
      topology,
      context: { decode: topology.decode },
      observed,
      subscribers: new SubscriberSet(),
      prefix: keyPrefixOf(options.keyPrefix),
    };
    this.#requestOptions = { timeout: options.commandTimeout };
    this.#pinned = undefined;
  }

  /**
   * A view of this client whose commands use other per-call options (deadline, abort signal).
   *
   * @example
   * ```ts
   * import { RedisClusterClient } from "@kvwire/kvwire/redis";
   * await using cluster = await RedisClusterClient.connect({ nodes: ["127.0.0.1:7000"] });
   * await cluster.with({ timeout: 100 }).get("k");
   * ```
   */
  with(options: CallOptions): RedisClusterClient<V> {
    return new RedisClusterClient<V>({ nodes: [] }, {
      shared: this.#shared,
      call: { ...this.#requestOptions, ...options },
      pinned: this.#pinned,
    });
  }

  /** The options of every master's connection, in slot map order (passwords redacted). */
  get masters(): ResolvedRedisOptions[] {
    return this.#shared.topology.masters().map((n) => n.options);
  }

  /**
   * One view per master of the current map: its commands go to that master only, unrouted
   * (for per-node commands such as DBSIZE, INFO, KEYS or CONFIG).
   *
   * @example
   * ```ts
   * import { RedisClusterClient } from "@kvwire/kvwire/redis";
   * await using cluster = await RedisClusterClient.connect({ nodes: ["127.0.0.1:7000"] });
   * const sizes = await Promise.all(cluster.perMaster().map((m) => m.dbSize()));
   * ```
   */
  perMaster(): RedisClusterClient<V>[] {
    return this.#shared.topology.masters().map((node) =>
      new RedisClusterClient<V>({ nodes: [] }, {
        shared: this.#shared,
        call: this.#requestOptions,
        pinned: node,
      })
    );
  }

  /** Loads the slot map again now (concurrent calls share one refresh). */
  refreshSlots(): Promise<void> {
    return this.#shared.topology.refresh();
  }

  /**
   * Listens to the cluster client's events: each node connection's (and subscribers' and
   * dedicated connections'), slot map changes, redirections and failovers (see
   * {@link RedisClusterEvents}); returns the function that stops listening.
   *
   * @example
   * ```ts
   * import { RedisClusterClient } from "@kvwire/kvwire/redis";
   * await using cluster = await RedisClusterClient.connect({ nodes: ["127.0.0.1:7000"] });
   * const stop = cluster.on("failover", (e) => console.warn(e.from, "->", e.to, e.slots));
   * stop();
   * ```
   */
  on<Name extends keyof RedisClusterEvents & string>(
    name: Name,
    listener: (event: RedisClusterEvents[Name]) => void,
  ): () => void {
    return this.#shared.observed.events.on(name, listener);
  }

  /**
   * A snapshot of every connection: one per node, the dedicated ones (blocking commands,
   * WATCH) and the subscribers', with their totals.
   *
   * @example
   * ```ts
   * import { RedisClusterClient } from "@kvwire/kvwire/redis";
   * await using cluster = await RedisClusterClient.connect({ nodes: ["127.0.0.1:7000"] });
   * console.log(cluster.stats().members.map((m) => `${m.address} ${m.state}`));
   * ```
   */
  stats(): ClientStats {
    const { topology, subscribers } = this.#shared;
    return summarizeStats([...topology.members(), ...subscribers.stats()], topology.closed);
  }

  /**
   * The counters of the client-side cache (`clientSideCache`) every node feeds, or undefined
   * without one.
   *
   * @example
   * ```ts
   * import { RedisClusterClient } from "@kvwire/kvwire/redis";
   * await using cluster = await RedisClusterClient.connect({
   *   nodes: ["127.0.0.1:7000"],
   *   clientSideCache: { maxEntries: 1000 },
   * });
   * await cluster.get("k");
   * console.log(cluster.cacheStats()?.misses); // 1
   * ```
   */
  cacheStats(): CacheStats | undefined {
    return this.#shared.topology.cache?.stats();
  }

  /** Starts the Operation of a pipeline (`PIPELINE`) or command; undefined when uninstrumented. */
  startOperation(operation: RedisArg, batchSize?: number): Operation | undefined {
    const instrumenter = this.#shared.observed.instrumenter;
    if (!instrumenter.enabled) return undefined;
    const at = this.#pinned?.conn.address;
    return startRedisOperation(
      instrumenter,
      commandName(operation),
      at,
      CLUSTER_NAMESPACE,
      batchSize,
    );
  }

  /** Ends what {@link startOperation} started. */
  endOperation(op: Operation | undefined, error?: unknown): void {
    endRedisOperation(this.#shared.observed.instrumenter, op, undefined, error);
  }

  /** Routes one typed command. */
  protected call<T>(args: RedisArg[], transform: Transform<T>): Out<"promise", T, this> {
    const prefixed = this.#shared.prefix?.tryApply(args) ?? args;
    if (prefixed instanceof Error) return Promise.reject(prefixed);
    args = prefixed;
    const call = new ShapedReply<T>(transform, this.#shared.context);
    const promise = call.promise();
    let op: Operation | undefined;
    if (this.#shared.observed.instrumenter.enabled) {
      op = this.startOperation(args[0]);
      endWithSettlement(call, this.#shared.observed.instrumenter, op);
    }
    const cache = this.#shared.topology.cache;
    const options = this.#requestOptions;
    if (!cache || options.signal?.aborted) this.#dispatch(args, options, call, op);
    else if (this.#pinned) {
      cache.noteSent(args); // a per-node view: its writes count, its reads are not cached
      this.#dispatch(args, options, call, op);
    } else cache.route(args, call, (command, h) => this.#dispatch(command, options, h, op));
    return promise;
  }

  /**
   * Blocking commands run on a dedicated connection of the slot's master (its pool); a MOVED
   * (the command did not run) updates the map and sends it to the new owner, an ASK (a slot
   * being migrated) sends ASKING then the command on a dedicated connection of the target.
   */
  protected override callBlocking<T>(
    args: RedisArg[],
    transform: Transform<T>,
    serverTimeoutSeconds: number,
  ): Out<"promise", T, this> {
    const { topology, prefix } = this.#shared;
    return sendBlockingRouted(
      topology,
      prefix,
      this.#requestOptions,
      args,
      transform,
      serverTimeoutSeconds,
    );
  }

  /** Sends one raw command, routed, and resolves with its raw reply. */
  request(
    args: readonly RedisArg[],
    options: ManagedRequestOptions = this.#requestOptions,
  ): Promise<RespValue> {
    const prefixed = this.#shared.prefix?.tryApply(args) ?? args;
    if (prefixed instanceof Error) return Promise.reject(prefixed);
    const op = this.startOperation(args[0]);
    this.#shared.topology.cache?.noteSent(args);
    const reply = new Promise<RespValue>((resolve, reject) =>
      this.#dispatch(prefixed, options, { reply: resolve, fail: reject }, op)
    );
    return endWhenSettled(this.#shared.observed.instrumenter, op, reply);
  }

  /** Callback form of {@link request}, used by pipelines (which prefix keys as they queue). */
  sendCommand(
    command: RedisCommand,
    options: ManagedRequestOptions,
    handler: ReplyHandler<RespValue>,
  ): void {
    this.#shared.topology.cache?.noteSent(command);
    this.#dispatch(command, options, handler);
  }

  /** Reply shaping settings. */
  get context(): ReplyContext {
    return this.#shared.context;
  }

  /** The per-call options commands of this view use. */
  get requestOptions(): RequestOptions {
    return this.#requestOptions;
  }

  /** The `keyPrefix` option, as pipelines apply it. */
  get keyPrefix(): KeyPrefix | undefined {
    return this.#shared.prefix;
  }

  #dispatch(
    command: RedisCommand,
    options: ManagedRequestOptions,
    handler: ReplyHandler<RespValue>,
    op?: Operation,
  ): void {
    const name = commandInfo(command[0], command[1]).name;
    if (this.#pinned) this.#pinned.conn.send(command, options, name, handler);
    else dispatchBySlot(this.#shared.topology, command, options, name, handler, op);
  }

  /** An explicit pipeline: its commands go to their nodes, results come back in order. */
  pipeline(options?: { transaction?: false }): Pipeline<V>;
  /** `pipeline({ transaction: true })`: a slot-bound transaction, as {@link multi}. */
  pipeline(options: { transaction: true }): Transaction<V>;
  pipeline(options: { transaction?: boolean } = {}): Pipeline<V> {
    return options.transaction ? this.multi() : new Pipeline<V>(this);
  }

  /**
   * A MULTI/EXEC transaction: every key of its commands must map to one slot (a `{hash tag}`);
   * it runs on that slot's master. `exec()` rejects with a `RangeError` otherwise.
   */
  multi(): Transaction<V> {
    return new SlotTransaction<V>(new PinnedTarget(this.#shared, this.#requestOptions));
  }

  /**
   * An optimistic WATCH transaction (see {@link RedisClient.transaction}) on a dedicated
   * connection of the master serving the watched keys, which must share one slot. When the slot
   * moved, WATCH is refused with MOVED, or the queued commands are and EXEC aborts: nothing ran,
   * so the map is updated and the whole transaction (`fn` too) runs again at the new owner;
   * during a migration (ASK, TRYAGAIN) or CLUSTERDOWN, again after a backoff; all within the
   * view's deadline (`retryTimeout` without one).
   */
  transaction(
    fn: (conn: RedisClient<V>) => Promise<Transaction<V>>,
    ...watch: RedisKey[]
  ): Promise<unknown[]> {
    if (watch.length === 0) throw new TypeError("transaction() needs the keys to WATCH");
    // The slot of the keys as sent: the node's client puts the keyPrefix on them.
    const prefixed = this.#shared.prefix?.tryApply(["WATCH", ...watch]) ?? ["WATCH", ...watch];
    if (prefixed instanceof Error) return Promise.reject(prefixed);
    const slot = slotOfKeys(prefixed.slice(1));
    if (slot === CROSS_SLOT) return Promise.reject(crossSlotError("WATCH"));
    return watchTransaction(this.#shared.topology, this.#requestOptions, slot, fn, watch);
  }

  /** A Lua script run with EVALSHA on the node of its first key (EVAL on NOSCRIPT). */
  registerScript(source: string): Script {
    return new Script(this, source);
  }

  /**
   * A classic pub/sub subscriber on one master (messages are broadcast cluster-wide); after a
   * lost connection it reconnects to the next master of a fresh slot map.
   */
  pubsub(options: PubSubOptions = {}): PubSub<V> {
    const topology = this.#shared.topology;
    const node = topology.anyMaster();
    return this.#shared.subscribers.add(
      new PubSub<V>(
        { ...topology.subscriberOptions(node), locator: topology.masterRotation() },
        options,
      ),
    );
  }

  /**
   * A subscriber for sharded pub/sub (`ssubscribe`) over the whole cluster: each shard channel
   * is subscribed on the master of its slot, and follows the slot when a resharding moves it
   * (a `resubscribed` marker with `reason: "moved"` says so). Publish with `sPublish`, which is
   * routed by slot.
   *
   * @example
   * ```ts
   * import { RedisClusterClient } from "@kvwire/kvwire/redis";
   * await using cluster = await RedisClusterClient.connect({ nodes: ["127.0.0.1:7000"], decode: true });
   * await using sub = cluster.shardPubsub();
   * await sub.ssubscribe({ orders: (m) => console.log(m.data) });
   * await cluster.sPublish("orders", "o-1");
   * ```
   */
  shardPubsub(options: PubSubOptions = {}): ShardPubSub<V> {
    const subscribers = this.#shared.subscribers;
    return new ShardPubSub<V>(this.#shared.topology, options, (sub) => subscribers.add(sub));
  }

  /** Iterates every key of every master with SCAN, one master after the other. */
  async *scanIter(options: ScanOptions = {}): AsyncGenerator<V, void, undefined> {
    const topology = this.#shared.topology;
    if (!topology.map) await topology.refresh();
    for (const view of this.perMaster()) {
      yield* iterateCursor((cursor) => view.scan(cursor, options));
    }
  }

  /** Closes gracefully: waits for commands in flight. */
  async close(): Promise<void> {
    await this.#shared.topology.close();
  }

  /** Closes at once: pending commands fail with `ConnectionClosedError`. */
  destroy(): void {
    this.#shared.topology.destroy();
  }

  /** `await using cluster = await RedisClusterClient.connect(...)` closes it at scope end. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

// RedisClient: the user-facing Redis client. Typed commands over a self-healing connection,
// auto-pipelining (concurrent calls share one write), pipelines, transactions, per-call options.
// Its shared state lives in client_shared.ts, its dedicated-connection paths in client_dedicated.ts;
// what stays here (a little over 500 lines) is what needs the class's private state.

import type { ReplyHandler, RequestOptions } from "../core/driver.ts";
import { ConnectionClosedError, UnresponsiveError } from "../core/errors.ts";
import type { ManagedRequestOptions } from "../core/managed_connection.ts";
import type { Out, RedisKey } from "./commands/base.ts";
import { RedisCommands } from "./commands/mod.ts";
import type { ReplyContext, Transform } from "./commands/transforms.ts";
import type { RedisClientOptions, ResolvedRedisOptions } from "./client_options.ts";
import type { RedisCommand, RedisConnection } from "./connection.ts";
import { Pipeline, Transaction } from "./pipeline.ts";
import { Pool, type PooledConnection } from "./pool.ts";
import { PubSub, type PubSubOptions } from "./pubsub.ts";
import { Monitor, type MonitorOptions } from "./monitor.ts";
import { Script } from "./script.ts";
import { iterateCursor } from "./scan.ts";
import type { KeyPrefix } from "./key_prefix.ts";
import { Lock, type LockClient, type LockOptions } from "./lock.ts";
import type { ScanOptions } from "./commands/keys.ts";
import type { ScoredMember } from "./commands/sorted_sets.ts";
import type { CacheStats } from "./client_cache.ts";
import type { Operation } from "../core/instrument.ts";
import { type ClientStats, summarizeStats } from "../core/observe.ts";
import { commandName } from "./command_info.ts";
import {
  endRedisOperation,
  endWhenSettled,
  endWithSettlement,
  type RedisEvents,
  startRedisOperation,
} from "./observe.ts";
import type { RedisArg } from "./resp_encoder.ts";
import type { RespValue } from "./resp_types.ts";
import { ShapedReply } from "./shaped_reply.ts";
import {
  cachedSend,
  closeShared,
  createShared,
  destroyShared,
  openShared,
  type Shared,
} from "./client_shared.ts";
import { dedicatedOptions, runWatched, sendBlocking } from "./client_dedicated.ts";

/** Options for one view of a client: see {@link RedisClient.with}. */
export interface CallOptions {
  /** Deadline of each command in milliseconds (overrides `commandTimeout`). */
  timeout?: number;
  /** Aborts the commands sent through this view. */
  signal?: AbortSignal;
}

/**
 * A Redis client. Every command method returns a Promise; calls made in the same tick are
 * written together (auto-pipelining). Values are `Uint8Array` unless `decode: true`.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379", { decode: true });
 * await redis.set("foo", "bar");
 * console.log(await redis.get("foo")); // "bar"
 * const [a, b] = await Promise.all([redis.incr("n"), redis.incr("n")]); // one round trip
 * ```
 */
export class RedisClient<V = Uint8Array> extends RedisCommands<V, "promise"> {
  readonly #shared: Shared;
  readonly #requestOptions: RequestOptions;

  /** Connects and waits until the server answered (handshake and a PING). */
  static connect(
    url: string,
    options: RedisClientOptions & { decode: true },
  ): Promise<RedisClient<string>>;
  /** Connects and waits until the server answered (handshake and a PING). */
  static connect(options: RedisClientOptions & { decode: true }): Promise<RedisClient<string>>;
  /** Connects and waits until the server answered (handshake and a PING). */
  static connect(
    url?: string | RedisClientOptions,
    options?: RedisClientOptions,
  ): Promise<RedisClient<Uint8Array>>;
  static async connect(
    url?: string | RedisClientOptions,
    options: RedisClientOptions = {},
  ): Promise<RedisClient<string> | RedisClient<Uint8Array>> {
    const merged = typeof url === "string" ? { ...options, url } : { ...url };
    const client = new RedisClient<Uint8Array>(merged);
    await openShared(client.#shared);
    return client;
  }

  /** Creates a client that connects on its first command. Prefer `RedisClient.connect`. */
  constructor(
    options: RedisClientOptions | string = {},
    view?: { shared: Shared; call: CallOptions },
  ) {
    super();
    if (view) {
      this.#shared = view.shared;
      this.#requestOptions = { ...view.call };
      return;
    }
    this.#shared = createShared(options);
    this.#requestOptions = { timeout: this.#shared.options.commandTimeout };
  }

  /**
   * The counters of the client-side cache (`clientSideCache`), or undefined without one.
   *
   * @example
   * ```ts
   * import { RedisClient } from "@kvwire/kvwire/redis";
   * await using redis = await RedisClient.connect({ clientSideCache: { maxEntries: 1000 } });
   * await redis.get("k"); // a miss
   * await redis.get("k"); // a hit, unless k changed
   * console.log(redis.cacheStats()); // { hits: 1, misses: 1, ... }
   * ```
   */
  cacheStats(): CacheStats | undefined {
    return this.#shared.cache?.stats();
  }

  /** The resolved options (logging or serializing them shows the password as `[redacted]`). */
  get options(): ResolvedRedisOptions {
    return this.#shared.options;
  }

  /** The RESP version of the current connection (3, or 2 after a fallback), if connected. */
  get protocol(): 2 | 3 | undefined {
    const machine = this.#shared.conn.driver?.machine as RedisConnection | undefined;
    return machine?.protocol;
  }

  /**
   * A view of this client whose commands use other per-call options (a deadline, an abort
   * signal). It shares the connection.
   *
   * @example
   * ```ts
   * import { RedisClient } from "@kvwire/kvwire/redis";
   * await using redis = await RedisClient.connect();
   * await redis.with({ timeout: 50 }).get("k");
   * ```
   */
  with(options: CallOptions): RedisClient<V> {
    return new RedisClient<V>({}, {
      shared: this.#shared,
      call: { ...this.#requestOptions, ...options },
    });
  }

  /**
   * Listens to the events of every connection of this client (main, pool, subscribers,
   * sentinel subscription); returns the remover. See {@link RedisEvents} for an example.
   */
  on<Name extends keyof RedisEvents & string>(
    name: Name,
    listener: (event: RedisEvents[Name]) => void,
  ): () => void {
    return this.#shared.observed.events.on(name, listener);
  }

  /**
   * A snapshot of the connections (`members`: the main one, the RESP2 cache invalidation one,
   * then the pool's, the subscribers' and the sentinel subscription's), each with its state and counters, and their totals.
   */
  stats(): ClientStats {
    const shared = this.#shared;
    const members = [shared.conn.stats()];
    if (shared.channel) members.push(shared.channel.conn.stats());
    for (const pooled of (shared.pool?.members ?? []) as RedisClient<V>[]) {
      members.push(pooled.#shared.conn.stats());
    }
    members.push(...shared.subscribers.stats(), ...shared.options.locator?.members?.() ?? []);
    return summarizeStats(members, shared.conn.isClosed);
  }

  /** Starts the Operation of a command, `PIPELINE` or `MULTI`; undefined when uninstrumented. */
  startOperation(operation: RedisArg, batchSize?: number): Operation | undefined {
    const shared = this.#shared;
    const instrumenter = shared.observed.instrumenter;
    if (!instrumenter.enabled) return undefined;
    return startRedisOperation(
      instrumenter,
      commandName(operation),
      shared.conn.address,
      shared.namespace,
      batchSize,
    );
  }

  /** Ends what {@link startOperation} started, with the error it failed with. */
  endOperation(op: Operation | undefined, error?: unknown): void {
    endRedisOperation(this.#shared.observed.instrumenter, op, this.#shared.conn, error);
  }

  /** Sends one command on the shared connection; `transform` shapes the reply. */
  protected call<T>(args: RedisArg[], transform: Transform<T>): Out<"promise", T, this> {
    const shared = this.#shared;
    if (shared.prefix) {
      const prefixed = shared.prefix.tryApply(args);
      if (prefixed instanceof Error) return Promise.reject(prefixed);
      args = prefixed;
    }
    if (shared.observed.instrumenter.enabled) return this.#tracedCall(args, transform);
    const call = new ShapedReply<T>(transform, shared.context);
    const promise = call.promise();
    if (shared.cache) cachedSend(shared.conn, shared.cache, args, this.#requestOptions, call);
    else shared.conn.send(args, this.#requestOptions, String(args[0]), call);
    return promise;
  }

  /** {@link call} as one Operation (only when a hook is registered). */
  #tracedCall<T>(args: RedisArg[], transform: Transform<T>): Promise<T> {
    const shared = this.#shared;
    const call = new ShapedReply<T>(transform, shared.context);
    const promise = call.promise();
    const op = this.startOperation(args[0]);
    endWithSettlement(call, shared.observed.instrumenter, op, shared.conn);
    if (shared.cache) cachedSend(shared.conn, shared.cache, args, this.#requestOptions, call);
    else shared.conn.send(args, this.#requestOptions, String(args[0]), call);
    return promise;
  }

  /**
   * Blocking commands run on a pooled dedicated connection, so they never hold up the
   * commands pipelined on the shared one. The deadline is the server timeout plus a margin;
   * a blocking command that times out or is aborted takes its connection down with it, so
   * the server cannot hand it an element after we stopped waiting.
   */
  protected override callBlocking<T>(
    args: RedisArg[],
    transform: Transform<T>,
    serverTimeoutSeconds: number,
  ): Out<"promise", T, this> {
    return this.blockingCall(args, transform, serverTimeoutSeconds);
  }

  /**
   * {@link callBlocking}, with `prelude` (the cluster client's ASKING) sent first on the same
   * dedicated connection; its reply is not awaited (a refusal shows in the command's reply).
   *
   * @example
   * ```ts
   * import { asReply, RedisClient } from "@kvwire/kvwire/redis";
   * await using redis = await RedisClient.connect({ decode: true });
   * await redis.blockingCall(["BLPOP", "jobs", 1], asReply, 1, ["ASKING"]);
   * ```
   */
  blockingCall<T>(
    args: RedisArg[],
    transform: Transform<T>,
    serverTimeoutSeconds: number,
    prelude?: RedisArg[],
  ): Promise<T> {
    const shared = this.#shared;
    const prefixed = shared.prefix?.tryApply(args) ?? args;
    if (prefixed instanceof Error) return Promise.reject(prefixed);
    const op = this.startOperation(args[0]);
    return endWhenSettled(
      shared.observed.instrumenter,
      op,
      sendBlocking(
        this.pool,
        prefixed,
        transform,
        shared.context,
        serverTimeoutSeconds,
        this.#requestOptions,
        prelude,
      ),
    );
  }

  /**
   * A command whose success closes the connection (SHUTDOWN): the connection closing once the
   * command was written is its success; an error reply, a deadline or an abort still reject.
   */
  protected override callClosing<T>(
    args: RedisArg[],
    transform: Transform<T>,
    closed: T,
  ): Out<"promise", T, this> {
    return this.call(args, transform).catch((error: unknown) => {
      const peerClosed = error instanceof ConnectionClosedError && error.sent &&
        !(error instanceof UnresponsiveError) && !(error.cause instanceof UnresponsiveError);
      if (peerClosed) return closed;
      throw error;
    });
  }

  /** Iterates the `[field, value]` pairs of a hash with HSCAN. */
  hscanIter(
    key: RedisKey,
    options: Omit<ScanOptions, "type"> = {},
  ): AsyncGenerator<[V, V], void, undefined> {
    return iterateCursor((cursor) => this.hScan(key, cursor, options));
  }

  /** Iterates the members of a set with SSCAN. */
  sscanIter(
    key: RedisKey,
    options: Omit<ScanOptions, "type"> = {},
  ): AsyncGenerator<V, void, undefined> {
    return iterateCursor((cursor) => this.sScan(key, cursor, options));
  }

  /** Iterates the `[member, score]` pairs of a sorted set with ZSCAN. */
  zscanIter(
    key: RedisKey,
    options: Omit<ScanOptions, "type"> = {},
  ): AsyncGenerator<ScoredMember<V>, void, undefined> {
    return iterateCursor((cursor) => this.zScan(key, cursor, options));
  }

  /** Sends one raw command (keys prefixed) and returns the raw reply (pipelines, helpers). */
  request(
    args: readonly RedisArg[],
    options: ManagedRequestOptions = this.#requestOptions,
  ): Promise<RespValue> {
    const prefixed = this.#shared.prefix?.tryApply(args) ?? args;
    if (prefixed instanceof Error) return Promise.reject(prefixed);
    const op = this.startOperation(args[0]);
    this.#shared.cache?.noteSent(prefixed);
    const reply = this.#shared.conn.request(prefixed, options, String(args[0]));
    return op
      ? endWhenSettled(this.#shared.observed.instrumenter, op, reply, this.#shared.conn)
      : reply;
  }

  /**
   * Callback form of {@link request} for pipelines: `handler` learns the outcome. The command
   * goes as given: pipelines apply {@link keyPrefix} when they queue it.
   */
  sendCommand(
    command: RedisCommand,
    options: ManagedRequestOptions,
    handler: ReplyHandler<RespValue>,
  ): void {
    this.#shared.cache?.noteSent(command);
    this.#shared.conn.send(command, options, String(command[0]), handler);
  }

  /** Reply shaping settings of this client. */
  get context(): ReplyContext {
    return this.#shared.context;
  }

  /** The per-call options commands of this client use. */
  get requestOptions(): RequestOptions {
    return this.#requestOptions;
  }

  /** The `keyPrefix` option, as pipelines apply it; undefined when unset. */
  get keyPrefix(): KeyPrefix | undefined {
    return this.#shared.prefix;
  }

  /** An explicit pipeline: chain commands, then `exec()` sends them in one write. */
  pipeline(options?: { transaction?: false }): Pipeline<V>;
  /**
   * `pipeline({ transaction: true })`: a MULTI/EXEC transaction, as {@link multi} (redis-py's
   * `pipeline(transaction=True)`; here a plain pipeline stays the default).
   *
   * @example
   * ```ts
   * import { RedisClient } from "@kvwire/kvwire/redis";
   * await using redis = await RedisClient.connect();
   * const [a, b] = await redis.pipeline({ transaction: true }).incr("a").incr("b").exec();
   * ```
   */
  pipeline(options: { transaction: true }): Transaction<V>;
  pipeline(options: { transaction?: boolean } = {}): Pipeline<V> {
    return options.transaction ? this.multi() : new Pipeline<V>(this);
  }

  /** A MULTI/EXEC transaction: chain commands, then `exec()` runs them atomically. */
  multi(): Transaction<V> {
    return new Transaction<V>(this);
  }

  /**
   * A subscriber on its own connection.
   *
   * @example
   * ```ts
   * import { RedisClient } from "@kvwire/kvwire/redis";
   * await using redis = await RedisClient.connect({ decode: true });
   * await using pubsub = redis.pubsub();
   * await pubsub.subscribe({ news: (m) => console.log(m.data) });
   * ```
   */
  pubsub(options: PubSubOptions = {}): PubSub<V> {
    return this.#shared.subscribers.add(new PubSub<V>(this.#shared.options, options));
  }

  /**
   * MONITOR on a connection of its own: every command the server runs, as an async iterable
   * of parsed lines; resolves once the server confirmed MONITOR. See {@link Monitor}.
   *
   * @example
   * ```ts
   * import { RedisClient } from "@kvwire/kvwire/redis";
   * await using redis = await RedisClient.connect({ decode: true });
   * await using monitor = await redis.monitor();
   * for await (const { client, args } of monitor) console.log(client, args);
   * ```
   */
  async monitor(options: MonitorOptions = {}): Promise<Monitor<V>> {
    const monitor = this.#shared.subscribers.add(new Monitor<V>(this.#shared.options, options));
    try {
      return await monitor.open();
    } catch (error) {
      await monitor.close();
      throw error;
    }
  }

  /** A Lua script run with EVALSHA (EVAL on NOSCRIPT); see {@link Script}. */
  registerScript(source: string): Script {
    return new Script(this, source);
  }

  /** Iterates every key matching the options with SCAN, a page at a time. */
  scanIter(options: ScanOptions = {}): AsyncGenerator<V, void, undefined> {
    return iterateCursor((cursor) => this.scan(cursor, options));
  }

  /** A lock on `name`; see {@link Lock}. */
  lock(name: RedisKey, options: LockOptions = {}): Lock {
    return new Lock(this as unknown as LockClient, name, options);
  }

  /** The pool of dedicated connections (created on first use). */
  get pool(): Pool<RedisClient<V>> {
    const shared = this.#shared;
    const open = async (): Promise<RedisClient<V>> => {
      const dedicated = new RedisClient<V>(dedicatedOptions(shared.options));
      await dedicated.#shared.conn.open();
      return dedicated;
    };
    // One pool per connection; its value type is the client's, stored type-erased.
    shared.pool ??= new Pool(open, { maxSize: shared.options.poolSize ?? 10 }) as unknown as Pool<
      PooledConnection
    >;
    return shared.pool as unknown as Pool<RedisClient<V>>;
  }

  /**
   * Runs an optimistic transaction as redis-py's `transaction(func, *watches)`: on a
   * dedicated connection, WATCHes the keys, calls `fn` (which reads with the connection it is
   * given and returns `conn.multi()...`), executes the transaction, and starts over when a
   * watched key changed. Resolves with EXEC's results. This view's deadline and signal apply
   * to every step (WATCH, the reads `fn` makes with `conn`, the transaction).
   *
   * @example
   * ```ts
   * import { RedisClient } from "@kvwire/kvwire/redis";
   * await using redis = await RedisClient.connect({ decode: true });
   * await redis.transaction(async (conn) => {
   *   const current = Number(await conn.get("counter") ?? 0);
   *   return conn.multi().set("counter", current + 1);
   * }, "counter");
   * ```
   */
  transaction(
    fn: (conn: RedisClient<V>) => Promise<Transaction<V>>,
    ...watch: RedisKey[]
  ): Promise<unknown[]> {
    const options = this.#requestOptions;
    const { context, prefix } = this.#shared;
    return this.pool.use((pooled) => {
      // The pooled connection, with this view's deadline and signal on every step, and this
      // client's reply shaping and keyPrefix (a shared pool's connections may differ).
      const shared = { ...pooled.#shared, context, prefix };
      const conn = new RedisClient<V>({}, { shared, call: options });
      return runWatched(conn, fn, watch);
    }, options.signal);
  }

  /** A new client with the same options and its own connection. */
  duplicate(): RedisClient<V> {
    // Its own events and stats: a fresh hub (with the same logger and hooks).
    return new RedisClient<V>({ ...this.#shared.options, observed: undefined });
  }

  /** Closes gracefully: waits for commands in flight. */
  async close(): Promise<void> {
    await closeShared(this.#shared);
  }

  /** Closes at once: pending commands fail with `ConnectionClosedError`. */
  destroy(): void {
    destroyShared(this.#shared);
  }

  /** `await using redis = await RedisClient.connect()` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

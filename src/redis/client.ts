// RedisClient: the user-facing Redis client. Typed commands over a self-healing connection,
// auto-pipelining (concurrent calls share one write), pipelines, transactions, per-call options.

import { defaultConnect } from "../core/default_connect.ts";
import type { RequestOptions } from "../core/driver.ts";
import { ManagedConnection, type ManagedRequestOptions } from "../core/managed_connection.ts";
import type { Out } from "./commands/base.ts";
import { RedisCommands } from "./commands/mod.ts";
import type { ReplyContext, Transform } from "./commands/transforms.ts";
import { type RedisClientOptions, type ResolvedRedisOptions, resolveRedisOptions } from "./client_options.ts";
import { type RedisCommand, RedisConnection } from "./connection.ts";
import { Pipeline, Transaction } from "./pipeline.ts";
import type { RedisPush } from "./pubsub_frames.ts";
import type { RedisArg } from "./resp_encoder.ts";
import type { RespValue } from "./resp_types.ts";

/** The connection a client and its views share. */
interface Shared {
  options: ResolvedRedisOptions;
  conn: ManagedConnection<RedisCommand, RespValue, never, RedisPush>;
  context: ReplyContext;
}

/** Options for one view of a client: see {@link RedisClient.with}. */
export interface CallOptions {
  /** Deadline of each command in milliseconds (overrides `commandTimeout`). */
  timeout?: number;
  /** Aborts the commands sent through this view. */
  signal?: AbortSignal;
}

/**
 * Creates the managed connection of a client from resolved options.
 *
 * @example
 * ```ts
 * import { openRedisConnection, resolveRedisOptions } from "@kvwire/kvwire/redis";
 * const conn = openRedisConnection(resolveRedisOptions({ port: 6379 }));
 * await conn.open();
 * await conn.close();
 * ```
 */
export function openRedisConnection(
  options: ResolvedRedisOptions,
  extra: { onPush?: (push: RedisPush) => void; onConnect?: (run: (c: RedisCommand) => Promise<RespValue>, again: boolean) => Promise<void> } = {},
): ManagedConnection<RedisCommand, RespValue, never, RedisPush> {
  const connect = options.connect ?? defaultConnect;
  const timeout = options.connectTimeout ?? 10_000;
  return new ManagedConnection<RedisCommand, RespValue, never, RedisPush>({
    label: options.label,
    connect: () => connect(options.address, { timeout, tls: options.tls }),
    createMachine: () => new RedisConnection(options),
    reconnect: options.reconnect,
    offlineQueueSize: options.offlineQueueSize,
    onPush: extra.onPush ?? options.onPush,
    onConnect: async (driver, again) => {
      const run = (command: RedisCommand): Promise<RespValue> =>
        driver.request(command, { timeout }, String(command[0]));
      // The reply to this PING follows the handshake, so it proves AUTH/SELECT worked.
      await run(["PING"]);
      await extra.onConnect?.(run, again);
    },
  });
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
  static connect(url: string, options: RedisClientOptions & { decode: true }): Promise<RedisClient<string>>;
  static connect(options: RedisClientOptions & { decode: true }): Promise<RedisClient<string>>;
  static connect(url?: string | RedisClientOptions, options?: RedisClientOptions): Promise<RedisClient<Uint8Array>>;
  static async connect(
    url?: string | RedisClientOptions,
    options: RedisClientOptions = {},
  ): Promise<RedisClient<unknown>> {
    const merged = typeof url === "string" ? { ...options, url } : { ...url };
    const client = new RedisClient<unknown>(merged);
    try {
      await client.#shared.conn.open();
    } catch (error) {
      client.destroy();
      throw error;
    }
    return client;
  }

  /** Creates a client that connects on its first command. Prefer `RedisClient.connect`. */
  constructor(options: RedisClientOptions | string = {}, view?: { shared: Shared; call: CallOptions }) {
    super();
    if (view) {
      this.#shared = view.shared;
      this.#requestOptions = { ...view.call };
      return;
    }
    const resolved = resolveRedisOptions(typeof options === "string" ? { url: options } : options);
    this.#shared = {
      options: resolved,
      conn: openRedisConnection(resolved),
      context: { decode: resolved.decode === true },
    };
    this.#requestOptions = { timeout: resolved.commandTimeout };
  }

  /** The resolved options (the password is there: don't log this object). */
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

  protected call<T>(args: RedisArg[], transform: Transform<T>): Out<"promise", T, this> {
    const context = this.#shared.context;
    return this.#shared.conn.request(args, this.#requestOptions, String(args[0]))
      .then((reply) => transform(reply, context));
  }

  /** Sends one raw command and returns the raw reply (used by pipelines and helpers). */
  request(args: readonly RedisArg[], options: ManagedRequestOptions = this.#requestOptions): Promise<RespValue> {
    return this.#shared.conn.request(args, options, String(args[0]));
  }

  /** Reply shaping settings of this client. */
  get context(): ReplyContext {
    return this.#shared.context;
  }

  /** The per-call options commands of this client use. */
  get requestOptions(): RequestOptions {
    return this.#requestOptions;
  }

  /** An explicit pipeline: chain commands, then `exec()` sends them in one write. */
  pipeline(): Pipeline<V> {
    return new Pipeline<V>(this);
  }

  /** A MULTI/EXEC transaction: chain commands, then `exec()` runs them atomically. */
  multi(): Transaction<V> {
    return new Transaction<V>(this);
  }

  /** Closes gracefully: waits for commands in flight. */
  async close(): Promise<void> {
    await this.#shared.conn.close();
  }

  /** Closes at once: pending commands fail with `ConnectionClosedError`. */
  destroy(): void {
    this.#shared.conn.destroy();
  }

  /** `await using redis = await RedisClient.connect()` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

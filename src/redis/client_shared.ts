// The state a RedisClient and its views share (the connection, options, cache, pool,
// subscribers), how it is made from the options, opened, closed, and how commands reach the
// connection through the client-side cache.

import type { ReplyHandler, RequestOptions } from "../core/driver.ts";
import { Backoff } from "../core/backoff.ts";
import type { ManagedConnection } from "../core/managed_connection.ts";
import { observability } from "../core/observability.ts";
import type { ReplyContext } from "./commands/transforms.ts";
import {
  type RedisClientOptions,
  type ResolvedRedisOptions,
  resolveRedisOptions,
} from "./client_options.ts";
import type { RedisCommand } from "./connection.ts";
import type { Pool, PooledConnection } from "./pool.ts";
import { type KeyPrefix, keyPrefixOf } from "./key_prefix.ts";
import type { RedisPush } from "./pubsub_frames.ts";
import { openRedisConnection } from "./open_connection.ts";
import { ClientCache } from "./client_cache.ts";
import { InvalidationChannel, trackingHooks } from "./cache_tracking.ts";
import { NodeRoleError, sentinelLocatorFor } from "./sentinel_locator.ts";
import {
  dbNamespace,
  type RedisClusterEvents,
  type RedisObservability,
  SubscriberSet,
} from "./observe.ts";
import type { RedisArg } from "./resp_encoder.ts";
import type { RespValue } from "./resp_types.ts";

/**
 * The connection a client and its views share.
 *
 * @example
 * ```ts
 * import { createShared, type Shared } from "./client_shared.ts";
 * const shared: Shared = createShared("redis://127.0.0.1:6379");
 * ```
 */
export interface Shared {
  options: ResolvedRedisOptions;
  conn: ManagedConnection<RedisCommand, RespValue, never, RedisPush>;
  context: ReplyContext;
  /** Dedicated connections for blocking commands and WATCH transactions, made on demand. */
  pool?: Pool<PooledConnection>;
  /** The pool was given in the options (shared with other clients): not ours to close. */
  borrowedPool: boolean;
  /** The `keyPrefix` option, applied to every command sent. */
  prefix: KeyPrefix | undefined;
  /** The hub and hooks of this client and every connection made from its options. */
  observed: RedisObservability;
  /** The database index, as operations name it. */
  namespace: string;
  /** Subscribers made by `pubsub()`, until closed. */
  subscribers: SubscriberSet;
  /** The client-side cache (`clientSideCache`), and its RESP2 invalidation connection. */
  cache?: ClientCache;
  channel?: InvalidationChannel;
}

/**
 * Makes a client's shared state from its options: resolved options, observability, the
 * sentinel locator, the client-side cache and its tracking hooks, and the (unopened)
 * connection.
 *
 * @example
 * ```ts
 * import { createShared } from "./client_shared.ts";
 * const shared = createShared({ url: "redis://127.0.0.1:6379", decode: true });
 * shared.conn.destroy();
 * ```
 */
export function createShared(options: RedisClientOptions | string): Shared {
  const resolved = resolveRedisOptions(typeof options === "string" ? { url: options } : options);
  resolved.observed ??= observability<RedisClusterEvents>(resolved, resolved.label);
  const locator = sentinelLocatorFor(resolved);
  if (locator) resolved.locator = locator;
  const cache = resolved.clientSideCache && new ClientCache(resolved.clientSideCache);
  const hooks = cache && trackingHooks(cache, {
    onPush: resolved.onPush,
    redirect: () =>
      shared.channel ??= new InvalidationChannel(resolved, cache, (id) => retrack(shared, id)),
  });
  const shared: Shared = {
    options: resolved,
    conn: openRedisConnection(resolved, { textBulks: resolved.decode === true, ...hooks }),
    context: { decode: resolved.decode === true },
    observed: resolved.observed,
    namespace: dbNamespace(resolved.db),
    subscribers: new SubscriberSet(),
    pool: resolved.pool,
    borrowedPool: resolved.pool !== undefined,
    prefix: keyPrefixOf(resolved.keyPrefix),
    cache,
  };
  return shared;
}

/**
 * Opens the shared connection (handshake and a PING); a node the sentinels named with another
 * role is asked for again within `connectTimeout`. On failure everything is destroyed.
 *
 * @example
 * ```ts
 * import { createShared, openShared } from "./client_shared.ts";
 * const shared = createShared("redis://127.0.0.1:6379");
 * await openShared(shared);
 * ```
 */
export async function openShared(shared: Shared): Promise<void> {
  const backoff = new Backoff(shared.options.reconnect);
  const until = Date.now() + (shared.options.connectTimeout ?? 10_000);
  for (;;) {
    try {
      await shared.conn.open();
      return;
    } catch (error) {
      // A node the sentinels named with another role: ask them again, within connectTimeout.
      if (error instanceof NodeRoleError && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, backoff.next()));
        continue;
      }
      destroyShared(shared);
      throw error;
    }
  }
}

/**
 * Closes gracefully: the connection (after commands in flight), the pool unless borrowed, the
 * RESP2 invalidation connection; detaches from the sentinel locator.
 *
 * @example
 * ```ts
 * import { closeShared, createShared } from "./client_shared.ts";
 * await closeShared(createShared("redis://127.0.0.1:6379"));
 * ```
 */
export async function closeShared(shared: Shared): Promise<void> {
  const pool = shared.borrowedPool ? undefined : shared.pool;
  const closing = Promise.all([shared.conn.close(), pool?.close(), shared.channel?.conn.close()]);
  shared.options.locator?.detach?.(shared.conn);
  await closing;
}

/**
 * Closes at once what {@link closeShared} closes: pending commands fail.
 *
 * @example
 * ```ts
 * import { createShared, destroyShared } from "./client_shared.ts";
 * destroyShared(createShared("redis://127.0.0.1:6379"));
 * ```
 */
export function destroyShared(shared: Shared): void {
  shared.conn.destroy();
  shared.channel?.conn.destroy();
  shared.options.locator?.detach?.(shared.conn);
  if (!shared.borrowedPool) shared.pool?.close();
}

/**
 * Sends a command through the client-side cache (which may answer it); an aborted call goes
 * to the connection, which refuses it as usual.
 *
 * @example
 * ```ts
 * import { IGNORE_REPLY } from "../core/driver.ts";
 * import { cachedSend, createShared } from "./client_shared.ts";
 * const shared = createShared({ clientSideCache: { maxEntries: 100 } });
 * cachedSend(shared.conn, shared.cache!, ["GET", "k"], {}, IGNORE_REPLY);
 * ```
 */
export function cachedSend(
  conn: Shared["conn"],
  cache: ClientCache,
  args: RedisArg[],
  options: RequestOptions,
  handler: ReplyHandler<RespValue>,
): void {
  const send = (command: readonly RedisArg[], h: ReplyHandler<RespValue>): void =>
    conn.send(command, options, String(command[0]), h);
  if (options.signal?.aborted) send(args, handler); // refused as usual, not answered
  else cache.route(args, handler, send);
}

function ignore(): void {}

/** The RESP2 invalidation connection is back with client id `id`: point tracking at it (a
 * connection being set up does it in its setup). */
function retrack(shared: Shared, id: number): void {
  const { conn, cache, channel } = shared;
  if (!conn.driver || !cache) return;
  conn.request(["CLIENT", "TRACKING", "OFF"]).catch(ignore); // the next request reports a loss
  conn.request(cache.trackingCommand(id)).then(() => {
    if (channel?.currentId === id) cache.activate();
  }, (error: Error) => {
    shared.observed.events.emit("error", { error, source: "clientSideCache" });
  });
}

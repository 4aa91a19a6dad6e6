// What RedisClient runs on its pooled dedicated connections: blocking commands (with a
// deadline past the server's timeout) and optimistic WATCH transactions (retried on conflict).

import { IGNORE_REPLY, type RequestOptions } from "../core/driver.ts";
import type { RedisClient } from "./client.ts";
import type { RedisClientOptions, ResolvedRedisOptions } from "./client_options.ts";
import type { RedisKey } from "./commands/base.ts";
import type { ReplyContext, Transform } from "./commands/transforms.ts";
import type { RedisCommand } from "./connection.ts";
import { type Transaction, WatchError } from "./pipeline.ts";
import type { Pool } from "./pool.ts";
import { ShapedReply } from "./shaped_reply.ts";

/** Blocking commands get this much longer than their server timeout before we give up. */
const BLOCKING_MARGIN_MS = 1000;

/** WATCH transactions give up after this many conflicts in a row. */
const MAX_WATCH_RETRIES = 1000;

/**
 * The options of a pooled dedicated connection made from a client's: no reconnection (the
 * pool replaces it), no silence timeout (a blocking command may rightly wait in silence), no
 * pool, no client-side cache (the shared connection's cache is not fed by this one).
 *
 * @example
 * ```ts
 * import { resolveRedisOptions } from "@kvwire/kvwire/redis";
 * import { dedicatedOptions } from "./client_dedicated.ts";
 * const options = dedicatedOptions(resolveRedisOptions({ url: "redis://127.0.0.1:6379" }));
 * ```
 */
export function dedicatedOptions(options: ResolvedRedisOptions): RedisClientOptions {
  return {
    ...options,
    reconnect: { enabled: false },
    silenceTimeout: undefined,
    pool: undefined,
    clientSideCache: undefined,
  };
}

/**
 * Sends a blocking command (keys already prefixed) on a connection of `pool`, with `prelude`
 * (the cluster client's ASKING) first, its reply not awaited. The deadline is the server
 * timeout plus a margin (none for a timeout of 0, which blocks until an element arrives).
 *
 * @example
 * ```ts
 * import { asReply, RedisClient } from "@kvwire/kvwire/redis";
 * import { sendBlocking } from "./client_dedicated.ts";
 * await using redis = await RedisClient.connect();
 * await sendBlocking(redis.pool, ["BLPOP", "jobs", 1], asReply, redis.context, 1, {});
 * ```
 */
export function sendBlocking<T, V>(
  pool: Pool<RedisClient<V>>,
  command: RedisCommand,
  transform: Transform<T>,
  context: ReplyContext,
  serverTimeoutSeconds: number,
  call: RequestOptions,
  prelude?: RedisCommand,
): Promise<T> {
  const { signal, timeout: commandTimeout } = call;
  const timeout = serverTimeoutSeconds > 0
    ? serverTimeoutSeconds * 1000 + Math.max(BLOCKING_MARGIN_MS, commandTimeout ?? 0)
    : undefined;
  return pool.use((conn) => {
    const reply = new ShapedReply(transform, context);
    const promise = reply.promise();
    if (prelude) conn.sendCommand(prelude, { timeout, signal }, IGNORE_REPLY);
    conn.sendCommand(command, { timeout, signal }, reply);
    return promise;
  }, signal);
}

/**
 * The loop of `RedisClient.transaction` on `conn`: WATCHes the keys, lets `fn` read and build
 * the transaction (UNWATCH if it throws), executes it, and starts over when a watched key
 * changed (up to a limit).
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * import { runWatched } from "./client_dedicated.ts";
 * await using redis = await RedisClient.connect({ decode: true });
 * await redis.pool.use((conn) => runWatched(conn, async (c) => c.multi().incr("n"), ["n"]));
 * ```
 */
export async function runWatched<V>(
  conn: RedisClient<V>,
  fn: (conn: RedisClient<V>) => Promise<Transaction<V>>,
  watch: readonly RedisKey[],
): Promise<unknown[]> {
  for (let attempt = 1;; attempt++) {
    if (watch.length > 0) await conn.send("WATCH", ...watch);
    let tx: Transaction<V>;
    try {
      tx = await fn(conn);
    } catch (error) {
      await conn.send("UNWATCH");
      throw error;
    }
    try {
      return await tx.exec();
    } catch (error) {
      if (!(error instanceof WatchError) || attempt >= MAX_WATCH_RETRIES) throw error;
    }
  }
}

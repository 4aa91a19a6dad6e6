// Connects a client-side cache to its connections: CLIENT TRACKING in every connection's
// setup, invalidation pushes (RESP3) applied in order with replies, the cache cleared when a
// connection drops, and for RESP2 the second connection subscribed to `__redis__:invalidate`
// that tracking is redirected to. Spec:
// https://redis.io/docs/latest/develop/reference/client-side-caching/

import { ConnectionClosedError } from "../core/errors.ts";
import type { ManagedConnection } from "../core/managed_connection.ts";
import type { ClientCache } from "./client_cache.ts";
import type { ResolvedRedisOptions } from "./client_options.ts";
import type { RedisCommand } from "./connection.ts";
import { LocalProtocolError } from "../core/errors.ts";
import { openRedisConnection } from "./open_connection.ts";
import { INVALIDATE_CHANNEL, type RedisPush } from "./pubsub_frames.ts";
import type { RedisArg } from "./resp_encoder.ts";
import type { RespValue } from "./resp_types.ts";

type Run = (command: readonly RedisArg[]) => Promise<RespValue>;

/**
 * The keys an invalidation push names (`null`: every key, after a flush), or undefined when
 * the push is not an invalidation.
 *
 * @example
 * ```ts
 * import { invalidationOf } from "@kvwire/kvwire/redis";
 * const k = new TextEncoder().encode("k");
 * invalidationOf({ type: "push", kind: "invalidate", items: ["invalidate", [k]] }); // [k]
 * ```
 */
export function invalidationOf(
  push: RedisPush,
): readonly (Uint8Array | string)[] | null | undefined {
  if (push.type !== "push" || push.kind !== "invalidate") return undefined;
  const keys = push.items[1];
  if (keys === null || keys === undefined) return null;
  if (!Array.isArray(keys)) return null; // not a key list: drop everything rather than guess
  return keys.filter((key): key is Uint8Array | string =>
    key instanceof Uint8Array || typeof key === "string"
  );
}

/** Connection hooks ({@link openRedisConnection}) that keep a cache in step with tracking. */
export interface TrackingHooks {
  onPush: (push: RedisPush) => void;
  onConnect: (run: Run, again: boolean, protocol: 2 | 3) => Promise<void>;
  onDisconnect: () => void;
}

/**
 * Hooks for a connection whose reads `cache` keeps: tracking turned on in its setup (RESP3:
 * invalidations on the connection itself; RESP2: redirected to `redirect()`'s connection, or
 * refused with a `LocalProtocolError` when there is none), the cache cleared when it drops
 * (its reads in flight store nothing).
 * `onPush` also receives every push.
 *
 * @example
 * ```ts
 * import { ClientCache, trackingHooks } from "@kvwire/kvwire/redis";
 * const hooks = trackingHooks(new ClientCache({}), { onPush: () => {} });
 * ```
 */
export function trackingHooks(
  cache: ClientCache,
  options: { onPush?: (push: RedisPush) => void; redirect?: () => InvalidationChannel },
): TrackingHooks {
  return {
    onPush: (push) => {
      const keys = invalidationOf(push);
      if (keys !== undefined) cache.invalidate(keys);
      options.onPush?.(push);
    },
    onConnect: async (run, _again, protocol) => {
      if (protocol === 3) {
        await run(cache.trackingCommand());
        return;
      }
      if (!options.redirect) {
        throw new LocalProtocolError(
          "Client-side caching on a cluster needs RESP3 (HELLO 3) on every node",
        );
      }
      const channel = options.redirect();
      // Until tracking points at the channel's current connection, nothing is served.
      for (;;) {
        const id = await channel.id();
        await run(["CLIENT", "TRACKING", "OFF"]);
        await run(cache.trackingCommand(id));
        if (channel.currentId === id) break;
      }
      cache.activate();
    },
    // Requests reach the next connection only after its setup: clearing is enough.
    onDisconnect: () => cache.clear(),
  };
}

/**
 * The RESP2 invalidation connection: subscribed to `__redis__:invalidate`, the target of the
 * data connection's `CLIENT TRACKING ON REDIRECT <id>`. When it drops, the cache is cleared
 * and stops serving; when it is back, `retrack` is told its new id.
 *
 * @example
 * ```ts
 * import { ClientCache, InvalidationChannel, resolveRedisOptions } from "@kvwire/kvwire/redis";
 * const channel = new InvalidationChannel(resolveRedisOptions({}), new ClientCache({}), () => {});
 * await channel.id();
 * await channel.conn.close();
 * ```
 */
export class InvalidationChannel {
  readonly conn: ManagedConnection<RedisCommand, RespValue, never, RedisPush>;
  #id: number | undefined;

  constructor(
    options: ResolvedRedisOptions,
    cache: ClientCache,
    retrack: (id: number) => void,
  ) {
    this.conn = openRedisConnection({ ...options, label: `${options.label} (invalidations)` }, {
      onPush: (push) => {
        const keys = invalidationOf(push);
        if (keys !== undefined) cache.invalidate(keys);
      },
      onConnect: async (run, again) => {
        const id = await run(["CLIENT", "ID"]);
        await run(["SUBSCRIBE", INVALIDATE_CHANNEL]);
        this.#id = Number(id);
        if (again) retrack(this.#id);
      },
      onDisconnect: () => {
        this.#id = undefined;
        cache.deactivate();
      },
    });
  }

  /** The client id of the current connection, if connected. */
  get currentId(): number | undefined {
    return this.#id;
  }

  /** The client id of the connection, connecting first if needed. */
  async id(): Promise<number> {
    if (this.#id === undefined) await this.conn.open();
    if (this.#id === undefined) {
      throw new ConnectionClosedError(`${this.conn.address ?? "redis"}: no invalidation channel`);
    }
    return this.#id;
  }
}

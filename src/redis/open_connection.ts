// Opens the managed (self-healing) connection behind a Redis client, a pooled connection or a
// subscriber: transport connector, machine with handshake, ready check, reconnect hooks.

import { defaultConnect } from "../core/default_connect.ts";
import { ManagedConnection } from "../core/managed_connection.ts";
import type { ResolvedRedisOptions } from "./client_options.ts";
import { type RedisCommand, RedisConnection } from "./connection.ts";
import type { RedisPush } from "./pubsub_frames.ts";
import type { RedisArg } from "./resp_encoder.ts";
import type { RespValue } from "./resp_types.ts";

/** Hooks for the connection's owner. */
export interface OpenConnectionHooks {
  /** Receives pushes (messages, subscription changes, RESP3 pushes). */
  onPush?: (push: RedisPush) => void;
  /** Runs on every new connection after the ready check (`again` on reconnects). */
  onConnect?: (
    run: (command: readonly RedisArg[]) => Promise<RespValue>,
    again: boolean,
  ) => Promise<void>;
  /** Bulk replies come out as strings (see `RedisConnectionOptions.textBulks`). */
  textBulks?: boolean;
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
  extra: OpenConnectionHooks = {},
): ManagedConnection<RedisCommand, RespValue, never, RedisPush> {
  const connect = options.connect ?? defaultConnect;
  const timeout = options.connectTimeout ?? 10_000;
  return new ManagedConnection<RedisCommand, RespValue, never, RedisPush>({
    label: options.label,
    connect: () => connect(options.address, { timeout, tls: options.tls }),
    createMachine: () => new RedisConnection({ ...options, textBulks: extra.textBulks }),
    reconnect: options.reconnect,
    offlineQueueSize: options.offlineQueueSize,
    onPush: extra.onPush ?? options.onPush,
    onConnect: async (driver, again) => {
      const run = (command: readonly RedisArg[]): Promise<RespValue> =>
        driver.request(command, { timeout }, String(command[0]));
      // The reply to this PING follows the handshake, so it proves AUTH/SELECT worked.
      await run(["PING"]);
      await extra.onConnect?.(run, again);
    },
  });
}

// Opens the managed (self-healing) connection behind a Redis client, a pooled connection or a
// subscriber: transport connector (to a fixed address or where a locator says at each connect),
// machine with handshake, ready check, reconnect hooks.

import { asciiDecode } from "../core/bytes.ts";
import { defaultConnect } from "../core/default_connect.ts";
import { RemoteProtocolError, TlsError } from "../core/errors.ts";
import { ManagedConnection } from "../core/managed_connection.ts";
import type { ResolvedRedisOptions } from "./client_options.ts";
import { type RedisCommand, RedisConnection } from "./connection.ts";
import { type Address, type Connect, formatAddress, type Transport } from "../core/transport.ts";
import { RedisError } from "./errors.ts";
import type { RedisPush } from "./pubsub_frames.ts";
import type { RedisArg } from "./resp_encoder.ts";
import type { RespValue } from "./resp_types.ts";
import { connectionEvents } from "./observe.ts";

/** Hooks for the connection's owner. */
export interface OpenConnectionHooks {
  /** Receives pushes (messages, subscription changes, RESP3 pushes). */
  onPush?: (push: RedisPush) => void;
  /** Runs on every new connection after the ready check (`again` on reconnects), with the RESP
   * version the handshake settled on. */
  onConnect?: (
    run: (command: readonly RedisArg[]) => Promise<RespValue>,
    again: boolean,
    protocol: 2 | 3,
  ) => Promise<void>;
  /** Bulk replies come out as strings (see `RedisConnectionOptions.textBulks`). */
  textBulks?: boolean;
  /** Observes each lost connection (a cluster refreshes its slot map then). */
  onDisconnect?: (error: Error | undefined) => void;
  /** A MONITOR connection (see `RedisConnectionOptions.monitor`). */
  monitor?: boolean;
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
  const locator = options.locator;
  // Where the current attempt goes (a locator decides it; none asked yet: unknown).
  let address: Address | undefined = locator ? undefined : options.address;
  const conn = new ManagedConnection<RedisCommand, RespValue, never, RedisPush>({
    label: options.label,
    events: connectionEvents(options.observed),
    get address() {
      return address && formatAddress(address);
    },
    connect: async () => {
      if (locator) address = await locator.locate();
      return await connectChecked(connect, options, address!, timeout);
    },
    createMachine: () =>
      new RedisConnection({ ...options, textBulks: extra.textBulks, monitor: extra.monitor }),
    reconnect: options.reconnect,
    offlineQueueSize: options.offlineQueueSize,
    silenceTimeout: options.silenceTimeout,
    onPush: extra.onPush ?? options.onPush,
    onDisconnect: extra.onDisconnect,
    onConnect: async (driver, again) => {
      const run = (command: readonly RedisArg[]): Promise<RespValue> =>
        driver.request(command, { timeout }, String(command[0]));
      await readyCheck(run, options.label);
      await locator?.verify?.(run, address!);
      await extra.onConnect?.(run, again, (driver.machine as RedisConnection).protocol);
    },
  });
  locator?.attach?.(conn, () => address, options.observed);
  return conn;
}

/** Opens the transport and refuses one that is not TLS when TLS was asked for. */
async function connectChecked(
  connect: Connect,
  options: ResolvedRedisOptions,
  address: Address,
  timeout: number,
): Promise<Transport> {
  const transport = await connect(address, { timeout, tls: options.tls });
  if (options.tls && !transport.info.tls) {
    transport.close();
    throw new TlsError(
      `${options.label}: TLS was asked for, but the connector opened a ${transport.info.kind} ` +
        "connection without it",
    );
  }
  return transport;
}

/**
 * The echo of a fresh token follows the handshake's replies: it proves AUTH/SELECT worked and
 * that every reply so far belonged to us (a stray reply shifts it). A server or proxy without
 * ECHO gets a PING instead, which proves the handshake but not the absence of stray replies.
 */
async function readyCheck(
  run: (command: readonly RedisArg[]) => Promise<RespValue>,
  label: string,
): Promise<void> {
  const token = readyToken();
  let reply: RespValue;
  try {
    reply = await run(["ECHO", token]);
  } catch (error) {
    const refused = error instanceof RedisError &&
      (error.serverCode === "NOPERM" || /unknown command/i.test(error.message));
    if (!refused) throw error;
    if ((await run(["PING"])) === "PONG") return;
    throw new RemoteProtocolError(`${label} answered PING with something else`, { sent: true });
  }
  if (!isEcho(reply, token)) {
    throw new RemoteProtocolError(
      `${label} answered the ready check with a reply that is not its echo`,
      { sent: true },
    );
  }
}

let readyCount = 0;

/** A token no server would send unasked: a counter and random digits. */
function readyToken(): string {
  readyCount = (readyCount + 1) % Number.MAX_SAFE_INTEGER;
  return `kvwire-${readyCount}-${Math.random().toString(36).slice(2)}`;
}

function isEcho(reply: RespValue, token: string): boolean {
  if (typeof reply === "string") return reply === token;
  return reply instanceof Uint8Array && asciiDecode(reply) === token;
}

// Options of the Redis client and their parsing from `redis://`, `rediss://` and
// `redis+unix://` URLs (the redis-py / ioredis conventions).

import type { ManagedConnection, ReconnectOptions } from "../core/managed_connection.ts";
import type { Address, Connect, TlsOptions } from "../core/transport.ts";
import { parseServerUrl, redactUrl } from "../core/url.ts";
import { INSPECT_NODE } from "../core/redact.ts";
import type { RedisPush } from "./pubsub_frames.ts";
import type { ClientSideCacheOptions } from "./client_cache.ts";
import type { RedisCommand } from "./connection.ts";
import type { RedisArg } from "./resp_encoder.ts";
import type { RespValue } from "./resp_types.ts";
import { checkHandshakeOptions, type HandshakeOptions } from "./handshake.ts";
import type { ObservabilityOptions } from "../core/observability.ts";
import type { ConnectionStats } from "../core/observe.ts";
import type { RedisObservability } from "./observe.ts";
import type { Pool, PooledConnection } from "./pool.ts";

/** Everything a {@link RedisClient} can be told. */
export interface RedisClientOptions extends HandshakeOptions, ObservabilityOptions {
  /** `redis://user:pass@host:port/db`, `rediss://...` (TLS) or `redis+unix:///path?db=1`. */
  url?: string;
  /** Host name or address. Default `127.0.0.1`. */
  host?: string;
  /** Port. Default 6379. */
  port?: number;
  /** Unix-domain socket path (instead of host/port). */
  path?: string;
  /** TLS: `true` for defaults (certificate verified), or settings. */
  tls?: boolean | TlsOptions;
  /** Milliseconds to connect, TLS and handshake included. Default 10,000. */
  connectTimeout?: number;
  /** Default deadline of every command in milliseconds, queued or in flight. Default none. */
  commandTimeout?: number;
  /** Return bulk values as strings (UTF-8) instead of `Uint8Array`, like `decode_responses`. */
  decode?: boolean;
  /** The transport connector. Default: the one for the running runtime. */
  connect?: Connect;
  /** Reconnection with backoff; see {@link ReconnectOptions}. */
  reconnect?: ReconnectOptions;
  /** Commands held while disconnected. Default 10,000. */
  offlineQueueSize?: number;
  /**
   * Milliseconds a connection may stay silent (no byte received) while commands wait for
   * replies before it is presumed dead: it is closed, its commands fail with `sent: true`, and
   * the next call reconnects. Default off (a command's own deadline applies the same rule).
   * Not applied to the dedicated connections of blocking commands, which may wait longer.
   */
  silenceTimeout?: number;
  /**
   * Largest bulk string (also bulk error and verbatim string) accepted from the server, in
   * bytes; a longer declared length is a `RemoteProtocolError` and the connection is
   * replaced. Default 512 MiB, Redis's own `proto-max-bulk-len`.
   */
  maxBulkLength?: number;
  /**
   * Largest element count of a reply aggregate (array, set, push; entries of a map or an
   * attribute) accepted from the server; a larger count fails the connection at once.
   * Default 2^24 (16,777,216).
   */
  maxAggregateLength?: number;
  /** Deepest reply nesting accepted. Default 64. */
  maxDepth?: number;
  /** Connections kept for blocking commands and WATCH transactions. Default 10. */
  poolSize?: number;
  /**
   * A pool of dedicated connections (blocking commands, WATCH transactions) shared with other
   * clients, as redis-py's `Redis(connection_pool=pool)`: `other.pool`, or a `new Pool(...)` of
   * `RedisClient`s. Its connections keep the server, database and credentials they were made
   * with; replies are shaped and keys prefixed by the client using them. The client does not
   * close a pool it was given. Default: a pool of its own, made on first use (`poolSize`).
   */
  pool?: Pool<PooledConnection>;
  /**
   * Put before every key of every command (ioredis's `keyPrefix`): typed commands, `send()`,
   * pipelines, transactions, script KEYS (never ARGV), SCAN's MATCH pattern (added as
   * `prefix*` when none is given) and KEYS's pattern, SORT's BY/GET patterns. Channels,
   * values and replies are left alone: keys read back (SCAN, KEYS, RANDOMKEY) keep the prefix.
   * A command whose key positions kvwire does not know is refused with a `TypeError`.
   */
  keyPrefix?: string | Uint8Array;
  /** Receives RESP3 pushes on the main connection (e.g. client-side caching invalidations). */
  onPush?: (push: RedisPush) => void;
  /**
   * Client-side caching (Redis 6+): replies of cacheable reads (GET, HGETALL, SMEMBERS, MGET,
   * ...; see `cacheableRead`) are kept and served locally until the server invalidates their
   * key. RESP3 receives invalidations on the connection itself; RESP2 on a second connection
   * (`CLIENT TRACKING ON REDIRECT`). Pipelines, transactions and the dedicated connections of
   * blocking commands bypass it. Default off.
   */
  clientSideCache?: ClientSideCacheOptions;
  /**
   * Redis Sentinel: `host:port` of the sentinels, asked in order for the node to use (then
   * `host`/`port`/`url` are ignored). Needs `masterName`. See the `Sentinel` class.
   */
  sentinels?: readonly string[];
  /** The name the sentinels monitor the master under (with `sentinels`). */
  masterName?: string;
  /** With `sentinels`: connect to the master (default) or to a replica, round-robin. */
  role?: "master" | "replica";
  /** ACL user for the sentinels (the data node's `username` is not sent to them). */
  sentinelUsername?: string;
  /** Password of the sentinels (`requirepass`); never logged, redacted like `password`. */
  sentinelPassword?: string;
  /** TLS to the sentinels (`tls` applies to the data nodes only). */
  sentinelTls?: boolean | TlsOptions;
  /**
   * Decides where each (re)connect goes; set by the Sentinel support (advanced: a custom
   * service discovery). Connections made from these options share it.
   */
  locator?: RedisLocator;
  /**
   * Set by the client that owns these options (leave it unset): the event hub and
   * instrumenter shared by every connection made from them (pool, subscribers, cluster nodes).
   */
  observed?: RedisObservability;
}

/** A managed Redis connection, as a {@link RedisLocator} sees it. */
export type LocatedConnection = ManagedConnection<RedisCommand, RespValue, never, RedisPush>;

/**
 * Where a connection goes, asked at every (re)connect instead of using a fixed address.
 *
 * @example
 * ```ts
 * import type { RedisLocator } from "@kvwire/kvwire/redis";
 * const fixed: RedisLocator = { locate: () => Promise.resolve({ host: "127.0.0.1", port: 6379 }) };
 * ```
 */
export interface RedisLocator {
  /** The address to connect to now. */
  locate(): Promise<Address>;
  /** Runs after the ready check on a new connection to `address`; throws to refuse the node. */
  verify?(
    run: (command: readonly RedisArg[]) => Promise<RespValue>,
    address: Address,
  ): Promise<void>;
  /**
   * Learns of each connection made through it and where its current attempt went, with the
   * owning client's events (for its own connections and events such as `switchMaster`).
   */
  attach?(
    conn: LocatedConnection,
    address: () => Address | undefined,
    observed?: RedisObservability,
  ): void;
  /** The locator's own connections (a sentinel subscription), for the client's `stats()`. */
  members?(): ConnectionStats[];
  /** The client owning `conn` closed. */
  detach?(conn: LocatedConnection): void;
}

/** The options after URL parsing and defaults. */
export interface ResolvedRedisOptions extends RedisClientOptions {
  /** The server's host and port, or its Unix socket path. */
  address: Address;
  /** Label for messages, such as `"redis 127.0.0.1:6379"`. */
  label: string;
}

const SCHEMES = {
  redis: { port: 6379, tls: false },
  rediss: { port: 6379, tls: true },
  "redis+unix": { port: 0, tls: false, unix: true },
  unix: { port: 0, tls: false, unix: true },
};

/**
 * Merges a URL (if any) with explicit options (which win) and validates them.
 *
 * @example
 * ```ts
 * import { resolveRedisOptions } from "@kvwire/kvwire/redis";
 * const o = resolveRedisOptions({ url: "redis://:pw@cache:6380/2" });
 * o.address; // { host: "cache", port: 6380 }
 * o.db; // 2
 * ```
 */
export function resolveRedisOptions(options: RedisClientOptions): ResolvedRedisOptions {
  let fromUrl: Partial<RedisClientOptions> & { address?: Address } = {};
  if (options.url !== undefined) {
    const url = parseServerUrl(options.url, SCHEMES);
    const dbText = url.path || url.params.get("db") || "";
    if (dbText && !/^\d+$/.test(dbText)) {
      throw new TypeError(`Invalid database "${dbText}" in the Redis URL: expected a number`);
    }
    const protocol = url.params.get("protocol");
    fromUrl = {
      address: url.address,
      username: url.username,
      password: url.password,
      db: dbText ? Number(dbText) : undefined,
      tls: url.tls || undefined,
      clientName: url.params.get("name") ?? undefined,
      protocol: protocol === "2" ? 2 : protocol === "3" ? 3 : undefined,
    };
  }
  if (fromUrl.tls && options.tls === false) {
    throw new TypeError("A rediss:// URL asks for TLS, but the tls option is false");
  }
  const merged: RedisClientOptions = { ...dropUndefined(fromUrl), ...dropUndefined(options) };
  checkHandshakeOptions(merged);
  checkLimits(merged);
  checkSentinelOptions(merged);
  const address: Address = options.path !== undefined
    ? { path: options.path }
    : options.host !== undefined || options.port !== undefined || !fromUrl.address
    ? {
      host: options.host ?? hostOf(fromUrl.address) ?? "127.0.0.1",
      port: options.port ?? portOf(fromUrl.address) ?? 6379,
    }
    : fromUrl.address;
  if (
    "port" in address &&
    (!Number.isInteger(address.port) || address.port < 1 || address.port > 65535)
  ) {
    throw new RangeError(`Invalid Redis port ${address.port}`);
  }
  const where = merged.sentinels !== undefined
    ? `${merged.role ?? "master"} of "${merged.masterName}" (sentinel)`
    : merged.locator
    ? "(address from a locator)"
    : "path" in address
    ? address.path
    : `${address.host}:${address.port}`;
  return redacted({ ...merged, address, label: `redis ${where}` });
}

/** Limits and durations must be positive numbers (integers for counts), or unset. */
function checkLimits(options: RedisClientOptions): void {
  const counts = ["maxBulkLength", "maxAggregateLength", "maxDepth"] as const;
  for (const name of counts) {
    const value = options[name];
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
      throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
  }
  const ms = options.silenceTimeout;
  if (ms !== undefined && !(ms > 0 && Number.isFinite(ms))) {
    throw new RangeError(`silenceTimeout must be a positive number of ms, got ${ms}`);
  }
}

/** `sentinels` needs `masterName`; `role` is `master` or `replica`. */
function checkSentinelOptions(options: RedisClientOptions): void {
  const { sentinels, masterName, role } = options;
  if (role !== undefined && role !== "master" && role !== "replica") {
    throw new TypeError(`role must be "master" or "replica", got "${role}"`);
  }
  if (sentinels === undefined) return;
  if (!Array.isArray(sentinels) || sentinels.length === 0) {
    throw new TypeError('sentinels must be a non-empty array of "host:port" strings');
  }
  if (typeof masterName !== "string" || masterName === "") {
    throw new TypeError("masterName is required with sentinels");
  }
}

const REDACTED = "[redacted]";

/**
 * Gives resolved options a `toJSON` and an inspect hook (honoured by Node, Bun and Deno) that
 * hide the passwords (data node and sentinels), the URL's password and TLS private keys. The
 * hooks are not enumerable, so a spread copy is a plain object again (re-resolve it before
 * showing it).
 */
function redacted(options: ResolvedRedisOptions): ResolvedRedisOptions {
  const safe = (): Record<string, unknown> => {
    const copy: Record<string, unknown> = { ...options };
    delete copy.observed;
    if (copy.password !== undefined) copy.password = REDACTED;
    if (copy.sentinelPassword !== undefined) copy.sentinelPassword = REDACTED;
    if (typeof options.url === "string") copy.url = redactUrl(options.url);
    for (const name of ["tls", "sentinelTls"] as const) {
      const tls = options[name];
      if (typeof tls === "object" && tls.key !== undefined) copy[name] = { ...tls, key: REDACTED };
    }
    return copy;
  };
  Object.defineProperties(options, {
    toJSON: { value: safe },
    [INSPECT_NODE]: {
      value: (_depth: number, opts: unknown, inspect?: (v: unknown, o: unknown) => string) =>
        inspect ? inspect(safe(), opts) : safe(),
    },
  });
  return options;
}

function hostOf(address: Address | undefined): string | undefined {
  return address && "host" in address ? address.host : undefined;
}

function portOf(address: Address | undefined): number | undefined {
  return address && "port" in address ? address.port : undefined;
}

function dropUndefined<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<
    T
  >;
}

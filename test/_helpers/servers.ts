// Addresses of the real servers integration tests talk to: from KVWIRE_REDIS / KVWIRE_MEMCACHED /
// KVWIRE_ETCD (`host:port`, set by the test runner), else one server per process started here.

import process from "node:process";
import {
  type ServerHandle,
  type ServerKind,
  startEtcd,
  startMemcached,
  startRedis,
} from "../../scripts/servers.ts";

/** A TCP address. */
export interface Address {
  host: string;
  port: number;
}

/**
 * Parses `host:port`, `[v6]:port` or a bare port (host 127.0.0.1).
 *
 * @example
 * ```ts
 * parseAddress("127.0.0.1:6379"); // { host: "127.0.0.1", port: 6379 }
 * ```
 */
export function parseAddress(text: string): Address {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text.trim()) ?? /^()()(\d+)$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !(port > 0 && port < 65536)) {
    throw new TypeError(`Expected "host:port", got "${text}"`);
  }
  return { host: match[1] || match[2] || "127.0.0.1", port };
}

const ENV: Record<ServerKind, string> = {
  redis: "KVWIRE_REDIS",
  memcached: "KVWIRE_MEMCACHED",
  etcd: "KVWIRE_ETCD",
};

const START: Record<ServerKind, () => Promise<ServerHandle>> = {
  redis: () => startRedis(),
  memcached: () => startMemcached(),
  etcd: () => startEtcd(),
};

const started = new Map<ServerKind, Promise<Address>>();

async function address(kind: ServerKind): Promise<Address> {
  const fromEnv = process.env[ENV[kind]];
  if (fromEnv) return parseAddress(fromEnv);
  let promise = started.get(kind);
  if (!promise) {
    // The harness kills servers still running at process exit and never keeps the process alive.
    promise = START[kind]().then((s) => ({ host: s.host, port: s.port }));
    started.set(kind, promise);
  }
  return await promise;
}

/**
 * The redis-server for this test process: `$KVWIRE_REDIS`, or one started on first use.
 *
 * @example
 * ```ts
 * const { host, port } = await redisAddress();
 * ```
 */
export async function redisAddress(): Promise<Address> {
  return await address("redis");
}

/**
 * The memcached for this test process: `$KVWIRE_MEMCACHED`, or one started on first use.
 *
 * @example
 * ```ts
 * const { host, port } = await memcachedAddress();
 * ```
 */
export async function memcachedAddress(): Promise<Address> {
  return await address("memcached");
}

/**
 * The etcd (v2 API on) for this test process: `$KVWIRE_ETCD`, or one started on first use.
 *
 * @example
 * ```ts
 * const { host, port } = await etcdAddress();
 * const base = `http://${host}:${port}`;
 * ```
 */
export async function etcdAddress(): Promise<Address> {
  return await address("etcd");
}

// The option and result types of MemcacheClient's methods (python-memcached's keyword
// arguments as option objects).

import type { MemcacheKey } from "./keys.ts";

/**
 * A key, or python-memcached's `[hashKey, key]` pair: the item is stored under `key` on the
 * server `hashKey` maps to (e.g. keep one user's items together).
 */
export type KeyInput = MemcacheKey | readonly [hashKey: MemcacheKey, key: MemcacheKey];

/** Options of stores. */
export interface StoreOptions {
  /** Seconds to live (or a Unix time over 30 days); 0 = no expiry. Default 0. */
  ttl?: number;
  /** Compress values of at least this many bytes (overrides the client's setting). */
  minCompressLen?: number;
  /** Store a `Uint8Array` or string as is with these client flags (no serializer). */
  flags?: number;
  /** Don't wait for the answer: resolves `true` at once and ignores failures. */
  noreply?: boolean;
}

/** Options of `get`. */
export interface GetOptions {
  /** Get-and-touch (`gat`, meta `T`, binary GAT): the key, if found, gets this TTL in seconds. */
  touch?: number;
}

/** Options of `delete`. */
export interface DeleteOptions {
  /**
   * Seconds during which later adds and replaces of the key fail (`delete <key> <time>`, text
   * protocol only; memcached 1.4 and later refuse it). Default 0: none.
   */
  time?: number;
  /** Don't wait for the answer: resolves `true` at once and ignores failures. */
  noreply?: boolean;
}

/** Options of `touch` and `flushAll`. */
export interface NoreplyOptions {
  /** Don't wait for the answer: resolves at once and ignores failures. */
  noreply?: boolean;
}

/** Options of {@link MemcacheClient.getOrSet}. */
export interface GetOrSetOptions {
  /** Seconds the loaded value lives. Default 0 (no expiry). */
  ttl?: number;
  /**
   * Stale-while-revalidate: once fewer than this many seconds of TTL are left (or the key was
   * invalidated), one caller wins the refresh while the others keep getting the current value.
   * Default 0 (off).
   */
  staleTtl?: number;
  /** Seconds the winner of a miss holds the placeholder before another caller may load. Default 30. */
  lockTtl?: number;
}

/** Options of multi-key calls. */
export interface MultiOptions {
  /** Prepended to every key on the wire; results use the keys as given. */
  keyPrefix?: string;
  /** Get-and-touch (`gat`, meta `T`): the keys found get this TTL in seconds. Reads only. */
  touch?: number;
}

/** Options of {@link MemcacheClient.incr} and {@link MemcacheClient.decr}. */
export interface CounterOptions {
  /** Create a missing counter with this value instead of returning null (meta, binary). */
  initial?: number | bigint;
  /** TTL in seconds of a counter created with `initial` (read as the stores' `ttl`). */
  ttl?: number;
  /** Don't wait for the answer: resolves null at once. */
  noreply?: boolean;
}

/** A value with its CAS token, from {@link MemcacheClient.gets}. */
export interface CasItem<T> {
  /** The stored value. */
  value: T;
  /** The CAS token for a later `cas`. */
  cas: bigint;
}

/** Options of {@link MemcacheClient.metaGet} (meta protocol). */
export interface MetaGetOptions {
  /** On a miss, create an empty placeholder with this TTL and win the right to fill it. */
  vivify?: number;
  /** Win the right to recache when fewer than this many seconds are left. */
  recache?: number;
  /** Set the remaining TTL. */
  touch?: number;
  /** Don't bump the item in the LRU. */
  noBump?: boolean;
}

/** What {@link MemcacheClient.metaGet} returns on a hit (or a vivified placeholder). */
export interface MetaGetResult<T> {
  /** The stored value. */
  value: T;
  /** The CAS token, when it was asked for. */
  cas?: bigint;
  /** Seconds left to live, -1 for none. */
  ttl?: number;
  /** This caller should recompute and store the value. */
  win: boolean;
  /** The item was invalidated (`meta("md", key, ["I"])`) and needs a refresh. */
  stale: boolean;
  /** Another caller already won the recache. */
  alreadyWon: boolean;
}

/** Per-call options of a view: see {@link MemcacheClient.with}. */
export interface CallOptions {
  /** Deadline of each request in milliseconds (overrides `commandTimeout`). */
  timeout?: number;
  /** Aborts the requests sent through this view. */
  signal?: AbortSignal;
}

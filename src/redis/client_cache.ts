// The client-side cache of a Redis client: replies of cacheable reads kept in LRU order,
// bounded by entries and bytes, with an optional TTL; dropped by invalidation messages. A read
// in flight when its key is invalidated (or the cache is cleared) does not store its reply.

import type { ReplyHandler } from "../core/driver.ts";
import { argText, type CacheableRead, cacheableRead, invalidatedKey } from "./cache_commands.ts";
import { commandKeys, isReadOnlyCommand } from "./command_keys.ts";
import { commandName } from "./command_info.ts";
import type { RedisArg } from "./resp_encoder.ts";
import { RespMap, RespSet, type RespValue, RespVerbatim } from "./resp_types.ts";
import { RedisError } from "./errors.ts";

/** Options of client-side caching (`clientSideCache` of the Redis and cluster clients). */
export interface ClientSideCacheOptions {
  /**
   * `"default"`: the server remembers the keys this client read and invalidates those.
   * `"bcast"`: the server invalidates every key starting with one of `prefixes` (all keys
   * without prefixes), read or not; only keys with those prefixes are cached. `"optin"`:
   * each cached read is preceded by `CLIENT CACHING YES`, so the server tracks only those.
   */
  mode?: "default" | "bcast" | "optin";
  /** Key prefixes for `"bcast"` (each also limits what is cached). */
  prefixes?: readonly string[];
  /** Most entries kept; the least recently used goes first. Default 10,000. */
  maxEntries?: number;
  /** Most bytes kept (estimated size of keys and values). Default 16 MiB. */
  maxBytes?: number;
  /**
   * Milliseconds an entry is served before it is read again from the server (node-redis calls
   * it `ttl`; here `ttl` options are in seconds, as the servers' are). Default none.
   */
  maxAge?: number;
  /** Which keys may be cached (all by default; with `"optin"`, only these are tracked). */
  cacheKey?: (key: string) => boolean;
}

/** Counters of a client-side cache. */
export interface CacheStats {
  /** Reads answered from the cache. */
  hits: number;
  /** Cacheable reads sent to the server. */
  misses: number;
  /** Entries dropped to stay within `maxEntries`/`maxBytes`. */
  evictions: number;
  /** Entries dropped because their `maxAge` passed. */
  expirations: number;
  /** Keys named by invalidation messages, plus one per flush of the whole cache. */
  invalidations: number;
  /** Entries held now. */
  entries: number;
  /** Estimated bytes held now. */
  bytes: number;
}

interface Entry {
  id: string;
  keys: string[];
  value: RespValue;
  bytes: number;
  expiresAt: number;
  /** Neighbours in recency order (a list through the entries: moving one is O(1)). */
  older: Entry | undefined;
  newer: Entry | undefined;
}

const DEFAULT_MAX_ENTRIES = 10_000;
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/**
 * A client-side cache (one per client; a cluster client's is fed by every node). The client
 * sends its commands through {@link route} (which answers hits, and sends misses with a
 * {@link reader} that stores the reply) and tells {@link noteSent} of those sent otherwise;
 * invalidation pushes go to {@link invalidate}; a lost connection calls
 * {@link clear} (a new connection's setup turns tracking on before any read goes out on it).
 * {@link deactivate} (a RESP2 invalidation connection was lost) stops serving and storing
 * until {@link activate} (tracking points at its replacement).
 *
 * @example
 * ```ts
 * import { ClientCache } from "@kvwire/kvwire/redis";
 * const cache = new ClientCache({ maxEntries: 100 });
 * const read = cache.lookup(["GET", "k"]); // a miss: a read to send
 * ```
 */
export class ClientCache {
  readonly mode: "default" | "bcast" | "optin";
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #maxAge: number | undefined;
  readonly #prefixes: readonly string[];
  readonly #cacheKey: ((key: string) => boolean) | undefined;
  /** Entries by id; their recency runs from `#oldest` to `#newest`. */
  readonly #entries = new Map<string, Entry>();
  #oldest: Entry | undefined;
  #newest: Entry | undefined;
  /** Entry ids by key. */
  readonly #byKey = new Map<string, Set<string>>();
  /** Reads in flight by key. */
  readonly #inFlight = new Map<string, Set<CachingReply>>();
  #bytes = 0;
  #active = true;
  /** A MULTI was sent through the shared connection and its EXEC or DISCARD not yet. */
  #inMulti = false;
  /** Bumped by every clear: a read sent before it does not store. */
  #epoch = 0;
  readonly #stats = { hits: 0, misses: 0, evictions: 0, expirations: 0, invalidations: 0 };

  /** Checks the options (`TypeError`/`RangeError` naming the bad one). */
  constructor(options: ClientSideCacheOptions) {
    checkCacheOptions(options);
    this.mode = options.mode ?? "default";
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.#maxAge = options.maxAge;
    this.#prefixes = options.prefixes ?? [];
    this.#cacheKey = options.cacheKey;
  }

  /** The `CLIENT TRACKING ON ...` command for this mode, redirected to `redirect` if given. */
  trackingCommand(redirect?: number): RedisArg[] {
    const args: RedisArg[] = ["CLIENT", "TRACKING", "ON"];
    if (redirect !== undefined) args.push("REDIRECT", redirect);
    if (this.mode === "bcast") {
      args.push("BCAST");
      for (const prefix of this.#prefixes) args.push("PREFIX", prefix);
    } else if (this.mode === "optin") args.push("OPTIN");
    return args;
  }

  /** Serving and storing start again (tracking is on for every connection reads go to). */
  activate(): void {
    this.#active = true;
  }

  /** Serving and storing stop and the cache is cleared (invalidations may be lost). */
  deactivate(): void {
    this.#active = false;
    this.clear();
  }

  /**
   * The cached reply of `args` (a fresh copy) on a hit, the {@link CacheableRead} to send (see
   * {@link reader}) on a miss, or `undefined` when `args` is not cacheable now.
   */
  lookup(args: readonly RedisArg[]): { value: RespValue } | CacheableRead | undefined {
    if (!this.#active || this.#inMulti) return undefined;
    const read = cacheableRead(args);
    if (!read) return undefined;
    for (const key of read.keys) if (!this.#admits(key)) return undefined;
    const entry = this.#entries.get(read.id);
    if (entry) {
      if (this.#maxAge === undefined || Date.now() < entry.expiresAt) {
        this.#stats.hits++;
        if (entry !== this.#newest) {
          this.#unlink(entry);
          this.#append(entry);
        }
        return { value: copyValue(entry.value) };
      }
      this.#stats.expirations++;
      this.#drop(entry);
    }
    this.#stats.misses++;
    return read;
  }

  /**
   * Sends a command through `send`, or answers it from the cache: a hit replies at once; a
   * cacheable miss is sent with a handler that stores its reply (`"optin"`: after `CLIENT
   * CACHING YES`); anything else is noted ({@link noteSent}) and sent as is.
   */
  route(
    args: readonly RedisArg[],
    handler: ReplyHandler<RespValue>,
    send: (command: readonly RedisArg[], handler: ReplyHandler<RespValue>) => void,
  ): void {
    const found = this.lookup(args);
    if (found === undefined) {
      this.noteSent(args);
      send(args, handler);
    } else if ("value" in found) handler.reply(found.value);
    else {
      const reader = this.reader(found, handler);
      if (this.mode === "optin") send(CACHING_YES, new CachingYes(reader));
      send(args, reader);
    }
  }

  /**
   * Notes a command sent outside {@link route}'s cached path: a write drops its keys' entries
   * at once (and in-flight reads of them store nothing); MULTI stops caching until EXEC,
   * DISCARD or RESET; SELECT, SWAPDB, FLUSHDB and FLUSHALL clear; RESET, HELLO and CLIENT TRACKING, which change
   * tracking behind the cache's back, turn it off until the next connection.
   */
  noteSent(args: readonly RedisArg[]): void {
    const name = commandName(args[0]);
    if (isReadOnlyCommand(name)) return;
    switch (name) {
      case "MULTI":
        this.#inMulti = true;
        return;
      case "EXEC":
      case "DISCARD":
        this.#inMulti = false;
        return;
      case "SELECT":
      case "SWAPDB":
      case "FLUSHDB":
      case "FLUSHALL":
        this.clear();
        return;
      case "RESET":
      case "HELLO":
        this.#inMulti = false;
        this.deactivate();
        return;
      case "CLIENT":
        if (args.length > 1 && commandName(args[1]) === "TRACKING") this.deactivate();
        return;
    }
    const keys = commandKeys(args);
    if (keys.length > 0) this.#forget(keys.map((key) => argText(key) ?? ""));
  }

  /** A handler that stores the reply (unless invalidated meanwhile) and passes it on. */
  reader(read: CacheableRead, inner: ReplyHandler<RespValue>): CachingReply {
    const reply = new CachingReply(this, read, inner, this.#epoch);
    for (const key of read.keys) {
      let set = this.#inFlight.get(key);
      if (!set) this.#inFlight.set(key, set = new Set());
      set.add(reply);
    }
    return reply;
  }

  /** Called by {@link CachingReply} when its read settled. */
  settle(reply: CachingReply, value: RespValue | undefined): void {
    const { read } = reply;
    for (const key of read.keys) {
      const set = this.#inFlight.get(key);
      set?.delete(reply);
      if (set?.size === 0) this.#inFlight.delete(key);
    }
    if (
      value === undefined || value instanceof RedisError || reply.poisoned || !this.#active ||
      reply.epoch !== this.#epoch
    ) return;
    this.#store(read, value);
  }

  #store(read: CacheableRead, value: RespValue): void {
    const bytes = read.id.length + sizeOf(value);
    if (bytes > this.#maxBytes) return;
    const old = this.#entries.get(read.id);
    if (old) this.#drop(old);
    const expiresAt = this.#maxAge === undefined ? Infinity : Date.now() + this.#maxAge;
    const entry: Entry = {
      id: read.id,
      keys: read.keys,
      value: copyValue(value),
      bytes,
      expiresAt,
      older: undefined,
      newer: undefined,
    };
    this.#entries.set(read.id, entry);
    this.#append(entry);
    this.#bytes += bytes;
    for (const key of read.keys) {
      let ids = this.#byKey.get(key);
      if (!ids) this.#byKey.set(key, ids = new Set());
      ids.add(read.id);
    }
    while (this.#entries.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      this.#stats.evictions++;
      this.#drop(this.#oldest!);
    }
  }

  #append(entry: Entry): void {
    entry.older = this.#newest;
    entry.newer = undefined;
    if (this.#newest) this.#newest.newer = entry;
    else this.#oldest = entry;
    this.#newest = entry;
  }

  #unlink(entry: Entry): void {
    if (entry.older) entry.older.newer = entry.newer;
    else this.#oldest = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else this.#newest = entry.older;
    entry.older = entry.newer = undefined;
  }

  #drop(entry: Entry): void {
    this.#entries.delete(entry.id);
    this.#unlink(entry);
    this.#bytes -= entry.bytes;
    for (const key of entry.keys) {
      const ids = this.#byKey.get(key);
      ids?.delete(entry.id);
      if (ids?.size === 0) this.#byKey.delete(key);
    }
  }

  /**
   * Applies an invalidation: `null` drops everything, otherwise the entries of each key, and
   * reads of those keys in flight will not store their replies.
   */
  invalidate(keys: readonly (Uint8Array | string)[] | null): void {
    if (keys === null) {
      this.#stats.invalidations++;
      this.clear();
      return;
    }
    this.#stats.invalidations += keys.length;
    this.#forget(keys.map(invalidatedKey));
  }

  #forget(keys: readonly string[]): void {
    for (const key of keys) {
      for (const reply of this.#inFlight.get(key) ?? []) reply.poisoned = true;
      const ids = this.#byKey.get(key);
      if (!ids) continue;
      for (const id of [...ids]) this.#drop(this.#entries.get(id)!);
    }
  }

  /** Drops every entry; reads in flight will not store their replies. */
  clear(): void {
    this.#epoch++;
    this.#entries.clear();
    this.#oldest = this.#newest = undefined;
    this.#byKey.clear();
    this.#bytes = 0;
  }

  /** The counters and the current size. */
  stats(): CacheStats {
    return { ...this.#stats, entries: this.#entries.size, bytes: this.#bytes };
  }

  /** Whether `key` may be cached: the `cacheKey` filter and, in `"bcast"`, the prefixes. */
  #admits(key: string): boolean {
    if (this.#cacheKey && !this.#cacheKey(key)) return false;
    if (this.mode !== "bcast" || this.#prefixes.length === 0) return true;
    return this.#prefixes.some((prefix) => key.startsWith(prefix));
  }
}

/**
 * The reply handler of a cacheable read sent on a miss: stores the reply in its cache unless
 * its key was invalidated while it was in flight, then hands the reply on.
 *
 * @example
 * ```ts
 * import { ClientCache } from "@kvwire/kvwire/redis";
 * const cache = new ClientCache({});
 * const read = cache.lookup(["GET", "k"]);
 * const handler = cache.reader(read as never, { reply: console.log, fail: console.error });
 * handler.reply("v"); // stored, then logged
 * ```
 */
export class CachingReply implements ReplyHandler<RespValue> {
  /** Set when the read's key was invalidated (or its CLIENT CACHING refused) in flight. */
  poisoned = false;
  constructor(
    readonly cache: ClientCache,
    readonly read: CacheableRead,
    readonly inner: ReplyHandler<RespValue>,
    readonly epoch: number,
  ) {}

  reply(value: RespValue): void {
    this.cache.settle(this, value);
    this.inner.reply(value);
  }

  fail(error: Error): void {
    this.cache.settle(this, undefined);
    this.inner.fail(error);
  }
}

const CACHING_YES: readonly RedisArg[] = ["CLIENT", "CACHING", "YES"];

/** The handler of the `CLIENT CACHING YES` before an `"optin"` read: if it fails, the server
 * will not track the read, so its reply must not be stored. */
class CachingYes implements ReplyHandler<RespValue> {
  constructor(readonly reader: CachingReply) {}
  reply(value: RespValue): void {
    if (value !== "OK") this.reader.poisoned = true;
  }
  fail(): void {
    this.reader.poisoned = true;
  }
}

/** A deep copy of the mutable parts of a reply (callers may change what they get). */
function copyValue(value: RespValue): RespValue {
  if (typeof value !== "object" || value === null) return value; // strings, numbers: immutable
  if (value instanceof Uint8Array) return value.slice();
  if (Array.isArray(value)) return copyItems(value);
  if (value instanceof RespMap) {
    const pairs = value.entries;
    const out: [RespValue, RespValue][] = new Array(pairs.length);
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i];
      out[i] = [copyValue(pair[0]), copyValue(pair[1])];
    }
    return new RespMap(out);
  }
  if (value instanceof RespSet) return new RespSet(copyItems(value.items));
  if (value instanceof RespVerbatim) return new RespVerbatim(value.format, value.text.slice());
  return value;
}

function copyItems(items: readonly RespValue[]): RespValue[] {
  const out: RespValue[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) out[i] = copyValue(items[i]);
  return out;
}

/** Estimated bytes of a reply (UTF-16 strings at 2 bytes a unit, 16 per aggregate item). */
function sizeOf(value: RespValue): number {
  if (typeof value === "string") return value.length * 2;
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) {
    let total = 16;
    for (const item of value) total += 16 + sizeOf(item);
    return total;
  }
  if (value instanceof RespMap) {
    let total = 16;
    for (const [k, v] of value.entries) total += 32 + sizeOf(k) + sizeOf(v);
    return total;
  }
  if (value instanceof RespSet) return sizeOf(value.items);
  if (value instanceof RespVerbatim) return 16 + value.text.byteLength;
  return 8;
}

/** Checks {@link ClientSideCacheOptions}, throwing a `TypeError`/`RangeError` naming the field. */
function checkCacheOptions(options: ClientSideCacheOptions): void {
  const { mode, prefixes, maxEntries, maxBytes, maxAge, cacheKey } = options;
  if (mode !== undefined && mode !== "default" && mode !== "bcast" && mode !== "optin") {
    throw new RangeError(
      `clientSideCache.mode ${JSON.stringify(mode)} is not "default", "bcast" or "optin"`,
    );
  }
  if (prefixes !== undefined) {
    if (!Array.isArray(prefixes) || prefixes.some((p) => typeof p !== "string")) {
      throw new TypeError("clientSideCache.prefixes must be an array of strings");
    }
    if (mode !== "bcast" && prefixes.length > 0) {
      throw new TypeError('clientSideCache.prefixes needs mode "bcast"');
    }
  }
  for (const [name, value] of [["maxEntries", maxEntries], ["maxBytes", maxBytes]] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      throw new RangeError(`clientSideCache.${name} must be a positive integer, got ${value}`);
    }
  }
  if (
    maxAge !== undefined && !(typeof maxAge === "number" && maxAge > 0 && Number.isFinite(maxAge))
  ) {
    throw new RangeError(`clientSideCache.maxAge must be a positive number of ms, got ${maxAge}`);
  }
  if (cacheKey !== undefined && typeof cacheKey !== "function") {
    throw new TypeError("clientSideCache.cacheKey must be a function");
  }
}

// Which replies client-side caching may keep: the cacheable read-only commands, the keys whose
// invalidation drops each entry, and the identity of an entry (the command's exact arguments).
// Spec: https://redis.io/docs/latest/develop/reference/client-side-caching/

import type { RedisArg } from "./resp_encoder.ts";

/** Cacheable commands reading the one key at argument 1 (the rest of the arguments vary). */
const ONE_KEY = new Set(
  (
    "BITCOUNT BITPOS GET GETBIT GETRANGE STRLEN HEXISTS HGET HGETALL HKEYS HLEN HMGET HSTRLEN " +
    "HVALS LINDEX LLEN LPOS LRANGE SCARD SISMEMBER SMEMBERS SMISMEMBER TYPE ZCARD ZCOUNT " +
    "ZLEXCOUNT ZMSCORE ZRANGE ZRANGEBYLEX ZRANGEBYSCORE ZRANK ZREVRANGE ZREVRANGEBYLEX " +
    "ZREVRANGEBYSCORE ZREVRANK ZSCORE XLEN GEOPOS GEODIST GEOHASH"
  ).split(" "),
);

/** Cacheable commands whose every argument after the name is a key (the entry is dropped when
 * any of them is invalidated). */
const ALL_KEYS = new Set(["MGET", "SINTER", "SUNION", "SDIFF"]);

/** A cacheable read: the entry's identity and the keys that invalidate it. */
export interface CacheableRead {
  /** The command's arguments as one string (distinct arguments give distinct ids): `NAME key`
   * for a command with one argument, else the JSON array of the arguments as text. */
  id: string;
  /** The keys whose invalidation drops the entry, as the cache names keys. */
  keys: string[];
}

/**
 * The cacheable read a command is, or undefined when its reply must not be cached (a write, a
 * command outside the list, or an argument that is not valid UTF-8). Names are matched as
 * given and in upper case.
 *
 * @example
 * ```ts
 * import { cacheableRead } from "@kvwire/kvwire/redis";
 * cacheableRead(["HGET", "user:1", "name"]); // { id: '["HGET","user:1","name"]', keys: ["user:1"] }
 * cacheableRead(["GET", "user:1"]); // { id: "GET user:1", keys: ["user:1"] }
 * cacheableRead(["SET", "k", "v"]); // undefined
 * ```
 */
export function cacheableRead(args: readonly RedisArg[]): CacheableRead | undefined {
  const head = args[0];
  if (typeof head !== "string" || args.length < 2) return undefined;
  let name = head;
  if (!ONE_KEY.has(name) && !ALL_KEYS.has(name)) {
    name = head.toUpperCase();
    if (!ONE_KEY.has(name) && !ALL_KEYS.has(name)) return undefined;
  }
  if (args.length === 2 && typeof args[1] === "string") {
    // The common one-key read: "NAME key" (no JSON id starts with a letter; no name has a space).
    return { id: `${name} ${args[1]}`, keys: [args[1]] };
  }
  const texts: string[] = [name];
  for (let i = 1; i < args.length; i++) {
    const text = argText(args[i]);
    if (text === undefined) return undefined;
    texts.push(text);
  }
  const keys = ONE_KEY.has(name) ? [texts[1]] : texts.slice(1);
  return { id: JSON.stringify(texts), keys };
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * An argument as text, or undefined for bytes that are not valid UTF-8 (never cached, so
 * that two distinct binary keys cannot share an entry).
 *
 * @example
 * ```ts
 * import { argText } from "@kvwire/kvwire/redis";
 * argText(new Uint8Array([0xff])); // undefined
 * ```
 */
export function argText(arg: RedisArg): string | undefined {
  if (typeof arg === "string") return arg;
  if (arg instanceof Uint8Array) {
    try {
      return strictUtf8.decode(arg);
    } catch {
      return undefined;
    }
  }
  return String(arg);
}

/**
 * The key of an invalidation message as the cache names keys (UTF-8 text; invalid bytes
 * become U+FFFD, which can only drop more entries than needed, never fewer: keys that are not
 * valid UTF-8 are never cached).
 *
 * @example
 * ```ts
 * import { invalidatedKey } from "@kvwire/kvwire/redis";
 * invalidatedKey(new TextEncoder().encode("user:1")); // "user:1"
 * ```
 */
export function invalidatedKey(key: Uint8Array | string): string {
  return typeof key === "string" ? key : lenientUtf8.decode(key);
}

const lenientUtf8 = new TextDecoder("utf-8");

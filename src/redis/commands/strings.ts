// Typed commands on string values, counters, bitmaps and HyperLogLogs.
// Spec: https://redis.io/docs/latest/commands/?group=string (and bitmap, hyperloglog)

import type { RedisArg } from "../resp_encoder.ts";
import { CommandBase, type CommandMode, type Out, type RedisKey, type RedisValue } from "./base.ts";
import { asBoolean, asFloat, asInteger, asNumber, asOk, asValue, asValues } from "./transforms.ts";

/** Expiry and condition options of SET. */
export interface SetOptions {
  /** Expire after this many seconds. */
  ex?: number;
  /** Expire after this many milliseconds. */
  px?: number;
  /** Expire at this Unix time in seconds. */
  exat?: number;
  /** Expire at this Unix time in milliseconds. */
  pxat?: number;
  /** Only set if the key does not exist. */
  nx?: boolean;
  /** Only set if the key exists. */
  xx?: boolean;
  /** Keep the current time to live. */
  keepTtl?: boolean;
}

/** Expiry options of GETEX. */
export interface GetExOptions {
  /** Expire after this many seconds. */
  ex?: number;
  /** Expire after this many milliseconds. */
  px?: number;
  /** Expire at this Unix time in seconds. */
  exat?: number;
  /** Expire at this Unix time in milliseconds. */
  pxat?: number;
  /** Remove the time to live. */
  persist?: boolean;
}

/**
 * A BITOP operation. `DIFF` (bits of the first key set in none of the others), `DIFF1` (set in
 * one of the others but not in the first), `ANDOR` (set in the first and in at least one other)
 * and `ONE` (set in exactly one key) need Redis 8.2.
 */
export type BitOperation = "AND" | "OR" | "XOR" | "NOT" | "DIFF" | "DIFF1" | "ANDOR" | "ONE";

/** Range options of BITCOUNT / BITPOS. */
export interface BitRange {
  /** First byte (or bit) of the range; negative counts from the end. */
  start: number;
  /** Last byte (or bit) of the range, inclusive; negative counts from the end. Default -1. */
  end?: number;
  /** Count `start`/`end` in bits instead of bytes (Redis 7). */
  unit?: "BYTE" | "BIT";
}

/**
 * The `EX`/`PX`/`EXAT`/`PXAT` arguments of an expiry (SET, GETEX, HGETEX, HSETEX).
 *
 * @example
 * ```ts
 * import { expiryArgs } from "@kvwire/kvwire/redis";
 * expiryArgs({ px: 1500 }); // ["PX", 1500]
 * ```
 */
export function expiryArgs(options: SetOptions | GetExOptions): RedisArg[] {
  const args: RedisArg[] = [];
  if (options.ex !== undefined) args.push("EX", options.ex);
  if (options.px !== undefined) args.push("PX", options.px);
  if (options.exat !== undefined) args.push("EXAT", options.exat);
  if (options.pxat !== undefined) args.push("PXAT", options.pxat);
  return args;
}

/**
 * String, counter, bitmap and HyperLogLog commands.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379", { decode: true });
 * await redis.set("greeting", "hello", { ex: 60 });
 * await redis.get("greeting"); // "hello"
 * await redis.incrBy("hits", 5); // 5
 * ```
 */
export abstract class StringCommands<V, M extends CommandMode> extends CommandBase<V, M> {
  /** GET: the value, or null when the key is missing. */
  get(key: RedisKey): Out<M, V | null, this> {
    return this.call(["GET", key], asValue<V>);
  }

  /** SET with options; true when set, false when NX/XX prevented it. */
  set(key: RedisKey, value: RedisValue, options?: SetOptions): Out<M, boolean, this> {
    if (options === undefined) return this.call(["SET", key, value], asOk); // the common case
    const args: RedisArg[] = ["SET", key, value, ...expiryArgs(options)];
    if (options.nx) args.push("NX");
    if (options.xx) args.push("XX");
    if (options.keepTtl) args.push("KEEPTTL");
    return this.call(args, asOk);
  }

  /** SET ... GET: sets and returns the previous value. */
  setGet(key: RedisKey, value: RedisValue, options: SetOptions = {}): Out<M, V | null, this> {
    const args: RedisArg[] = ["SET", key, value, ...expiryArgs(options)];
    if (options.nx) args.push("NX");
    if (options.xx) args.push("XX");
    if (options.keepTtl) args.push("KEEPTTL");
    args.push("GET");
    return this.call(args, asValue<V>);
  }

  /** SETNX: sets only when missing; true when it did. */
  setNx(key: RedisKey, value: RedisValue): Out<M, boolean, this> {
    return this.call(["SETNX", key, value], asBoolean);
  }

  /** SETEX: sets with a time to live in seconds (redis-py's `setex(name, time, value)`). */
  setEx(key: RedisKey, seconds: number, value: RedisValue): Out<M, boolean, this> {
    return this.call(["SETEX", key, seconds, value], asOk);
  }

  /** PSETEX: sets with a time to live in milliseconds. */
  pSetEx(key: RedisKey, milliseconds: number, value: RedisValue): Out<M, boolean, this> {
    return this.call(["PSETEX", key, milliseconds, value], asOk);
  }

  /** MGET: values in key order, null for missing keys. */
  mGet(...keys: RedisKey[]): Out<M, (V | null)[], this> {
    return this.call(["MGET", ...keys], asValues<V>);
  }

  /** MSET from an object or a Map. */
  mSet(entries: Record<string, RedisValue> | Map<RedisKey, RedisValue>): Out<M, boolean, this> {
    return this.call(["MSET", ...flattenEntries(entries)], asOk);
  }

  /** MSETNX: sets all or none; true when it set them. */
  mSetNx(entries: Record<string, RedisValue> | Map<RedisKey, RedisValue>): Out<M, boolean, this> {
    return this.call(["MSETNX", ...flattenEntries(entries)], asBoolean);
  }

  /** GETSET: sets and returns the old value. */
  getSet(key: RedisKey, value: RedisValue): Out<M, V | null, this> {
    return this.call(["GETSET", key, value], asValue<V>);
  }

  /** GETDEL: returns the value and deletes the key. */
  getDel(key: RedisKey): Out<M, V | null, this> {
    return this.call(["GETDEL", key], asValue<V>);
  }

  /** GETEX: returns the value and changes its expiry. */
  getEx(key: RedisKey, options: GetExOptions = {}): Out<M, V | null, this> {
    const args: RedisArg[] = ["GETEX", key, ...expiryArgs(options)];
    if (options.persist) args.push("PERSIST");
    return this.call(args, asValue<V>);
  }

  /** APPEND: the length after appending. */
  append(key: RedisKey, value: RedisValue): Out<M, number, this> {
    return this.call(["APPEND", key, value], asNumber);
  }

  /** STRLEN: the length of the value in bytes. */
  strLen(key: RedisKey): Out<M, number, this> {
    return this.call(["STRLEN", key], asNumber);
  }

  /** GETRANGE: the substring between two inclusive byte offsets. */
  getRange(key: RedisKey, start: number, end: number): Out<M, V, this> {
    return this.call(["GETRANGE", key, start, end], (r, c) => asValue<V>(r, c) as V);
  }

  /** SETRANGE: overwrites from an offset; the new length. */
  setRange(key: RedisKey, offset: number, value: RedisValue): Out<M, number, this> {
    return this.call(["SETRANGE", key, offset, value], asNumber);
  }

  /**
   * INCR: the new value, a `number` while safe (within ±(2^53−1)) and an exact `bigint`
   * beyond (Redis counters are signed 64-bit).
   */
  incr(key: RedisKey): Out<M, number | bigint, this> {
    return this.call(["INCR", key], asInteger);
  }

  /** INCRBY (redis-py's `incr(name, amount)`): the new value, `bigint` beyond 2^53 as INCR. */
  incrBy(key: RedisKey, amount: number | bigint): Out<M, number | bigint, this> {
    return this.call(["INCRBY", key, amount], asInteger);
  }

  /** INCRBYFLOAT. */
  incrByFloat(key: RedisKey, amount: number): Out<M, number, this> {
    return this.call(["INCRBYFLOAT", key, amount], asFloat);
  }

  /** DECR: the new value, `bigint` beyond ±(2^53−1) as INCR. */
  decr(key: RedisKey): Out<M, number | bigint, this> {
    return this.call(["DECR", key], asInteger);
  }

  /** DECRBY: the new value, `bigint` beyond ±(2^53−1) as INCR. */
  decrBy(key: RedisKey, amount: number | bigint): Out<M, number | bigint, this> {
    return this.call(["DECRBY", key, amount], asInteger);
  }

  /** SETBIT: the previous bit. */
  setBit(key: RedisKey, offset: number, bit: 0 | 1): Out<M, number, this> {
    return this.call(["SETBIT", key, offset, bit], asNumber);
  }

  /** GETBIT. */
  getBit(key: RedisKey, offset: number): Out<M, number, this> {
    return this.call(["GETBIT", key, offset], asNumber);
  }

  /** BITCOUNT over the whole value or a range. */
  bitCount(key: RedisKey, range?: BitRange): Out<M, number, this> {
    return this.call(["BITCOUNT", key, ...rangeArgs(range)], asNumber);
  }

  /** BITPOS: the first bit set to `bit`, or -1. */
  bitPos(key: RedisKey, bit: 0 | 1, range?: BitRange): Out<M, number, this> {
    return this.call(["BITPOS", key, bit, ...rangeArgs(range)], asNumber);
  }

  /**
   * BITOP into `destination`; the result's length.
   *
   * @since Redis 8.2 for `DIFF`, `DIFF1`, `ANDOR` and `ONE`
   */
  bitOp(
    operation: BitOperation,
    destination: RedisKey,
    ...keys: RedisKey[]
  ): Out<M, number, this> {
    return this.call(["BITOP", operation, destination, ...keys], asNumber);
  }

  /** PFADD: true when the estimate changed. */
  pfAdd(key: RedisKey, ...elements: RedisValue[]): Out<M, boolean, this> {
    return this.call(["PFADD", key, ...elements], asBoolean);
  }

  /** PFCOUNT: the approximate cardinality of the union. */
  pfCount(...keys: RedisKey[]): Out<M, number, this> {
    return this.call(["PFCOUNT", ...keys], asNumber);
  }

  /** PFMERGE into `destination`. */
  pfMerge(destination: RedisKey, ...sources: RedisKey[]): Out<M, boolean, this> {
    return this.call(["PFMERGE", destination, ...sources], asOk);
  }
}

function rangeArgs(range: BitRange | undefined): RedisArg[] {
  if (!range) return [];
  const args: RedisArg[] = [range.start, range.end ?? -1];
  if (range.unit) args.push(range.unit);
  return args;
}

/**
 * Flattens an object or Map into `k1, v1, k2, v2` arguments.
 *
 * @example
 * ```ts
 * import { flattenEntries } from "@kvwire/kvwire/redis";
 * flattenEntries({ a: 1, b: "x" }); // ["a", 1, "b", "x"]
 * ```
 */
export function flattenEntries(
  entries: Record<string, RedisValue> | Map<RedisKey, RedisValue>,
): RedisArg[] {
  const args: RedisArg[] = [];
  const pairs = entries instanceof Map ? entries.entries() : Object.entries(entries);
  for (const [k, v] of pairs) args.push(k, v);
  if (args.length === 0) throw new TypeError("At least one field/value pair is required");
  return args;
}

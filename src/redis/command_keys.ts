// Which arguments of a Redis command are keys (the `first, last, step` key specs of
// `COMMAND INFO`, plus the commands whose keys follow a count), and which commands only read.
// Spec: https://redis.io/docs/latest/develop/reference/key-specs/

import { commandName } from "./command_info.ts";
import type { RedisArg } from "./resp_encoder.ts";
import { keySlot } from "./cluster/slot.ts";

/** `[first, last, step]`: keys at `first, first + step, ...` up to `last` (negative: from the end). */
type Range = readonly [number, number, number];

const ONE: Range = [1, 1, 1];
const ALL: Range = [1, -1, 1];
const TWO: Range = [1, 2, 1];
const PAIRS: Range = [1, -1, 2];
const ALL_BUT_LAST: Range = [1, -2, 1];

/** Commands whose keys are a fixed range of their arguments. */
const RANGES: Record<string, Range> = {
  ...Object.fromEntries(
    (
      "APPEND BITCOUNT BITFIELD BITFIELD_RO BITPOS DECR DECRBY DUMP EXPIRE EXPIREAT EXPIRETIME " +
      "GEOADD GEODIST GEOHASH GEOPOS GEOSEARCH GET GETBIT GETDEL GETEX GETRANGE GETSET HDEL " +
      "HEXISTS HGET HGETALL HINCRBY HINCRBYFLOAT HKEYS HLEN HMGET HMSET HRANDFIELD HSCAN HSET " +
      "HSETNX HSTRLEN HVALS INCR INCRBY INCRBYFLOAT LINDEX LINSERT LLEN LPOP LPOS LPUSH LPUSHX " +
      "LRANGE LREM LSET LTRIM PERSIST PEXPIRE PEXPIREAT PEXPIRETIME PFADD PSETEX PTTL RESTORE " +
      "RPOP RPUSH RPUSHX SADD SCARD SET SETBIT SETEX SETNX SETRANGE SISMEMBER SMEMBERS " +
      "SMISMEMBER SPOP SRANDMEMBER SREM SSCAN STRLEN SUBSTR TTL TYPE XACK XADD XAUTOCLAIM " +
      "XCLAIM XDEL XLEN XPENDING XRANGE XREVRANGE XSETID XTRIM ZADD ZCARD ZCOUNT ZINCRBY " +
      "ZLEXCOUNT ZMSCORE ZPOPMAX ZPOPMIN ZRANDMEMBER ZRANGE ZRANGEBYLEX ZRANGEBYSCORE ZRANK " +
      "ZREM ZREMRANGEBYLEX ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREVRANGE ZREVRANGEBYLEX " +
      "ZREVRANGEBYSCORE ZREVRANK ZSCAN ZSCORE SORT SORT_RO LCS SPUBLISH"
    ).split(" ").map((name) => [name, ONE]),
  ),
  ...Object.fromEntries(
    "DEL EXISTS MGET PFCOUNT PFMERGE SDIFF SDIFFSTORE SINTER SINTERSTORE SUNION SUNIONSTORE TOUCH UNLINK WATCH"
      .split(" ").map((name) => [name, ALL]),
  ),
  ...Object.fromEntries(
    "COPY LMOVE RENAME RENAMENX RPOPLPUSH SMOVE GEOSEARCHSTORE ZRANGESTORE BLMOVE BRPOPLPUSH"
      .split(" ").map((name) => [name, TWO]),
  ),
  MSET: PAIRS,
  MSETNX: PAIRS,
  BLPOP: ALL_BUT_LAST,
  BRPOP: ALL_BUT_LAST,
  BZPOPMIN: ALL_BUT_LAST,
  BZPOPMAX: ALL_BUT_LAST,
  BITOP: [2, -1, 1],
  OBJECT: [2, 2, 1],
  MEMORY: [2, 2, 1],
  XGROUP: [2, 2, 1],
  XINFO: [2, 2, 1],
};

/** Commands whose keys are counted: `[index of the count, offset of the first key after it]`. */
const COUNTED: Record<string, readonly [number, number]> = {
  EVAL: [2, 1],
  EVALSHA: [2, 1],
  EVAL_RO: [2, 1],
  EVALSHA_RO: [2, 1],
  FCALL: [2, 1],
  FCALL_RO: [2, 1],
  SINTERCARD: [1, 1],
  ZINTERCARD: [1, 1],
  ZUNION: [1, 1],
  ZINTER: [1, 1],
  ZDIFF: [1, 1],
  LMPOP: [1, 1],
  ZMPOP: [1, 1],
  BLMPOP: [2, 1],
  BZMPOP: [2, 1],
};

/** Commands with a destination key and counted source keys (ZUNIONSTORE dst n k1 ... kn). */
const STORE_COUNTED = new Set(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]);

/**
 * The key arguments of a command (empty for keyless commands such as PING or INFO).
 *
 * @example
 * ```ts
 * import { commandKeys } from "@kvwire/kvwire/redis";
 * commandKeys(["MSET", "a", "1", "b", "2"]); // ["a", "b"]
 * commandKeys(["EVALSHA", "abc", 1, "k", "arg"]); // ["k"]
 * ```
 */
export function commandKeys(args: readonly RedisArg[]): RedisArg[] {
  const name = commandName(args[0]);
  const range = RANGES[name];
  if (range) return keysInRange(args, range);
  const counted = COUNTED[name];
  if (counted) return countedKeys(args, counted[0]);
  if (STORE_COUNTED.has(name)) return [args[1], ...countedKeys(args, 2)];
  if (name === "XREAD" || name === "XREADGROUP") return streamKeys(args);
  return [];
}

/** {@link commandSlot} of a command without keys. */
export const NO_KEYS = -1;
/** {@link commandSlot} of a command whose keys map to more than one slot. */
export const CROSS_SLOT = -2;

/**
 * The slot every key of the command maps to; {@link NO_KEYS} for a keyless command,
 * {@link CROSS_SLOT} when its keys span slots. `name` is the command's upper-case name.
 *
 * @example
 * ```ts
 * import { commandSlot } from "@kvwire/kvwire/redis";
 * commandSlot(["GET", "123456789"], "GET"); // 12739
 * commandSlot(["MGET", "a", "b"], "MGET"); // -2
 * ```
 */
export function commandSlot(args: readonly RedisArg[], name: string): number {
  if (RANGES[name] === ONE) return args.length > 1 ? keySlot(args[1]) : NO_KEYS;
  return slotOfKeys(commandKeys(args));
}

/** The one slot of `keys`, {@link NO_KEYS} or {@link CROSS_SLOT}. */
export function slotOfKeys(keys: readonly RedisArg[]): number {
  let slot = NO_KEYS;
  for (const key of keys) {
    const s = keySlot(key);
    if (slot === NO_KEYS) slot = s;
    else if (s !== slot) return CROSS_SLOT;
  }
  return slot;
}

function keysInRange(args: readonly RedisArg[], [first, last, step]: Range): RedisArg[] {
  const end = last < 0 ? args.length + last : Math.min(last, args.length - 1);
  const keys: RedisArg[] = [];
  for (let i = first; i <= end; i += step) keys.push(args[i]);
  return keys;
}

function countedKeys(args: readonly RedisArg[], at: number): RedisArg[] {
  const raw = args[at];
  const count = Number(raw instanceof Uint8Array ? commandName(raw) : raw);
  if (!Number.isInteger(count) || count < 0) return [];
  return args.slice(at + 1, at + 1 + count) as RedisArg[];
}

/** XREAD ... STREAMS k1 k2 id1 id2: the first half after STREAMS. */
function streamKeys(args: readonly RedisArg[]): RedisArg[] {
  const at = args.findIndex((a, i) => i > 0 && commandName(a) === "STREAMS");
  if (at === -1) return [];
  const rest = args.slice(at + 1);
  return rest.slice(0, Math.floor(rest.length / 2)) as RedisArg[];
}

const READ_ONLY = new Set(
  (
    "BITCOUNT BITFIELD_RO BITPOS DBSIZE DUMP ECHO EXISTS EXPIRETIME GEODIST GEOHASH GEOPOS " +
    "GEOSEARCH GET GETBIT GETRANGE HEXISTS HGET HGETALL HKEYS HLEN HMGET HRANDFIELD HSCAN " +
    "HSTRLEN HVALS KEYS LCS LINDEX LLEN LPOS LRANGE MGET OBJECT PEXPIRETIME PFCOUNT PING PTTL " +
    "RANDOMKEY SCAN SCARD SDIFF SINTER SINTERCARD SISMEMBER SMEMBERS SMISMEMBER SORT_RO " +
    "SRANDMEMBER SSCAN STRLEN SUBSTR SUNION TIME TOUCH TTL TYPE XINFO XLEN XPENDING XRANGE " +
    "XREAD XREVRANGE ZCARD ZCOUNT ZDIFF ZINTER ZINTERCARD ZLEXCOUNT ZMSCORE ZRANDMEMBER ZRANGE " +
    "ZRANGEBYLEX ZRANGEBYSCORE ZRANK ZREVRANGE ZREVRANGEBYLEX ZREVRANGEBYSCORE ZREVRANK ZSCAN " +
    "ZSCORE ZUNION EVAL_RO EVALSHA_RO FCALL_RO"
  ).split(" "),
);

/**
 * Whether a command only reads (so it may be sent again after a lost connection, and may be
 * served by a replica).
 *
 * @example
 * ```ts
 * import { isReadOnlyCommand } from "@kvwire/kvwire/redis";
 * isReadOnlyCommand("GET"); // true
 * isReadOnlyCommand("INCR"); // false
 * ```
 */
export function isReadOnlyCommand(name: string): boolean {
  return READ_ONLY.has(name);
}

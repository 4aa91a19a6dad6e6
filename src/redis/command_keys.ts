// Which arguments of a Redis command are keys (the `first, last, step` key specs of
// `COMMAND INFO`, the commands whose keys follow a count or an option), which commands have
// none, and which only read. Cluster routing and `keyPrefix` both read this one table.
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
      "ZREVRANGEBYSCORE ZREVRANK ZSCAN ZSCORE LCS SPUBLISH MOVE RESTORE-ASKING " +
      "GEORADIUS_RO GEORADIUSBYMEMBER_RO " +
      // newer than 7.0: hash field expiry (7.4), HGETDEL/HGETEX/HSETEX and vector sets (8.0),
      // XDELEX/XACKDEL (8.2)
      "HEXPIRE HPEXPIRE HEXPIREAT HPEXPIREAT HTTL HPTTL HEXPIRETIME HPEXPIRETIME HPERSIST " +
      "HGETDEL HGETEX HSETEX VADD VSIM VREM VCARD VDIM VEMB VGETATTR VSETATTR VINFO VLINKS " +
      "VRANDMEMBER VISMEMBER XDELEX XACKDEL"
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
  PFDEBUG: [2, 2, 1],
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

/** Commands whose keys are found by reading their options. */
const PARSED: Record<string, (args: readonly RedisArg[]) => number[]> = {
  XREAD: streamIndexes,
  XREADGROUP: streamIndexes,
  SORT: (args) => sortArguments(args).keys,
  SORT_RO: (args) => sortArguments(args).keys,
  MIGRATE: migrateIndexes,
  GEORADIUS: (args) => [1, ...storeIndexes(args, 5)],
  GEORADIUSBYMEMBER: (args) => [1, ...storeIndexes(args, 4)],
  DEBUG: (args) => commandName(args[1]) === "OBJECT" ? [2] : [],
};

/**
 * Commands without keys (whole containers such as CONFIG or CLIENT included). Channels are not
 * keys: PUBLISH and SUBSCRIBE are here. KEYS and SCAN take a pattern, not a key (see
 * `key_prefix.ts`); DEBUG is parsed (DEBUG OBJECT reads a key).
 */
const KEYLESS = new Set(
  (
    "ACL ASKING AUTH BGREWRITEAOF BGSAVE CLIENT CLUSTER COMMAND COMMANDLOG CONFIG DBSIZE DISCARD ECHO EXEC " +
    "FAILOVER FLUSHALL FLUSHDB FUNCTION HELLO INFO KEYS LASTSAVE LATENCY LOLWUT MODULE MONITOR " +
    "MULTI PFSELFTEST PING PSUBSCRIBE PSYNC PUBLISH PUBSUB PUNSUBSCRIBE QUIT RANDOMKEY READONLY " +
    "READWRITE REPLCONF REPLICAOF RESET ROLE SAVE SCAN SCRIPT SELECT SHUTDOWN SLAVEOF SLOWLOG " +
    "SSUBSCRIBE SUBSCRIBE SUNSUBSCRIBE SWAPDB SYNC TIME UNSUBSCRIBE UNWATCH WAIT WAITAOF"
  ).split(" "),
);

/**
 * The indexes of a command's key arguments: `[]` for a keyless command such as PING, undefined
 * for a command this table does not know.
 *
 * @example
 * ```ts
 * import { keyIndexes } from "@kvwire/kvwire/redis";
 * keyIndexes(["MSET", "a", "1", "b", "2"]); // [1, 3]
 * keyIndexes(["PING"]); // []
 * keyIndexes(["MODULE.CMD", "k"]); // undefined
 * ```
 */
export function keyIndexes(args: readonly RedisArg[]): number[] | undefined {
  const name = commandName(args[0]);
  const range = RANGES[name];
  if (range) return indexesInRange(args.length, range);
  const counted = COUNTED[name];
  if (counted) return countedIndexes(args, counted[0]);
  if (STORE_COUNTED.has(name)) return [1, ...countedIndexes(args, 2)];
  const parsed = PARSED[name];
  if (parsed) return parsed(args).filter((i) => i < args.length);
  return KEYLESS.has(name) ? [] : undefined;
}

/**
 * The key arguments of a command (empty for keyless commands such as PING or INFO, and for
 * commands {@link keyIndexes} does not know).
 *
 * @example
 * ```ts
 * import { commandKeys } from "@kvwire/kvwire/redis";
 * commandKeys(["MSET", "a", "1", "b", "2"]); // ["a", "b"]
 * commandKeys(["EVALSHA", "abc", 1, "k", "arg"]); // ["k"]
 * ```
 */
export function commandKeys(args: readonly RedisArg[]): RedisArg[] {
  return (keyIndexes(args) ?? []).map((i) => args[i]);
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

function indexesInRange(length: number, [first, last, step]: Range): number[] {
  const end = last < 0 ? length + last : Math.min(last, length - 1);
  const indexes: number[] = [];
  for (let i = first; i <= end; i += step) indexes.push(i);
  return indexes;
}

function countedIndexes(args: readonly RedisArg[], at: number): number[] {
  const raw = args[at];
  const count = Number(raw instanceof Uint8Array ? commandName(raw) : raw);
  if (!Number.isInteger(count) || count < 0) return [];
  const indexes: number[] = [];
  for (let i = at + 1; i <= at + count && i < args.length; i++) indexes.push(i);
  return indexes;
}

/** XREAD ... STREAMS k1 k2 id1 id2: the first half after STREAMS. */
function streamIndexes(args: readonly RedisArg[]): number[] {
  const at = args.findIndex((a, i) => i > 0 && commandName(a) === "STREAMS");
  if (at === -1) return [];
  const count = Math.floor((args.length - at - 1) / 2);
  return Array.from({ length: count }, (_, i) => at + 1 + i);
}

/**
 * SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE dst]:
 * the keys (the sorted key, the destination) and the patterns naming keys (BY, GET but `#`).
 *
 * @example
 * ```ts
 * import { sortArguments } from "@kvwire/kvwire/redis";
 * sortArguments(["SORT", "ids", "BY", "w_*", "GET", "#", "STORE", "out"]); // { keys: [1, 7], patterns: [3] }
 * ```
 */
export function sortArguments(args: readonly RedisArg[]): { keys: number[]; patterns: number[] } {
  const keys = [1];
  const patterns: number[] = [];
  for (let i = 2; i < args.length; i++) {
    const option = commandName(args[i]);
    if (option === "LIMIT") i += 2;
    else if (option === "STORE") keys.push(++i);
    else if (option === "BY") patterns.push(++i);
    else if (option === "GET" && ++i < args.length && commandName(args[i]) !== "#") {
      patterns.push(i);
    }
  }
  return { keys, patterns };
}

/**
 * MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw] [AUTH2 user pw] [KEYS k...]:
 * the keys after KEYS, else the one key (as the server reads it, even empty).
 */
function migrateIndexes(args: readonly RedisArg[]): number[] {
  for (let i = 6; i < args.length; i++) {
    const option = commandName(args[i]);
    if (option === "AUTH") i += 1;
    else if (option === "AUTH2") i += 2;
    else if (option === "KEYS") {
      return Array.from({ length: args.length - i - 1 }, (_, k) => i + 1 + k);
    }
  }
  return [3];
}

/** GEORADIUS... [STORE key] [STOREDIST key]: the destinations, looked for from `from` on. */
function storeIndexes(args: readonly RedisArg[], from: number): number[] {
  const indexes: number[] = [];
  for (let i = from; i < args.length; i++) {
    const option = commandName(args[i]);
    if (option === "COUNT") i += 1;
    else if (option === "STORE" || option === "STOREDIST") indexes.push(++i);
  }
  return indexes;
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

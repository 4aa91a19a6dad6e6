// Typed commands on sorted sets: scores are numbers whether RESP2 sends them as bulk text or
// RESP3 as doubles. Spec: https://redis.io/docs/latest/commands/?group=sorted-set

import type { RedisArg } from "../resp_encoder.ts";
import type { CommandMode, Out, RedisKey, RedisValue } from "./base.ts";
import { asScanPage, scanArgs, type ScanOptions, type ScanPage } from "./keys.ts";
import { SetCommands } from "./sets.ts";
import {
  asFloat,
  asFloatOrNull,
  asNonNullValue,
  asNonNullValues,
  asNumber,
  asNumberOrNull,
  asScoredPairs,
  replyShapeError,
  type Transform,
} from "./transforms.ts";

/** Members with scores: an object, a Map, or `[member, score]` pairs. */
export type ScoredMembers =
  | Record<string, number>
  | Map<RedisValue, number>
  | [member: RedisValue, score: number][];

/** A score bound: a number (±Infinity allowed), `"-inf"`, `"+inf"`, or `"(5"` (exclusive). */
export type ScoreBound = number | "-inf" | "+inf" | `(${number}` | "(-inf" | "(+inf";

/** A lexicographic bound: `"-"`, `"+"`, `"[a"` (inclusive) or `"(a"` (exclusive). */
export type LexBound = "-" | "+" | `[${string}` | `(${string}`;

/** A member with its score. */
export type ScoredMember<V> = [member: V, score: number];

/** Conditions of ZADD. */
export interface ZAddOptions {
  /** Only add new members. */
  nx?: boolean;
  /** Only update existing members. */
  xx?: boolean;
  /** Only update when the new score is greater. */
  gt?: boolean;
  /** Only update when the new score is less. */
  lt?: boolean;
  /** Count changed members, not only added ones (ZADD only). */
  ch?: boolean;
}

/** Options of ZRANGE by index. */
export interface ZRangeOptions {
  /** Highest score first. */
  rev?: boolean;
  /** Return `[member, score]` pairs. */
  withScores?: boolean;
}

/** Options of ZRANGEBYSCORE / ZREVRANGEBYSCORE. */
export interface ZRangeByScoreOptions {
  /** Return `[member, score]` pairs. */
  withScores?: boolean;
  /** Skip `offset` matches, return at most `count` (negative: all). */
  limit?: { offset: number; count: number };
}

/** Options of ZUNIONSTORE / ZINTERSTORE. */
export interface ZStoreOptions {
  /** A multiplier per input key, in key order. */
  weights?: number[];
  /** How scores of the same member combine. Default `SUM`. */
  aggregate?: "SUM" | "MIN" | "MAX";
}

function scoredArgs(members: ScoredMembers): RedisArg[] {
  const args: RedisArg[] = [];
  const pairs = members instanceof Map || Array.isArray(members)
    ? members
    : Object.entries(members);
  for (const [member, score] of pairs) args.push(score, member);
  if (args.length === 0) throw new TypeError("ZADD needs at least one member");
  return args;
}

function zAddFlags(options: ZAddOptions): RedisArg[] {
  const flags: RedisArg[] = [];
  if (options.nx) flags.push("NX");
  if (options.xx) flags.push("XX");
  if (options.gt) flags.push("GT");
  if (options.lt) flags.push("LT");
  if (options.ch) flags.push("CH");
  return flags;
}

function limitArgs(limit: { offset: number; count: number } | undefined): RedisArg[] {
  return limit ? ["LIMIT", limit.offset, limit.count] : [];
}

function keyList(keys: RedisKey | RedisKey[]): RedisKey[] {
  return Array.isArray(keys) ? keys : [keys];
}

/**
 * `numkeys key... [WEIGHTS w...] [AGGREGATE a]`, shared by ZUNION/ZINTER and their STORE forms.
 *
 * @example
 * ```ts
 * import { zCombineArgs } from "@kvwire/kvwire/redis";
 * zCombineArgs(["a", "b"], { aggregate: "MAX" }); // [2, "a", "b", "AGGREGATE", "MAX"]
 * ```
 */
export function zCombineArgs(keys: RedisKey[], o: ZStoreOptions): RedisArg[] {
  const args: RedisArg[] = [keys.length, ...keys];
  if (o.weights) args.push("WEIGHTS", ...o.weights);
  if (o.aggregate) args.push("AGGREGATE", o.aggregate);
  return args;
}

function storeArgs(command: string, destination: RedisKey, keys: RedisKey[], o: ZStoreOptions) {
  return [command, destination, ...zCombineArgs(keys, o)];
}

const asPoppedOne = <V>(): Transform<ScoredMember<V> | null> => (reply, context) => {
  const pairs = asScoredPairs<V>(reply, context);
  return pairs.length === 0 ? null : pairs[0];
};

const asBlockingPop = <V>(): Transform<[key: V, member: V, score: number] | null> => (r, c) => {
  if (r === null) return null;
  if (!Array.isArray(r) || r.length !== 3) {
    throw replyShapeError("Expected a [key, member, score] reply to BZPOPMIN/BZPOPMAX");
  }
  return [asNonNullValue<V>(r[0], c), asNonNullValue<V>(r[1], c), asFloat(r[2], c)];
};

const asScoresOrNull: Transform<(number | null)[]> = (reply, context) => {
  if (!Array.isArray(reply)) throw replyShapeError("Expected an array of scores");
  return reply.map((item) => asFloatOrNull(item, context));
};

/**
 * Sorted set commands (redis-py 3 argument order: `zIncrBy(key, amount, member)`).
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379", { decode: true });
 * await redis.zAdd("board", { ada: 3, bob: 1.5 }); // 2
 * await redis.zRange("board", 0, -1, { withScores: true }); // [["bob", 1.5], ["ada", 3]]
 * await redis.zRangeByScore("board", "(2", "+inf"); // ["ada"]
 * ```
 */
export abstract class SortedSetCommands<V, M extends CommandMode> extends SetCommands<V, M> {
  /** ZADD: how many members were added (or changed, with `ch`). */
  zAdd(key: RedisKey, members: ScoredMembers, options: ZAddOptions = {}): Out<M, number, this> {
    return this.call(["ZADD", key, ...zAddFlags(options), ...scoredArgs(members)], asNumber);
  }

  /** ZADD ... INCR: the member's new score, or null when a condition prevented the update. */
  zAddIncr(
    key: RedisKey,
    member: RedisValue,
    increment: number,
    options: Omit<ZAddOptions, "ch"> = {},
  ): Out<M, number | null, this> {
    const args: RedisArg[] = ["ZADD", key, ...zAddFlags(options), "INCR", increment, member];
    return this.call(args, asFloatOrNull);
  }

  /** ZINCRBY (amount before member, as in redis-py 3): the new score. */
  zIncrBy(key: RedisKey, amount: number, member: RedisValue): Out<M, number, this> {
    return this.call(["ZINCRBY", key, amount, member], asFloat);
  }

  /** ZSCORE: the member's score, or null when it is missing. */
  zScore(key: RedisKey, member: RedisValue): Out<M, number | null, this> {
    return this.call(["ZSCORE", key, member], asFloatOrNull);
  }

  /** ZMSCORE: scores in member order, null for missing members. */
  zmScore(key: RedisKey, ...members: RedisValue[]): Out<M, (number | null)[], this> {
    return this.call(["ZMSCORE", key, ...members], asScoresOrNull);
  }

  /** ZRANK: the 0-based rank by ascending score, or null when missing. */
  zRank(key: RedisKey, member: RedisValue): Out<M, number | null, this> {
    return this.call(["ZRANK", key, member], asNumberOrNull);
  }

  /** ZREVRANK: the 0-based rank by descending score, or null when missing. */
  zRevRank(key: RedisKey, member: RedisValue): Out<M, number | null, this> {
    return this.call(["ZREVRANK", key, member], asNumberOrNull);
  }

  /** ZCARD: the number of members (0 when missing). */
  zCard(key: RedisKey): Out<M, number, this> {
    return this.call(["ZCARD", key], asNumber);
  }

  /** ZCOUNT: members with a score between two bounds. */
  zCount(key: RedisKey, min: ScoreBound, max: ScoreBound): Out<M, number, this> {
    return this.call(["ZCOUNT", key, min, max], asNumber);
  }

  /** ZREM: how many members were removed. */
  zRem(key: RedisKey, ...members: RedisValue[]): Out<M, number, this> {
    return this.call(["ZREM", key, ...members], asNumber);
  }

  /** ZRANGE by index with scores: `[member, score]` pairs. */
  zRange(
    key: RedisKey,
    start: number,
    stop: number,
    options: ZRangeOptions & { withScores: true },
  ): Out<M, ScoredMember<V>[], this>;
  /** ZRANGE by index (inclusive, negative counts from the end): the members. */
  zRange(
    key: RedisKey,
    start: number,
    stop: number,
    options?: ZRangeOptions & { withScores?: false },
  ): Out<M, V[], this>;
  /** ZRANGE by index, with scores depending on `options.withScores`. */
  zRange(
    key: RedisKey,
    start: number,
    stop: number,
    options?: ZRangeOptions,
  ): Out<M, V[] | ScoredMember<V>[], this>;
  /** ZRANGE by index. */
  zRange(
    key: RedisKey,
    start: number,
    stop: number,
    options: ZRangeOptions = {},
  ): Out<M, V[] | ScoredMember<V>[], this> {
    const args: RedisArg[] = ["ZRANGE", key, start, stop];
    if (options.rev) args.push("REV");
    if (!options.withScores) return this.call(args, asNonNullValues<V>);
    return this.call([...args, "WITHSCORES"], asScoredPairs<V>);
  }

  /** ZRANGEBYSCORE with scores: `[member, score]` pairs, lowest first. */
  zRangeByScore(
    key: RedisKey,
    min: ScoreBound,
    max: ScoreBound,
    options: ZRangeByScoreOptions & { withScores: true },
  ): Out<M, ScoredMember<V>[], this>;
  /** ZRANGEBYSCORE: members with a score between `min` and `max`, lowest first. */
  zRangeByScore(
    key: RedisKey,
    min: ScoreBound,
    max: ScoreBound,
    options?: ZRangeByScoreOptions & { withScores?: false },
  ): Out<M, V[], this>;
  /** ZRANGEBYSCORE, with scores depending on `options.withScores`. */
  zRangeByScore(
    key: RedisKey,
    min: ScoreBound,
    max: ScoreBound,
    options?: ZRangeByScoreOptions,
  ): Out<M, V[] | ScoredMember<V>[], this>;
  /** ZRANGEBYSCORE. */
  zRangeByScore(
    key: RedisKey,
    min: ScoreBound,
    max: ScoreBound,
    options: ZRangeByScoreOptions = {},
  ): Out<M, V[] | ScoredMember<V>[], this> {
    return this.#byScore("ZRANGEBYSCORE", key, min, max, options);
  }

  /** ZREVRANGEBYSCORE with scores: `[member, score]` pairs, highest first. */
  zRevRangeByScore(
    key: RedisKey,
    max: ScoreBound,
    min: ScoreBound,
    options: ZRangeByScoreOptions & { withScores: true },
  ): Out<M, ScoredMember<V>[], this>;
  /** ZREVRANGEBYSCORE (`max` before `min`): members, highest first. */
  zRevRangeByScore(
    key: RedisKey,
    max: ScoreBound,
    min: ScoreBound,
    options?: ZRangeByScoreOptions & { withScores?: false },
  ): Out<M, V[], this>;
  /** ZREVRANGEBYSCORE, with scores depending on `options.withScores`. */
  zRevRangeByScore(
    key: RedisKey,
    max: ScoreBound,
    min: ScoreBound,
    options?: ZRangeByScoreOptions,
  ): Out<M, V[] | ScoredMember<V>[], this>;
  /** ZREVRANGEBYSCORE. */
  zRevRangeByScore(
    key: RedisKey,
    max: ScoreBound,
    min: ScoreBound,
    options: ZRangeByScoreOptions = {},
  ): Out<M, V[] | ScoredMember<V>[], this> {
    return this.#byScore("ZREVRANGEBYSCORE", key, max, min, options);
  }

  #byScore(
    command: string,
    key: RedisKey,
    from: ScoreBound,
    to: ScoreBound,
    options: ZRangeByScoreOptions,
  ): Out<M, V[] | ScoredMember<V>[], this> {
    const args: RedisArg[] = [command, key, from, to];
    if (!options.withScores) {
      return this.call([...args, ...limitArgs(options.limit)], asNonNullValues<V>);
    }
    return this.call([...args, "WITHSCORES", ...limitArgs(options.limit)], asScoredPairs<V>);
  }

  /** ZRANGEBYLEX: members between two lexicographic bounds (all scores equal). */
  zRangeByLex(
    key: RedisKey,
    min: LexBound,
    max: LexBound,
    options: { limit?: { offset: number; count: number } } = {},
  ): Out<M, V[], this> {
    return this.call(
      ["ZRANGEBYLEX", key, min, max, ...limitArgs(options.limit)],
      asNonNullValues<V>,
    );
  }

  /** ZREMRANGEBYRANK: removes members between two inclusive ranks; how many. */
  zRemRangeByRank(key: RedisKey, start: number, stop: number): Out<M, number, this> {
    return this.call(["ZREMRANGEBYRANK", key, start, stop], asNumber);
  }

  /** ZREMRANGEBYSCORE: removes members with a score between two bounds; how many. */
  zRemRangeByScore(key: RedisKey, min: ScoreBound, max: ScoreBound): Out<M, number, this> {
    return this.call(["ZREMRANGEBYSCORE", key, min, max], asNumber);
  }

  /** ZPOPMIN: removes the lowest member; `[member, score]`, or null when empty. */
  zPopMin(key: RedisKey): Out<M, ScoredMember<V> | null, this>;
  /** ZPOPMIN with a count: removes up to `count` lowest members. */
  zPopMin(key: RedisKey, count: number): Out<M, ScoredMember<V>[], this>;
  /** ZPOPMIN. */
  zPopMin(key: RedisKey, count?: number): Out<M, ScoredMember<V> | null | ScoredMember<V>[], this> {
    if (count === undefined) return this.call(["ZPOPMIN", key], asPoppedOne<V>());
    return this.call(["ZPOPMIN", key, count], asScoredPairs<V>);
  }

  /** ZPOPMAX: removes the highest member; `[member, score]`, or null when empty. */
  zPopMax(key: RedisKey): Out<M, ScoredMember<V> | null, this>;
  /** ZPOPMAX with a count: removes up to `count` highest members. */
  zPopMax(key: RedisKey, count: number): Out<M, ScoredMember<V>[], this>;
  /** ZPOPMAX. */
  zPopMax(key: RedisKey, count?: number): Out<M, ScoredMember<V> | null | ScoredMember<V>[], this> {
    if (count === undefined) return this.call(["ZPOPMAX", key], asPoppedOne<V>());
    return this.call(["ZPOPMAX", key, count], asScoredPairs<V>);
  }

  /** BZPOPMIN: waits for a member in one of the sets; `[key, member, score]` or null. */
  bzPopMin(
    keys: RedisKey | RedisKey[],
    timeoutSeconds: number,
  ): Out<M, [key: V, member: V, score: number] | null, this> {
    const args: RedisArg[] = ["BZPOPMIN", ...keyList(keys), timeoutSeconds];
    return this.callBlocking(args, asBlockingPop<V>(), timeoutSeconds);
  }

  /** BZPOPMAX: waits for a member in one of the sets; `[key, member, score]` or null. */
  bzPopMax(
    keys: RedisKey | RedisKey[],
    timeoutSeconds: number,
  ): Out<M, [key: V, member: V, score: number] | null, this> {
    const args: RedisArg[] = ["BZPOPMAX", ...keyList(keys), timeoutSeconds];
    return this.callBlocking(args, asBlockingPop<V>(), timeoutSeconds);
  }

  /** ZUNIONSTORE: stores the union of `keys` at `destination`; its size. */
  zUnionStore(
    destination: RedisKey,
    keys: RedisKey[],
    options: ZStoreOptions = {},
  ): Out<M, number, this> {
    return this.call(storeArgs("ZUNIONSTORE", destination, keys, options), asNumber);
  }

  /** ZINTERSTORE: stores the intersection of `keys` at `destination`; its size. */
  zInterStore(
    destination: RedisKey,
    keys: RedisKey[],
    options: ZStoreOptions = {},
  ): Out<M, number, this> {
    return this.call(storeArgs("ZINTERSTORE", destination, keys, options), asNumber);
  }

  /** One ZSCAN page of `[member, score]` pairs. Loop until `cursor` is `"0"`. */
  zScan(
    key: RedisKey,
    cursor: string | number,
    options: Omit<ScanOptions, "type"> = {},
  ): Out<M, ScanPage<ScoredMember<V>>, this> {
    return this.call(["ZSCAN", key, cursor, ...scanArgs(options)], asScanPage(asScoredPairs<V>));
  }
}

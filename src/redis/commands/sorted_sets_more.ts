// Sorted set commands beyond the basics: ZUNION/ZINTER/ZDIFF, ZMPOP/BZMPOP, ZRANDMEMBER,
// ZRANGESTORE and the lexicographic/reverse forms. Spec: https://redis.io/docs/latest/commands/

import type { RedisArg } from "../resp_encoder.ts";
import type { CommandMode, Out, RedisKey } from "./base.ts";
import { GeoCommands } from "./geo.ts";
import {
  type LexBound,
  type ScoreBound,
  type ScoredMember,
  zCombineArgs,
  type ZStoreOptions,
} from "./sorted_sets.ts";
import {
  asNonNullValue,
  asNonNullValues,
  asNumber,
  asScoredPairs,
  asValue,
  replyShapeError,
  type Transform,
} from "./transforms.ts";

/** Members popped by ZMPOP/BZMPOP, with the key they came from. */
export interface ZPopped<V> {
  key: V;
  members: ScoredMember<V>[];
}

/** Options of ZRANGESTORE. */
export interface ZRangeStoreOptions {
  /** Interpret `min`/`max` as scores or lexicographic bounds (default: ranks). */
  by?: "SCORE" | "LEX";
  /** Highest first (then `min` is the upper bound, as on the server). */
  rev?: boolean;
  /** With `by`: skip `offset` matches, keep at most `count`. */
  limit?: { offset: number; count: number };
}

const asZPopped = <V>(): Transform<ZPopped<V> | null> => (reply, context) => {
  if (reply === null) return null;
  if (!Array.isArray(reply) || reply.length !== 2) {
    throw replyShapeError("Expected a [key, members] reply to ZMPOP/BZMPOP");
  }
  return {
    key: asNonNullValue<V>(reply[0], context),
    members: asScoredPairs<V>(reply[1], context),
  };
};

function mpopArgs(keys: RedisKey[], side: "MIN" | "MAX", count: number | undefined): RedisArg[] {
  if (keys.length === 0) throw new TypeError("keys: ZMPOP needs at least one key");
  return count === undefined
    ? [keys.length, ...keys, side]
    : [keys.length, ...keys, side, "COUNT", count];
}

/**
 * More sorted set commands: set algebra without storing, multi-key pops, random members.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379", { decode: true });
 * await redis.zAdd("a", { x: 1, y: 2 });
 * await redis.zUnion(["a", "b"], { withScores: true }); // [["x", 1], ["y", 2]]
 * await redis.zmPop(["a"], "MIN"); // { key: "a", members: [["x", 1]] }
 * ```
 */
export abstract class SortedSetMoreCommands<V, M extends CommandMode> extends GeoCommands<V, M> {
  /** ZUNION with scores: `[member, score]` pairs. */
  zUnion(
    keys: RedisKey[],
    options: ZStoreOptions & { withScores: true },
  ): Out<M, ScoredMember<V>[], this>;
  /** ZUNION: members of any set, lowest combined score first. */
  zUnion(keys: RedisKey[], options?: ZStoreOptions & { withScores?: false }): Out<M, V[], this>;
  /** ZUNION. */
  zUnion(
    keys: RedisKey[],
    options: ZStoreOptions & { withScores?: boolean } = {},
  ): Out<M, V[] | ScoredMember<V>[], this> {
    return this.#maybeScored(["ZUNION", ...zCombineArgs(keys, options)], options.withScores);
  }

  /** ZINTER with scores: `[member, score]` pairs. */
  zInter(
    keys: RedisKey[],
    options: ZStoreOptions & { withScores: true },
  ): Out<M, ScoredMember<V>[], this>;
  /** ZINTER: members in every set, lowest combined score first. */
  zInter(keys: RedisKey[], options?: ZStoreOptions & { withScores?: false }): Out<M, V[], this>;
  /** ZINTER. */
  zInter(
    keys: RedisKey[],
    options: ZStoreOptions & { withScores?: boolean } = {},
  ): Out<M, V[] | ScoredMember<V>[], this> {
    return this.#maybeScored(["ZINTER", ...zCombineArgs(keys, options)], options.withScores);
  }

  /** ZDIFF with scores: `[member, score]` pairs. */
  zDiff(keys: RedisKey[], options: { withScores: true }): Out<M, ScoredMember<V>[], this>;
  /** ZDIFF: members of the first set that are in none of the others. */
  zDiff(keys: RedisKey[], options?: { withScores?: false }): Out<M, V[], this>;
  /** ZDIFF. */
  zDiff(
    keys: RedisKey[],
    options: { withScores?: boolean } = {},
  ): Out<M, V[] | ScoredMember<V>[], this> {
    return this.#maybeScored(["ZDIFF", keys.length, ...keys], options.withScores);
  }

  /** ZDIFFSTORE: stores ZDIFF of `keys` at `destination`; its size. */
  zDiffStore(destination: RedisKey, keys: RedisKey[]): Out<M, number, this> {
    return this.call(["ZDIFFSTORE", destination, keys.length, ...keys], asNumber);
  }

  /** ZINTERCARD: the size of the intersection, counting at most `limit` (0: no limit). */
  zInterCard(keys: RedisKey[], options: { limit?: number } = {}): Out<M, number, this> {
    const args: RedisArg[] = ["ZINTERCARD", keys.length, ...keys];
    if (options.limit !== undefined) args.push("LIMIT", options.limit);
    return this.call(args, asNumber);
  }

  /** ZMPOP: pops from the first non-empty set the lowest (`MIN`) or highest members; or null. */
  zmPop(
    keys: RedisKey[],
    side: "MIN" | "MAX",
    options: { count?: number } = {},
  ): Out<M, ZPopped<V> | null, this> {
    return this.call(["ZMPOP", ...mpopArgs(keys, side, options.count)], asZPopped<V>());
  }

  /** BZMPOP: ZMPOP that waits up to `timeoutSeconds` (0: forever); null on timeout. */
  bzmPop(
    timeoutSeconds: number,
    keys: RedisKey[],
    side: "MIN" | "MAX",
    options: { count?: number } = {},
  ): Out<M, ZPopped<V> | null, this> {
    const args = ["BZMPOP", timeoutSeconds, ...mpopArgs(keys, side, options.count)];
    return this.callBlocking(args, asZPopped<V>(), timeoutSeconds);
  }

  /** ZRANDMEMBER: a random member, or null when the set is missing. */
  zRandMember(key: RedisKey): Out<M, V | null, this>;
  /** ZRANDMEMBER with scores: up to `count` pairs (negative: exactly `-count`, repeats allowed). */
  zRandMember(
    key: RedisKey,
    count: number,
    options: { withScores: true },
  ): Out<M, ScoredMember<V>[], this>;
  /** ZRANDMEMBER with a count: up to `count` distinct members (negative: `-count`, repeats). */
  zRandMember(key: RedisKey, count: number, options?: { withScores?: false }): Out<M, V[], this>;
  /** ZRANDMEMBER. */
  zRandMember(
    key: RedisKey,
    count?: number,
    options: { withScores?: boolean } = {},
  ): Out<M, V | null | V[] | ScoredMember<V>[], this> {
    if (count === undefined) return this.call(["ZRANDMEMBER", key], asValue<V>);
    return this.#maybeScored(["ZRANDMEMBER", key, count], options.withScores);
  }

  /** ZRANGESTORE: stores a range of `source` (by rank, score or lex) at `destination`; its size. */
  zRangeStore(
    destination: RedisKey,
    source: RedisKey,
    min: ScoreBound | LexBound,
    max: ScoreBound | LexBound,
    options: ZRangeStoreOptions = {},
  ): Out<M, number, this> {
    const args: RedisArg[] = ["ZRANGESTORE", destination, source, min, max];
    if (options.by) args.push(`BY${options.by}`);
    if (options.rev) args.push("REV");
    if (options.limit) args.push("LIMIT", options.limit.offset, options.limit.count);
    return this.call(args, asNumber);
  }

  /** ZLEXCOUNT: members between two lexicographic bounds. */
  zLexCount(key: RedisKey, min: LexBound, max: LexBound): Out<M, number, this> {
    return this.call(["ZLEXCOUNT", key, min, max], asNumber);
  }

  /** ZREMRANGEBYLEX: removes members between two lexicographic bounds; how many. */
  zRemRangeByLex(key: RedisKey, min: LexBound, max: LexBound): Out<M, number, this> {
    return this.call(["ZREMRANGEBYLEX", key, min, max], asNumber);
  }

  /** ZREVRANGE with scores: `[member, score]` pairs, highest first. */
  zRevRange(
    key: RedisKey,
    start: number,
    stop: number,
    options: { withScores: true },
  ): Out<M, ScoredMember<V>[], this>;
  /** ZREVRANGE: members by rank, highest score first (deprecated for ZRANGE ... REV). */
  zRevRange(
    key: RedisKey,
    start: number,
    stop: number,
    options?: { withScores?: false },
  ): Out<M, V[], this>;
  /** ZREVRANGE. */
  zRevRange(
    key: RedisKey,
    start: number,
    stop: number,
    options: { withScores?: boolean } = {},
  ): Out<M, V[] | ScoredMember<V>[], this> {
    return this.#maybeScored(["ZREVRANGE", key, start, stop], options.withScores);
  }

  /** ZREVRANGEBYLEX: members between `max` and `min`, in reverse lexicographic order. */
  zRevRangeByLex(
    key: RedisKey,
    max: LexBound,
    min: LexBound,
    options: { limit?: { offset: number; count: number } } = {},
  ): Out<M, V[], this> {
    const args: RedisArg[] = ["ZREVRANGEBYLEX", key, max, min];
    if (options.limit) args.push("LIMIT", options.limit.offset, options.limit.count);
    return this.call(args, asNonNullValues<V>);
  }

  #maybeScored(
    args: RedisArg[],
    withScores: boolean | undefined,
  ): Out<M, V[] | ScoredMember<V>[], this> {
    if (!withScores) return this.call(args, asNonNullValues<V>);
    return this.call([...args, "WITHSCORES"], asScoredPairs<V>);
  }
}

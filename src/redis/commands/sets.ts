// Typed commands on sets (RESP3 answers some of them with a `~` set, RESP2 with an array).
// Spec: https://redis.io/docs/latest/commands/?group=set

import type { RedisArg } from "../resp_encoder.ts";
import type { CommandMode, Out, RedisKey, RedisValue } from "./base.ts";
import { asScanPage, scanArgs, type ScanOptions, type ScanPage } from "./keys.ts";
import { ListCommands } from "./lists.ts";
import { asBoolean, asBooleans, asNonNullValues, asNumber, asValue } from "./transforms.ts";

/**
 * Set commands. Members come back as arrays in server order (which is arbitrary).
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379", { decode: true });
 * await redis.sAdd("tags", "a", "b"); // 2
 * await redis.sIsMember("tags", "a"); // true
 * (await redis.sMembers("tags")).sort(); // ["a", "b"]
 * ```
 */
export abstract class SetCommands<V, M extends CommandMode> extends ListCommands<V, M> {
  /** SADD: how many members were added (existing ones not counted). */
  sAdd(key: RedisKey, ...members: RedisValue[]): Out<M, number, this> {
    return this.call(["SADD", key, ...members], asNumber);
  }

  /** SREM: how many members were removed. */
  sRem(key: RedisKey, ...members: RedisValue[]): Out<M, number, this> {
    return this.call(["SREM", key, ...members], asNumber);
  }

  /** SMEMBERS: every member (empty when the key is missing). */
  sMembers(key: RedisKey): Out<M, V[], this> {
    return this.call(["SMEMBERS", key], asNonNullValues<V>);
  }

  /** SISMEMBER: whether `member` is in the set. */
  sIsMember(key: RedisKey, member: RedisValue): Out<M, boolean, this> {
    return this.call(["SISMEMBER", key, member], asBoolean);
  }

  /** SMISMEMBER: for each member, whether it is in the set. */
  smIsMember(key: RedisKey, ...members: RedisValue[]): Out<M, boolean[], this> {
    return this.call(["SMISMEMBER", key, ...members], asBooleans);
  }

  /** SCARD: the number of members (0 when missing). */
  sCard(key: RedisKey): Out<M, number, this> {
    return this.call(["SCARD", key], asNumber);
  }

  /** SPOP: removes and returns a random member, or null when the set is missing. */
  sPop(key: RedisKey): Out<M, V | null, this>;
  /** SPOP with a count: removes and returns up to `count` random members. */
  sPop(key: RedisKey, count: number): Out<M, V[], this>;
  /** SPOP: one member, or several with a count. */
  sPop(key: RedisKey, count?: number): Out<M, V | null | V[], this> {
    if (count === undefined) return this.call(["SPOP", key], asValue<V>);
    return this.call(["SPOP", key, count], asNonNullValues<V>);
  }

  /** SRANDMEMBER: a random member, or null when the set is missing. */
  sRandMember(key: RedisKey): Out<M, V | null, this>;
  /**
   * SRANDMEMBER with a count: up to `count` distinct members, or exactly `-count` members
   * with possible repeats when negative.
   */
  sRandMember(key: RedisKey, count: number): Out<M, V[], this>;
  /** SRANDMEMBER: one member, or several with a count. */
  sRandMember(key: RedisKey, count?: number): Out<M, V | null | V[], this> {
    if (count === undefined) return this.call(["SRANDMEMBER", key], asValue<V>);
    return this.call(["SRANDMEMBER", key, count], asNonNullValues<V>);
  }

  /** SMOVE: moves a member to another set; true when it was moved. */
  sMove(source: RedisKey, destination: RedisKey, member: RedisValue): Out<M, boolean, this> {
    return this.call(["SMOVE", source, destination, member], asBoolean);
  }

  /** SDIFF: members of the first set that are in none of the others. */
  sDiff(...keys: RedisKey[]): Out<M, V[], this> {
    return this.call(["SDIFF", ...keys], asNonNullValues<V>);
  }

  /** SINTER: members in every set. */
  sInter(...keys: RedisKey[]): Out<M, V[], this> {
    return this.call(["SINTER", ...keys], asNonNullValues<V>);
  }

  /** SUNION: members in any of the sets. */
  sUnion(...keys: RedisKey[]): Out<M, V[], this> {
    return this.call(["SUNION", ...keys], asNonNullValues<V>);
  }

  /** SDIFFSTORE: stores SDIFF of `keys` at `destination`; its size. */
  sDiffStore(destination: RedisKey, ...keys: RedisKey[]): Out<M, number, this> {
    return this.call(["SDIFFSTORE", destination, ...keys], asNumber);
  }

  /** SINTERSTORE: stores SINTER of `keys` at `destination`; its size. */
  sInterStore(destination: RedisKey, ...keys: RedisKey[]): Out<M, number, this> {
    return this.call(["SINTERSTORE", destination, ...keys], asNumber);
  }

  /** SUNIONSTORE: stores SUNION of `keys` at `destination`; its size. */
  sUnionStore(destination: RedisKey, ...keys: RedisKey[]): Out<M, number, this> {
    return this.call(["SUNIONSTORE", destination, ...keys], asNumber);
  }

  /** SINTERCARD: the size of the intersection, counting at most `limit` (0: no limit). */
  sInterCard(keys: RedisKey[], options: { limit?: number } = {}): Out<M, number, this> {
    const args: RedisArg[] = ["SINTERCARD", keys.length, ...keys];
    if (options.limit !== undefined) args.push("LIMIT", options.limit);
    return this.call(args, asNumber);
  }

  /** One SSCAN page of members. Loop until `cursor` is `"0"`. */
  sScan(
    key: RedisKey,
    cursor: string | number,
    options: Omit<ScanOptions, "type"> = {},
  ): Out<M, ScanPage<V>, this> {
    return this.call(["SSCAN", key, cursor, ...scanArgs(options)], asScanPage(asNonNullValues<V>));
  }
}

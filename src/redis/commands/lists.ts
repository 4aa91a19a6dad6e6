// Typed commands on lists, blocking pops included (sent through `callBlocking`).
// Spec: https://redis.io/docs/latest/commands/?group=list

import type { RedisArg } from "../resp_encoder.ts";
import type { CommandMode, Out, RedisKey, RedisValue } from "./base.ts";
import { HashCommands } from "./hashes.ts";
import {
  asNonNullValue,
  asNonNullValues,
  asNumber,
  asNumberOrNull,
  asOk,
  asValue,
  replyShapeError,
  type Transform,
} from "./transforms.ts";

/** An end of a list: `LEFT` is the head, `RIGHT` the tail. */
export type ListSide = "LEFT" | "RIGHT";

/** Options of LPOS. */
export interface LPosOptions {
  /** Which match to return: 1 the first, 2 the second, -1 the last... */
  rank?: number;
  /** Compare at most this many elements (0: all). */
  maxLen?: number;
}

function keyList(keys: RedisKey | RedisKey[]): RedisKey[] {
  return Array.isArray(keys) ? keys : [keys];
}

function asKeyValue<V>(): Transform<[key: V, value: V] | null> {
  return (reply, context) => {
    if (reply === null) return null;
    if (!Array.isArray(reply) || reply.length !== 2) {
      throw replyShapeError("Expected a [key, value] reply to a blocking pop");
    }
    return [asNonNullValue<V>(reply[0], context), asNonNullValue<V>(reply[1], context)];
  };
}

function asKeyValues<V>(): Transform<[key: V, values: V[]] | null> {
  return (reply, context) => {
    if (reply === null) return null;
    if (!Array.isArray(reply) || reply.length !== 2) {
      throw replyShapeError("Expected a [key, values] reply to LMPOP/BLMPOP");
    }
    return [asNonNullValue<V>(reply[0], context), asNonNullValues<V>(reply[1], context)];
  };
}

const asValuesOrNull = <V>(): Transform<V[] | null> => (reply, context) =>
  reply === null ? null : asNonNullValues<V>(reply, context);

const asNumbers: Transform<number[]> = (reply, context) => {
  if (!Array.isArray(reply)) throw replyShapeError("Expected an array of positions");
  return reply.map((item) => asNumber(item, context));
};

/**
 * List commands. Blocking pops take the server timeout in seconds (fractions allowed, 0 waits
 * forever) and resolve null when it expires.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379", { decode: true });
 * await redis.rPush("jobs", "a", "b"); // 2
 * await redis.lRange("jobs", 0, -1); // ["a", "b"]
 * await redis.blPop("jobs", 5); // ["jobs", "a"]
 * ```
 */
export abstract class ListCommands<V, M extends CommandMode> extends HashCommands<V, M> {
  /** LPUSH: prepends the elements (the last one ends up first); the new length. */
  lPush(key: RedisKey, ...elements: RedisValue[]): Out<M, number, this> {
    return this.call(["LPUSH", key, ...elements], asNumber);
  }

  /** RPUSH: appends the elements; the new length. */
  rPush(key: RedisKey, ...elements: RedisValue[]): Out<M, number, this> {
    return this.call(["RPUSH", key, ...elements], asNumber);
  }

  /** LPUSHX: LPUSH only when the list exists; the new length (0 when missing). */
  lPushX(key: RedisKey, ...elements: RedisValue[]): Out<M, number, this> {
    return this.call(["LPUSHX", key, ...elements], asNumber);
  }

  /** RPUSHX: RPUSH only when the list exists; the new length (0 when missing). */
  rPushX(key: RedisKey, ...elements: RedisValue[]): Out<M, number, this> {
    return this.call(["RPUSHX", key, ...elements], asNumber);
  }

  /** LPOP: the first element, or null when the list is missing. */
  lPop(key: RedisKey): Out<M, V | null, this>;
  /** LPOP with a count: up to `count` elements from the head, or null when missing. */
  lPop(key: RedisKey, count: number): Out<M, V[] | null, this>;
  /** LPOP: one element, or several with a count. */
  lPop(key: RedisKey, count?: number): Out<M, V | V[] | null, this> {
    if (count === undefined) return this.call(["LPOP", key], asValue<V>);
    return this.call(["LPOP", key, count], asValuesOrNull<V>());
  }

  /** RPOP: the last element, or null when the list is missing. */
  rPop(key: RedisKey): Out<M, V | null, this>;
  /** RPOP with a count: up to `count` elements from the tail, or null when missing. */
  rPop(key: RedisKey, count: number): Out<M, V[] | null, this>;
  /** RPOP: one element, or several with a count. */
  rPop(key: RedisKey, count?: number): Out<M, V | V[] | null, this> {
    if (count === undefined) return this.call(["RPOP", key], asValue<V>);
    return this.call(["RPOP", key, count], asValuesOrNull<V>());
  }

  /** LRANGE: elements between two inclusive indexes (negative counts from the end). */
  lRange(key: RedisKey, start: number, stop: number): Out<M, V[], this> {
    return this.call(["LRANGE", key, start, stop], asNonNullValues<V>);
  }

  /** LLEN: the length (0 when missing). */
  lLen(key: RedisKey): Out<M, number, this> {
    return this.call(["LLEN", key], asNumber);
  }

  /** LINDEX: the element at an index, or null when out of range. */
  lIndex(key: RedisKey, index: number): Out<M, V | null, this> {
    return this.call(["LINDEX", key, index], asValue<V>);
  }

  /** LSET: replaces the element at an index (a RedisError when out of range). */
  lSet(key: RedisKey, index: number, element: RedisValue): Out<M, boolean, this> {
    return this.call(["LSET", key, index, element], asOk);
  }

  /**
   * LINSERT (redis-py's `linsert(name, where, refvalue, value)`): the new length, -1 when the
   * pivot is not found, 0 when the list is missing.
   */
  lInsert(
    key: RedisKey,
    where: "BEFORE" | "AFTER",
    pivot: RedisValue,
    element: RedisValue,
  ): Out<M, number, this> {
    return this.call(["LINSERT", key, where, pivot, element], asNumber);
  }

  /**
   * LREM: removes elements equal to `element` — the first `count` from the head (count > 0),
   * from the tail (count < 0) or all (0); how many were removed.
   */
  lRem(key: RedisKey, count: number, element: RedisValue): Out<M, number, this> {
    return this.call(["LREM", key, count, element], asNumber);
  }

  /** LTRIM: keeps only the elements between two inclusive indexes. */
  lTrim(key: RedisKey, start: number, stop: number): Out<M, boolean, this> {
    return this.call(["LTRIM", key, start, stop], asOk);
  }

  /** LPOS with COUNT: the indexes of up to `count` matches (0: all). */
  lPos(
    key: RedisKey,
    element: RedisValue,
    options: LPosOptions & { count: number },
  ): Out<M, number[], this>;
  /** LPOS: the index of a matching element, or null. */
  lPos(key: RedisKey, element: RedisValue, options?: LPosOptions): Out<M, number | null, this>;
  /** LPOS: one index, or several with a count. */
  lPos(
    key: RedisKey,
    element: RedisValue,
    options: LPosOptions & { count?: number } = {},
  ): Out<M, number | null | number[], this> {
    const args: RedisArg[] = ["LPOS", key, element];
    if (options.rank !== undefined) args.push("RANK", options.rank);
    if (options.maxLen !== undefined) args.push("MAXLEN", options.maxLen);
    if (options.count === undefined) return this.call(args, asNumberOrNull);
    args.push("COUNT", options.count);
    return this.call(args, asNumbers);
  }

  /** LMOVE: pops from one side of `source`, pushes to a side of `destination`; the element. */
  lMove(
    source: RedisKey,
    destination: RedisKey,
    from: ListSide,
    to: ListSide,
  ): Out<M, V | null, this> {
    return this.call(["LMOVE", source, destination, from, to], asValue<V>);
  }

  /** RPOPLPUSH: LMOVE from the tail to the head; the element, or null. */
  rPopLPush(source: RedisKey, destination: RedisKey): Out<M, V | null, this> {
    return this.call(["RPOPLPUSH", source, destination], asValue<V>);
  }

  /** LMPOP: up to `count` elements from the first non-empty list, or null when all are empty. */
  lmPop(
    keys: RedisKey | RedisKey[],
    from: ListSide,
    count?: number,
  ): Out<M, [key: V, values: V[]] | null, this> {
    const list = keyList(keys);
    const args: RedisArg[] = ["LMPOP", list.length, ...list, from];
    if (count !== undefined) args.push("COUNT", count);
    return this.call(args, asKeyValues<V>());
  }

  /** BLPOP: waits for an element at the head of one of the lists; `[key, element]` or null. */
  blPop(
    keys: RedisKey | RedisKey[],
    timeoutSeconds: number,
  ): Out<M, [key: V, value: V] | null, this> {
    return this.callBlocking(
      ["BLPOP", ...keyList(keys), timeoutSeconds],
      asKeyValue<V>(),
      timeoutSeconds,
    );
  }

  /** BRPOP: waits for an element at the tail of one of the lists; `[key, element]` or null. */
  brPop(
    keys: RedisKey | RedisKey[],
    timeoutSeconds: number,
  ): Out<M, [key: V, value: V] | null, this> {
    return this.callBlocking(
      ["BRPOP", ...keyList(keys), timeoutSeconds],
      asKeyValue<V>(),
      timeoutSeconds,
    );
  }

  /** BLMOVE: LMOVE that waits for `source` to have an element; the element, or null. */
  blMove(
    source: RedisKey,
    destination: RedisKey,
    from: ListSide,
    to: ListSide,
    timeoutSeconds: number,
  ): Out<M, V | null, this> {
    return this.callBlocking(
      ["BLMOVE", source, destination, from, to, timeoutSeconds],
      asValue<V>,
      timeoutSeconds,
    );
  }

  /** BRPOPLPUSH: RPOPLPUSH that waits for `source` to have an element; the element, or null. */
  brPopLPush(
    source: RedisKey,
    destination: RedisKey,
    timeoutSeconds: number,
  ): Out<M, V | null, this> {
    return this.callBlocking(
      ["BRPOPLPUSH", source, destination, timeoutSeconds],
      asValue<V>,
      timeoutSeconds,
    );
  }

  /** BLMPOP: LMPOP that waits for one of the lists to have elements; `[key, elements]` or null. */
  blmPop(
    keys: RedisKey | RedisKey[],
    from: ListSide,
    timeoutSeconds: number,
    count?: number,
  ): Out<M, [key: V, values: V[]] | null, this> {
    const list = keyList(keys);
    const args: RedisArg[] = ["BLMPOP", timeoutSeconds, list.length, ...list, from];
    if (count !== undefined) args.push("COUNT", count);
    return this.callBlocking(args, asKeyValues<V>(), timeoutSeconds);
  }
}

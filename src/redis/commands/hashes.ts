// Typed commands on hashes (field/value maps stored at one key).
// Spec: https://redis.io/docs/latest/commands/?group=hash

import type { RedisArg } from "../resp_encoder.ts";
import type { CommandMode, Out, RedisKey, RedisValue } from "./base.ts";
import { asScanPage, KeyCommands, scanArgs, type ScanOptions, type ScanPage } from "./keys.ts";
import { flattenEntries } from "./strings.ts";
import {
  asBoolean,
  asFloat,
  asInteger,
  asMap,
  asNonNullValues,
  asNumber,
  asOk,
  asValue,
  asValuePairs,
  asValues,
} from "./transforms.ts";

/** Fields to set: an object or a Map of field → value. */
export type HashFields = Record<string, RedisValue> | Map<RedisKey, RedisValue>;

/** Options of HRANDFIELD with a count. */
export interface HRandFieldOptions {
  /** Also return each field's value (`WITHVALUES`). */
  withValues?: boolean;
}

/**
 * Hash commands.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379", { decode: true });
 * await redis.hSet("user:1", { name: "Ada", visits: 1 }); // 2
 * await redis.hIncrBy("user:1", "visits", 1); // 2
 * await redis.hGetAll("user:1"); // Map { "name" => "Ada", "visits" => "2" }
 * ```
 */
export abstract class HashCommands<V, M extends CommandMode> extends KeyCommands<V, M> {
  /** HSET one field: how many fields were added (0 when it was updated). */
  hSet(key: RedisKey, field: RedisKey, value: RedisValue): Out<M, number, this>;
  /** HSET from an object or a Map: how many fields were added (updates not counted). */
  hSet(key: RedisKey, fields: HashFields): Out<M, number, this>;
  /** HSET: how many fields were added. */
  hSet(
    key: RedisKey,
    fieldOrFields: RedisKey | HashFields,
    value?: RedisValue,
  ): Out<M, number, this> {
    const pairs: RedisArg[] = typeof fieldOrFields === "string" ||
        fieldOrFields instanceof Uint8Array
      ? [fieldOrFields, value ?? missingValue()]
      : flattenEntries(fieldOrFields);
    return this.call(["HSET", key, ...pairs], asNumber);
  }

  /**
   * HMSET: sets the fields; true on OK.
   *
   * @deprecated Since Redis 4.0 HSET takes many fields: use {@link hSet}.
   */
  hmSet(key: RedisKey, fields: HashFields): Out<M, boolean, this> {
    return this.call(["HMSET", key, ...flattenEntries(fields)], asOk);
  }

  /** HSETNX: sets the field only when it is missing; true when it did. */
  hSetNx(key: RedisKey, field: RedisKey, value: RedisValue): Out<M, boolean, this> {
    return this.call(["HSETNX", key, field, value], asBoolean);
  }

  /** HGET: the value of a field, or null when the field or the key is missing. */
  hGet(key: RedisKey, field: RedisKey): Out<M, V | null, this> {
    return this.call(["HGET", key, field], asValue<V>);
  }

  /** HMGET: values in field order, null for missing fields. */
  hmGet(key: RedisKey, ...fields: RedisKey[]): Out<M, (V | null)[], this> {
    return this.call(["HMGET", key, ...fields], asValues<V>);
  }

  /** HGETALL: every field and value (an empty Map when the key is missing). */
  hGetAll(key: RedisKey): Out<M, Map<string, V>, this> {
    return this.call(["HGETALL", key], asMap<V>);
  }

  /** HDEL: how many of the fields were removed. */
  hDel(key: RedisKey, ...fields: RedisKey[]): Out<M, number, this> {
    return this.call(["HDEL", key, ...fields], asNumber);
  }

  /** HEXISTS: whether the field exists. */
  hExists(key: RedisKey, field: RedisKey): Out<M, boolean, this> {
    return this.call(["HEXISTS", key, field], asBoolean);
  }

  /** HLEN: the number of fields (0 when the key is missing). */
  hLen(key: RedisKey): Out<M, number, this> {
    return this.call(["HLEN", key], asNumber);
  }

  /** HKEYS: the field names. */
  hKeys(key: RedisKey): Out<M, V[], this> {
    return this.call(["HKEYS", key], asNonNullValues<V>);
  }

  /** HVALS: the values. */
  hVals(key: RedisKey): Out<M, V[], this> {
    return this.call(["HVALS", key], asNonNullValues<V>);
  }

  /**
   * HINCRBY: adds an integer to a field (created as 0); the new value, a `number` while safe
   * (within ±(2^53−1)) and an exact `bigint` beyond.
   */
  hIncrBy(
    key: RedisKey,
    field: RedisKey,
    amount: number | bigint,
  ): Out<M, number | bigint, this> {
    return this.call(["HINCRBY", key, field, amount], asInteger);
  }

  /** HINCRBYFLOAT: adds a float to a field; the new value. */
  hIncrByFloat(key: RedisKey, field: RedisKey, amount: number): Out<M, number, this> {
    return this.call(["HINCRBYFLOAT", key, field, amount], asFloat);
  }

  /** HSTRLEN: the length in bytes of a field's value (0 when missing). */
  hStrLen(key: RedisKey, field: RedisKey): Out<M, number, this> {
    return this.call(["HSTRLEN", key, field], asNumber);
  }

  /** HRANDFIELD: one random field, or null when the key is missing. */
  hRandField(key: RedisKey): Out<M, V | null, this>;
  /**
   * HRANDFIELD with a count and values: up to `count` distinct `[field, value]` pairs (a
   * negative count allows repeats and returns exactly `-count` pairs).
   */
  hRandField(
    key: RedisKey,
    count: number,
    options: HRandFieldOptions & { withValues: true },
  ): Out<M, [field: V, value: V][], this>;
  /**
   * HRANDFIELD with a count: up to `count` distinct fields (a negative count allows repeats
   * and returns exactly `-count` fields).
   */
  hRandField(
    key: RedisKey,
    count: number,
    options?: HRandFieldOptions & { withValues?: false },
  ): Out<M, V[], this>;
  /** HRANDFIELD with a count, values depending on `options.withValues`. */
  hRandField(
    key: RedisKey,
    count: number,
    options?: HRandFieldOptions,
  ): Out<M, V[] | [field: V, value: V][], this>;
  /** HRANDFIELD: random fields, optionally with their values. */
  hRandField(
    key: RedisKey,
    count?: number,
    options: HRandFieldOptions = {},
  ): Out<M, V | null | V[] | [field: V, value: V][], this> {
    if (count === undefined) return this.call(["HRANDFIELD", key], asValue<V>);
    if (options.withValues) {
      return this.call(["HRANDFIELD", key, count, "WITHVALUES"], asValuePairs<V>);
    }
    return this.call(["HRANDFIELD", key, count], asNonNullValues<V>);
  }

  /** One HSCAN page of `[field, value]` pairs. Loop until `cursor` is `"0"`. */
  hScan(
    key: RedisKey,
    cursor: string | number,
    options: Omit<ScanOptions, "type"> = {},
  ): Out<M, ScanPage<[field: V, value: V]>, this> {
    return this.call(["HSCAN", key, cursor, ...scanArgs(options)], asScanPage(asValuePairs<V>));
  }
}

function missingValue(): never {
  throw new TypeError("hSet(key, field, value): the value is missing");
}

// Typed hash commands added after Redis 7.0: per-field expiry (HEXPIRE and its family, Redis
// 7.4) and HGETDEL, HGETEX, HSETEX (Redis 8.0). Spec: https://redis.io/docs/latest/commands/?group=hash

import type { RedisArg } from "../resp_encoder.ts";
import type { CommandMode, Out, RedisKey } from "./base.ts";
import type { HashFields } from "./hashes.ts";
import { ServerAdminCommands } from "./server_admin.ts";
import { expiryArgs, flattenEntries, type GetExOptions, type SetOptions } from "./strings.ts";
import { asBoolean, asNumber, asValues, replyShapeError, type Transform } from "./transforms.ts";

/** When HEXPIRE and its family set a field's expiry. */
export type FieldExpiryCondition = "NX" | "XX" | "GT" | "LT";

/** Expiry and condition options of HSETEX. */
export interface HSetExOptions extends Omit<SetOptions, "nx" | "xx"> {
  /** Set only if none of the fields exists (`FNX`). */
  fnx?: boolean;
  /** Set only if all the fields exist (`FXX`). */
  fxx?: boolean;
}

/** `FIELDS numfields field...`, checked before sending. */
function fieldsArgs(fields: RedisKey[]): RedisArg[] {
  if (fields.length === 0) throw new RangeError("fields: give at least one field");
  return ["FIELDS", fields.length, ...fields];
}

/** One integer per field, in the order asked. */
const asCodes: Transform<number[]> = (reply, c) => {
  if (!Array.isArray(reply)) throw replyShapeError("Expected an array of per-field codes");
  return reply.map((item) => asNumber(item, c));
};

/**
 * Per-field expiry and the hash commands of Redis 8. The per-field codes are the server's:
 * for HEXPIRE and its family `-2` no such field (or key), `0` condition not met, `1` set, `2`
 * deleted at once (a time in the past); for HTTL and its family `-2` no field, `-1` no
 * expiry, else the time; for HPERSIST `-2`, `-1` no expiry, `1` removed.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379", { decode: true });
 * await redis.hSet("session", { token: "t", user: "ada" });
 * await redis.hExpire("session", 60, ["token"]); // [1]
 * await redis.hTtl("session", ["token", "user", "nope"]); // [60, -1, -2]
 * await redis.hGetDel("session", ["user"]); // ["ada"]
 * ```
 */
export abstract class HashExpiryCommands<V, M extends CommandMode>
  extends ServerAdminCommands<V, M> {
  /**
   * HEXPIRE: fields expire after `seconds`; one code per field.
   *
   * @since Redis 7.4
   */
  hExpire(
    key: RedisKey,
    seconds: number,
    fields: RedisKey[],
    condition?: FieldExpiryCondition,
  ): Out<M, number[], this> {
    return this.#expire("HEXPIRE", key, seconds, fields, condition);
  }

  /**
   * HPEXPIRE: fields expire after `milliseconds`; one code per field.
   *
   * @since Redis 7.4
   */
  hpExpire(
    key: RedisKey,
    milliseconds: number,
    fields: RedisKey[],
    condition?: FieldExpiryCondition,
  ): Out<M, number[], this> {
    return this.#expire("HPEXPIRE", key, milliseconds, fields, condition);
  }

  /**
   * HEXPIREAT: fields expire at a Unix time in seconds; one code per field.
   *
   * @since Redis 7.4
   */
  hExpireAt(
    key: RedisKey,
    unixSeconds: number,
    fields: RedisKey[],
    condition?: FieldExpiryCondition,
  ): Out<M, number[], this> {
    return this.#expire("HEXPIREAT", key, unixSeconds, fields, condition);
  }

  /**
   * HPEXPIREAT: fields expire at a Unix time in milliseconds; one code per field.
   *
   * @since Redis 7.4
   */
  hpExpireAt(
    key: RedisKey,
    unixMs: number,
    fields: RedisKey[],
    condition?: FieldExpiryCondition,
  ): Out<M, number[], this> {
    return this.#expire("HPEXPIREAT", key, unixMs, fields, condition);
  }

  /**
   * HTTL: each field's remaining time to live in seconds (`-1` none, `-2` no field).
   *
   * @since Redis 7.4
   */
  hTtl(key: RedisKey, fields: RedisKey[]): Out<M, number[], this> {
    return this.call(["HTTL", key, ...fieldsArgs(fields)], asCodes);
  }

  /**
   * HPTTL: each field's remaining time to live in milliseconds.
   *
   * @since Redis 7.4
   */
  hpTtl(key: RedisKey, fields: RedisKey[]): Out<M, number[], this> {
    return this.call(["HPTTL", key, ...fieldsArgs(fields)], asCodes);
  }

  /**
   * HEXPIRETIME: each field's expiry as a Unix time in seconds.
   *
   * @since Redis 7.4
   */
  hExpireTime(key: RedisKey, fields: RedisKey[]): Out<M, number[], this> {
    return this.call(["HEXPIRETIME", key, ...fieldsArgs(fields)], asCodes);
  }

  /**
   * HPEXPIRETIME: each field's expiry as a Unix time in milliseconds.
   *
   * @since Redis 7.4
   */
  hpExpireTime(key: RedisKey, fields: RedisKey[]): Out<M, number[], this> {
    return this.call(["HPEXPIRETIME", key, ...fieldsArgs(fields)], asCodes);
  }

  /**
   * HPERSIST: removes each field's expiry (`1` removed, `-1` had none, `-2` no field).
   *
   * @since Redis 7.4
   */
  hPersist(key: RedisKey, fields: RedisKey[]): Out<M, number[], this> {
    return this.call(["HPERSIST", key, ...fieldsArgs(fields)], asCodes);
  }

  /**
   * HGETDEL: the values of the fields (null when missing), deleting them.
   *
   * @since Redis 8.0
   */
  hGetDel(key: RedisKey, fields: RedisKey[]): Out<M, (V | null)[], this> {
    return this.call(["HGETDEL", key, ...fieldsArgs(fields)], asValues<V>);
  }

  /**
   * HGETEX: the values of the fields, changing their expiry (or removing it: `persist`).
   *
   * @since Redis 8.0
   */
  hGetEx(
    key: RedisKey,
    fields: RedisKey[],
    options: GetExOptions = {},
  ): Out<M, (V | null)[], this> {
    const args: RedisArg[] = ["HGETEX", key, ...expiryArgs(options)];
    if (options.persist) args.push("PERSIST");
    return this.call([...args, ...fieldsArgs(fields)], asValues<V>);
  }

  /**
   * HSETEX: sets the fields with an expiry; false when `fnx`/`fxx` refused it.
   *
   * @since Redis 8.0
   */
  hSetEx(key: RedisKey, fields: HashFields, options: HSetExOptions = {}): Out<M, boolean, this> {
    if (options.fnx && options.fxx) throw new TypeError("options: fnx and fxx exclude each other");
    const args: RedisArg[] = ["HSETEX", key];
    if (options.fnx) args.push("FNX");
    if (options.fxx) args.push("FXX");
    args.push(...expiryArgs(options));
    if (options.keepTtl) args.push("KEEPTTL");
    const pairs = flattenEntries(fields);
    return this.call([...args, "FIELDS", pairs.length / 2, ...pairs], asBoolean);
  }

  #expire(
    command: string,
    key: RedisKey,
    time: number,
    fields: RedisKey[],
    condition: FieldExpiryCondition | undefined,
  ): Out<M, number[], this> {
    const args: RedisArg[] = [command, key, time];
    if (condition) args.push(condition);
    return this.call([...args, ...fieldsArgs(fields)], asCodes);
  }
}

// Typed commands on keys: existence, expiry, type, renaming, SCAN pages.
// Spec: https://redis.io/docs/latest/commands/?group=generic

import type { RedisArg } from "../resp_encoder.ts";
import type { CommandMode, Out, RedisKey } from "./base.ts";
import { StringCommands } from "./strings.ts";
import {
  asBoolean,
  asNumber,
  asOk,
  asStatus,
  asValue,
  asValues,
  replyShapeError,
  type Transform,
} from "./transforms.ts";

/** Conditions of EXPIRE and friends (Redis 7). */
export type ExpireCondition = "NX" | "XX" | "GT" | "LT";

/** Options of SCAN. */
export interface ScanOptions {
  /** Glob-style pattern the keys must match. */
  match?: string;
  /** Hint for the amount of work per call. */
  count?: number;
  /** Only keys of this type (`string`, `hash`, `list`, `set`, `zset`, `stream`). */
  type?: string;
}

/** One page of a cursor iteration: the next cursor (`"0"` when done) and the items. */
export interface ScanPage<T> {
  /** The cursor to pass to the next call; `"0"` when the iteration is complete. */
  cursor: string;
  /** The items of this page. */
  items: T[];
}

/**
 * Arguments shared by SCAN, HSCAN, SSCAN and ZSCAN.
 *
 * @example
 * ```ts
 * import { scanArgs } from "@kvwire/kvwire/redis";
 * scanArgs({ match: "user:*", count: 100 }); // ["MATCH", "user:*", "COUNT", 100]
 * ```
 */
export function scanArgs(options: ScanOptions): RedisArg[] {
  const args: RedisArg[] = [];
  if (options.match !== undefined) args.push("MATCH", options.match);
  if (options.count !== undefined) args.push("COUNT", options.count);
  if (options.type !== undefined) args.push("TYPE", options.type);
  return args;
}

/**
 * Shapes a `[cursor, items]` reply with `item` applied to the items.
 *
 * @example
 * ```ts
 * import { asScanPage, asValues } from "@kvwire/kvwire/redis";
 * asScanPage(asValues)(["0", ["a"]], { decode: true }); // { cursor: "0", items: ["a"] }
 * ```
 */
export function asScanPage<T>(items: Transform<T[]>): Transform<ScanPage<T>> {
  return (reply, context) => {
    if (!Array.isArray(reply) || reply.length !== 2) {
      throw replyShapeError("Expected a [cursor, items] reply to a SCAN command");
    }
    return { cursor: asStatus(reply[0], context), items: items(reply[1], context) };
  };
}

/**
 * Key-space commands.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379");
 * await redis.expire("session", 30);
 * await redis.ttl("session"); // 30 (or -2 when missing)
 * ```
 */
export abstract class KeyCommands<V, M extends CommandMode> extends StringCommands<V, M> {
  /** DEL: how many keys were removed. */
  del(...keys: RedisKey[]): Out<M, number, this> {
    return this.call(["DEL", ...keys], asNumber);
  }

  /** UNLINK: DEL that frees memory in the background. */
  unlink(...keys: RedisKey[]): Out<M, number, this> {
    return this.call(["UNLINK", ...keys], asNumber);
  }

  /** EXISTS: how many of the keys exist (a key named twice counts twice). */
  exists(...keys: RedisKey[]): Out<M, number, this> {
    return this.call(["EXISTS", ...keys], asNumber);
  }

  /** EXPIRE in seconds; true when the timeout was set. */
  expire(key: RedisKey, seconds: number, condition?: ExpireCondition): Out<M, boolean, this> {
    return this.call(withCondition(["EXPIRE", key, seconds], condition), asBoolean);
  }

  /** PEXPIRE in milliseconds. */
  pExpire(key: RedisKey, milliseconds: number, condition?: ExpireCondition): Out<M, boolean, this> {
    return this.call(withCondition(["PEXPIRE", key, milliseconds], condition), asBoolean);
  }

  /** EXPIREAT a Unix time in seconds (or a Date). */
  expireAt(key: RedisKey, when: number | Date, condition?: ExpireCondition): Out<M, boolean, this> {
    const seconds = when instanceof Date ? Math.floor(when.getTime() / 1000) : when;
    return this.call(withCondition(["EXPIREAT", key, seconds], condition), asBoolean);
  }

  /** PEXPIREAT a Unix time in milliseconds (or a Date). */
  pExpireAt(
    key: RedisKey,
    when: number | Date,
    condition?: ExpireCondition,
  ): Out<M, boolean, this> {
    const ms = when instanceof Date ? when.getTime() : when;
    return this.call(withCondition(["PEXPIREAT", key, ms], condition), asBoolean);
  }

  /** TTL in seconds; -1 without expiry, -2 when the key is missing. */
  ttl(key: RedisKey): Out<M, number, this> {
    return this.call(["TTL", key], asNumber);
  }

  /** PTTL in milliseconds; -1 without expiry, -2 when the key is missing. */
  pTtl(key: RedisKey): Out<M, number, this> {
    return this.call(["PTTL", key], asNumber);
  }

  /** EXPIRETIME: absolute Unix expiry in seconds (Redis 7). */
  expireTime(key: RedisKey): Out<M, number, this> {
    return this.call(["EXPIRETIME", key], asNumber);
  }

  /** PERSIST: true when a timeout was removed. */
  persist(key: RedisKey): Out<M, boolean, this> {
    return this.call(["PERSIST", key], asBoolean);
  }

  /** TYPE: `string`, `list`, `set`, `zset`, `hash`, `stream` or `none`. */
  type(key: RedisKey): Out<M, string, this> {
    return this.call(["TYPE", key], asStatus);
  }

  /** RENAME; fails with a RedisError when the key is missing. */
  rename(key: RedisKey, newKey: RedisKey): Out<M, boolean, this> {
    return this.call(["RENAME", key, newKey], asOk);
  }

  /** RENAMENX: true when renamed, false when `newKey` exists. */
  renameNx(key: RedisKey, newKey: RedisKey): Out<M, boolean, this> {
    return this.call(["RENAMENX", key, newKey], asBoolean);
  }

  /** COPY to another key (optionally replacing it). */
  copy(
    source: RedisKey,
    destination: RedisKey,
    options: { replace?: boolean; db?: number } = {},
  ): Out<M, boolean, this> {
    const args: RedisArg[] = ["COPY", source, destination];
    if (options.db !== undefined) args.push("DB", options.db);
    if (options.replace) args.push("REPLACE");
    return this.call(args, asBoolean);
  }

  /** TOUCH: how many of the keys exist (updating their access time). */
  touch(...keys: RedisKey[]): Out<M, number, this> {
    return this.call(["TOUCH", ...keys], asNumber);
  }

  /** KEYS matching a pattern. Blocks the server on big databases: prefer `scanIter`. */
  keys(pattern = "*"): Out<M, V[], this> {
    return this.call(["KEYS", pattern], (r, c) => asValues<V>(r, c) as V[]);
  }

  /** RANDOMKEY, or null when the database is empty. */
  randomKey(): Out<M, V | null, this> {
    return this.call(["RANDOMKEY"], asValue<V>);
  }

  /** One SCAN page. Use `scanIter` to walk all keys. */
  scan(cursor: string | number, options: ScanOptions = {}): Out<M, ScanPage<V>, this> {
    return this.call(
      ["SCAN", cursor, ...scanArgs(options)],
      asScanPage((r, c) => asValues<V>(r, c) as V[]),
    );
  }

  /** OBJECT ENCODING, or null when the key is missing. */
  objectEncoding(key: RedisKey): Out<M, string | null, this> {
    return this.call(["OBJECT", "ENCODING", key], (r, c) => (r === null ? null : asStatus(r, c)));
  }
}

function withCondition(args: RedisArg[], condition: ExpireCondition | undefined): RedisArg[] {
  if (condition) args.push(condition);
  return args;
}

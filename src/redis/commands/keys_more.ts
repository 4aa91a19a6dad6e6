// Key commands beyond the basics: SORT/SORT_RO, OBJECT introspection, DUMP/RESTORE, MOVE and
// PEXPIRETIME. Spec: https://redis.io/docs/latest/commands/?group=generic

import type { RedisArg } from "../resp_encoder.ts";
import type { CommandMode, Out, RedisKey } from "./base.ts";
import { SortedSetMoreCommands } from "./sorted_sets_more.ts";
import {
  asBoolean,
  asNumber,
  asNumberOrNull,
  asOk,
  asValue,
  asValues,
  replyShapeError,
  type Transform,
} from "./transforms.ts";

/** Options of SORT and SORT_RO. */
export interface SortOptions {
  /** Sort by the values of keys built from this pattern (`"weight_*"`, `"nosort"` to skip). */
  by?: string;
  /** Skip `offset` elements, return at most `count`. */
  limit?: { offset: number; count: number };
  /** Return values of keys built from these patterns (`"#"`: the element) instead. */
  get?: string[];
  /** Descending order. */
  order?: "ASC" | "DESC";
  /** Compare as strings, not as numbers. */
  alpha?: boolean;
}

/** Options of RESTORE. */
export interface RestoreOptions {
  /** Overwrite an existing key. */
  replace?: boolean;
  /** `ttlMs` is an absolute Unix time in milliseconds. */
  absTtl?: boolean;
  /** Set the idle time (seconds, LRU policies). */
  idleTime?: number;
  /** Set the access frequency (LFU policies). */
  freq?: number;
}

function restoreArgs(
  command: string,
  key: RedisKey,
  ttlMs: number,
  payload: Uint8Array,
  options: RestoreOptions,
): RedisArg[] {
  const args: RedisArg[] = [command, key, ttlMs, payload];
  if (options.replace) args.push("REPLACE");
  if (options.absTtl) args.push("ABSTTL");
  if (options.idleTime !== undefined) args.push("IDLETIME", options.idleTime);
  if (options.freq !== undefined) args.push("FREQ", options.freq);
  return args;
}

function sortArgs(command: string, key: RedisKey, o: SortOptions): RedisArg[] {
  const args: RedisArg[] = [command, key];
  if (o.by !== undefined) args.push("BY", o.by);
  if (o.limit) args.push("LIMIT", o.limit.offset, o.limit.count);
  for (const pattern of o.get ?? []) args.push("GET", pattern);
  if (o.order) args.push(o.order);
  if (o.alpha) args.push("ALPHA");
  return args;
}

/**
 * A binary payload (DUMP, FUNCTION DUMP) as bytes, or null. A client with `decode: true` gets
 * text, which would be corrupt: that is a `RemoteProtocolError` (`sent: true`).
 *
 * @example
 * ```ts
 * import { asPayload } from "@kvwire/kvwire/redis";
 * asPayload(new Uint8Array([0, 255]), { decode: true }); // Uint8Array [0, 255]
 * ```
 */
export const asPayload: Transform<Uint8Array | null> = (r, c) => {
  if (typeof r === "string") {
    throw replyShapeError("Binary payloads (DUMP, FUNCTION DUMP) need a client without `decode`");
  }
  return asValue<Uint8Array>(r, { ...c, decode: false });
};

/**
 * More key commands: sorting, object introspection, serialisation and moving between databases.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * await using redis = await RedisClient.connect("redis://127.0.0.1:6379", { decode: true });
 * await redis.rPush("l", "3", "1", "2");
 * await redis.sort("l"); // ["1", "2", "3"]
 * const payload = await redis.dump("l"); // Uint8Array
 * await redis.restore("l2", 0, payload!); // true
 * ```
 */
export abstract class KeyMoreCommands<V, M extends CommandMode>
  extends SortedSetMoreCommands<V, M> {
  /** SORT a list, set or sorted set: the elements (or GET values, null for missing keys). */
  sort(key: RedisKey, options: SortOptions = {}): Out<M, (V | null)[], this> {
    return this.call(sortArgs("SORT", key, options), asValues<V>);
  }

  /** SORT ... STORE: stores the result as a list at `destination`; its length. */
  sortStore(key: RedisKey, destination: RedisKey, options: SortOptions = {}): Out<M, number, this> {
    return this.call([...sortArgs("SORT", key, options), "STORE", destination], asNumber);
  }

  /** SORT_RO: the read-only SORT (no STORE; runs on replicas). */
  sortRo(key: RedisKey, options: SortOptions = {}): Out<M, (V | null)[], this> {
    return this.call(sortArgs("SORT_RO", key, options), asValues<V>);
  }

  /** OBJECT FREQ: the LFU access counter (the server must use an LFU maxmemory-policy). */
  objectFreq(key: RedisKey): Out<M, number | null, this> {
    return this.call(["OBJECT", "FREQ", key], asNumberOrNull);
  }

  /** OBJECT IDLETIME: seconds since the key was last accessed, null when missing. */
  objectIdleTime(key: RedisKey): Out<M, number | null, this> {
    return this.call(["OBJECT", "IDLETIME", key], asNumberOrNull);
  }

  /** OBJECT REFCOUNT: references to the key's value, null when missing. */
  objectRefCount(key: RedisKey): Out<M, number | null, this> {
    return this.call(["OBJECT", "REFCOUNT", key], asNumberOrNull);
  }

  /**
   * DUMP: the key's value serialised, or null when missing. Payloads are binary: a client with
   * `decode: true` rejects them (`RemoteProtocolError`, `sent: true`); use one without.
   */
  dump(key: RedisKey): Out<M, Uint8Array | null, this> {
    return this.call(["DUMP", key], asPayload);
  }

  /** RESTORE a DUMP payload at `key`, expiring in `ttlMs` (0: never). */
  restore(
    key: RedisKey,
    ttlMs: number,
    payload: Uint8Array,
    options: RestoreOptions = {},
  ): Out<M, boolean, this> {
    return this.call(restoreArgs("RESTORE", key, ttlMs, payload, options), asOk);
  }

  /**
   * RESTORE-ASKING: {@link restore} of a key whose slot is being imported (what MIGRATE sends
   * to the target node in a cluster); on other servers it is RESTORE.
   */
  restoreAsking(
    key: RedisKey,
    ttlMs: number,
    payload: Uint8Array,
    options: RestoreOptions = {},
  ): Out<M, boolean, this> {
    return this.call(restoreArgs("RESTORE-ASKING", key, ttlMs, payload, options), asOk);
  }

  /** MOVE a key to database `db`: false when it is missing here or already exists there. */
  move(key: RedisKey, db: number): Out<M, boolean, this> {
    return this.call(["MOVE", key, db], asBoolean);
  }

  /** PEXPIRETIME: the expiry as a Unix time in milliseconds; -1 without one, -2 when missing. */
  pExpireTime(key: RedisKey): Out<M, number, this> {
    return this.call(["PEXPIRETIME", key], asNumber);
  }
}

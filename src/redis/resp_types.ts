// The value model of RESP2 and RESP3 replies, as produced by the RESP decoder.
// Specs: https://github.com/redis/redis-specifications/blob/master/protocol/RESP3.md and
// https://redis.io/docs/latest/develop/reference/protocol-spec/ (RESP2).

import { bytesEqual, utf8Decode, utf8Encode } from "../core/bytes.ts";
import type { RedisError } from "./errors.ts";

/**
 * One decoded reply value:
 *
 * | wire | value |
 * | --- | --- |
 * | `+` simple string | `string` |
 * | `$` bulk string | `Uint8Array` (a view into the received chunk when possible) |
 * | `:` integer | `number` when `Number.isSafeInteger`, else `bigint` |
 * | `_`, `$-1`, `*-1` | `null` |
 * | `#t` / `#f` | `boolean` |
 * | `,` double | `number` (`inf`, `-inf`, `nan` included) |
 * | `(` big number | `bigint` |
 * | `-` error, `!` bulk error | {@link RedisError} (a value, not thrown) |
 * | `=` verbatim | {@link RespVerbatim} |
 * | `*` array | `RespValue[]` |
 * | `%` map | {@link RespMap} |
 * | `~` set | {@link RespSet} |
 *
 * Push frames (`>`) are only legal at top level and decode to {@link RespPush}, which is not a
 * `RespValue`. Attributes (`|`) are handed to a callback and never appear as values.
 *
 * @example
 * ```ts
 * import type { RespValue } from "@kvwire/kvwire/redis";
 * const reply: RespValue = ["OK", 1, null];
 * ```
 */
export type RespValue =
  | string
  | Uint8Array
  | number
  | bigint
  | boolean
  | null
  | RespValue[]
  | RespMap
  | RespSet
  | RespVerbatim
  | RedisError;

/**
 * A RESP3 map (`%`): its entries in wire order. Keys may be any value, including aggregates.
 *
 * @example
 * ```ts
 * import { RespMap } from "@kvwire/kvwire/redis";
 * const m = new RespMap([[new TextEncoder().encode("server"), "redis"]]);
 * m.get("server"); // "redis"
 * ```
 */
export class RespMap {
  /** The key/value pairs in the order the server sent them. */
  readonly entries: [RespValue, RespValue][];

  /** Wraps the given entries (not copied). */
  constructor(entries: [RespValue, RespValue][]) {
    this.entries = entries;
  }

  /** Number of entries. */
  get size(): number {
    return this.entries.length;
  }

  /**
   * The value of the first entry whose key is the string `key` or the bytes of its UTF-8
   * encoding; `undefined` when there is none.
   */
  get(key: string): RespValue | undefined {
    let bytes: Uint8Array | undefined;
    for (const [k, v] of this.entries) {
      if (typeof k === "string") {
        if (k === key) return v;
      } else if (k instanceof Uint8Array) {
        bytes ??= utf8Encode(key);
        if (bytesEqual(k, bytes)) return v;
      }
    }
    return undefined;
  }
}

/**
 * A RESP3 set (`~`): its members in wire order (duplicates are not removed).
 *
 * @example
 * ```ts
 * import { RespSet } from "@kvwire/kvwire/redis";
 * new RespSet(["a", "b"]).items.length; // 2
 * ```
 */
export class RespSet {
  /** The members in the order the server sent them. */
  readonly items: RespValue[];

  /** Wraps the given items (not copied). */
  constructor(items: RespValue[]) {
    this.items = items;
  }
}

/**
 * A RESP3 push frame (`>`): out-of-band data such as pub/sub messages or invalidations.
 * Only legal at top level.
 *
 * @example
 * ```ts
 * import { RespPush } from "@kvwire/kvwire/redis";
 * const p = new RespPush(["message", "chan", new Uint8Array([104, 105])]);
 * p.items[0]; // "message"
 * ```
 */
export class RespPush {
  /** The frame's elements; by convention the first names the kind (`"message"`...). */
  readonly items: RespValue[];

  /** Wraps the given items (not copied). */
  constructor(items: RespValue[]) {
    this.items = items;
  }
}

/**
 * A RESP3 verbatim string (`=`): a three-character format (`txt`, `mkd`) and the text bytes.
 *
 * @example
 * ```ts
 * import { RespVerbatim } from "@kvwire/kvwire/redis";
 * const v = new RespVerbatim("txt", new TextEncoder().encode("Some string"));
 * v.toString(); // "Some string"
 * ```
 */
export class RespVerbatim {
  /** The format, e.g. `"txt"` or `"mkd"`. */
  readonly format: string;
  /** The text, without the `fmt:` prefix. */
  readonly text: Uint8Array;

  /** Creates the value. */
  constructor(format: string, text: Uint8Array) {
    this.format = format;
    this.text = text;
  }

  /** The text decoded as UTF-8. */
  toString(): string {
    return utf8Decode(this.text);
  }
}

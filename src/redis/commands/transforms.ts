// Reply transforms: turn RESP2/RESP3 replies into the TypeScript values the typed commands
// promise, honouring the client's `decode` option (Uint8Array or string values).

import { asciiDecode, utf8Decode } from "../../core/bytes.ts";
import { RemoteProtocolError } from "../../core/errors.ts";
import { RedisError } from "../errors.ts";
import { RespMap, RespSet, type RespValue, RespVerbatim } from "../resp_types.ts";

/** What a transform needs to know about the client. */
export interface ReplyContext {
  /** Return strings instead of `Uint8Array` for bulk values. */
  decode: boolean;
}

/** Turns a raw reply into a typed value; throws `RemoteProtocolError` on a wrong shape. */
export type Transform<T> = (reply: RespValue, context: ReplyContext) => T;

/**
 * The error for a reply of the wrong shape: a `RemoteProtocolError` with `sent: true`, since
 * the command was written and the server ran it (only its answer is unusable).
 *
 * @example
 * ```ts
 * import { replyShapeError } from "@kvwire/kvwire/redis";
 * replyShapeError("Expected an array of scores").sent; // true
 * ```
 */
export function replyShapeError(message: string): RemoteProtocolError {
  return new RemoteProtocolError(message, { sent: true });
}

function unexpected(what: string, reply: RespValue): RemoteProtocolError {
  const shape = reply === null ? "null" : Array.isArray(reply) ? "array" : typeof reply;
  return replyShapeError(`Expected ${what} in the reply, got ${shape}`);
}

/**
 * The reply as it came, with bulk strings decoded when the client decodes (deeply).
 *
 * @example
 * ```ts
 * import { asReply } from "@kvwire/kvwire/redis";
 * asReply([new Uint8Array([104, 105])], { decode: true }); // ["hi"]
 * ```
 */
export const asReply: Transform<unknown> = (reply, context): unknown => {
  if (!context.decode) return reply;
  return decodeDeep(reply);
};

function decodeDeep(reply: RespValue): unknown {
  if (reply instanceof Uint8Array) return utf8Decode(reply);
  if (Array.isArray(reply)) return reply.map(decodeDeep);
  if (reply instanceof RespMap) {
    return new Map(reply.entries.map(([k, v]) => [decodeDeep(k), decodeDeep(v)]));
  }
  if (reply instanceof RespSet) return reply.items.map(decodeDeep);
  if (reply instanceof RespVerbatim) return utf8Decode(reply.text);
  return reply;
}

/**
 * A bulk value (or null): `Uint8Array`, or `string` when decoding.
 *
 * @example
 * ```ts
 * import { asValue } from "@kvwire/kvwire/redis";
 * asValue(new Uint8Array([97]), { decode: true }); // "a"
 * ```
 */
export function asValue<V>(reply: RespValue, context: ReplyContext): V | null {
  if (reply === null) return null;
  if (reply instanceof Uint8Array) return (context.decode ? utf8Decode(reply) : reply) as V;
  if (typeof reply === "string") {
    return (context.decode ? reply : new TextEncoder().encode(reply)) as V;
  }
  if (reply instanceof RespVerbatim) return asValue(reply.text, context);
  if (typeof reply === "number" || typeof reply === "bigint") {
    return asValue(new TextEncoder().encode(String(reply)), context);
  }
  throw unexpected("a string", reply);
}

/**
 * A bulk value that must not be null.
 *
 * @example
 * ```ts
 * import { asNonNullValue } from "@kvwire/kvwire/redis";
 * asNonNullValue("OK", { decode: true }); // "OK"
 * ```
 */
export function asNonNullValue<V>(reply: RespValue, context: ReplyContext): V {
  const value = asValue<V>(reply, context);
  if (value === null) throw unexpected("a string", reply);
  return value;
}

/**
 * An array of bulk values (nulls kept), from an array or a RESP3 set.
 *
 * @example
 * ```ts
 * import { asValues } from "@kvwire/kvwire/redis";
 * asValues(["a", null], { decode: true }); // ["a", null]
 * ```
 */
export function asValues<V>(reply: RespValue, context: ReplyContext): (V | null)[] {
  const items = reply instanceof RespSet ? reply.items : reply;
  if (!Array.isArray(items)) throw unexpected("an array", reply);
  return items.map((item) => asValue<V>(item, context));
}

/**
 * An integer reply that is a count or a size, as a number. One beyond ±(2^53−1) cannot be a
 * count: it is a `RemoteProtocolError` (`sent: true`); counters use {@link asInteger}.
 *
 * @example
 * ```ts
 * import { asNumber } from "@kvwire/kvwire/redis";
 * asNumber(3, { decode: false }); // 3
 * ```
 */
export const asNumber: Transform<number> = (reply): number => {
  if (typeof reply === "number") return reply;
  if (typeof reply === "bigint") {
    throw replyShapeError(`Expected a count in the reply, got ${reply} (beyond 2^53)`);
  }
  if (reply instanceof Uint8Array || typeof reply === "string") {
    const text = typeof reply === "string" ? reply : asciiDecode(reply);
    const n = Number(text);
    if (!Number.isNaN(n)) return n;
  }
  throw unexpected("an integer", reply);
};

/**
 * A 64-bit integer reply that the user controls (INCR, INCRBY, DECR, DECRBY, HINCRBY): a
 * `number` while it is a safe integer (within ±(2^53−1)), else an exact `bigint`. Never
 * rounded, never refused after the server applied the change.
 *
 * @example
 * ```ts
 * import { asInteger } from "@kvwire/kvwire/redis";
 * asInteger(41, { decode: false }); // 41
 * asInteger(9007199254740993n, { decode: false }); // 9007199254740993n
 * ```
 */
export const asInteger: Transform<number | bigint> = (reply, context): number | bigint => {
  if (typeof reply === "number" || typeof reply === "bigint") return reply;
  if (reply instanceof Uint8Array || typeof reply === "string") {
    const text = typeof reply === "string" ? reply : asciiDecode(reply);
    if (/^-?\d{1,20}$/.test(text)) {
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : BigInt(text);
    }
  }
  return asNumber(reply, context);
};

/**
 * An integer reply or null (e.g. a missing score).
 *
 * @example
 * ```ts
 * import { asNumberOrNull } from "@kvwire/kvwire/redis";
 * asNumberOrNull(null, { decode: false }); // null
 * ```
 */
export const asNumberOrNull: Transform<number | null> = (reply, context): number | null =>
  reply === null ? null : asNumber(reply, context);

/**
 * A float reply: a RESP3 double, or RESP2 bulk text such as `"1.5"`, `"inf"`, `"-inf"`.
 *
 * @example
 * ```ts
 * import { asFloat } from "@kvwire/kvwire/redis";
 * asFloat(new TextEncoder().encode("-inf"), { decode: false }); // -Infinity
 * ```
 */
export const asFloat: Transform<number> = (reply): number => {
  if (typeof reply === "number") return reply;
  if (reply instanceof Uint8Array || typeof reply === "string") {
    const text = (typeof reply === "string" ? reply : asciiDecode(reply)).toLowerCase();
    if (text === "inf" || text === "+inf") return Infinity;
    if (text === "-inf") return -Infinity;
    const n = Number(text);
    if (!Number.isNaN(n) || text === "nan") return n;
  }
  throw unexpected("a number", reply);
};

/**
 * A float reply or null.
 *
 * @example
 * ```ts
 * import { asFloatOrNull } from "@kvwire/kvwire/redis";
 * asFloatOrNull(null, { decode: false }); // null
 * ```
 */
export const asFloatOrNull: Transform<number | null> = (reply, context): number | null =>
  reply === null ? null : asFloat(reply, context);

/**
 * An integer or boolean reply as a boolean (`1`/`true` → true).
 *
 * @example
 * ```ts
 * import { asBoolean } from "@kvwire/kvwire/redis";
 * asBoolean(1, { decode: false }); // true
 * ```
 */
export const asBoolean: Transform<boolean> = (reply): boolean => {
  if (typeof reply === "boolean") return reply;
  if (typeof reply === "number") return reply !== 0;
  if (reply === "OK") return true;
  if (reply === null) return false;
  throw unexpected("an integer or boolean", reply);
};

/**
 * `OK` (or any simple status) as `true`; a null reply (condition not met) as `false`.
 *
 * @example
 * ```ts
 * import { asOk } from "@kvwire/kvwire/redis";
 * asOk("OK", { decode: false }); // true
 * ```
 */
export const asOk: Transform<boolean> = (reply): boolean => {
  if (typeof reply === "string") return true;
  if (reply === null) return false;
  throw unexpected("a status", reply);
};

/**
 * A simple status string such as `"PONG"`, `"string"` or `"OK"`.
 *
 * @example
 * ```ts
 * import { asStatus } from "@kvwire/kvwire/redis";
 * asStatus("PONG", { decode: false }); // "PONG"
 * ```
 */
export const asStatus: Transform<string> = (reply): string => {
  if (typeof reply === "string") return reply;
  if (reply instanceof Uint8Array) return utf8Decode(reply);
  throw unexpected("a status", reply);
};

/**
 * Pairs as a `Map`: from a RESP3 map or a flat RESP2 array `[k1, v1, k2, v2]`. Keys are
 * always strings; values follow `decode`.
 *
 * @example
 * ```ts
 * import { asMap } from "@kvwire/kvwire/redis";
 * asMap(["f", "1"], { decode: true }); // Map { "f" => "1" }
 * ```
 */
export function asMap<V>(reply: RespValue, context: ReplyContext): Map<string, V> {
  const out = new Map<string, V>();
  for (const [k, v] of pairsOf(reply)) {
    out.set(asNonNullValue<string>(k, { decode: true }), asNonNullValue<V>(v, context));
  }
  return out;
}

/**
 * The key/value pairs of a RESP3 map or a flat RESP2 array.
 *
 * @example
 * ```ts
 * import { pairsOf } from "@kvwire/kvwire/redis";
 * pairsOf(["a", 1, "b", 2]); // [["a", 1], ["b", 2]]
 * ```
 */
export function pairsOf(reply: RespValue): [RespValue, RespValue][] {
  if (reply instanceof RespMap) return reply.entries;
  if (!Array.isArray(reply) || reply.length % 2 !== 0) throw unexpected("pairs", reply);
  const pairs: [RespValue, RespValue][] = [];
  for (let i = 0; i < reply.length; i += 2) pairs.push([reply[i], reply[i + 1]]);
  return pairs;
}

/**
 * Throws a `RedisError` found as a value (for replies such as EXEC's array).
 *
 * @example
 * ```ts
 * import { throwIfError } from "@kvwire/kvwire/redis";
 * throwIfError("OK"); // "OK"
 * ```
 */
export function throwIfError(reply: RespValue): RespValue {
  if (reply instanceof RedisError) throw reply;
  return reply;
}

/**
 * Bulk values that are never null (members, fields), from an array or a RESP3 set.
 *
 * @example
 * ```ts
 * import { asNonNullValues } from "@kvwire/kvwire/redis";
 * asNonNullValues(["a", "b"], { decode: true }); // ["a", "b"]
 * ```
 */
export function asNonNullValues<V>(reply: RespValue, context: ReplyContext): V[] {
  const items = reply instanceof RespSet ? reply.items : reply;
  if (!Array.isArray(items)) throw unexpected("an array", reply);
  return items.map((item) => asNonNullValue<V>(item, context));
}

/**
 * An array of integer or boolean replies as booleans (SMISMEMBER, SCRIPT EXISTS).
 *
 * @example
 * ```ts
 * import { asBooleans } from "@kvwire/kvwire/redis";
 * asBooleans([1, 0], { decode: false }); // [true, false]
 * ```
 */
export function asBooleans(reply: RespValue, context: ReplyContext): boolean[] {
  if (!Array.isArray(reply)) throw unexpected("an array", reply);
  return reply.map((item) => asBoolean(item, context));
}

/**
 * The items of a flat RESP2 array `[a1, b1, a2, b2]` or of a RESP3 array of pairs
 * `[[a1, b1], [a2, b2]]` (or a RESP3 map), as pairs. An empty array gives no pairs.
 *
 * @example
 * ```ts
 * import { pairItems } from "@kvwire/kvwire/redis";
 * pairItems([["a", 1]]); // [["a", 1]]
 * pairItems(["a", 1]); // [["a", 1]]
 * ```
 */
export function pairItems(reply: RespValue): [RespValue, RespValue][] {
  if (reply instanceof RespMap) return reply.entries;
  if (!Array.isArray(reply)) throw unexpected("pairs", reply);
  if (reply.length > 0 && Array.isArray(reply[0])) {
    return reply.map((pair) => {
      if (!Array.isArray(pair) || pair.length !== 2) throw unexpected("a pair", pair);
      return [pair[0], pair[1]];
    });
  }
  return pairsOf(reply);
}

/**
 * Field/value (or member/value) pairs as `[V, V]` tuples, from a flat RESP2 array or RESP3
 * pairs.
 *
 * @example
 * ```ts
 * import { asValuePairs } from "@kvwire/kvwire/redis";
 * asValuePairs(["f", "1"], { decode: true }); // [["f", "1"]]
 * ```
 */
export function asValuePairs<V>(reply: RespValue, context: ReplyContext): [V, V][] {
  return pairItems(reply).map(([a, b]) => [
    asNonNullValue<V>(a, context),
    asNonNullValue<V>(b, context),
  ]);
}

/**
 * Member/score pairs as `[V, number]` tuples: RESP2 sends a flat array with scores as bulk
 * text, RESP3 an array of `[member, double]` pairs.
 *
 * @example
 * ```ts
 * import { asScoredPairs } from "@kvwire/kvwire/redis";
 * asScoredPairs([["a", 1.5]], { decode: true }); // [["a", 1.5]]
 * ```
 */
export function asScoredPairs<V>(reply: RespValue, context: ReplyContext): [V, number][] {
  return pairItems(reply).map(([member, score]) => [
    asNonNullValue<V>(member, context),
    asFloat(score, context),
  ]);
}

/**
 * A record reply (a RESP3 map or a flat RESP2 array) as an object with text keys; values as
 * {@link asReply} decodes them to text (integers stay numbers).
 *
 * @example
 * ```ts
 * import { asRecord } from "@kvwire/kvwire/redis";
 * asRecord(["role", "master", "port", 7000]); // { role: "master", port: 7000 }
 * ```
 */
export function asRecord(reply: RespValue): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of pairsOf(reply)) {
    out[asNonNullValue<string>(k, { decode: true })] = asReply(v, { decode: true });
  }
  return out;
}

/**
 * The fields of a record reply (a RESP3 map or a flat RESP2 array) by their text names, values
 * left as they came.
 *
 * @example
 * ```ts
 * import { fieldsOf } from "@kvwire/kvwire/redis";
 * fieldsOf(["calls", 3]).get("calls"); // 3
 * ```
 */
export function fieldsOf(reply: RespValue): Map<string, RespValue> {
  return new Map(pairsOf(reply).map(([k, v]) => [asNonNullValue<string>(k, { decode: true }), v]));
}

// The reply types well-known commands can get (by RESP type byte), so that a reply of another
// type is refused as not belonging to its command. Spec: the reply sections of redis.io commands.

import type { RespValue } from "./resp_types.ts";

/** Type bytes of a bulk-or-null reply: `$` (RESP2 `$-1` included) and RESP3 `_`. */
const BULK = "$_";
/** Type byte of an integer reply. */
const INTEGER = ":";

const SHAPES: Record<string, string> = {
  GET: BULK,
  GETDEL: BULK,
  GETEX: BULK,
  GETSET: BULK,
  GETRANGE: BULK,
  HGET: BULK,
  LINDEX: BULK,
  RANDOMKEY: BULK,
  ECHO: BULK,
  SET: "+" + BULK, // OK, null when NX/XX refused, the old value with GET
  PING: "+$*", // PONG, the message, or ["pong", msg] in RESP2 subscribed mode
  MGET: "*",
  INCR: INTEGER,
  INCRBY: INTEGER,
  DECR: INTEGER,
  DECRBY: INTEGER,
  HINCRBY: INTEGER,
  DEL: INTEGER,
  UNLINK: INTEGER,
  EXISTS: INTEGER,
  STRLEN: INTEGER,
  APPEND: INTEGER,
  SETRANGE: INTEGER,
  LLEN: INTEGER,
  LPUSH: INTEGER,
  RPUSH: INTEGER,
  HLEN: INTEGER,
  HDEL: INTEGER,
  HSET: INTEGER,
  SADD: INTEGER,
  SREM: INTEGER,
  SCARD: INTEGER,
  ZCARD: INTEGER,
  PUBLISH: INTEGER,
  DBSIZE: INTEGER,
};

/**
 * The RESP type bytes (as characters) a reply to `name` may start with, besides the error types
 * `-` and `!` that every command may get; `undefined` for commands whose reply is not checked.
 *
 * @example
 * ```ts
 * import { replyTypesOf } from "@kvwire/kvwire/redis";
 * replyTypesOf("GET"); // "$_"
 * replyTypesOf("EVAL"); // undefined
 * ```
 */
export function replyTypesOf(name: string): string | undefined {
  return Object.hasOwn(SHAPES, name) ? SHAPES[name] : undefined;
}

/**
 * Whether a reply whose first byte is `type` may answer a command with the given allowed types.
 *
 * @example
 * ```ts
 * import { replyTypeAllowed } from "@kvwire/kvwire/redis";
 * replyTypeAllowed("$_", 0x2b); // false: a simple string never answers GET
 * ```
 */
export function replyTypeAllowed(allowed: string, type: number): boolean {
  if (type === 0x2d || type === 0x21) return true; // errors answer any command
  for (let i = 0; i < allowed.length; i++) if (allowed.charCodeAt(i) === type) return true;
  return false;
}

/**
 * A short description of a reply for messages: `the simple string "PONG"`, `an array`...
 *
 * @example
 * ```ts
 * import { shapeOf } from "@kvwire/kvwire/redis";
 * shapeOf("PONG"); // 'the simple string "PONG"'
 * ```
 */
export function shapeOf(value: RespValue): string {
  if (typeof value === "string") return `the simple string ${JSON.stringify(value.slice(0, 40))}`;
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "a bulk string";
  return typeof value === "object" ? `a ${value.constructor.name}` : `the ${typeof value} ${value}`;
}

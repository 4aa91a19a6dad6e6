// Redis error replies (`-ERR ...` simple errors and `!` bulk errors) as ServerError values.
// Spec: https://github.com/redis/redis-specifications/blob/master/protocol/RESP3.md

import { ServerError } from "../core/errors.ts";
import { utf8Decode } from "../core/bytes.ts";

/**
 * An error reply from Redis. `message` is the full text the server sent; `serverCode` is its
 * first word when that word is all capitals (`ERR`, `WRONGTYPE`, `NOSCRIPT`, `MOVED`,
 * `NOAUTH`...), otherwise the empty string. The decoder returns these as values; the client
 * turns them into rejections.
 *
 * @example
 * ```ts
 * import { RedisError } from "@kvwire/kvwire/redis";
 * const err = new RedisError("WRONGTYPE Operation against a key holding the wrong kind of value");
 * err.serverCode; // "WRONGTYPE"
 * err.code; // "SERVER"
 * ```
 */
export class RedisError extends ServerError {
  /** Builds the error from the reply text (without the `-` and the CRLF). */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, redisErrorCode(message), options);
  }
}

/**
 * Builds a {@link RedisError} from the raw bytes of an error reply (UTF-8, without the type
 * byte and the CRLF).
 *
 * @example
 * ```ts
 * import { redisErrorFromBytes } from "@kvwire/kvwire/redis";
 * const err = redisErrorFromBytes(new TextEncoder().encode("MOVED 3999 127.0.0.1:6381"));
 * err.serverCode; // "MOVED"
 * ```
 */
export function redisErrorFromBytes(bytes: Uint8Array): RedisError {
  return new RedisError(utf8Decode(bytes));
}

/**
 * The error code of a Redis error text: its first word when it is all capitals (digits and `_`
 * allowed after the first letter), else `""`.
 *
 * @example
 * ```ts
 * import { redisErrorCode } from "@kvwire/kvwire/redis";
 * redisErrorCode("NOAUTH Authentication required."); // "NOAUTH"
 * redisErrorCode("oops"); // ""
 * ```
 */
export function redisErrorCode(message: string): string {
  let end = message.indexOf(" ");
  if (end === -1) end = message.length;
  if (end === 0) return "";
  for (let i = 0; i < end; i++) {
    const c = message.charCodeAt(i);
    const upper = c >= 65 && c <= 90;
    if (!upper && (i === 0 || !((c >= 48 && c <= 57) || c === 95))) return "";
  }
  return message.slice(0, end);
}

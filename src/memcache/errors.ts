// memcache errors (DESIGN.md §6): a server's error reply, and a server the pool has marked dead.

import { ConnectError, ServerError } from "../core/errors.ts";

/**
 * An error reply from a memcached server: `ERROR`, `CLIENT_ERROR <message>`,
 * `SERVER_ERROR <message>` (text and meta), or a binary status such as `E2BIG`. `serverCode`
 * holds that code.
 *
 * @example
 * ```ts
 * import { MemcacheError } from "@kvwire/kvwire/memcache";
 * const err = new MemcacheError("SERVER_ERROR object too large for cache", "SERVER_ERROR");
 * console.log(err.serverCode); // "SERVER_ERROR"
 * ```
 */
export class MemcacheError extends ServerError {
  /** Creates the error from the server's message and code. */
  constructor(message: string, serverCode = "", options?: { cause?: unknown }) {
    super(message, serverCode, options);
  }
}

/**
 * The server a key maps to is marked dead (it failed within the last `deadRetry`
 * milliseconds) and failover is off, so the request was not sent anywhere.
 *
 * @example
 * ```ts
 * import { ServerDeadError } from "@kvwire/kvwire/memcache";
 * const err = new ServerDeadError("memcache 10.0.0.2:11211 is marked dead for 29500 ms more");
 * console.log(err.code); // "CONNECT_FAILED"
 * ```
 */
export class ServerDeadError extends ConnectError {
  /** Creates the error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

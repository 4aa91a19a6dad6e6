// The commands of the Redis connection handshake: HELLO 3 with AUTH and SETNAME, or, when the
// server refuses HELLO, the RESP2 sequence AUTH / CLIENT SETNAME / SELECT.
// Spec: https://redis.io/docs/latest/commands/hello/

import type { RedisError } from "./errors.ts";
import type { RedisArg } from "./resp_encoder.ts";

/** Connection settings the handshake applies. */
export interface HandshakeOptions {
  /** RESP version to ask for. Default 3; falls back to 2 when the server refuses HELLO. */
  protocol?: 2 | 3;
  /** ACL user name (Redis 6+). Without it, AUTH uses the password alone. */
  username?: string;
  /** Password; never logged or put in an error message. */
  password?: string;
  /** Sent as CLIENT SETNAME. */
  clientName?: string;
  /** Database to SELECT. Default 0 (no SELECT). */
  db?: number;
}

/**
 * The HELLO command for `protocol` with credentials and client name.
 *
 * @example
 * ```ts
 * import { helloCommand } from "@kvwire/kvwire/redis";
 * helloCommand(3, { password: "pw", clientName: "app" });
 * // ["HELLO", "3", "AUTH", "default", "pw", "SETNAME", "app"]
 * ```
 */
export function helloCommand(protocol: 2 | 3, options: HandshakeOptions): RedisArg[] {
  const args: RedisArg[] = ["HELLO", String(protocol)];
  if (options.password !== undefined) {
    args.push("AUTH", options.username ?? "default", options.password);
  }
  if (options.clientName !== undefined) args.push("SETNAME", options.clientName);
  return args;
}

/**
 * The steps after HELLO succeeded: SELECT when a database other than 0 is wanted.
 *
 * @example
 * ```ts
 * import { afterHelloCommands } from "@kvwire/kvwire/redis";
 * afterHelloCommands({ db: 2 }); // [["SELECT", "2"]]
 * ```
 */
export function afterHelloCommands(options: HandshakeOptions): RedisArg[][] {
  return options.db ? [["SELECT", String(options.db)]] : [];
}

/**
 * The RESP2 handshake for servers without HELLO (Redis < 6, some proxies): AUTH, CLIENT
 * SETNAME and SELECT as needed.
 *
 * @example
 * ```ts
 * import { resp2Commands } from "@kvwire/kvwire/redis";
 * resp2Commands({ password: "pw", db: 1 }); // [["AUTH", "pw"], ["SELECT", "1"]]
 * ```
 */
export function resp2Commands(options: HandshakeOptions): RedisArg[][] {
  const steps: RedisArg[][] = [];
  if (options.password !== undefined) {
    steps.push(
      options.username === undefined
        ? ["AUTH", options.password]
        : ["AUTH", options.username, options.password],
    );
  }
  if (options.clientName !== undefined) steps.push(["CLIENT", "SETNAME", options.clientName]);
  steps.push(...afterHelloCommands(options));
  return steps;
}

/**
 * True when an error reply to HELLO means "this server doesn't speak HELLO / RESP3" (as
 * opposed to bad credentials), so the handshake should fall back to RESP2.
 *
 * @example
 * ```ts
 * import { isHelloUnsupported, RedisError } from "@kvwire/kvwire/redis";
 * isHelloUnsupported(new RedisError("ERR unknown command 'HELLO'")); // true
 * isHelloUnsupported(new RedisError("WRONGPASS invalid username-password pair")); // false
 * ```
 */
export function isHelloUnsupported(error: RedisError): boolean {
  return error.serverCode === "NOPROTO" || /unknown command/i.test(error.message);
}

/**
 * Validates handshake options, throwing `TypeError`/`RangeError` before any connection is made.
 *
 * @example
 * ```ts
 * import { checkHandshakeOptions } from "@kvwire/kvwire/redis";
 * checkHandshakeOptions({ db: 3 }); // ok
 * ```
 */
export function checkHandshakeOptions(options: HandshakeOptions): void {
  const { protocol, db, clientName } = options;
  if (protocol !== undefined && protocol !== 2 && protocol !== 3) {
    throw new RangeError(`Unsupported RESP protocol ${JSON.stringify(protocol)}: use 2 or 3`);
  }
  if (db !== undefined && (!Number.isInteger(db) || db < 0)) {
    throw new RangeError(`Invalid database index ${JSON.stringify(db)}`);
  }
  if (clientName !== undefined && /[\s]/.test(clientName)) {
    throw new TypeError(`Client name ${JSON.stringify(clientName)} must not contain spaces`);
  }
}

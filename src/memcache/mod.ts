/**
 * memcache (meta, text and binary protocols). The client itself is tracked by its own issue
 * and not in this release; until it lands this entry exports the shared pieces the client
 * is built on: the error classes, the transport interface and `host:port` parsing.
 *
 * @example
 * ```ts
 * import { parseHostPort } from "@kvwire/kvwire/memcache";
 * parseHostPort("cache-1:11212", 11211); // { host: "cache-1", port: 11212 }
 * ```
 *
 * @module
 */

export * from "../core/errors.ts";
export type { Address, Connect, ConnectOptions, Transport } from "../core/transport.ts";
export { parseHostPort } from "../core/url.ts";

/**
 * memcache for every runtime: a python-memcached-style client over the meta (default), text or
 * binary protocol, with a weighted ketama pool (libmemcached-compatible), dead-server
 * handling, failover, SASL and TLS; and the sans-I/O `MetaConnection`, `TextConnection` and
 * `BinaryConnection` machines underneath.
 *
 * @example
 * ```ts
 * import { MemcacheClient } from "@kvwire/kvwire/memcache";
 * await using mc = await MemcacheClient.connect(["127.0.0.1:11211"]);
 * await mc.set("counter", "20");
 * await mc.incr("counter"); // 21n
 * await mc.getMulti(["counter", "missing"]); // Map { "counter" => "21" }
 * ```
 *
 * @module
 */

export * from "../core/errors.ts";
export * from "../core/observability.ts";
export type { Address, Connect, ConnectOptions, TlsOptions, Transport } from "../core/transport.ts";
export { parseHostPort } from "../core/url.ts";
export * from "./args.ts";
export * from "./binary_codec.ts";
export * from "./binary_connection.ts";
export * from "./binary_request.ts";
export * from "./client.ts";
export * from "./client_core.ts";
export * from "./client_options.ts";
export * from "./client_types.ts";
export * from "./credentials.ts";
export * from "./deadlines.ts";
export * from "./errors.ts";
export * from "./ketama.ts";
export * from "./keys.ts";
export * from "./line_connection.ts";
export * from "./md5.ts";
export * from "./meta_codec.ts";
export * from "./meta_connection.ts";
export * from "../core/outbox.ts";
export * from "./pool.ts";
export * from "./server_node.ts";
export * from "./text_connection.ts";
export * from "./types.ts";
export * from "./values.ts";

/**
 * etcd (v3 over the JSON gateway, and the v2 keys API). The client itself is tracked by its own issue
 * and not in this release; until it lands this entry exports the shared pieces the client
 * is built on: the error classes, the transport interface and `host:port` parsing.
 *
 * @example
 * ```ts
 * import { parseHostPort } from "@kvwire/kvwire/etcd";
 * parseHostPort("node-1:9000", 2379); // { host: "node-1", port: 9000 }
 * ```
 *
 * @module
 */

export * from "../core/errors.ts";
export type { Address, Connect, ConnectOptions, Transport } from "../core/transport.ts";
export { parseHostPort } from "../core/url.ts";

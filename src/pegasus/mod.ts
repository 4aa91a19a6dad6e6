/**
 * Apache Pegasus: a client speaking THFT framing + Thrift binary to meta and replica servers
 * (pypegasus's API plus incr, check-and-set, check-and-mutate and batches), and the sans-I/O
 * pieces it is built from (codec, key schema, crc64, session machine).
 *
 * @example
 * ```ts
 * import { PegasusClient } from "@kvwire/kvwire/pegasus";
 * await using client = await PegasusClient.connect({
 *   metaServers: ["127.0.0.1:34601"], table: "temp", decode: true,
 * });
 * await client.set("hkey1", "skey1", "value", { ttl: 60 });
 * console.log(await client.get("hkey1", "skey1")); // "value"
 * ```
 *
 * @module
 */

export * from "../core/errors.ts";
export * from "../core/observability.ts";
export type { BackoffOptions } from "../core/backoff.ts";
export type { ByteWriter } from "../core/bytes.ts";
export type {
  ConnectionEvent,
  ProtocolConnection,
  RequestId,
  SendOptions,
} from "../core/connection.ts";
export type { Driver, ReplyHandler, RequestOptions } from "../core/driver.ts";
export type {
  ManagedConnection,
  ManagedRequestOptions,
  ReconnectOptions,
} from "../core/managed_connection.ts";
export type { StreamQueue } from "../core/stream_queue.ts";
export type {
  Address,
  Connect,
  ConnectOptions,
  TlsOptions,
  Transport,
  TransportInfo,
} from "../core/transport.ts";
export { parseHostPort } from "../core/url.ts";
export * from "./client.ts";
export type {
  Bytes,
  CheckOptions,
  CheckResult,
  MultiGetLimits,
  MultiGetOptions,
  MultiGetResult,
  Mutation,
  PegasusClientOptions,
  ScanOptions,
  ScanRestart,
  WriteOptions,
} from "./client_options.ts";
export { Cluster, type ClusterOptions, type TableConfig } from "./cluster.ts";
export * from "./connection.ts";
export * from "./crc64.ts";
export * from "./errors.ts";
export * from "./frame.ts";
export * from "./key_schema.ts";
export { incrOperation, readOperation, removeOperation, setOperation } from "./key_operations.ts";
export * from "./hash_key_operations.ts";
export * from "./observe.ts";
export * from "./requests.ts";
export * from "./responses.ts";
export * from "./router.ts";
export * from "./scanner.ts";
export * from "./thrift.ts";

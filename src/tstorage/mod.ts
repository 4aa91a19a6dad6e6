/**
 * TStorage for every runtime: `TStorageClient` (put, puta, getAcq, get, getIter, getStream)
 * with payload types and timestamp helpers, and the sans-I/O `TStorageConnection` machine,
 * codec and response decoder underneath (shared/protocols/tstorage.md).
 *
 * @example
 * ```ts
 * import { Key, nowNs, TStorageClient, Utf8PayloadType } from "@kvwire/kvwire/tstorage";
 * await using client = await TStorageClient.connect({
 *   host: "127.0.0.1",
 *   port: 2025,
 *   payloadType: new Utf8PayloadType(),
 * });
 * await client.put([{ key: new Key(1, 10n, 0, nowNs()), value: "21.5 °C" }]);
 * const { data } = await client.get(new Key(1, 10n, 0, 0n, 0n), Key.max());
 * for (const { key, value } of data) console.log(String(key), value);
 * ```
 *
 * @module
 */

export * from "../core/errors.ts";
export * from "../core/observability.ts";
export type { BackoffOptions } from "../core/backoff.ts";
export type {
  ConnectionEvent,
  ProtocolConnection,
  RequestId,
  SendOptions,
} from "../core/connection.ts";
export type { ReconnectOptions } from "../core/managed_connection.ts";
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
export * from "./client_options.ts";
export * from "./codec.ts";
export * from "./connection.ts";
export * from "./errors.ts";
export * from "./payload.ts";
export * from "./record.ts";
export * from "./record_iterator.ts";
export * from "./response_decoder.ts";
export * from "./half_float.ts";
export * from "./struct_format.ts";
export * from "./timestamp.ts";
export * from "./turnstile.ts";

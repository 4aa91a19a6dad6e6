// Options of the TStorage client and their resolution from `tstorage://host:port` and
// `tstorages://host:port` (TLS) URLs. TStorage has no default port: one must be given.

import type { ReconnectOptions } from "../core/managed_connection.ts";
import type { ObservabilityOptions } from "../core/observability.ts";
import type { Address, Connect, TlsOptions } from "../core/transport.ts";
import { formatAddress } from "../core/transport.ts";
import { parseServerUrl } from "../core/url.ts";
import type { PayloadType } from "./payload.ts";

/** Everything a {@link TStorageClient} can be told. */
export interface TStorageClientOptions<T> extends ObservabilityOptions {
  /** `tstorage://host:port`, or `tstorages://host:port` for TLS. */
  url?: string;
  /** Host name or address. Default `127.0.0.1`. */
  host?: string;
  /** Port (TStorage has no default; the vendor's examples use 2025). */
  port?: number;
  /** How record values become payload bytes. Default: raw bytes (`Uint8Array`). */
  payloadType?: PayloadType<T>;
  /** TLS: `true` for defaults (certificate verified), or settings. */
  tls?: boolean | TlsOptions;
  /** Milliseconds to connect, TLS included. Default 10,000. */
  connectTimeout?: number;
  /** Default deadline of every call in milliseconds, waiting included. Default none. */
  timeout?: number;
  /**
   * Bytes a GET may receive: the whole response for `get`/`getIter`, each batch for
   * `getStream`. Over it the call fails with `MemoryLimitError`. Default none.
   */
  memoryLimit?: number;
  /**
   * The receive buffer: the largest chunk one socket read hands over, in bytes (the vendor's
   * `recv_buffer_size`; it bounds what a read holds, while `memoryLimit` bounds a response).
   * Node and Deno read into a buffer of this size; Bun, Workers and the tunnel read as their
   * runtime does and hand over slices of it. Default: the runtime's read size (64 KiB on Node
   * and Deno, as the vendor's default of 65,536).
   */
  receiveBufferSize?: number;
  /** Default `maxBatchSize` of put/puta (bytes per cid batch). Default 2^31 − 1. */
  maxBatchSize?: number;
  /** The transport connector. Default: the one for the running runtime. */
  connect?: Connect;
  /** Reconnection with backoff after a lost connection. */
  reconnect?: ReconnectOptions;
  /** Calls held while disconnected. Default 10,000. */
  offlineQueueSize?: number;
  /**
   * Prove each new connection in step before any call goes out: a GET_ACQ whose answer must
   * echo a random acq (ACQ0 is clamped to the upper key's acq). TStorage answers carry no
   * request id, so this is what tells bytes the server sent on its own (before any request)
   * from an answer; a connection that fails the check is dropped and another one is tried.
   * Costs one round trip per connection. Default true (the vendor's integration tests against
   * a real server show ACQ0 clamped to the upper key's acq); false skips it.
   */
  verifyConnection?: boolean;
}

/** The options after URL parsing and defaults. */
export interface ResolvedTStorageOptions<T> extends TStorageClientOptions<T> {
  /** The server's host and port. */
  address: { host: string; port: number };
  /** Names the server in errors, as `tstorage host:port`. */
  label: string;
}

const SCHEMES = {
  tstorage: { port: 0, tls: false },
  tstorages: { port: 0, tls: true },
};

/**
 * Checks a memory limit: a positive safe integer, or undefined for none.
 *
 * @example
 * ```ts
 * import { checkMemoryLimit } from "@kvwire/kvwire/tstorage";
 * checkMemoryLimit(65536); // 65536
 * ```
 */
export function checkMemoryLimit(limit: number | undefined): number | undefined {
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
    throw new RangeError(`memoryLimit must be a positive integer number of bytes, got ${limit}`);
  }
  return limit;
}

/**
 * Merges a URL (if any) with explicit options (which win) and validates them.
 *
 * @example
 * ```ts
 * import { resolveTStorageOptions } from "@kvwire/kvwire/tstorage";
 * const o = resolveTStorageOptions({ url: "tstorages://ts.example:2025" });
 * o.address; // { host: "ts.example", port: 2025 }
 * o.tls; // true
 * ```
 */
export function resolveTStorageOptions<T>(
  options: TStorageClientOptions<T>,
): ResolvedTStorageOptions<T> {
  let fromUrl: { host?: string; port?: number; tls?: boolean } = {};
  if (options.url !== undefined) {
    const url = parseServerUrl(options.url, SCHEMES);
    const address = url.address as Address & { host: string; port: number };
    fromUrl = { host: address.host, port: address.port || undefined, tls: url.tls || undefined };
  }
  if (fromUrl.tls && options.tls === false) {
    throw new TypeError("A tstorages:// URL asks for TLS; `tls: false` contradicts it");
  }
  const host = options.host ?? fromUrl.host ?? "127.0.0.1";
  const port = options.port ?? fromUrl.port;
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TypeError(
      port === undefined
        ? "TStorage has no default port: pass `port` or a URL with one"
        : `Invalid TStorage port ${port}: expected 1-65535`,
    );
  }
  checkMemoryLimit(options.memoryLimit);
  const receive = options.receiveBufferSize;
  if (receive !== undefined && !(Number.isSafeInteger(receive) && receive > 0)) {
    throw new RangeError(
      `receiveBufferSize must be a positive integer number of bytes, got ${receive}`,
    );
  }
  for (const name of ["timeout", "connectTimeout"] as const) {
    const value = options[name];
    if (value !== undefined && !(value >= 0)) {
      throw new RangeError(`${name} must be a number of milliseconds ≥ 0, got ${value}`);
    }
  }
  const address = { host, port };
  return {
    ...options,
    tls: options.tls ?? fromUrl.tls,
    address,
    label: `tstorage ${formatAddress(address)}`,
  };
}

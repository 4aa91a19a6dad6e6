// The one byte-stream interface every transport implements (DESIGN.md §4). Runtime-neutral:
// the implementations live in transports/, this file only describes them.

/** Where to connect: a TCP host and port, or a Unix-domain socket path. */
export type Address = { host: string; port: number } | { path: string };

/**
 * TLS settings. Verification is on by default on every runtime; turning it off must be
 * spelled out with `rejectUnauthorized: false`.
 */
export interface TlsOptions {
  /** Extra trusted CA certificates (PEM); some runtimes use them instead of the system roots. */
  ca?: string | string[];
  /** Name to verify and send as SNI; defaults to the host. */
  serverName?: string;
  /** Client certificate chain (PEM), for mutual TLS. */
  cert?: string;
  /** Client private key (PEM), for mutual TLS. */
  key?: string;
  /** Verify the server's certificate. Default true. */
  rejectUnauthorized?: boolean;
  /**
   * Protocols offered by ALPN, such as `["h2"]` (Node, Deno and Bun; the Workers socket API
   * has no ALPN and refuses the option). The one chosen is {@link TransportInfo.alpnProtocol}.
   */
  alpnProtocols?: string[];
}

/** Options every connector accepts. */
export interface ConnectOptions {
  /** Give up connecting (including the TLS handshake) after this many milliseconds. */
  timeout?: number;
  /** Use TLS: `true` for defaults, or settings. */
  tls?: boolean | TlsOptions;
  /** Abort the attempt. */
  signal?: AbortSignal;
  /** Bytes buffered by `write()` before it returns false. Default 64 KiB. */
  highWaterMark?: number;
  /** Disable Nagle's algorithm where the runtime allows it. Default true. */
  noDelay?: boolean;
  /**
   * TCP keepalive, so that a peer that vanished without a FIN or RST is noticed even on an
   * idle connection: `true` (default) probes after {@link DEFAULT_KEEPALIVE_DELAY} ms idle, a
   * number sets that delay where the runtime allows it (Node, Bun; Deno uses the system's),
   * `false` turns it off. Unix sockets and Workers sockets have none.
   */
  keepAlive?: boolean | number;
  /**
   * Largest chunk a read hands over, in bytes: a client's receive buffer size. Node and Deno
   * read from the socket into a buffer of this size; on Bun, Workers sockets and the tunnel
   * the runtime reads as it does (Bun up to 512 KiB at a time) and chunks over this size are
   * handed over in slices of it. Default: the runtime's read size (64 KiB on Node and Deno).
   */
  readSize?: number;
}

/** Idle milliseconds before TCP keepalive probes start, unless `keepAlive` says otherwise. */
export const DEFAULT_KEEPALIVE_DELAY = 30_000;

/** What a transport tells about itself. */
export interface TransportInfo {
  /** `"node"`, `"deno"`, `"bun"`, `"memory"`, `"cloudflare"`, `"websocket"`. */
  readonly kind: string;
  /** Whether bytes are encrypted with TLS. */
  readonly tls: boolean;
  /** `host:port` or the socket path, for messages. */
  readonly remoteAddress?: string;
  /** The protocol the TLS server selected by ALPN, when ALPN was offered and one was chosen. */
  readonly alpnProtocol?: string;
}

/**
 * Receives the outcome of one {@link Transport.readInto}: exactly one method is called, once.
 *
 * @example
 * ```ts
 * import type { ChunkReader } from "@kvwire/kvwire";
 * const reader: ChunkReader = {
 *   resolve: (chunk) => console.log(chunk === null ? "end" : `${chunk.length} bytes`),
 *   reject: (error) => console.error(error.message),
 * };
 * ```
 */
export interface ChunkReader {
  /** The next chunk (the reader owns it), or `null` at end of stream. */
  resolve(chunk: Uint8Array | null): void;
  /** The error the stream failed with. */
  reject(error: Error): void;
}

/**
 * A connected, ordered, reliable byte stream.
 *
 * - `read()` resolves with the next chunk, which the caller owns (the transport never reuses
 *   it), or `null` at end of stream. Not calling `read()` is read backpressure. One read at a
 *   time. After `close()`, `read()` resolves `null` or rejects with the close reason.
 * - `write()` queues bytes and returns false when over the high-water mark; `ready()`
 *   resolves when it is worth writing again. Writing after close throws
 *   `ConnectionClosedError`.
 * - `end()` flushes and half-closes; `close()` aborts at once and is idempotent.
 *
 * @example
 * ```ts
 * import type { Transport } from "@kvwire/kvwire";
 * async function ping(t: Transport): Promise<Uint8Array | null> {
 *   if (!t.write(new TextEncoder().encode("PING\r\n"))) await t.ready();
 *   return await t.read();
 * }
 * ```
 */
export interface Transport {
  /** The next chunk, owned by the caller, or `null` at end of stream; one read at a time. */
  read(): Promise<Uint8Array | null>;
  /**
   * Optional callback form of `read()` for hot paths (no Promise per chunk): `reader` learns
   * the next chunk, `null` or the error exactly once, synchronously when one is already
   * queued, else from the transport's receive event. Same rules as `read()`; the driver uses it
   * when present.
   */
  readInto?(reader: ChunkReader): void;
  /** Queues bytes; false when over the high-water mark (then await `ready()`). */
  write(chunk: Uint8Array): boolean;
  /**
   * Optional: as `write`, but `chunk` is only lent for the call: the transport copies what
   * it keeps (bytes the socket did not take at once), so the caller may overwrite them as soon
   * as it returns. Transports whose socket copies on write implement it; the driver then
   * writes from the machine's own buffer (`pollTransmitView`) with no copy per flush.
   */
  writeBorrowed?(chunk: Uint8Array): boolean;
  /** Resolves when writing is worthwhile again; rejects if the connection closed. */
  ready(): Promise<void>;
  /** Bytes written and not yet handed to the network. */
  readonly bufferedAmount: number;
  /** Flushes, then half-closes the sending side. */
  end(): Promise<void>;
  /** Aborts at once; idempotent. Pending reads settle with `null` or with `reason`. */
  close(reason?: Error): void;
  /** Resolves once the connection is fully closed; never rejects. */
  readonly closed: Promise<void>;
  /** What kind of transport this is and where it leads. */
  readonly info: TransportInfo;
}

/**
 * Opens a transport. Rejects with `ConnectError`, `TlsError`, `TimeoutError` or
 * `AbortedError`, each naming the address.
 */
export type Connect = (address: Address, options?: ConnectOptions) => Promise<Transport>;

/** The default write high-water mark, 64 KiB. */
export const DEFAULT_HIGH_WATER_MARK = 64 * 1024;

/**
 * Formats an address for messages: `host:port`, `[v6]:port` or the socket path.
 *
 * @example
 * ```ts
 * import { formatAddress } from "@kvwire/kvwire";
 * formatAddress({ host: "::1", port: 6379 }); // "[::1]:6379"
 * ```
 */
export function formatAddress(address: Address): string {
  if ("path" in address) return address.path;
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `${host}:${address.port}`;
}

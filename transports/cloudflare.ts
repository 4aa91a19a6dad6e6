// Cloudflare Workers transport: `connect()` from `cloudflare:sockets` behind the Transport
// interface (DESIGN.md §4): a `readable` reader for reads, `writable` writer for writes.
//
// Per-request lifecycle: on Workers a socket belongs to the request (or scheduled event) that
// opened it. Create the client inside the handler, close it before the handler's work ends
// (`ctx.waitUntil(client.close())`), and never keep it in a global for the next request: a
// socket used from another request fails with a ConnectionClosedError saying exactly that.

import { checkConnectOptions } from "./_connect_options.ts";
import {
  AbortedError,
  ConnectError,
  ConnectionClosedError,
  TimeoutError,
  TlsError,
} from "../src/core/errors.ts";
import {
  type Address,
  type Connect,
  type ConnectOptions,
  type TlsOptions,
  type Transport,
  type TransportInfo,
} from "./types.ts";
import { WriteWaiters } from "./_stream_state.ts";

export type {
  Address,
  Connect,
  ConnectOptions,
  TlsOptions,
  Transport,
  TransportInfo,
} from "./types.ts";

/** The slice of a `cloudflare:sockets` Socket used here. */
export interface CloudflareSocket {
  /** Bytes from the server. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the server. */
  readonly writable: WritableStream<Uint8Array>;
  /** Settles once connected (rejects if it could not). */
  readonly opened: Promise<unknown>;
  /** Settles once the socket closed. */
  readonly closed: Promise<void>;
  /** Closes both directions. */
  close(): Promise<void>;
  /** Upgrades a `starttls` socket to TLS. */
  startTls(options?: { expectedServerHostname?: string }): CloudflareSocket;
}

/** `connect` from `cloudflare:sockets`. */
export type CloudflareSocketConnect = (
  address: { hostname: string; port: number },
  options?: { secureTransport?: "off" | "on" | "starttls"; allowHalfOpen?: boolean },
) => CloudflareSocket;

/** A Workers transport; one opened with {@link connectCloudflareStartTls} can start TLS. */
export interface CloudflareTransport extends Transport {
  /**
   * Upgrades a `starttls` connection to TLS (after the protocol agreed to it) and returns the
   * TLS transport; this one must not be used afterwards.
   */
  startTls(options?: { serverName?: string }): CloudflareTransport;
}

/** Options of {@link cloudflareConnector}. */
export interface CloudflareConnectorOptions {
  /** The socket `connect` to use. Default: `connect` from `cloudflare:sockets`. */
  connect?: CloudflareSocketConnect;
}

const CROSS_REQUEST = /different request|I\/O on behalf/i;

let builtin: Promise<CloudflareSocketConnect> | undefined;

function loadBuiltin(): Promise<CloudflareSocketConnect> {
  // The cast keeps type checkers from resolving the Workers-only module; bundlers still see
  // the literal specifier and leave it to workerd.
  builtin ??= import("cloudflare:sockets" as string).then(
    (module: { connect: CloudflareSocketConnect }) => module.connect,
  ).catch((error) => {
    builtin = undefined;
    throw new TypeError("cloudflare:sockets is only available on Cloudflare Workers", {
      cause: error,
    });
  });
  return builtin;
}

function tlsMode(options: ConnectOptions, host: string): { on: boolean; serverName?: string } {
  const tls: TlsOptions | undefined = options.tls === true ? {} : options.tls || undefined;
  if (!tls) return { on: false };
  if (tls.cert || tls.key) {
    throw new TypeError(
      "Workers sockets cannot present a client certificate (tls.cert, tls.key): no mutual TLS",
    );
  }
  if (tls.ca) throw new TypeError("Workers verify TLS with public roots: tls.ca is not used");
  if (tls.alpnProtocols) {
    throw new TypeError(
      'Workers sockets cannot negotiate ALPN (tls.alpnProtocols): no HTTP/2 over TLS (for etcd, use protocol: "gateway")',
    );
  }
  if (tls.rejectUnauthorized === false) {
    throw new TypeError("Workers cannot turn TLS verification off");
  }
  return { on: true, serverName: tls.serverName !== host ? tls.serverName : undefined };
}

async function open(
  connect: CloudflareSocketConnect | undefined,
  address: Address,
  options: ConnectOptions,
  startTls: boolean,
): Promise<CloudflareTransport> {
  if ("path" in address) throw new TypeError("Workers cannot open Unix-domain sockets");
  const { where, readSize } = checkConnectOptions(address, options);
  const tls = tlsMode(options, address.host);
  const signal = options.signal;
  const socketConnect = connect ?? await loadBuiltin();
  // A serverName other than the host needs STARTTLS to name the certificate to expect.
  const mode = startTls || tls.serverName ? "starttls" : tls.on ? "on" : "off";
  let socket = socketConnect({ hostname: address.host, port: address.port }, {
    secureTransport: mode,
    allowHalfOpen: true,
  });
  if (tls.serverName) socket = socket.startTls({ expectedServerHostname: tls.serverName });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await new Promise<unknown>((resolve, reject) => {
      socket.opened.then(resolve, reject);
      if (options.timeout !== undefined) {
        timer = setTimeout(
          () =>
            reject(
              new TimeoutError(`Connecting to ${where} timed out after ${options.timeout} ms`),
            ),
          options.timeout,
        );
      }
      onAbort = () =>
        reject(new AbortedError(`Connecting to ${where} was aborted`, { cause: signal?.reason }));
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  } catch (error) {
    socket.close().catch(() => {});
    if (error instanceof TimeoutError || error instanceof AbortedError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    if (/tls|ssl|certificate|handshake/i.test(message)) {
      throw new TlsError(`TLS with ${where} failed: ${message}`, { cause: error });
    }
    // workerd reports a refused port and an untrusted certificate alike: say both.
    const hint = tls.on ? " (refused, or its certificate is not from a public CA)" : "";
    throw new ConnectError(`Cannot connect to ${where}${hint}: ${message}`, { cause: error });
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
  return new WorkersTransport(socket, where, { tls: tls.on, startTls, readSize });
}

/**
 * Creates a Workers connector, optionally around another socket `connect` (a fake in tests).
 *
 * @example
 * ```ts
 * import { cloudflareConnector } from "@kvwire/kvwire/transports/cloudflare";
 * import { connect } from "cloudflare:sockets";
 * const connectWorkers = cloudflareConnector({ connect });
 * ```
 */
export function cloudflareConnector(options: CloudflareConnectorOptions = {}): Connect {
  return (address: Address, connectOptions: ConnectOptions = {}): Promise<Transport> =>
    open(options.connect, address, connectOptions, false);
}

/**
 * Opens a TCP or TLS (`secureTransport: "on"`) connection from a Cloudflare Worker. TLS is
 * verified against public roots (no custom CA); with a `serverName` other than the host, the
 * connection starts plain and upgrades at once, expecting that name.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * import { connectCloudflare } from "@kvwire/kvwire/transports/cloudflare";
 * export default {
 *   async fetch(_request: Request, env: { REDIS_URL: string }, ctx: ExecutionContext) {
 *     // One client per request: Workers sockets belong to the request that opened them.
 *     const redis = await RedisClient.connect(env.REDIS_URL, { connect: connectCloudflare });
 *     try {
 *       return new Response(String(await redis.incr("hits")));
 *     } finally {
 *       ctx.waitUntil(redis.close());
 *     }
 *   },
 * };
 * ```
 */
export const connectCloudflare: Connect = cloudflareConnector();

/**
 * Opens a plain connection that may later upgrade with `startTls()` (`secureTransport:
 * "starttls"`), for protocols that negotiate TLS in-band.
 *
 * @example
 * ```ts
 * import { connectCloudflareStartTls } from "@kvwire/kvwire/transports/cloudflare";
 * const plain = await connectCloudflareStartTls({ host: "mail.example.com", port: 587 });
 * // ... protocol exchange agreeing to TLS ...
 * const secure = plain.startTls();
 * ```
 */
export function connectCloudflareStartTls(
  address: Address,
  options: ConnectOptions & CloudflareConnectorOptions = {},
): Promise<CloudflareTransport> {
  return open(options.connect, address, options, true);
}

/** Hands out a chunk the caller owns: a view when it spans its buffer, else a copy. */
function own(chunk: Uint8Array): Uint8Array {
  return chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength
    ? chunk
    : chunk.slice();
}

/** One socket. Bytes in flight (written, not yet taken by the socket) are `bufferedAmount`. */
class WorkersTransport implements CloudflareTransport {
  readonly info: TransportInfo;
  /** Settles once the socket closed. */
  readonly closed: Promise<void>;
  #socket: CloudflareSocket;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #where: string;
  #canStartTls: boolean;
  #readSize: number | undefined;
  /** The part of a read over `readSize`, handed out by the next reads. */
  #rest: Uint8Array | undefined;
  #inFlight = 0;
  #lastWrite: Promise<void> = Promise.resolve();
  #reading = false;
  #eof = false;
  #failure: Error | undefined;
  #closedLocally = false;
  #closeReason: Error | undefined;
  #ending: Promise<void> | undefined;
  #writers = new WriteWaiters();
  /** Rejects on the first failure, so that a pending read hears of a failed write. */
  #failed: Promise<never>;
  #rejectFailed!: (error: Error) => void;

  constructor(
    socket: CloudflareSocket,
    where: string,
    mode: { tls: boolean; startTls: boolean; readSize: number | undefined },
  ) {
    this.#socket = socket;
    this.#where = where;
    this.#canStartTls = mode.startTls;
    this.#readSize = mode.readSize;
    this.info = { kind: "cloudflare", tls: mode.tls, remoteAddress: where };
    this.#reader = socket.readable.getReader();
    this.#writer = socket.writable.getWriter();
    this.closed = socket.closed.then(() => {}, () => {});
    this.#failed = new Promise<never>((_, reject) => (this.#rejectFailed = reject));
    this.#failed.catch(() => {});
  }

  get bufferedAmount(): number {
    return this.#terminated ? 0 : this.#inFlight;
  }

  get #terminated(): boolean {
    return this.#closedLocally || this.#failure !== undefined;
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#reading) throw new TypeError("read() is already pending");
    if (this.#closedLocally) {
      if (this.#closeReason) throw this.#closeReason;
      return null;
    }
    if (this.#rest) return this.#slice(this.#rest);
    if (this.#failure) throw this.#failure;
    if (this.#eof) return null;
    this.#reading = true;
    try {
      for (;;) {
        const { value, done } = await Promise.race([this.#reader.read(), this.#failed]);
        if (this.#closedLocally) {
          if (this.#closeReason) throw this.#closeReason;
          return null;
        }
        if (done) {
          this.#eof = true;
          return null;
        }
        if (value.byteLength > 0) return this.#slice(own(value));
      }
    } catch (error) {
      if (this.#closedLocally) {
        if (this.#closeReason) throw this.#closeReason;
        return null;
      }
      throw this.#fail(error, "failed while reading");
    } finally {
      this.#reading = false;
    }
  }

  /** Hands out at most `readSize` bytes of `chunk`, keeping the rest for the next read. */
  #slice(chunk: Uint8Array): Uint8Array {
    const max = this.#readSize;
    if (max === undefined || chunk.length <= max) {
      this.#rest = undefined;
      return chunk;
    }
    this.#rest = chunk.subarray(max);
    return chunk.subarray(0, max);
  }

  write(chunk: Uint8Array): boolean {
    if (this.#terminated || this.#ending) {
      throw this.#failure ?? this.#closedError(this.#ending ? "after end()" : "after it closed");
    }
    if (chunk.length > 0) {
      let written: Promise<void>;
      try {
        written = this.#writer.write(chunk);
      } catch (error) {
        throw this.#fail(error, "failed while writing");
      }
      this.#inFlight += chunk.length;
      this.#lastWrite = written.then(
        () => {
          this.#inFlight -= chunk.length;
          this.#wake();
        },
        (error) => {
          this.#fail(error, "failed while writing");
        },
      );
    }
    return this.#writable;
  }

  /**
   * Writable again once every write was taken by the socket. On Workers this is stricter than
   * a high-water mark on purpose: `write()` returns false while a write is in flight, so the
   * caller awaits `ready()` in its own request, and a socket used from another request fails
   * right there with a clear error (a read pending in the request that opened the socket never
   * resumes once that request is over).
   */
  get #writable(): boolean {
    return this.#inFlight === 0;
  }

  ready(): Promise<void> {
    if (this.#terminated) {
      return Promise.reject(this.#failure ?? this.#closedError("before the write drained"));
    }
    if (this.#writable) return Promise.resolve();
    return this.#writers.wait();
  }

  end(): Promise<void> {
    if (this.#ending) return this.#ending;
    if (this.#terminated) {
      return Promise.reject(this.#failure ?? this.#closedError("before end()"));
    }
    this.#ending = (async () => {
      await this.#lastWrite;
      if (this.#failure) throw this.#failure;
      try {
        await this.#writer.close();
      } catch (error) {
        throw this.#closedLocally ? this.#closedError("before end()") : this.#fail(error, "end()");
      }
    })();
    return this.#ending;
  }

  close(reason?: Error): void {
    if (this.#closedLocally) return;
    this.#closedLocally = true;
    this.#closeReason = reason;
    this.#writers.rejectAll(this.#closedError("before the write drained", reason));
    this.#reader.cancel().catch(() => {});
    this.#writer.abort().catch(() => {});
    this.#socket.close().catch(() => {});
  }

  startTls(options: { serverName?: string } = {}): CloudflareTransport {
    if (!this.#canStartTls) {
      throw new TypeError("startTls() needs a connection opened with connectCloudflareStartTls()");
    }
    if (this.#terminated || this.#inFlight > 0 || this.#reading || this.#rest) {
      throw new TypeError("startTls() needs an idle, open connection");
    }
    this.#canStartTls = false;
    this.#closedLocally = true; // this plain transport is spent
    this.#reader.releaseLock();
    this.#writer.releaseLock();
    const secure = this.#socket.startTls({ expectedServerHostname: options.serverName });
    return new WorkersTransport(secure, this.#where, {
      tls: true,
      startTls: false,
      readSize: this.#readSize,
    });
  }

  #closedError(when: string, cause?: unknown): ConnectionClosedError {
    return new ConnectionClosedError(`Connection to ${this.#where} closed ${when}`, {
      cause: cause ?? this.#failure,
    });
  }

  /** Records the first failure (explaining cross-request use) and settles waiters. */
  #fail(error: unknown, what: string): Error {
    if (this.#failure) return this.#failure;
    const message = error instanceof Error ? error.message : String(error);
    const crossRequest = CROSS_REQUEST.test(message);
    this.#failure = crossRequest
      ? new ConnectionClosedError(
        `Connection to ${this.#where} was opened by another request: on Cloudflare Workers a ` +
          "socket belongs to the request that opened it. Create the client inside each " +
          "request and close it before the request ends (ctx.waitUntil(client.close())).",
        { cause: error },
      )
      : new ConnectionClosedError(`Connection to ${this.#where} ${what}: ${message}`, {
        cause: error,
      });
    this.#writers.rejectAll(this.#failure);
    // A read pending in another (finished) request can never resume: leave it alone.
    if (!crossRequest) this.#rejectFailed(this.#failure);
    return this.#failure;
  }

  #wake(): void {
    if (this.#writable) this.#writers.wake();
  }
}

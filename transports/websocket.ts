// WebSocket transport: a byte stream through a kvwire tunnel relay (protocol in
// src/tunnel/protocol.ts), for runtimes that have WebSocket but no TCP (Workers, browsers).
// On Workers a WebSocket, like a socket, belongs to the request that opened it: create the
// client inside each request (see transports/cloudflare.ts).

import { checkConnectOptions } from "./_connect_options.ts";
import {
  AbortedError,
  ConnectionClosedError,
  RemoteProtocolError,
  TimeoutError,
} from "../src/core/errors.ts";
import {
  AUTH_PROTOCOL_PREFIX,
  Control,
  openCloseError,
  streamCloseError,
  TUNNEL_PROTOCOL,
} from "../src/tunnel/protocol.ts";
import {
  type Address,
  type ChunkReader,
  type Connect,
  type ConnectOptions,
  type Transport,
  type TransportInfo,
} from "./types.ts";
import { ReadQueue, type Waiter, WriteWaiters } from "./_stream_state.ts";

export type {
  Address,
  Connect,
  ConnectOptions,
  TlsOptions,
  Transport,
  TransportInfo,
} from "./types.ts";

/** The slice of the WHATWG `WebSocket` (or the `ws` package's) used here. */
export interface WebSocketLike {
  /** Set to `"arraybuffer"` by the transport. */
  binaryType: string;
  /** Bytes queued by `send()` and not yet sent (absent on Workers). */
  readonly bufferedAmount?: number;
  /** CONNECTING 0, OPEN 1, CLOSING 2, CLOSED 3. */
  readonly readyState: number;
  /** The subprotocol the server selected. */
  readonly protocol: string;
  /** Sends a binary (bytes) or text (string) message. */
  send(data: Uint8Array | string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Called once open. */
  onopen: ((event: unknown) => void) | null;
  /** Called per message. */
  onmessage: ((event: { data: unknown }) => void) | null;
  /** Called once closed, with the code and reason. */
  onclose: ((event: { code: number; reason: string }) => void) | null;
  /** Called on errors (a close event follows). */
  onerror: ((event: unknown) => void) | null;
}

/** A `WebSocket` constructor: the global one, or e.g. `WebSocket` from the `ws` package. */
export type WebSocketConstructor = new (url: string, protocols?: string[]) => WebSocketLike;

/** Options of {@link websocketConnector}. */
export interface WebSocketTunnelOptions {
  /** The relay, `ws://` or `wss://` (use wss across any network you do not own). */
  url: string | URL;
  /** The token, or a function minting one per target (called on every connect). */
  token?: string | ((target: { host: string; port: number }) => string | Promise<string>);
  /** Send the token as a subprotocol (default; kept out of URLs and logs) or a query param. */
  tokenIn?: "protocol" | "query";
  /** The constructor to use. Default: the global `WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Bytes the relay may send ahead of `read()`: the receive queue's bound. Default 1 MiB. */
  window?: number;
  /** Largest message sent, bytes (the relay refuses over its limit). Default 64 KiB. */
  maxMessageSize?: number;
}

const DEFAULT_WINDOW = 1024 * 1024;
const MAX_POLL_MS = 20;

/**
 * A connector that opens each connection as a tunnel through a kvwire relay
 * (`kvwire-tunnel`, or `serveTunnel` from `@kvwire/kvwire/tunnel/server`). The relay dials the
 * target; with `tls: true` it speaks TLS to the target and verifies its certificate with the
 * relay's own trust store: TLS to the target is the relay's business, so `tls.ca`,
 * `tls.cert`/`tls.key` (mutual TLS) and `rejectUnauthorized: false` are refused with a
 * `TypeError` (only `serverName` passes through). Refusals reject with `TunnelError`
 * (`closeCode` 4401 bad token, 4403 target not allowed, ...), `TimeoutError` or `TlsError`.
 *
 * @example
 * ```ts
 * import { RedisClient } from "@kvwire/kvwire/redis";
 * import { websocketConnector } from "@kvwire/kvwire/transports/websocket";
 * const connect = websocketConnector({ url: "wss://relay.example.com/", token: "kvt1...." });
 * const redis = await RedisClient.connect({ host: "10.0.0.5", port: 6379, connect });
 * ```
 */
export function websocketConnector(options: WebSocketTunnelOptions): Connect {
  const relay = new URL(String(options.url));
  if (relay.protocol !== "ws:" && relay.protocol !== "wss:") {
    throw new TypeError(`The relay URL must be ws: or wss:, got "${relay.protocol}"`);
  }
  const window = options.window ?? DEFAULT_WINDOW;
  if (!Number.isInteger(window) || window < 1024) {
    throw new RangeError(`window must be an integer >= 1024, got ${window}`);
  }
  const maxMessage = options.maxMessageSize ?? 64 * 1024;
  if (!(maxMessage >= 1)) throw new RangeError(`maxMessageSize must be positive`);
  return async (address: Address, connectOptions: ConnectOptions = {}): Promise<Transport> => {
    if ("path" in address) throw new TypeError("A tunnel cannot reach a Unix-domain socket");
    const { where, hwm, readSize } = checkConnectOptions(address, connectOptions);
    const { timeout, signal } = connectOptions;
    const url = new URL(relay.href);
    url.searchParams.set("target", where);
    url.searchParams.set("window", String(window));
    if (timeout !== undefined) url.searchParams.set("timeout", String(Math.ceil(timeout)));
    const tls = connectOptions.tls;
    if (tls) {
      if (typeof tls === "object" && (tls.ca || tls.cert || tls.key)) {
        throw new TypeError("Through a tunnel, TLS certificates are the relay's to configure");
      }
      if (typeof tls === "object" && tls.rejectUnauthorized === false) {
        throw new TypeError("Through a tunnel, TLS verification cannot be turned off");
      }
      url.searchParams.set("tls", "1");
      if (typeof tls === "object" && tls.serverName) {
        url.searchParams.set("servername", tls.serverName);
      }
    }
    const protocols = [TUNNEL_PROTOCOL];
    const token = typeof options.token === "function"
      ? await options.token({ host: address.host, port: address.port })
      : options.token;
    if (token !== undefined) {
      if (options.tokenIn === "query") url.searchParams.set("token", token);
      else protocols.push(AUTH_PROTOCOL_PREFIX + token);
    }
    const Ctor = options.WebSocket ??
      (globalThis as unknown as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) {
      throw new TypeError(
        "No global WebSocket here: pass one, e.g. { WebSocket } from the ws package",
      );
    }
    const ws = new Ctor(url.href, protocols);
    ws.binaryType = "arraybuffer";
    const info = { kind: "websocket", tls: Boolean(tls), remoteAddress: where };
    const transport = new WebSocketTransport(ws, info, { hwm, window, maxMessage, readSize });
    await transport.opened(timeout, signal);
    return transport;
  };
}

/** One tunnel. Opens in the constructor; `opened()` settles once the relay said `open`. */
class WebSocketTransport implements Transport {
  readonly info: TransportInfo;
  readonly closed: Promise<void>;
  #ws: WebSocketLike;
  #where: string;
  #hwm: number;
  #window: number;
  #maxMessage: number;
  #open = false;
  #openWaiter: Waiter<void> | undefined;
  #input: ReadQueue;
  #unread = 0;
  #consumed = 0;
  #failure: Error | undefined;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #flushScheduled = false;
  #writers = new WriteWaiters();
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #pollDelay = 1;
  #ending = false;
  #closedLocally = false;
  #gone = false;
  #resolveClosed!: () => void;

  constructor(
    ws: WebSocketLike,
    info: TransportInfo,
    sizes: { hwm: number; window: number; maxMessage: number; readSize: number | undefined },
  ) {
    this.#ws = ws;
    this.info = info;
    this.#where = info.remoteAddress!;
    this.#hwm = sizes.hwm;
    this.#window = sizes.window;
    this.#maxMessage = sizes.maxMessage;
    this.#input = new ReadQueue({
      taken: (chunk) => this.#consume(chunk),
      maxChunk: sizes.readSize,
    });
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    ws.onmessage = (event) => this.#onMessage(event.data);
    ws.onclose = (event) => this.#onClose(event.code, event.reason);
    ws.onerror = () => {}; // a close event follows with the details
  }

  /** Waits for the relay's `open`, or fails with what the relay said. */
  opened(timeout: number | undefined, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#openWaiter = undefined;
        if (!error) return resolve();
        this.close();
        reject(error);
      };
      const onAbort = (): void =>
        done(
          new AbortedError(`Connecting to ${this.#where} was aborted`, {
            cause: signal?.reason,
          }),
        );
      const timer = timeout === undefined ? undefined : setTimeout(
        () => done(new TimeoutError(`Connecting to ${this.#where} timed out after ${timeout} ms`)),
        timeout,
      );
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#openWaiter = { resolve: () => done(), reject: done };
    });
  }

  get bufferedAmount(): number {
    // Workers have no bufferedAmount (undefined): then only our own pending bytes count.
    if (this.#gone || this.#closedLocally) return 0;
    return this.#pendingBytes + (this.#ws.bufferedAmount ?? 0);
  }

  read(): Promise<Uint8Array | null> {
    return this.#input.read();
  }

  readInto(reader: ChunkReader): void {
    this.#input.readInto(reader);
  }

  write(chunk: Uint8Array): boolean {
    if (this.#gone || this.#closedLocally || this.#ending) {
      throw this.#closedError(this.#ending ? "after end()" : "after it closed");
    }
    if (chunk.length > 0) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(() => this.#flush());
      }
    }
    return this.bufferedAmount < this.#hwm;
  }

  ready(): Promise<void> {
    if (this.#gone || this.#closedLocally) {
      return Promise.reject(this.#closedError("before the write drained"));
    }
    if (this.bufferedAmount < this.#hwm) return Promise.resolve();
    const ready = this.#writers.wait();
    this.#poll();
    return ready;
  }

  end(): Promise<void> {
    if (this.#gone || this.#closedLocally) {
      return Promise.reject(this.#closedError("before end()"));
    }
    if (!this.#ending) {
      this.#ending = true;
      this.#flush();
      this.#ws.send(Control.End);
    }
    const ended = this.#writers.waitEnd();
    this.#poll();
    return ended;
  }

  close(reason?: Error): void {
    if (this.#closedLocally) return;
    this.#closedLocally = true;
    this.#input.close(reason);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#settleWriters(this.#closedError("before the write drained", reason));
    if (this.#gone) return;
    try {
      this.#ws.close(1000, reason ? "client error" : "client closed");
    } catch {
      this.#onClose(1006, "");
    }
  }

  #closedError(when: string, cause?: unknown): ConnectionClosedError {
    return new ConnectionClosedError(`Tunnel to ${this.#where} closed ${when}`, {
      cause: cause ?? this.#failure,
    });
  }

  /** Counts a chunk handed to the reader and returns credit to the relay every half window. */
  #consume(chunk: Uint8Array): void {
    this.#unread -= chunk.length;
    this.#consumed += chunk.length;
    if (this.#consumed >= this.#window / 2 && !this.#gone && !this.#closedLocally) {
      this.#ws.send(`${Control.Credit} ${this.#consumed}`);
      this.#consumed = 0;
    }
  }

  #onMessage(data: unknown): void {
    if (this.#closedLocally || this.#gone) return;
    if (typeof data === "string") {
      if (data === Control.Open && !this.#open) {
        this.#open = true;
        this.#openWaiter?.resolve();
      } else if (data === Control.End && this.#open) {
        this.#input.end();
      } else {
        this.#violation(`Unexpected control message from the relay`);
      }
      return;
    }
    const bytes = data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
      : undefined;
    if (!bytes || !this.#open || this.#input.ended) {
      return this.#violation("Unexpected binary message from the relay");
    }
    this.#unread += bytes.length;
    if (this.#unread > this.#window) {
      return this.#violation("The relay sent more than the receive window");
    }
    this.#input.push(bytes);
  }

  #violation(message: string): void {
    const error = new RemoteProtocolError(`${message} (tunnel to ${this.#where})`);
    this.#failure ??= new ConnectionClosedError(error.message, { cause: error });
    this.#openWaiter?.reject(error);
    this.#input.fail(this.#failure);
    try {
      this.#ws.close(1002, "protocol error");
    } catch {
      // already closing
    }
  }

  #onClose(code: number, reason: string): void {
    if (this.#gone) return;
    this.#gone = true;
    clearTimeout(this.#pollTimer);
    if (!this.#open) {
      this.#openWaiter?.reject(openCloseError(code, reason, this.#where));
    } else if (!this.#failure) {
      const error = this.#input.ended ? undefined : streamCloseError(code, reason, this.#where);
      if (error) {
        this.#failure = error;
        this.#input.fail(error);
      } else {
        this.#input.end();
      }
    }
    if (this.#ending && !this.#failure) this.#writers.resolveEnd();
    this.#settleWriters(this.#closedError("before the write drained"));
    this.#resolveClosed();
  }

  /** Sends what was written this tick, cut into messages of at most `maxMessageSize`. */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#pendingBytes === 0 || this.#gone || this.#closedLocally) return;
    const all = this.#pending.length === 1 ? this.#pending[0] : concat(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    try {
      for (let offset = 0; offset < all.length; offset += this.#maxMessage) {
        this.#ws.send(all.subarray(offset, offset + this.#maxMessage));
      }
    } catch (error) {
      // e.g. a Worker using a WebSocket opened by another request: fail, don't throw later.
      this.#failure ??= new ConnectionClosedError(
        `Tunnel to ${this.#where} failed while sending: ${(error as Error).message}`,
        { cause: error },
      );
      this.#input.fail(this.#failure);
      this.#settleWriters(this.#failure);
      return;
    }
    if (this.#writers.waiting) this.#poll();
  }

  /** Polls `bufferedAmount` (WebSocket has no drain event) with a growing delay. */
  #poll(): void {
    if (this.#pollTimer !== undefined) return;
    const tick = (): void => {
      this.#pollTimer = undefined;
      if (this.#gone || this.#closedLocally) return;
      const buffered = this.bufferedAmount;
      if (buffered < this.#hwm) this.#writers.wake();
      if (buffered === 0) this.#writers.resolveEnd();
      if (this.#writers.waiting) {
        this.#pollDelay = Math.min(this.#pollDelay * 2, MAX_POLL_MS);
        this.#pollTimer = setTimeout(tick, this.#pollDelay);
      } else {
        this.#pollDelay = 1;
      }
    };
    this.#pollTimer = setTimeout(tick, 0);
  }

  #settleWriters(error: Error): void {
    clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    this.#writers.rejectAll(error);
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

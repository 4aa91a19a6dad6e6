// Bun transport: `Bun.connect` sockets behind the Transport interface (DESIGN.md §4). Partial
// writes are queued and flushed on `drain`; reads pause the socket over the high-water mark.

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
  DEFAULT_HIGH_WATER_MARK,
  formatAddress,
  type TlsOptions,
  type Transport,
  type TransportInfo,
} from "./types.ts";

/** The slice of Bun's `Socket` used here (typed locally so tsc and deno check compile it). */
interface BunSocket {
  write(data: Uint8Array): number;
  shutdown(halfClose?: boolean): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay?(noDelay?: boolean): boolean;
}

type BunError = Error & { code?: string };

interface BunHandlers {
  open(socket: BunSocket): void;
  data(socket: BunSocket, data: Uint8Array): void;
  drain(socket: BunSocket): void;
  end(socket: BunSocket): void;
  close(socket: BunSocket, error?: BunError): void;
  error(socket: BunSocket, error: BunError): void;
  connectError(socket: BunSocket, error: BunError): void;
  handshake(socket: BunSocket, success: boolean, error: BunError | null): void;
}

/** The slice of the `Bun` global used here. */
interface BunNamespace {
  connect(options: {
    hostname?: string;
    port?: number;
    unix?: string;
    allowHalfOpen?: boolean;
    tls?: {
      ca?: string | string[];
      cert?: string;
      key?: string;
      serverName?: string;
      rejectUnauthorized: boolean;
    };
    socket: BunHandlers;
  }): Promise<BunSocket>;
}

type Waiter<T> = { resolve: (value: T) => void; reject: (error: Error) => void };

/**
 * Opens a TCP, TLS or Unix-domain connection with `Bun.connect`.
 *
 * TLS verifies the server's certificate unless `rejectUnauthorized: false` is spelled out.
 * Failures reject with `ConnectError`, `TlsError`, `TimeoutError` or `AbortedError`, each
 * naming the address.
 *
 * @example
 * ```ts
 * import { connectBun } from "@kvwire/kvwire/transports/bun";
 * const t = await connectBun({ host: "127.0.0.1", port: 6379 }, { timeout: 1000 });
 * if (!t.write(new TextEncoder().encode("PING\r\n"))) await t.ready();
 * console.log(await t.read());
 * t.close();
 * ```
 */
export const connectBun: Connect = async (
  address: Address,
  options: ConnectOptions = {},
): Promise<Transport> => {
  const bun = (globalThis as unknown as { Bun?: BunNamespace }).Bun;
  if (!bun) throw new TypeError("connectBun needs the Bun runtime; use connectNode instead");
  const where = formatAddress(address);
  const hwm = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  if (!(hwm > 0)) throw new RangeError(`highWaterMark must be positive, got ${hwm}`);
  if (options.timeout !== undefined && !(options.timeout >= 0)) {
    throw new RangeError(`timeout must be a non-negative number of ms, got ${options.timeout}`);
  }
  const tlsOptions: TlsOptions | undefined = options.tls === true ? {} : options.tls || undefined;
  const signal = options.signal;
  if (signal?.aborted) {
    throw new AbortedError(`Connecting to ${where} was aborted`, { cause: signal.reason });
  }

  const transport = new BunTransport(where, hwm, tlsOptions !== undefined);
  let socket: BunSocket | undefined;
  let opened = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    transport.onConnectFailure = reject;
    transport.onHandshake = (error) => {
      if (!error) return resolve();
      const reason = error?.message ?? "handshake failed";
      reject(
        /CERT|SIGN|VERIFY|ISSUER|ALTNAME/.test(error?.code ?? "")
          ? new TlsError(`TLS verification of ${where} failed: ${reason}`, { cause: error })
          : new TlsError(`TLS handshake with ${where} failed: ${reason}`, { cause: error }),
      );
    };
    if (options.timeout !== undefined) {
      timer = setTimeout(
        () =>
          reject(new TimeoutError(`Connecting to ${where} timed out after ${options.timeout} ms`)),
        options.timeout,
      );
    }
    onAbort = () =>
      reject(new AbortedError(`Connecting to ${where} was aborted`, { cause: signal?.reason }));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  // Connect from a callback so that even a synchronous throw goes through the catch below.
  const attempt = Promise.resolve().then(() =>
    bun.connect({
      ...("path" in address ? { unix: address.path } : {
        hostname: address.host,
        port: address.port,
      }),
      allowHalfOpen: true,
      tls: tlsOptions && {
        ca: tlsOptions.ca,
        cert: tlsOptions.cert,
        key: tlsOptions.key,
        serverName: tlsOptions.serverName,
        rejectUnauthorized: tlsOptions.rejectUnauthorized !== false,
      },
      socket: transport.handlers(() => (opened = true)),
    })
  ).then((connected) => {
    socket = connected;
    if (!tlsOptions) transport.onHandshake?.(null);
  }, (error: BunError) => {
    throw connectError(error, address);
  });
  try {
    await Promise.race([attempt.then(() => ready), ready]);
    socket!.setNoDelay?.(options.noDelay ?? true);
    transport.attach(socket!);
    return transport;
  } catch (error) {
    transport.abandon();
    attempt.then(() => socket?.terminate(), () => {});
    if (opened && tlsOptions && error instanceof ConnectError) {
      throw new TlsError(`TLS handshake with ${where} failed: the connection closed`, {
        cause: error,
      });
    }
    throw error;
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
};

/** Maps a connect-phase error to a kvwire error that names the address. */
function connectError(error: BunError, address: Address): Error {
  const where = formatAddress(address);
  const code = error.code ?? "";
  const options = { cause: error };
  if (code === "ECONNREFUSED") return new ConnectError(`Connection refused by ${where}`, options);
  if (
    code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME" || code === "EAI_FAIL"
  ) {
    const host = "host" in address ? address.host : where;
    return new ConnectError(`Cannot resolve host ${host} (connecting to ${where})`, options);
  }
  if (code === "ENOENT") return new ConnectError(`No socket at ${where}`, options);
  return new ConnectError(`Cannot connect to ${where}: ${error.message}`, options);
}

/** Hands out a chunk the caller owns: a view when the Buffer owns its memory, else a copy. */
function own(buffer: Uint8Array): Uint8Array {
  return buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength
    ? new Uint8Array(buffer.buffer, 0, buffer.byteLength)
    : new Uint8Array(buffer);
}

/** One Bun socket. Created before connecting so that no handler call is ever lost. */
class BunTransport implements Transport {
  readonly info: TransportInfo;
  readonly closed: Promise<void>;
  /** Set by the connector while connecting. */
  onConnectFailure: ((error: Error) => void) | undefined;
  onHandshake: ((error: BunError | null) => void) | undefined;
  #socket: BunSocket | undefined;
  #where: string;
  #hwm: number;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #paused = false;
  #eof = false;
  #failure: ConnectionClosedError | undefined;
  #closedLocally = false;
  #closeReason: Error | undefined;
  #done = false;
  #reader: Waiter<Uint8Array | null> | undefined;
  #writes: Uint8Array[] = [];
  #buffered = 0;
  #readyWaiters: Waiter<void>[] = [];
  #ending: Promise<void> | undefined;
  #endWaiter: Waiter<void> | undefined;
  #resolveClosed!: () => void;

  constructor(where: string, hwm: number, secure: boolean) {
    this.#where = where;
    this.#hwm = hwm;
    this.info = { kind: "bun", tls: secure, remoteAddress: where };
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  handlers(onOpen: () => void): BunHandlers {
    return {
      open: () => onOpen(),
      data: (_socket, data) => this.#onData(own(data)),
      drain: () => this.#flush(),
      end: () => {
        this.#eof = true;
        this.#settleReader();
      },
      close: (_socket, error) => this.#onClose(error),
      error: (_socket, error) => this.#onError(error),
      connectError: () => {}, // reported through the rejected Bun.connect promise
      handshake: (_socket, success, error) => this.onHandshake?.(success ? null : error ?? null),
    };
  }

  attach(socket: BunSocket): void {
    this.#socket = socket;
    this.onConnectFailure = this.onHandshake = undefined;
    if (this.#paused) socket.pause();
  }

  abandon(): void {
    this.onConnectFailure = this.onHandshake = undefined;
    this.#closedLocally = this.#done = true;
    this.#resolveClosed();
  }

  get bufferedAmount(): number {
    return this.#terminated ? 0 : this.#buffered;
  }

  read(): Promise<Uint8Array | null> {
    if (this.#reader) return Promise.reject(new TypeError("read() is already pending"));
    if (this.#closedLocally) {
      return this.#closeReason ? Promise.reject(this.#closeReason) : Promise.resolve(null);
    }
    const chunk = this.#queue.shift();
    if (chunk) {
      this.#queued -= chunk.length;
      this.#maybeResume();
      return Promise.resolve(chunk);
    }
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#eof) return Promise.resolve(null);
    this.#maybeResume();
    return new Promise((resolve, reject) => (this.#reader = { resolve, reject }));
  }

  write(chunk: Uint8Array): boolean {
    if (this.#terminated || this.#ending) {
      throw this.#closedError(this.#ending ? "after end()" : "after it closed");
    }
    if (chunk.length === 0) return this.#buffered < this.#hwm;
    if (this.#writes.length === 0) {
      const n = Math.max(0, this.#socket!.write(chunk));
      if (n < chunk.length) {
        this.#writes.push(chunk.subarray(n));
        this.#buffered += chunk.length - n;
      }
    } else {
      this.#writes.push(chunk);
      this.#buffered += chunk.length;
    }
    return this.#buffered < this.#hwm;
  }

  ready(): Promise<void> {
    if (this.#terminated) return Promise.reject(this.#closedError("before the write drained"));
    if (this.#buffered < this.#hwm) return Promise.resolve();
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  end(): Promise<void> {
    if (this.#ending) return this.#ending;
    if (this.#terminated) return Promise.reject(this.#closedError("before end()"));
    this.#ending = new Promise<void>((resolve, reject) => {
      this.#endWaiter = { resolve, reject };
    });
    this.#flush();
    return this.#ending;
  }

  close(reason?: Error): void {
    if (this.#closedLocally) return;
    this.#closedLocally = true;
    this.#closeReason = reason;
    this.#queue = [];
    this.#queued = 0;
    this.#writes = [];
    this.#buffered = 0;
    const reader = this.#reader;
    this.#reader = undefined;
    if (reader) reason ? reader.reject(reason) : reader.resolve(null);
    this.#rejectWriters(this.#closedError("before the write drained", reason));
    if (!this.#done) this.#socket?.terminate();
    this.#finish();
  }

  get #terminated(): boolean {
    return this.#closedLocally || this.#failure !== undefined || this.#done;
  }

  #closedError(when: string, cause?: unknown): ConnectionClosedError {
    return new ConnectionClosedError(`Connection to ${this.#where} closed ${when}`, {
      cause: cause ?? this.#failure,
    });
  }

  /** Writes queued bytes until the socket takes less than offered; half-closes when asked. */
  #flush(): void {
    if (this.#terminated || !this.#socket) return;
    while (this.#writes.length > 0) {
      const head = this.#writes[0];
      const n = Math.max(0, this.#socket.write(head));
      this.#buffered -= n;
      if (n < head.length) {
        this.#writes[0] = head.subarray(n);
        break;
      }
      this.#writes.shift();
    }
    this.#wakeReady();
    if (this.#writes.length === 0 && this.#endWaiter) {
      this.#socket.shutdown();
      this.#endWaiter.resolve();
      this.#endWaiter = undefined;
    }
  }

  #onData(chunk: Uint8Array): void {
    if (this.#closedLocally) return;
    const reader = this.#reader;
    if (reader) {
      this.#reader = undefined;
      reader.resolve(chunk);
      return;
    }
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    if (this.#queued > this.#hwm && !this.#paused) {
      this.#paused = true;
      this.#socket?.pause();
    }
  }

  #maybeResume(): void {
    if (this.#paused && this.#queued < this.#hwm) {
      this.#paused = false;
      this.#socket?.resume();
    }
  }

  #onError(error: BunError): void {
    if (this.onConnectFailure) {
      return this.onConnectFailure(connectError(error, { path: this.#where }));
    }
    if (this.#terminated) return;
    const how = error.code === "ECONNRESET"
      ? "was reset by the peer"
      : error.code === "EPIPE"
      ? "was closed by the peer (broken pipe)"
      : `failed: ${error.message}`;
    this.#failure = new ConnectionClosedError(`Connection to ${this.#where} ${how}`, {
      cause: error,
    });
    this.#settleReader();
    this.#rejectWriters(this.#failure);
  }

  #onClose(error?: BunError): void {
    if (this.onConnectFailure) {
      return this.onConnectFailure(
        new ConnectError(`Connection to ${this.#where} closed while connecting`, { cause: error }),
      );
    }
    if (error) this.#onError(error);
    if (!this.#terminated) this.#eof = true;
    this.#settleReader();
    this.#finish();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#rejectWriters(this.#closedError("before the write drained"));
    this.#resolveClosed();
  }

  #settleReader(): void {
    const reader = this.#reader;
    if (!reader || this.#queue.length > 0) return;
    if (this.#failure) {
      this.#reader = undefined;
      reader.reject(this.#failure);
    } else if (this.#eof) {
      this.#reader = undefined;
      reader.resolve(null);
    }
  }

  #wakeReady(): void {
    if (this.#readyWaiters.length === 0 || this.#buffered >= this.#hwm) return;
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  #rejectWriters(error: Error): void {
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
    this.#endWaiter?.reject(error);
    this.#endWaiter = undefined;
  }
}

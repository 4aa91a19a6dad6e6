// Bun transport: `Bun.connect` sockets behind the Transport interface (DESIGN.md §4). Partial
// writes are queued and flushed on `drain`; reads pause the socket over the high-water mark.

import { checkConnectOptions, tlsSettings } from "./_connect_options.ts";
import {
  AbortedError,
  ConnectError,
  ConnectionClosedError,
  TimeoutError,
  TlsError,
} from "../src/core/errors.ts";
import {
  type Address,
  type ChunkReader,
  type Connect,
  type ConnectOptions,
  formatAddress,
  type Transport,
  type TransportInfo,
} from "./types.ts";
import { ReadQueue, WriteWaiters } from "./_stream_state.ts";
import type { BunError, BunHandlers, BunNamespace, BunSocket } from "./_bun_types.ts";

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
  const { where, hwm, keepAliveDelay, readSize } = checkConnectOptions(address, options);
  const tlsOptions = tlsSettings(options);
  const signal = options.signal;

  const transport = new BunTransport(where, hwm, tlsOptions !== undefined, readSize);
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
        ...(tlsOptions.alpnProtocols ? { ALPNProtocols: alpnWire(tlsOptions.alpnProtocols) } : {}),
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
    if (keepAliveDelay !== undefined) socket!.setKeepAlive?.(true, keepAliveDelay);
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

/** One Bun socket. Created before connecting so that no handler call is ever lost. */
class BunTransport implements Transport {
  info: TransportInfo;
  readonly closed: Promise<void>;
  /** Set by the connector while connecting. */
  onConnectFailure: ((error: Error) => void) | undefined;
  onHandshake: ((error: BunError | null) => void) | undefined;
  #socket: BunSocket | undefined;
  #where: string;
  #hwm: number;
  #input: ReadQueue;
  #paused = false;
  #failure: ConnectionClosedError | undefined;
  #closedLocally = false;
  #done = false;
  #writes: Uint8Array[] = [];
  #buffered = 0;
  #writers = new WriteWaiters();
  #ending: Promise<void> | undefined;
  #resolveClosed!: () => void;

  /** `readSize`: Bun reads as it does; larger chunks are handed over in slices of it. */
  constructor(where: string, hwm: number, secure: boolean, readSize: number | undefined) {
    this.#where = where;
    this.#hwm = hwm;
    this.#input = new ReadQueue({ wanted: () => this.#maybeResume(), maxChunk: readSize });
    this.info = { kind: "bun", tls: secure, remoteAddress: where };
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  handlers(onOpen: () => void): BunHandlers {
    return {
      binaryType: "uint8array",
      open: () => onOpen(),
      // With binaryType "uint8array" each call gets a fresh array of its own: ours to keep.
      data: (_socket, data) => this.#onData(data),
      drain: () => this.#flush(),
      end: () => this.#input.end(),
      close: (_socket, error) => this.#onClose(error),
      error: (_socket, error) => this.#onError(error),
      connectError: () => {}, // reported through the rejected Bun.connect promise
      handshake: (_socket, success, error) => this.onHandshake?.(success ? null : error ?? null),
    };
  }

  attach(socket: BunSocket): void {
    this.#socket = socket;
    const alpn = socket.alpnProtocol;
    if (typeof alpn === "string") this.info = { ...this.info, alpnProtocol: alpn };
    this.onConnectFailure = this.onHandshake = undefined;
    if (this.#paused) socket.pause();
  }

  abandon(): void {
    this.onConnectFailure = this.onHandshake = undefined;
    this.#closedLocally = this.#done = true;
    this.#input.close();
    this.#resolveClosed();
  }

  get bufferedAmount(): number {
    return this.#terminated ? 0 : this.#buffered;
  }

  read(): Promise<Uint8Array | null> {
    return this.#input.read();
  }

  readInto(reader: ChunkReader): void {
    this.#input.readInto(reader);
  }

  write(chunk: Uint8Array): boolean {
    return this.#write(chunk, false);
  }

  /** Bun's `socket.write` copies what it takes, so only the bytes left over are copied. */
  writeBorrowed(chunk: Uint8Array): boolean {
    return this.#write(chunk, true);
  }

  #write(chunk: Uint8Array, lent: boolean): boolean {
    if (this.#terminated || this.#ending) {
      throw this.#closedError(this.#ending ? "after end()" : "after it closed");
    }
    if (chunk.length === 0) return this.#buffered < this.#hwm;
    if (this.#writes.length === 0) {
      const n = Math.max(0, this.#socket!.write(chunk));
      if (n < chunk.length) {
        this.#writes.push(lent ? chunk.slice(n) : chunk.subarray(n));
        this.#buffered += chunk.length - n;
      }
    } else {
      this.#writes.push(lent ? chunk.slice() : chunk);
      this.#buffered += chunk.length;
    }
    return this.#buffered < this.#hwm;
  }

  ready(): Promise<void> {
    if (this.#terminated) return Promise.reject(this.#closedError("before the write drained"));
    if (this.#buffered < this.#hwm) return Promise.resolve();
    return this.#writers.wait();
  }

  end(): Promise<void> {
    if (this.#ending) return this.#ending;
    if (this.#terminated) return Promise.reject(this.#closedError("before end()"));
    this.#ending = this.#writers.waitEnd();
    this.#flush();
    return this.#ending;
  }

  close(reason?: Error): void {
    if (this.#closedLocally) return;
    this.#closedLocally = true;
    this.#input.close(reason);
    this.#writes = [];
    this.#buffered = 0;
    this.#writers.rejectAll(this.#closedError("before the write drained", reason));
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
    if (this.#writes.length === 0 && this.#writers.endWaiting) {
      this.#socket.shutdown();
      this.#writers.resolveEnd();
    }
  }

  #onData(chunk: Uint8Array): void {
    if (this.#closedLocally) return;
    this.#input.push(chunk);
    if (this.#input.bytes > this.#hwm && !this.#paused) {
      this.#paused = true;
      this.#socket?.pause();
    }
  }

  #maybeResume(): void {
    if (this.#paused && this.#input.bytes < this.#hwm) {
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
    this.#input.fail(this.#failure);
    this.#writers.rejectAll(this.#failure);
  }

  #onClose(error?: BunError): void {
    if (this.onConnectFailure) {
      return this.onConnectFailure(
        new ConnectError(`Connection to ${this.#where} closed while connecting`, { cause: error }),
      );
    }
    if (error) this.#onError(error);
    if (!this.#terminated) this.#input.end();
    this.#finish();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#writers.rejectAll(this.#closedError("before the write drained"));
    this.#resolveClosed();
  }

  #wakeReady(): void {
    if (this.#buffered < this.#hwm) this.#writers.wake();
  }
}

/** ALPN protocol names in their wire form: each one length-prefixed, concatenated. */
function alpnWire(names: string[]): Uint8Array {
  const parts = names.map((name) => new TextEncoder().encode(name));
  const out = new Uint8Array(parts.reduce((n, p) => n + 1 + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out[at++] = part.length;
    out.set(part, at);
    at += part.length;
  }
  return out;
}

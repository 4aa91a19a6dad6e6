// Node transport: `node:net` / `node:tls` sockets behind the Transport interface (DESIGN.md §4).
// Also runs on Deno and Bun through their Node compatibility layers.

import { checkConnectOptions, tlsSettings } from "./_connect_options.ts";
import * as net from "node:net";
import * as tls from "node:tls";
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

type NodeError = Error & { code?: string };

/**
 * Opens a TCP, TLS or Unix-domain connection with `node:net` / `node:tls`.
 *
 * TLS verifies the server's certificate unless `rejectUnauthorized: false` is spelled out;
 * SNI is `serverName`, else the host (never an IP address). Failures reject with
 * `ConnectError`, `TlsError`, `TimeoutError` or `AbortedError`, each naming the address.
 *
 * @example
 * ```ts
 * import { connectNode } from "@kvwire/kvwire/transports/node";
 * const t = await connectNode({ host: "127.0.0.1", port: 6379 }, { timeout: 1000 });
 * if (!t.write(new TextEncoder().encode("PING\r\n"))) await t.ready();
 * console.log(await t.read());
 * t.close();
 * ```
 */
export const connectNode: Connect = async (
  address: Address,
  options: ConnectOptions = {},
): Promise<Transport> => {
  const { where, hwm, keepAliveDelay, readSize } = checkConnectOptions(address, options);
  const tlsOptions = tlsSettings(options);
  const signal = options.signal;
  return await new Promise<Transport>((resolve, reject) => {
    const target = "path" in address
      ? { path: address.path }
      : { host: address.host, port: address.port };
    // TLS sockets keep Node's reads (Deno's Node layer has no `onread` for them): their chunks
    // are handed over in slices of `readSize`.
    const sized = readSize === undefined || tlsOptions ? undefined : new SizedReads(readSize);
    const common = {
      ...target,
      allowHalfOpen: true,
      highWaterMark: hwm,
      ...(sized && { onread: sized.onread }),
    };
    const socket: net.Socket = tlsOptions
      ? tls.connect({
        ...common,
        servername: tlsOptions.serverName ??
          ("host" in address && net.isIP(address.host) === 0 ? address.host : undefined),
        ca: tlsOptions.ca,
        cert: tlsOptions.cert,
        key: tlsOptions.key,
        rejectUnauthorized: tlsOptions.rejectUnauthorized !== false,
        ALPNProtocols: tlsOptions.alpnProtocols,
      })
      : net.connect(common);
    let settled = false;
    let tcpConnected = false;
    const cleanup = (): void => {
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.off("connect", onConnect);
      socket.off(tlsOptions ? "secureConnect" : "connect", onReady);
      socket.off("error", onError);
      socket.off("close", onClose);
    };
    const fail = (error: Error): void => {
      if (settled) return;
      cleanup();
      socket.on("error", () => {}); // a late error of an abandoned socket is not news
      socket.destroy();
      reject(error);
    };
    const onConnect = (): void => {
      tcpConnected = true;
    };
    const onReady = (): void => {
      if (settled) return;
      cleanup();
      socket.setNoDelay(options.noDelay ?? true);
      if (keepAliveDelay !== undefined) socket.setKeepAlive(true, keepAliveDelay);
      resolve(
        new NodeTransport(socket, where, {
          hwm,
          secure: tlsOptions !== undefined,
          readSize,
          sized,
        }),
      );
    };
    const onError = (error: NodeError): void =>
      fail(connectError(error, address, tlsOptions !== undefined && tcpConnected));
    const onClose = (): void =>
      fail(
        tlsOptions && tcpConnected
          ? new TlsError(`TLS handshake with ${where} failed: the connection closed`)
          : new ConnectError(`Connection to ${where} closed while connecting`),
      );
    const onAbort = (): void =>
      fail(new AbortedError(`Connecting to ${where} was aborted`, { cause: signal?.reason }));
    const timer = options.timeout === undefined ? undefined : setTimeout(
      () => fail(new TimeoutError(`Connecting to ${where} timed out after ${options.timeout} ms`)),
      options.timeout,
    );
    socket.once("connect", onConnect);
    socket.once(tlsOptions ? "secureConnect" : "connect", onReady);
    socket.on("error", onError);
    socket.once("close", onClose);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
};

/** Maps a connect-phase socket error to a kvwire error that names the address. */
function connectError(error: NodeError, address: Address, inHandshake: boolean): Error {
  const where = formatAddress(address);
  const code = error.code ?? "";
  const options = { cause: error };
  if (inHandshake || code.startsWith("ERR_SSL") || isCertificateCode(code)) {
    return isCertificateCode(code)
      ? new TlsError(`TLS verification of ${where} failed: ${error.message}`, options)
      : new TlsError(`TLS handshake with ${where} failed: ${error.message}`, options);
  }
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

function isCertificateCode(code: string): boolean {
  return !code.startsWith("ERR_SSL") && /CERT|SIGN|VERIFY|ISSUER|ALTNAME/.test(code);
}

/** Hands out a chunk the caller owns: a view when the Buffer owns its memory, else a copy. */
function own(buffer: Uint8Array): Uint8Array {
  return buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength
    ? new Uint8Array(buffer.buffer, 0, buffer.byteLength)
    : new Uint8Array(buffer);
}

/**
 * Socket reads into a buffer of `readSize` bytes (Node's `onread`), each read copied out as a
 * chunk the reader owns. Chunks read before the transport took over wait in `early`.
 */
class SizedReads {
  readonly onread: { buffer: Uint8Array; callback: (n: number, buffer: Uint8Array) => boolean };
  #deliver: ((chunk: Uint8Array) => void) | undefined;
  #early: Uint8Array[] = [];

  constructor(readSize: number) {
    this.onread = {
      buffer: new Uint8Array(readSize),
      callback: (n, buffer) => {
        const chunk = buffer.slice(0, n);
        if (this.#deliver) this.#deliver(chunk);
        else this.#early.push(chunk);
        return true;
      },
    };
  }

  /** Sends every chunk, the early ones first, to `deliver`. */
  deliverTo(deliver: (chunk: Uint8Array) => void): void {
    this.#deliver = deliver;
    for (const chunk of this.#early.splice(0)) deliver(chunk);
  }
}

/** One connected socket. Reads are queued up to the high-water mark, then the socket pauses. */
class NodeTransport implements Transport {
  readonly info: TransportInfo;
  readonly closed: Promise<void>;
  #socket: net.Socket;
  #where: string;
  #hwm: number;
  #input: ReadQueue;
  #paused = false;
  #failure: ConnectionClosedError | undefined;
  #closedLocally = false;
  #writers = new WriteWaiters();
  #ending: Promise<void> | undefined;
  #resolveClosed!: () => void;

  constructor(
    socket: net.Socket,
    where: string,
    setup: {
      hwm: number;
      secure: boolean;
      readSize: number | undefined;
      sized: SizedReads | undefined;
    },
  ) {
    const { hwm, secure, readSize, sized } = setup;
    this.#socket = socket;
    this.#where = where;
    this.#hwm = hwm;
    this.#input = new ReadQueue({ wanted: () => this.#maybeResume(), maxChunk: readSize });
    const alpn = (socket as tls.TLSSocket).alpnProtocol;
    this.info = {
      kind: "node",
      tls: secure,
      remoteAddress: where,
      ...(typeof alpn === "string" ? { alpnProtocol: alpn } : {}),
    };
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    if (sized) sized.deliverTo((chunk) => this.#onData(chunk));
    else socket.on("data", (data: Uint8Array) => this.#onData(own(data)));
    socket.on("end", () => this.#input.end());
    socket.on("error", (error: NodeError) => this.#onError(error));
    socket.on("drain", () => this.#wakeReady());
    socket.on("finish", () => this.#writers.resolveEnd());
    socket.once("close", () => this.#onClose());
  }

  get bufferedAmount(): number {
    return this.#terminated ? 0 : this.#socket.writableLength;
  }

  read(): Promise<Uint8Array | null> {
    return this.#input.read();
  }

  readInto(reader: ChunkReader): void {
    this.#input.readInto(reader);
  }

  write(chunk: Uint8Array): boolean {
    if (this.#terminated || this.#ending) {
      throw this.#closedError(this.#ending ? "after end()" : "after it closed");
    }
    if (chunk.length === 0) return this.#socket.writableLength < this.#hwm;
    // A write that may cross our mark learns when it is flushed, to wake ready(); the others
    // need no callback, which saves a tick per write.
    if (this.#socket.writableLength + chunk.length < this.#hwm) this.#socket.write(chunk);
    else this.#socket.write(chunk, () => this.#wakeReady());
    return this.#socket.writableLength < this.#hwm;
  }

  ready(): Promise<void> {
    if (this.#terminated) return Promise.reject(this.#closedError("before the write drained"));
    if (this.#socket.writableLength < this.#hwm) return Promise.resolve();
    return this.#writers.wait();
  }

  end(): Promise<void> {
    if (this.#ending) return this.#ending;
    if (this.#terminated) return Promise.reject(this.#closedError("before end()"));
    this.#ending = this.#writers.waitEnd();
    this.#socket.end();
    return this.#ending;
  }

  close(reason?: Error): void {
    if (this.#closedLocally) return;
    this.#closedLocally = true;
    this.#input.close(reason);
    this.#writers.rejectAll(this.#closedError("before the write drained", reason));
    this.#socket.destroy();
  }

  get #terminated(): boolean {
    return this.#closedLocally || this.#failure !== undefined || this.#socket.destroyed;
  }

  #closedError(when: string, cause?: unknown): ConnectionClosedError {
    return new ConnectionClosedError(`Connection to ${this.#where} closed ${when}`, {
      cause: cause ?? this.#failure,
    });
  }

  #onData(chunk: Uint8Array): void {
    if (this.#closedLocally) return;
    this.#input.push(chunk);
    if (this.#input.bytes > this.#hwm && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  #maybeResume(): void {
    if (this.#paused && this.#input.bytes < this.#hwm) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  #onError(error: NodeError): void {
    if (this.#closedLocally || this.#failure) return;
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

  #onClose(): void {
    if (!this.#closedLocally && !this.#failure) this.#input.end();
    this.#writers.rejectAll(this.#closedError("before the write drained"));
    this.#resolveClosed();
  }

  #wakeReady(): void {
    if (this.#socket.writableLength < this.#hwm) this.#writers.wake();
  }
}

// Deno transport: `Deno.connect` / `Deno.connectTls` / `Deno.startTls` behind the Transport
// interface (DESIGN.md §4): a bounded read-ahead loop and a write queue with one write loop.

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

/** The slice of `Deno.Conn` used here (typed locally so plain tsc compiles this file too). */
interface DenoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
  closeWrite(): Promise<void>;
  handshake?(): Promise<{ alpnProtocol?: string | null } | undefined>;
  setNoDelay?(noDelay?: boolean): void;
  setKeepAlive?(keepAlive?: boolean): void;
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** The slice of the `Deno` namespace used here. */
interface DenoNamespace {
  connect(
    options:
      | { hostname: string; port: number; transport?: "tcp"; signal?: AbortSignal }
      | { transport: "unix"; path: string },
  ): Promise<DenoConn>;
  connectTls(
    options: {
      hostname: string;
      port: number;
      caCerts?: string[];
      cert?: string;
      key?: string;
      alpnProtocols?: string[];
    },
  ): Promise<DenoConn>;
  startTls(
    conn: DenoConn,
    options: { hostname: string; caCerts?: string[]; alpnProtocols?: string[] },
  ): Promise<DenoConn>;
  errors: Record<"ConnectionRefused" | "ConnectionReset" | "BrokenPipe" | "NotFound", ErrorClass>;
}

/**
 * Bytes asked for per read unless `readSize` says otherwise; small reads are copied out so the
 * buffer can be read into again.
 */
const READ_SIZE = 64 * 1024;
/** Small queued writes are coalesced into one `conn.write` of at most this many bytes. */
const COALESCE_LIMIT = 64 * 1024;

function denoNamespace(): DenoNamespace {
  const deno = (globalThis as unknown as { Deno?: DenoNamespace }).Deno;
  if (!deno) throw new TypeError("connectDeno needs the Deno runtime; use connectNode instead");
  return deno;
}

/**
 * Opens a TCP, TLS or Unix-domain connection with Deno's own APIs.
 *
 * TLS always verifies the certificate: Deno has no per-connection switch to turn that off, so
 * `rejectUnauthorized: false` throws a `TypeError` (pass the server's CA in `tls.ca` instead).
 * TLS over a Unix socket is not available on Deno either.
 *
 * @example
 * ```ts
 * import { connectDeno } from "@kvwire/kvwire/transports/deno";
 * const t = await connectDeno({ host: "localhost", port: 6380 }, { tls: { ca: "-----BEGIN..." } });
 * if (!t.write(new TextEncoder().encode("PING\r\n"))) await t.ready();
 * console.log(await t.read());
 * t.close();
 * ```
 */
export const connectDeno: Connect = async (
  address: Address,
  options: ConnectOptions = {},
): Promise<Transport> => {
  const deno = denoNamespace();
  const { where, hwm, keepAliveDelay, readSize } = checkConnectOptions(address, options);
  const tlsOptions = tlsSettings(options);
  if (tlsOptions?.rejectUnauthorized === false) {
    throw new TypeError(
      `Deno cannot turn off TLS certificate verification (rejectUnauthorized: false) for ${where}; pass the server's CA in tls.ca, or use connectNode`,
    );
  }
  if (tlsOptions && "path" in address) {
    throw new TypeError(`Deno cannot use TLS over a Unix socket (${where})`);
  }
  const caCerts = tlsOptions?.ca === undefined
    ? undefined
    : Array.isArray(tlsOptions.ca)
    ? tlsOptions.ca
    : [tlsOptions.ca];
  const serverName = tlsOptions?.serverName;
  const alpnProtocols = tlsOptions?.alpnProtocols;
  let alpn: string | undefined;
  const host = "host" in address ? address.host : "";
  const port = "port" in address ? address.port : 0;
  const viaStartTls = serverName !== undefined && serverName !== host;
  if (viaStartTls && (tlsOptions?.cert || tlsOptions?.key)) {
    throw new TypeError(
      `Deno cannot combine tls.serverName ${
        JSON.stringify(serverName)
      } with a client certificate (${where})`,
    );
  }
  const signal = options.signal;

  const abortTcp = new AbortController();
  let conn: DenoConn | undefined;
  let abandoned = false;
  let inHandshake = false;
  /** Records the newest connection, or closes it when the attempt was given up meanwhile. */
  const hold = (connected: DenoConn): DenoConn => {
    if (abandoned) {
      closeQuietly(connected);
      throw new Error("connect attempt abandoned");
    }
    return conn = connected;
  };
  // Deno sets keepalive on TCP connections only (not on TlsConn), with the system's delay.
  const tcp = async (): Promise<DenoConn> => {
    const plain = await deno.connect({ hostname: host, port, signal: abortTcp.signal });
    if (keepAliveDelay !== undefined) plain.setKeepAlive?.(true);
    return plain;
  };
  const attempt = (async (): Promise<DenoConn> => {
    if ("path" in address) {
      return hold(await deno.connect({ transport: "unix", path: address.path }));
    }
    if (!tlsOptions) return hold(await tcp());
    // Without a client certificate, TLS goes over a TCP connection of our own (startTls),
    // which can keep alive; connectTls gives a TlsConn, which cannot.
    if (viaStartTls || (tlsOptions.cert === undefined && tlsOptions.key === undefined)) {
      const plain = hold(await tcp());
      inHandshake = true;
      hold(await deno.startTls(plain, { hostname: serverName ?? host, caCerts, alpnProtocols }));
    } else {
      const { cert, key } = tlsOptions;
      hold(
        await deno.connectTls({
          hostname: host,
          port,
          caCerts,
          alpnProtocols,
          ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
        }),
      );
    }
    inHandshake = true;
    alpn = (await conn!.handshake?.())?.alpnProtocol ?? undefined;
    return hold(conn!);
  })().catch((error: Error) => {
    throw connectError(deno, error, address, tlsOptions !== undefined && inHandshake);
  });

  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
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
  try {
    const connected = await Promise.race([attempt, deadline]);
    connected.setNoDelay?.(options.noDelay ?? true);
    return new DenoTransport(connected, where, {
      hwm,
      secure: tlsOptions !== undefined,
      readSize: readSize ?? READ_SIZE,
      alpn,
    });
  } catch (error) {
    // Abandon the attempt: stop the TCP connect, close whatever connection exists or arrives.
    abandoned = true;
    abortTcp.abort();
    closeQuietly(conn);
    attempt.catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
};

/** `instanceof` that does not narrow: Deno's error classes are structurally plain `Error`s. */
function isInstance(value: unknown, errorClass: ErrorClass | undefined): boolean {
  return errorClass !== undefined && value instanceof errorClass;
}

function closeQuietly(conn: DenoConn | undefined): void {
  try {
    conn?.close();
  } catch {
    // already closed, or consumed by startTls
  }
}

/** Maps a connect-phase error to a kvwire error that names the address. */
function connectError(
  deno: DenoNamespace,
  error: Error,
  address: Address,
  inHandshake: boolean,
): Error {
  const where = formatAddress(address);
  const options = { cause: error };
  if (inHandshake) {
    return /certificate|UnknownIssuer|NotValidForName|Expired/i.test(error.message)
      ? new TlsError(`TLS verification of ${where} failed: ${error.message}`, options)
      : new TlsError(`TLS handshake with ${where} failed: ${error.message}`, options);
  }
  if (isInstance(error, deno.errors.ConnectionRefused)) {
    return new ConnectError(`Connection refused by ${where}`, options);
  }
  if (/lookup|resolve|getaddrinfo|name or service not known/i.test(error.message)) {
    const host = "host" in address ? address.host : where;
    return new ConnectError(`Cannot resolve host ${host} (connecting to ${where})`, options);
  }
  if ("path" in address && isInstance(error, deno.errors.NotFound)) {
    return new ConnectError(`No socket at ${where}`, options);
  }
  return new ConnectError(`Cannot connect to ${where}: ${error.message}`, options);
}

/** One connected `Deno.Conn`. */
class DenoTransport implements Transport {
  readonly info: TransportInfo;
  readonly closed: Promise<void>;
  #conn: DenoConn;
  #where: string;
  #hwm: number;
  #readSize: number;
  #input = new ReadQueue({ wanted: () => this.#pump() });
  #reading = false;
  #spare: Uint8Array | undefined;
  #failure: ConnectionClosedError | undefined;
  #closedLocally = false;
  #writes: Uint8Array[] = [];
  #buffered = 0;
  #writing = false;
  #writers = new WriteWaiters();
  #ending: Promise<void> | undefined;
  #writeClosed = false;
  #done = false;
  #resolveClosed!: () => void;

  constructor(
    conn: DenoConn,
    where: string,
    setup: { hwm: number; secure: boolean; readSize: number; alpn: string | undefined },
  ) {
    const { hwm, secure, readSize, alpn } = setup;
    this.#conn = conn;
    this.#where = where;
    this.#hwm = hwm;
    this.#readSize = readSize;
    this.info = {
      kind: "deno",
      tls: secure,
      remoteAddress: where,
      ...(alpn !== undefined ? { alpnProtocol: alpn } : {}),
    };
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#pump();
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
    if (this.#terminated || this.#ending) {
      throw this.#closedError(this.#ending ? "after end()" : "after it closed");
    }
    if (chunk.length > 0) {
      this.#writes.push(chunk);
      this.#buffered += chunk.length;
      if (!this.#writing) void this.#writeLoop();
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
    if (!this.#writing) void this.#writeLoop();
    return this.#ending;
  }

  close(reason?: Error): void {
    if (this.#closedLocally) return;
    this.#closedLocally = true;
    this.#input.close(reason);
    this.#writes = [];
    this.#buffered = 0;
    this.#writers.rejectAll(this.#closedError("before the write drained", reason));
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

  /** Starts one read unless one is running, the stream ended or the queue is full. */
  #pump(): void {
    if (this.#reading || this.#input.ended || this.#terminated || this.#input.bytes >= this.#hwm) {
      return;
    }
    this.#reading = true;
    void this.#readOnce();
  }

  async #readOnce(): Promise<void> {
    const buffer = this.#spare ?? new Uint8Array(this.#readSize);
    this.#spare = undefined;
    let n: number | null;
    try {
      n = await this.#conn.read(buffer);
    } catch (error) {
      this.#reading = false;
      this.#fail(error as Error);
      return;
    }
    this.#reading = false;
    if (this.#closedLocally || this.#failure) return;
    if (n === null) {
      this.#input.end();
      if (this.#writeClosed) this.#finish();
      return;
    }
    let chunk: Uint8Array;
    if (n < this.#readSize / 4) {
      chunk = buffer.slice(0, n); // copy out; the buffer was never handed out, read into it again
      this.#spare = buffer;
    } else {
      chunk = buffer.subarray(0, n); // handed out: never read into again
    }
    this.#input.push(chunk);
    this.#pump();
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#writes.length > 0) {
        let bytes = this.#takeWrite();
        while (bytes.length > 0) {
          const n = await this.#conn.write(bytes);
          if (this.#terminated) return;
          this.#buffered -= n;
          bytes = bytes.subarray(n);
          this.#wakeReady();
        }
      }
      if (this.#ending && !this.#writeClosed) {
        await this.#conn.closeWrite();
        if (this.#terminated) return;
        this.#writeClosed = true;
        this.#writers.resolveEnd();
        if (this.#input.ended) this.#finish();
      }
    } catch (error) {
      this.#fail(error as Error);
    } finally {
      this.#writing = false;
    }
  }

  /** Takes the next queued write, coalescing small ones into a single buffer. */
  #takeWrite(): Uint8Array {
    const first = this.#writes.shift()!;
    if (this.#writes.length === 0 || first.length + this.#writes[0].length > COALESCE_LIMIT) {
      return first;
    }
    const parts = [first];
    let total = first.length;
    while (this.#writes.length > 0 && total + this.#writes[0].length <= COALESCE_LIMIT) {
      const next = this.#writes.shift()!;
      parts.push(next);
      total += next.length;
    }
    const joined = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      joined.set(part, offset);
      offset += part.length;
    }
    return joined;
  }

  #fail(error: Error): void {
    if (this.#terminated) return;
    const deno = denoNamespace();
    const how = isInstance(error, deno.errors.ConnectionReset)
      ? "was reset by the peer"
      : isInstance(error, deno.errors.BrokenPipe)
      ? "was closed by the peer (broken pipe)"
      : `failed: ${error.message}`;
    this.#failure = new ConnectionClosedError(`Connection to ${this.#where} ${how}`, {
      cause: error,
    });
    this.#input.fail(this.#failure);
    this.#writers.rejectAll(this.#failure);
    this.#finish();
  }

  /** Closes the resource once and resolves `closed`. */
  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#writers.rejectAll(this.#closedError("before the write drained"));
    closeQuietly(this.#conn);
    this.#resolveClosed();
  }

  #wakeReady(): void {
    if (this.#buffered < this.#hwm) this.#writers.wake();
  }
}

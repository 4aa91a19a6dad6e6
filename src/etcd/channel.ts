// The etcd transport layer: HTTP/1.1 connections per endpoint (a small pool for unary calls,
// a dedicated connection per stream), endpoint failover with health tracking, and auth tokens.

import { Backoff } from "../core/backoff.ts";
import { utf8Decode } from "../core/bytes.ts";
import { Driver } from "../core/driver.ts";
import {
  AbortedError,
  ConnectionClosedError,
  KvError,
  RemoteProtocolError,
  TimeoutError,
} from "../core/errors.ts";
import { INSPECT_DENO, INSPECT_NODE, redactedRendering } from "../core/redact.ts";
import type { StreamQueue } from "../core/stream_queue.ts";
import { type Connect, type ConnectOptions, formatAddress } from "../core/transport.ts";

/** A TCP endpoint. */
export interface Address {
  /** Host name or IP address. */
  host: string;
  /** TCP port. */
  port: number;
}
import { EtcdError, etcdErrorFromJson } from "./errors.ts";
import type { HttpRequest, HttpResponse } from "./http1/codec.ts";
import { Http1Connection } from "./http1/connection.ts";

/** Settings of a {@link Channel}. */
export interface ChannelOptions {
  /** The etcd members to talk to, tried in turn on failure. */
  endpoints: Address[];
  /** The transport connector. */
  connect: Connect;
  /** TLS: `true` for defaults (certificate verified), or settings. */
  tls?: ConnectOptions["tls"];
  /** Milliseconds to open a connection. Default 5,000. */
  connectTimeout?: number;
  /** Default deadline of a call in milliseconds, retries included. Default 30,000. */
  requestTimeout?: number;
  /** Unary connections per endpoint. Default 8. */
  maxConnections?: number;
  /** User name and password: a token is fetched and sent with every request. */
  auth?: { username: string; password: string };
}

/** What a {@link Channel} (and the clients on it) show of themselves: never a secret. */
export interface ChannelSummary {
  /** The endpoints as `host:port`. */
  endpoints: string[];
  /** Whether connections use TLS. */
  tls: boolean;
  /** Whether a client certificate is presented (mutual TLS). */
  clientCertificate: boolean;
  /** The user name of `auth`, when set (the password and token are never shown). */
  username?: string;
}

/** Options of one call. */
export interface CallOptions {
  /** Deadline of the call in milliseconds, retries included. */
  timeout?: number;
  /** Aborts the call. */
  signal?: AbortSignal;
  /** The call may run again after its fate became unknown (reads). Default false. */
  idempotent?: boolean;
}

type Http1Driver = Driver<HttpRequest, HttpResponse, Uint8Array>;

class Endpoint {
  readonly drivers: Http1Driver[] = [];
  opening: Promise<Http1Driver> | undefined;
  downUntil = 0;
  readonly backoff = new Backoff({ initialDelay: 100, maxDelay: 2000 });
  constructor(readonly address: Address, readonly label: string) {}
}

const TRANSIENT =
  /etcdserver: (no leader|too many requests|not capable|leader changed|request timed out|server stopped)/;

/** Errors that say the auth token was not accepted (invalid, expired, or older than the store). */
const TOKEN_REJECTED = /invalid auth token|auth store is old|token/;

/**
 * Sends JSON requests to an etcd cluster, retrying on another endpoint when that is safe.
 *
 * Theory of operation: endpoints are tried in order starting from the last one that worked;
 * an endpoint that failed to connect or dropped a connection is skipped for a backoff delay.
 * A call is retried (within its deadline) when it was not sent, when it failed in a way
 * that proves it did not run (no leader, refused connection), or when it is idempotent.
 * Otherwise the error reports the unknown outcome. With `auth`, a token is fetched before
 * the first call and once more when the server says it is invalid or expired.
 *
 * @example
 * ```ts
 * import { Channel } from "@kvwire/kvwire/etcd";
 * import { connect } from "@kvwire/kvwire/transports/auto";
 * const channel = new Channel({ endpoints: [{ host: "127.0.0.1", port: 2379 }], connect });
 * const status = await channel.call("/v3/maintenance/status", {});
 * channel.close();
 * ```
 */
export class Channel {
  readonly #options: ChannelOptions;
  readonly #endpoints: Endpoint[];
  #preferred = 0;
  #token: string | undefined;
  #authing: Promise<void> | undefined;
  #authentications = 0;
  #closed = false;
  readonly #streams = new Set<Http1Driver>();
  readonly #closeHooks = new Set<() => void>();

  /** Creates the channel; connections open on first use. */
  constructor(options: ChannelOptions) {
    if (options.endpoints.length === 0) throw new TypeError("At least one endpoint is required");
    this.#options = options;
    this.#endpoints = options.endpoints.map((a) => new Endpoint(a, `etcd ${a.host}:${a.port}`));
  }

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * The safe description `JSON.stringify`, `console.log` and `util.inspect` show: endpoints,
   * TLS and the user name; never the password, the token or a TLS key.
   */
  toJSON(): ChannelSummary {
    const { tls, auth } = this.#options;
    return {
      endpoints: this.#endpoints.map((ep) => formatAddress(ep.address)),
      tls: tls !== undefined && tls !== false,
      clientCertificate: typeof tls === "object" && tls.cert !== undefined,
      ...(auth ? { username: auth.username } : {}),
    };
  }

  /** Node's and Bun's inspect: the {@link toJSON} summary. */
  [INSPECT_NODE](): string {
    return redactedRendering("Channel", this.toJSON());
  }

  /** Deno's inspect: the {@link toJSON} summary. */
  [INSPECT_DENO](): string {
    return redactedRendering("Channel", this.toJSON());
  }

  /** Runs `hook` when the channel closes (watches and leases stop); returns an unsubscriber. */
  onClose(hook: () => void): () => void {
    this.#closeHooks.add(hook);
    return () => this.#closeHooks.delete(hook);
  }

  /** Tokens fetched so far (1 after the first call with `auth`, +1 per renewal). */
  get authentications(): number {
    return this.#authentications;
  }

  /**
   * True when `error` says the server rejected the auth token (invalid or expired) and the
   * channel has credentials to fetch another one. Streams use it with {@link renewToken}.
   */
  isTokenRejection(error: unknown): boolean {
    return this.#options.auth !== undefined && error instanceof EtcdError &&
      TOKEN_REJECTED.test(error.message);
  }

  /**
   * Fetches a new token after a stream was refused, unless one was fetched since the token of
   * `generation` (the `tokenGeneration` of {@link openStream}'s answer) was sent: concurrent
   * streams refused with the same stale token renew it once.
   */
  async renewToken(generation: number, options: CallOptions = {}): Promise<void> {
    if (!this.#options.auth) return;
    if (this.#authing) return await this.#authing;
    if (this.#authentications !== generation && this.#token !== undefined) return;
    this.#token = undefined;
    await this.#authenticate(options);
  }

  /** The endpoint the next call goes to first. */
  get currentEndpoint(): Address {
    return this.#endpoints[this.#preferred].address;
  }

  /** POSTs `body` as JSON to a v3 gateway path and returns the parsed answer. */
  async call<T = Record<string, unknown>>(
    path: string,
    body: unknown,
    options: CallOptions = {},
  ): Promise<T> {
    const text = JSON.stringify(body);
    return await this.#withRetries(options, path, async (ep, reauthed, remaining) => {
      if (this.#options.auth && this.#token === undefined) await this.#authenticate(options);
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (this.#token !== undefined) headers["Authorization"] = this.#token;
      const response = await this.#request(ep, { method: "POST", path, headers, body: text }, {
        timeout: remaining,
        signal: options.signal,
      });
      const json = parseJson(response.body);
      if (response.status === 200) return json as T;
      const error = etcdErrorFromJson(json, response.status);
      if (!reauthed && this.isTokenRejection(error)) {
        this.#token = undefined;
        throw new Reauth(error);
      }
      throw error;
    });
  }

  /** Sends a raw HTTP request (the v2 API) with failover; any status is returned. */
  async raw(request: HttpRequest, options: CallOptions = {}): Promise<HttpResponse> {
    return await this.#withRetries(
      options,
      request.path,
      (ep, _reauthed, remaining) =>
        this.#request(ep, request, { signal: options.signal, timeout: remaining }),
    );
  }

  /** Sends a raw request on a connection of its own (long polls), with failover. */
  async rawDedicated(request: HttpRequest, options: CallOptions = {}): Promise<HttpResponse> {
    return await this.#withRetries(options, request.path, async (ep, _reauthed, remaining) => {
      const driver = await this.#open(ep, true);
      try {
        return await driver.request(request, { signal: options.signal, timeout: remaining });
      } finally {
        driver.destroy();
      }
    });
  }

  /**
   * Opens a dedicated connection carrying one streamed request (watch). `close()` ends it.
   * The stream's items are the lines of the body; it ends with an error when the connection
   * drops. `tokenGeneration` tells which token went with it (see {@link renewToken}).
   */
  async openStream(
    path: string,
    body: unknown,
    options: { signal?: AbortSignal; method?: HttpRequest["method"]; raw?: boolean } = {},
  ): Promise<
    {
      items: StreamQueue<Uint8Array>;
      endpoint: Address;
      close: () => void;
      tokenGeneration: number;
    }
  > {
    if (this.#options.auth && this.#token === undefined) await this.#authenticate({});
    return await this.#withRetries({ signal: options.signal, idempotent: true }, path, async (
      ep,
    ) => {
      const driver = await this.#open(ep, true);
      const headers: Record<string, string> = {};
      if (!options.raw) headers["Content-Type"] = "application/json";
      if (this.#token !== undefined) headers["Authorization"] = this.#token;
      const tokenGeneration = this.#authentications;
      const items = driver.stream({
        method: options.method ?? "POST",
        path,
        headers,
        body: options.raw ? undefined : JSON.stringify(body),
        stream: true,
      }, { highWaterMark: 64 });
      return { items, endpoint: ep.address, close: () => driver.destroy(), tokenGeneration };
    });
  }

  /**
   * Runs one call on a connection of its own (blocking calls: lock, campaign). When the server
   * refuses the auth token (invalid or expired), a new token is fetched and the call is sent
   * once more: a refused call did not run.
   */
  async callDedicated<T = Record<string, unknown>>(
    path: string,
    body: unknown,
    options: CallOptions = {},
  ): Promise<T> {
    for (let reauthed = false;; reauthed = true) {
      const stream = await this.openStream(path, body, options);
      try {
        return await collect<T>(path, stream, options.signal);
      } catch (error) {
        if (reauthed || options.signal?.aborted || !this.isTokenRejection(error)) throw error;
        await this.renewToken(stream.tokenGeneration, options);
      }
    }
  }

  async #authenticate(options: CallOptions): Promise<void> {
    this.#authing ??= (async () => {
      const auth = this.#options.auth!;
      const answer = await this.#withRetries(options, "/v3/auth/authenticate", async (ep) => {
        const response = await this.#request(ep, {
          method: "POST",
          path: "/v3/auth/authenticate",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ name: auth.username, password: auth.password }),
        }, options);
        const json = parseJson(response.body, true) as { token?: string };
        if (response.status !== 200) throw etcdErrorFromJson(json, response.status);
        return json;
      });
      this.#token = answer.token;
      this.#authentications++;
    })().finally(() => (this.#authing = undefined));
    await this.#authing;
  }

  async #withRetries<T>(
    options: CallOptions,
    what: string,
    attempt: (ep: Endpoint, reauthed: boolean, remaining: number) => Promise<T>,
  ): Promise<T> {
    const timeout = options.timeout ?? this.#options.requestTimeout ?? 30_000;
    const deadline = Date.now() + timeout;
    const backoff = new Backoff({ initialDelay: 50, maxDelay: 1000 });
    let reauthed = false;
    let lastError: Error | undefined;
    for (let tries = 0;; tries++) {
      if (this.#closed) throw new ConnectionClosedError(`etcd client is closed; ${what} not sent`);
      if (options.signal?.aborted) {
        throw new AbortedError(`${what} was aborted`, { cause: options.signal.reason });
      }
      const ep = this.#pick(tries);
      try {
        const result = await attempt(ep, reauthed, Math.max(1, deadline - Date.now()));
        this.#preferred = this.#endpoints.indexOf(ep);
        ep.backoff.reset();
        return result;
      } catch (error) {
        if (error instanceof Reauth) {
          reauthed = true;
          lastError = error.error;
          continue;
        }
        lastError = error as Error;
        const retry = this.#retryable(ep, error as Error, options.idempotent === true);
        if (!retry) throw error;
        const delay = this.#endpoints.length > 1 && tries % this.#endpoints.length !== 0
          ? 0
          : backoff.next();
        if (Date.now() + delay >= deadline) break;
        if (delay > 0) await sleep(delay, options.signal);
      }
    }
    throw new TimeoutError(`${what} did not succeed within ${timeout} ms: ${lastError?.message}`, {
      cause: lastError,
      sent: lastError instanceof ConnectionClosedError ? lastError.sent : false,
    });
  }

  #retryable(ep: Endpoint, error: Error, idempotent: boolean): boolean {
    if (error instanceof EtcdError) {
      if (error.grpcCode !== 14 && !TRANSIENT.test(error.message)) return false;
      this.#markDown(ep);
      return idempotent || !error.unknownOutcome;
    }
    if (error instanceof ConnectionClosedError) {
      this.#markDown(ep);
      return idempotent || !error.sent;
    }
    const code = error instanceof KvError ? error.code : "";
    if (code === "CONNECT_FAILED" || (error instanceof TimeoutError && !error.sent)) {
      this.#markDown(ep);
      return true;
    }
    return false;
  }

  #markDown(ep: Endpoint): void {
    ep.downUntil = Date.now() + ep.backoff.next();
    if (this.#endpoints[this.#preferred] === ep) {
      this.#preferred = (this.#preferred + 1) % this.#endpoints.length;
    }
  }

  /** The endpoint for attempt `tries`: the preferred one, skipping those marked down. */
  #pick(tries: number): Endpoint {
    const n = this.#endpoints.length;
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const ep = this.#endpoints[(this.#preferred + tries + i) % n];
      if (ep.downUntil <= now) return ep;
    }
    return this.#endpoints[(this.#preferred + tries) % n];
  }

  async #request(ep: Endpoint, request: HttpRequest, options: CallOptions): Promise<HttpResponse> {
    const driver = await this.#acquire(ep);
    return await driver.request(request, options, `${request.method} ${request.path}`);
  }

  async #acquire(ep: Endpoint): Promise<Http1Driver> {
    let best: Http1Driver | undefined;
    for (const d of ep.drivers) {
      if (d.isOpen && d.machine.canSend && (!best || d.pendingCount < best.pendingCount)) best = d;
    }
    const max = this.#options.maxConnections ?? 8;
    if (best && (best.pendingCount === 0 || ep.drivers.length >= max)) return best;
    if (ep.opening) return best ?? await ep.opening;
    ep.opening = this.#open(ep, false).finally(() => (ep.opening = undefined));
    return await ep.opening;
  }

  async #open(ep: Endpoint, dedicated: boolean): Promise<Http1Driver> {
    const { host, port } = ep.address;
    const transport = await this.#options.connect(ep.address, {
      timeout: this.#options.connectTimeout ?? 5000,
      tls: this.#options.tls,
    });
    if (this.#closed) {
      transport.close();
      throw new ConnectionClosedError("etcd client was closed while connecting");
    }
    const machine = new Http1Connection({
      host: host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`,
      streamError: (r) => etcdErrorFromJson(safeJson(r.body), r.status),
    });
    const driver: Http1Driver = new Driver(machine, transport, {
      label: ep.label,
      onClose: () => {
        const i = ep.drivers.indexOf(driver);
        if (i !== -1) ep.drivers.splice(i, 1);
        this.#streams.delete(driver);
      },
    });
    if (dedicated) this.#streams.add(driver);
    else ep.drivers.push(driver);
    return driver;
  }

  /** Closes every connection; calls in flight fail with `ConnectionClosedError`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const hook of [...this.#closeHooks]) hook();
    this.#closeHooks.clear();
    for (const ep of this.#endpoints) for (const d of [...ep.drivers]) d.destroy();
    for (const d of [...this.#streams]) d.destroy();
  }
}

class Reauth extends Error {
  constructor(readonly error: EtcdError) {
    super(error.message);
  }
}

/** Reads the answer of a dedicated call: its first line, or the error it ended with. */
async function collect<T>(
  path: string,
  stream: { items: StreamQueue<Uint8Array>; close: () => void },
  signal: AbortSignal | undefined,
): Promise<T> {
  const { items, close } = stream;
  const onAbort = (): void => close();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const lines: Uint8Array[] = [];
    try {
      for await (const line of items) lines.push(line);
    } catch (error) {
      if (signal?.aborted) {
        throw new AbortedError(`${path} was aborted`, { sent: true, cause: error });
      }
      throw error;
    }
    const json = lines.length > 0 ? parseJson(lines[0]) as Record<string, unknown> : {};
    if (json.error !== undefined) throw etcdErrorFromJson(json);
    return (json.result ?? json) as T;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    close();
  }
}

/** Parses a JSON body; a `secret` one (it may carry a token) is not quoted in the error. */
function parseJson(bytes: Uint8Array, secret = false): unknown {
  try {
    return JSON.parse(utf8Decode(bytes));
  } catch {
    const quoted = secret
      ? `(${bytes.length} bytes, not shown: it may hold a token)`
      : JSON.stringify(utf8Decode(bytes.subarray(0, 80)));
    throw new RemoteProtocolError(`etcd sent a body that is not JSON: ${quoted}`);
  }
}

function safeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(utf8Decode(bytes));
  } catch {
    return { message: utf8Decode(bytes.subarray(0, 200)), code: 2 };
  }
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

// The etcd transport layer: HTTP/1.1 connections per endpoint (a small pool for unary calls,
// a dedicated connection per stream), endpoint failover with health tracking, and auth tokens.

import { Backoff } from "../core/backoff.ts";
import { Driver } from "../core/driver.ts";
import {
  AbortedError,
  ConnectionClosedError,
  KvError,
  RemoteProtocolError,
  TimeoutError,
  UnresponsiveError,
} from "../core/errors.ts";
import { INSPECT_DENO, INSPECT_NODE, redactedRendering } from "../core/redact.ts";
import type { StreamQueue } from "../core/stream_queue.ts";
import { type Connect, type ConnectOptions, formatAddress } from "../core/transport.ts";
import { checked, collect, type Decode, parseJson, Reauth, safeJson } from "./answer.ts";
import { ConnectionPool, type Http1Driver } from "./pool.ts";
import { sleep } from "./wait.ts";

export type { Decode } from "./answer.ts";

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

/**
 * Bounds on what an etcd server may send, checked before anything is buffered; an answer over
 * a limit is a `RemoteProtocolError` and its connection is dropped.
 */
export interface EtcdLimits {
  /**
   * Largest answer body: a declared Content-Length, or the sum of a chunked body's chunk
   * sizes. Default 64 MiB (etcd's own request limit is 1.5 MiB, but one range or a v2
   * recursive listing may carry many keys).
   */
  maxResponseBytes?: number;
  /** Largest watch message (one line of a streamed answer), and chunk of it. Default 16 MiB. */
  maxWatchMessageBytes?: number;
  /** Largest status line plus headers of an answer. Default 64 KiB. */
  maxHeaderBytes?: number;
}

/** Settings of a {@link Channel}. */
export interface ChannelOptions extends EtcdLimits {
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
  /**
   * Milliseconds a pooled connection may stay silent with a call in flight before it is
   * presumed dead, closed and its endpoint marked down. Default off: a call whose deadline
   * passes with no byte received closes its connection in any case.
   */
  silenceTimeout?: number;
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

class Endpoint {
  /** Connections for unary calls. */
  pool!: ConnectionPool;
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
 * an endpoint that failed to connect, dropped a connection, broke the protocol or went
 * unresponsive (a request timed out with no byte received: the driver closes such a
 * connection) is skipped for a backoff delay. A pooled connection carries one request at a
 * time (no pipelining) and is dropped when a request on it failed with `sent: true`.
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
    for (
      const name of ["maxResponseBytes", "maxWatchMessageBytes", "maxHeaderBytes", "silenceTimeout"]
    ) {
      const value = options[name as keyof ChannelOptions];
      if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) > 0)) {
        throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
      }
    }
    this.#options = options;
    this.#endpoints = options.endpoints.map((a) => {
      const ep = new Endpoint(a, `etcd ${a.host}:${a.port}`);
      ep.pool = new ConnectionPool(
        ep.label,
        () => this.#open(ep, false),
        options.maxConnections ?? 8,
      );
      return ep;
    });
  }

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * The safe description `JSON.stringify`, `console.log` and the inspect hooks show: endpoints,
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

  /**
   * POSTs `body` as JSON to a v3 gateway path and returns the answer passed through `decode`
   * (the parsed JSON without it). Whatever a malformed answer makes `decode` throw becomes a
   * `RemoteProtocolError` (`sent: true`) and the connection that carried it is dropped.
   */
  async call<T = Record<string, unknown>>(
    path: string,
    body: unknown,
    options: CallOptions = {},
    decode?: Decode<T>,
  ): Promise<T> {
    const text = JSON.stringify(body);
    return await this.#withRetries(options, path, async (ep, reauthed, remaining) => {
      if (this.#options.auth && this.#token === undefined) await this.#authenticate(options);
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (this.#token !== undefined) headers["Authorization"] = this.#token;
      const request: HttpRequest = { method: "POST", path, headers, body: text };
      const fresh = ALWAYS_NEW.has(path)
        ? "always"
        : options.idempotent === true
        ? "unless-same"
        : "never";
      return await ep.pool.exchange(request, remaining, options.signal, fresh, (response) => {
        const json = parseJson(response.body);
        if (response.status === 200) return decode ? decode(json) : json as T;
        const error = etcdErrorFromJson(json, response.status);
        if (!reauthed && this.isTokenRejection(error)) {
          this.#token = undefined;
          throw new Reauth(error);
        }
        throw error;
      });
    });
  }

  /**
   * Sends a raw HTTP request (the v2 API) with failover and returns what `decode` makes of
   * the answer (any status); a malformed answer is handled as in {@link call}.
   */
  async raw<T>(
    request: HttpRequest,
    options: CallOptions,
    decode: (response: HttpResponse) => T,
  ): Promise<T> {
    return await this.#withRetries(
      options,
      request.path,
      (ep, _reauthed, remaining) =>
        ep.pool.exchange(
          request,
          remaining,
          options.signal,
          options.idempotent === true ? "unless-same" : "never",
          decode,
        ),
    );
  }

  /** {@link raw} on a connection of its own (long polls). */
  async rawDedicated<T>(
    request: HttpRequest,
    options: CallOptions,
    decode: (response: HttpResponse) => T,
  ): Promise<T> {
    return await this.#withRetries(options, request.path, async (ep, _reauthed, remaining) => {
      const driver = await this.#open(ep, true);
      try {
        const response = await driver.request(request, {
          signal: options.signal,
          timeout: remaining,
        });
        return checked(driver, request.path, () => decode(response));
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
  async callDedicated<T>(
    path: string,
    body: unknown,
    options: CallOptions,
    decode: Decode<T>,
  ): Promise<T> {
    for (let reauthed = false;; reauthed = true) {
      const stream = await this.openStream(path, body, options);
      try {
        return await collect(path, stream, options.signal, decode);
      } catch (error) {
        if (reauthed || options.signal?.aborted || !this.isTokenRejection(error)) throw error;
        await this.renewToken(stream.tokenGeneration, options);
      }
    }
  }

  async #authenticate(options: CallOptions): Promise<void> {
    this.#authing ??= (async () => {
      const auth = this.#options.auth!;
      const path = "/v3/auth/authenticate";
      const request: HttpRequest = {
        method: "POST",
        path,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: auth.username, password: auth.password }),
      };
      const token = await this.#withRetries(
        options,
        path,
        (ep, _reauthed, remaining) =>
          ep.pool.exchange(request, remaining, options.signal, "always", (response) => {
            const json = parseJson(response.body, true) as { token?: unknown };
            if (response.status !== 200) throw etcdErrorFromJson(json, response.status);
            if (typeof json.token !== "string") throw new TypeError("the answer has no token");
            return json.token;
          }),
      );
      this.#token = token;
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
    let sent = false; // an attempt may have run
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
        sent ||= error instanceof KvError && error.sent;
        if (error instanceof TimeoutError && Date.now() >= deadline) {
          if (!sent || error.sent) throw error;
          break; // an earlier attempt may have run: say so
        }
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
      sent,
    });
  }

  #retryable(ep: Endpoint, error: Error, idempotent: boolean): boolean {
    if (error instanceof EtcdError) {
      if (error.grpcCode !== 14 && !TRANSIENT.test(error.message)) return false;
      this.#markDown(ep);
      return idempotent || !error.sent;
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
      maxBodyBytes: this.#options.maxResponseBytes,
      maxItemBytes: this.#options.maxWatchMessageBytes,
      maxHeaderBytes: this.#options.maxHeaderBytes,
    });
    const driver: Http1Driver = new Driver(machine, transport, {
      label: ep.label,
      silenceTimeout: dedicated ? undefined : this.#options.silenceTimeout,
      onClose: (error) => {
        // A connection that broke the protocol or went unresponsive: try the others first.
        if (error instanceof RemoteProtocolError || isUnresponsive(error)) this.#markDown(ep);
        ep.pool.removed(driver);
        this.#streams.delete(driver);
      },
    });
    if (dedicated) this.#streams.add(driver);
    return driver;
  }

  /** Closes every connection; calls in flight fail with `ConnectionClosedError`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const hook of [...this.#closeHooks]) hook();
    this.#closeHooks.clear();
    for (const ep of this.#endpoints) ep.pool.close();
    for (const d of [...this.#streams]) d.destroy();
  }
}

/** Paths whose true answer always differs from any earlier one (a new revision or id). */
const ALWAYS_NEW = new Set(["/v3/kv/put", "/v3/lease/grant"]);

/** True for the driver's liveness close: requests timed out with no byte received. */
function isUnresponsive(error: Error | undefined): boolean {
  return error instanceof UnresponsiveError;
}

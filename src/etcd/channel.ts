// The etcd transport layer: HTTP/1.1 connections per endpoint (a small pool for unary calls,
// a dedicated connection per stream), endpoint failover with health tracking, auth tokens, and
// what an operator sees: events, stats and one Operation per call.

import { Driver } from "../core/driver.ts";
import { EventHub } from "../core/events.ts";
import { Instrumenter, type Operation } from "../core/instrument.ts";
import { type ClientStats, summarizeStats } from "../core/observe.ts";
import { ConnectionClosedError, RemoteProtocolError, UnresponsiveError } from "../core/errors.ts";
import { INSPECT_NODE, redactedRendering } from "../core/redact.ts";
import type { StreamQueue } from "../core/stream_queue.ts";
import { formatAddress } from "../core/transport.ts";
import { checked, collect, type Decode, errorJson, parseJson, Reauth } from "./answer.ts";
import type {
  Address,
  CallInfo,
  CallOptions,
  ChannelOptions,
  ChannelSummary,
} from "./channel_options.ts";
import { Endpoint } from "./endpoint.ts";
import { EtcdError, etcdErrorFromJson } from "./errors.ts";
import type { HttpRequest, HttpResponse } from "./http1/codec.ts";
import { Http1Connection } from "./http1/connection.ts";
import { Failover } from "./failover.ts";
import { type EtcdEvents, operationOf } from "./events.ts";
import { ConnectionPool, type Http1Driver } from "./pool.ts";

export type { Decode } from "./answer.ts";
export type {
  Address,
  CallInfo,
  CallOptions,
  ChannelOptions,
  ChannelSummary,
  EtcdLimits,
} from "./channel_options.ts";

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
  readonly #events: EventHub<EtcdEvents>;
  readonly #instrumenter: Instrumenter;
  readonly #failover: Failover;
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
    this.#events = options.events ?? new EventHub<EtcdEvents>();
    this.#instrumenter = options.instrumenter ?? new Instrumenter();
    this.#endpoints = options.endpoints.map((a) => {
      const ep = new Endpoint(a, this.#events);
      ep.pool = new ConnectionPool(
        ep.label,
        () => this.#open(ep, false),
        options.maxConnections ?? 8,
      );
      return ep;
    });
    this.#failover = new Failover(
      this.#endpoints,
      this.#events,
      () => this.#closed,
      options.requestTimeout,
    );
  }

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** The hub of the channel's events (behind the clients' `on()`). */
  get events(): EventHub<EtcdEvents> {
    return this.#events;
  }

  /**
   * Each endpoint's state and counters (one member per endpoint) and their totals.
   *
   * @example
   * ```ts
   * import { Channel } from "@kvwire/kvwire/etcd";
   * import { connect } from "@kvwire/kvwire/transports/auto";
   * const channel = new Channel({ endpoints: [{ host: "127.0.0.1", port: 2379 }], connect });
   * console.log(channel.stats().members[0].state); // "idle"
   * ```
   */
  stats(): ClientStats {
    return summarizeStats(this.#endpoints.map((ep) => ep.stats()), this.#closed);
  }

  /**
   * Starts an operation when a hook listens (else returns undefined, having built nothing),
   * naming the endpoint calls go to first. End it with {@link endOperation}.
   */
  startOperation(
    operation: string,
    kind: "request" | "stream" = "request",
    batchSize?: number,
  ): Operation | undefined {
    const instrumenter = this.#instrumenter;
    if (!instrumenter.enabled) return undefined;
    const { host, port } = this.#failover.pick(0).address;
    return instrumenter.start({
      protocol: "etcd",
      operation,
      kind,
      serverAddress: host,
      serverPort: port,
      batchSize,
    });
  }

  /** Ends an operation of {@link startOperation} (a no-op for undefined). */
  endOperation(op: Operation | undefined, error?: unknown): void {
    this.#instrumenter.end(op, error);
  }

  /** `work` as the operation `op`: ended when it settles. */
  async #tracked<T>(op: Operation | undefined, work: Promise<T>): Promise<T> {
    if (op === undefined) return await work;
    try {
      const result = await work;
      this.#instrumenter.end(op);
      return result;
    } catch (error) {
      this.#instrumenter.end(op, error);
      throw error;
    }
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
    return this.#failover.preferred.address;
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
    about?: CallInfo,
  ): Promise<T> {
    const op = this.startOperation(
      about?.operation ?? operationOf(path),
      "request",
      about?.batchSize,
    );
    return await this.#tracked(op, this.#call(path, body, options, decode, op));
  }

  async #call<T>(
    path: string,
    body: unknown,
    options: CallOptions,
    decode: Decode<T> | undefined,
    op: Operation | undefined,
  ): Promise<T> {
    const text = JSON.stringify(body);
    return await this.#failover.run(options, path, op, async (ep, reauthed, remaining) => {
      if (this.#authing) await this.#authing;
      if (this.#options.auth && this.#token === undefined) await this.#authenticate(options);
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (this.#token !== undefined) headers["Authorization"] = this.#token;
      const request: HttpRequest = { method: "POST", path, headers, body: text };
      const fresh = ALWAYS_NEW.has(path)
        ? "always"
        : options.idempotent === true
        ? "unless-same"
        : "never";
      const generation = this.#authentications;
      return await ep.pool.exchange(request, remaining, options.signal, fresh, (response) => {
        if (response.status === 200) {
          const json = parseJson(response.body);
          if (this.#events.has("leaderChange")) this.#failover.observeLeader(ep, path, json);
          return decode ? decode(json) : json as T;
        }
        const error = etcdErrorFromJson(errorJson(response.status, response.body), response.status);
        if (!reauthed && this.isTokenRejection(error)) {
          // Only the first call refused with this token drops it: the others of a burst sent
          // with it retry with the one that call fetches.
          if (this.#authentications === generation) this.#token = undefined;
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
    operation: string = request.method,
  ): Promise<T> {
    const op = this.startOperation(operation);
    return await this.#tracked(
      op,
      this.#failover.run(
        options,
        request.path,
        op,
        (ep, _reauthed, remaining) =>
          ep.pool.exchange(
            request,
            remaining,
            options.signal,
            options.idempotent === true ? "unless-same" : "never",
            decode,
          ),
      ),
    );
  }

  /** {@link raw} on a connection of its own (long polls). */
  async rawDedicated<T>(
    request: HttpRequest,
    options: CallOptions,
    decode: (response: HttpResponse) => T,
    operation: string = request.method,
  ): Promise<T> {
    const op = this.startOperation(operation);
    return await this.#tracked(op, this.#rawDedicated(request, options, decode, op));
  }

  async #rawDedicated<T>(
    request: HttpRequest,
    options: CallOptions,
    decode: (response: HttpResponse) => T,
    op: Operation | undefined,
  ): Promise<T> {
    return await this.#failover.run(options, request.path, op, async (ep, _reauthed, remaining) => {
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
   * `operation` is the Operation its attempts count toward (`resumed`: the first attempt is
   * itself a re-send, of a watch restarting).
   */
  async openStream(
    path: string,
    body: unknown,
    options: {
      signal?: AbortSignal;
      method?: HttpRequest["method"];
      raw?: boolean;
      operation?: Operation;
      resumed?: boolean;
    } = {},
  ): Promise<
    {
      items: StreamQueue<Uint8Array>;
      endpoint: Address;
      close: () => void;
      tokenGeneration: number;
    }
  > {
    if (this.#options.auth && this.#token === undefined) await this.#authenticate({});
    const retry = { signal: options.signal, idempotent: true };
    return await this.#failover.run(retry, path, options.operation, async (ep) => {
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
    }, options.resumed);
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
    const op = this.startOperation(operationOf(path));
    return await this.#tracked(op, this.#callDedicated(path, body, options, decode, op));
  }

  async #callDedicated<T>(
    path: string,
    body: unknown,
    options: CallOptions,
    decode: Decode<T>,
    operation: Operation | undefined,
  ): Promise<T> {
    for (let reauthed = false;; reauthed = true) {
      const stream = await this.openStream(path, body, {
        signal: options.signal,
        operation,
        resumed: reauthed,
      });
      try {
        return await collect(path, stream, options.signal, decode);
      } catch (error) {
        if (reauthed || options.signal?.aborted || !this.isTokenRejection(error)) throw error;
        await this.renewToken(stream.tokenGeneration, options);
      }
    }
  }

  async #authenticate(options: CallOptions): Promise<void> {
    this.#authing ??= this.#tracked(
      this.startOperation("Authenticate"),
      (async () => {
        const auth = this.#options.auth!;
        const path = "/v3/auth/authenticate";
        const request: HttpRequest = {
          method: "POST",
          path,
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ name: auth.username, password: auth.password }),
        };
        const token = await this.#failover.run(
          options,
          path,
          undefined,
          (ep, _reauthed, remaining) =>
            ep.pool.exchange(request, remaining, options.signal, "always", (response) => {
              if (response.status !== 200) {
                throw etcdErrorFromJson(errorJson(response.status, response.body), response.status);
              }
              const json = parseJson(response.body, true) as { token?: unknown };
              if (typeof json.token !== "string") throw new TypeError("the answer has no token");
              return json.token;
            }),
        );
        this.#token = token;
        this.#authentications++;
      })(),
    ).finally(() => (this.#authing = undefined));
    await this.#authing;
  }

  async #open(ep: Endpoint, dedicated: boolean): Promise<Http1Driver> {
    const { host, port } = ep.address;
    ep.connecting();
    let transport;
    try {
      transport = await this.#options.connect(ep.address, {
        timeout: this.#options.connectTimeout ?? 5000,
        tls: this.#options.tls,
      });
    } catch (error) {
      if (!this.#closed) ep.connectFailed(error as Error);
      throw error;
    }
    if (this.#closed) {
      transport.close();
      throw new ConnectionClosedError("etcd client was closed while connecting");
    }
    const machine = new Http1Connection({
      host: host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`,
      streamError: (r) => etcdErrorFromJson(errorJson(r.status, r.body), r.status),
      maxBodyBytes: this.#options.maxResponseBytes,
      maxItemBytes: this.#options.maxWatchMessageBytes,
      maxHeaderBytes: this.#options.maxHeaderBytes,
    });
    const driver: Http1Driver = new Driver(machine, transport, {
      label: ep.label,
      silenceTimeout: dedicated ? undefined : this.#options.silenceTimeout,
      onClose: (error) => {
        // A connection that broke the protocol or went unresponsive: try the others first.
        if (error instanceof RemoteProtocolError || isUnresponsive(error)) {
          this.#failover.markDown(ep, error!);
        }
        ep.closed(driver);
        ep.pool.removed(driver);
        this.#streams.delete(driver);
      },
    });
    if (dedicated) this.#streams.add(driver);
    ep.opened(driver, dedicated);
    return driver;
  }

  /** Closes every connection; calls in flight fail with `ConnectionClosedError`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const hook of [...this.#closeHooks]) hook();
    this.#closeHooks.clear();
    for (const ep of this.#endpoints) {
      ep.close();
      ep.pool.close();
    }
    for (const d of [...this.#streams]) d.destroy();
  }
}

/** Paths whose true answer always differs from any earlier one (a new revision or id). */
const ALWAYS_NEW = new Set(["/v3/kv/put", "/v3/lease/grant"]);

/** True for the driver's liveness close: requests timed out with no byte received. */
function isUnresponsive(error: Error | undefined): boolean {
  return error instanceof UnresponsiveError;
}

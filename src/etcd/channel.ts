// The etcd transport layer: HTTP/1.1 connections per endpoint (a small pool for unary calls,
// a dedicated connection per stream), endpoint failover with health tracking, auth tokens, and
// what an operator sees: events, stats and one Operation per call.

import { Driver } from "../core/driver.ts";
import { ConnectionClosedError, RemoteProtocolError, UnresponsiveError } from "../core/errors.ts";
import type { Operation } from "../core/instrument.ts";
import { checked, type Decode, errorJson, parseJson, Reauth } from "./answer.ts";
import { ChannelBase } from "./channel_base.ts";
import type { CallInfo, CallOptions, ChannelOptions } from "./channel_options.ts";
import type { ChannelStream, EtcdChannel, StreamOptions } from "./etcd_channel.ts";
import type { Endpoint } from "./endpoint.ts";
import { etcdErrorFromJson } from "./errors.ts";
import type { HttpRequest, HttpResponse } from "./http1/codec.ts";
import { Http1Connection } from "./http1/connection.ts";
import { operationOf } from "./events.ts";
import { ConnectionPool, type Http1Driver } from "./pool.ts";

export type { Decode } from "./answer.ts";
export type { ChannelStream, EtcdChannel, StreamOptions } from "./etcd_channel.ts";
export type {
  Address,
  CallInfo,
  CallOptions,
  ChannelOptions,
  ChannelSummary,
  EtcdLimits,
} from "./channel_options.ts";

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
export class Channel extends ChannelBase implements EtcdChannel {
  /** The JSON gateway over HTTP/1.1. */
  readonly protocol = "gateway";
  readonly #pools = new Map<Endpoint, ConnectionPool>();
  readonly #streams = new Set<Http1Driver>();

  /** Creates the channel; connections open on first use. */
  constructor(options: ChannelOptions) {
    super(options);
    for (const ep of this.endpoints) {
      const pool = new ConnectionPool(
        ep.label,
        () => this.#open(ep, false),
        options.maxConnections ?? 8,
      );
      ep.load = pool;
      this.#pools.set(ep, pool);
    }
  }

  #pool(ep: Endpoint): ConnectionPool {
    return this.#pools.get(ep)!;
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
    return await this.tracked(op, this.#call(path, body, options, decode, op));
  }

  async #call<T>(
    path: string,
    body: unknown,
    options: CallOptions,
    decode: Decode<T> | undefined,
    op: Operation | undefined,
  ): Promise<T> {
    const text = JSON.stringify(body);
    return await this.failover.run(options, path, op, async (ep, reauthed, remaining) => {
      await this.ensureToken(options);
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (this.token !== undefined) headers["Authorization"] = this.token;
      const request: HttpRequest = { method: "POST", path, headers, body: text };
      const fresh = ALWAYS_NEW.has(path)
        ? "always"
        : options.idempotent === true
        ? "unless-same"
        : "never";
      const generation = this.authentications;
      return await this.#pool(ep).exchange(
        request,
        remaining,
        options.signal,
        fresh,
        (response) => {
          if (response.status === 200) {
            const json = parseJson(response.body);
            if (this.events.has("leaderChange")) this.failover.observeLeader(ep, path, json);
            return decode ? decode(json) : json as T;
          }
          const error = etcdErrorFromJson(
            errorJson(response.status, response.body),
            response.status,
          );
          if (!reauthed && this.isTokenRejection(error)) {
            this.dropToken(generation);
            throw new Reauth(error);
          }
          throw error;
        },
      );
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
    return await this.tracked(
      op,
      this.failover.run(
        options,
        request.path,
        op,
        (ep, _reauthed, remaining) =>
          this.#pool(ep).exchange(
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
    return await this.tracked(op, this.#rawDedicated(request, options, decode, op));
  }

  async #rawDedicated<T>(
    request: HttpRequest,
    options: CallOptions,
    decode: (response: HttpResponse) => T,
    op: Operation | undefined,
  ): Promise<T> {
    return await this.failover.run(options, request.path, op, async (ep, _reauthed, remaining) => {
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
    options: StreamOptions & { method?: HttpRequest["method"]; raw?: boolean } = {},
  ): Promise<ChannelStream> {
    await this.ensureToken({});
    const retry = { signal: options.signal, idempotent: true };
    return await this.failover.run(retry, path, options.operation, async (ep) => {
      const driver = await this.#open(ep, true);
      const headers: Record<string, string> = {};
      if (!options.raw) headers["Content-Type"] = "application/json";
      if (this.token !== undefined) headers["Authorization"] = this.token;
      const tokenGeneration = this.authentications;
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

  protected override async fetchToken(
    auth: { username: string; password: string },
    options: CallOptions,
  ): Promise<string> {
    const path = "/v3/auth/authenticate";
    const request: HttpRequest = {
      method: "POST",
      path,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: auth.username, password: auth.password }),
    };
    return await this.failover.run(
      options,
      path,
      undefined,
      (ep, _reauthed, remaining) =>
        this.#pool(ep).exchange(request, remaining, options.signal, "always", (response) => {
          if (response.status !== 200) {
            throw etcdErrorFromJson(errorJson(response.status, response.body), response.status);
          }
          const json = parseJson(response.body, true) as { token?: unknown };
          if (typeof json.token !== "string") throw new TypeError("the answer has no token");
          return json.token;
        }),
    );
  }

  async #open(ep: Endpoint, dedicated: boolean): Promise<Http1Driver> {
    const { host, port } = ep.address;
    ep.connecting();
    let transport;
    try {
      transport = await this.options.connect(ep.address, {
        timeout: this.options.connectTimeout ?? 5000,
        tls: this.options.tls,
      });
    } catch (error) {
      if (!this.isClosed) ep.connectFailed(error as Error);
      throw error;
    }
    if (this.isClosed) {
      transport.close();
      throw new ConnectionClosedError("etcd client was closed while connecting");
    }
    const machine = new Http1Connection({
      host: host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`,
      streamError: (r) => etcdErrorFromJson(errorJson(r.status, r.body), r.status),
      maxBodyBytes: this.options.maxResponseBytes,
      maxItemBytes: this.options.maxWatchMessageBytes,
      maxHeaderBytes: this.options.maxHeaderBytes,
    });
    const driver: Http1Driver = new Driver(machine, transport, {
      label: ep.label,
      silenceTimeout: dedicated ? undefined : this.options.silenceTimeout,
      onClose: (error) => {
        // A connection that broke the protocol or went unresponsive: try the others first.
        if (error instanceof RemoteProtocolError || isUnresponsive(error)) {
          this.failover.markDown(ep, error!);
        }
        ep.closed(driver);
        this.#pool(ep).removed(driver);
        this.#streams.delete(driver);
      },
    });
    if (dedicated) this.#streams.add(driver);
    ep.opened(driver, dedicated);
    return driver;
  }

  /** Closes every connection; calls in flight fail with `ConnectionClosedError`. */
  close(): void {
    if (!this.closeBase()) return;
    for (const pool of this.#pools.values()) pool.close();
    for (const d of [...this.#streams]) d.destroy();
  }
}

/** Paths whose true answer always differs from any earlier one (a new revision or id). */
const ALWAYS_NEW = new Set(["/v3/kv/put", "/v3/lease/grant"]);

/** True for the driver's liveness close: requests timed out with no byte received. */
function isUnresponsive(error: Error | undefined): boolean {
  return error instanceof UnresponsiveError;
}

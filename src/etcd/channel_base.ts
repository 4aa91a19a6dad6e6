// What both etcd channels (the JSON gateway's and native gRPC's) share: endpoints and failover,
// the auth token and its renewal, close hooks, and what an operator sees (events, stats, one
// Operation per call, a summary that never shows a secret).

import { EventHub } from "../core/events.ts";
import { Instrumenter, type Operation } from "../core/instrument.ts";
import { type ClientStats, summarizeStats } from "../core/observe.ts";
import { INSPECT_NODE, redactedRendering } from "../core/redact.ts";
import { collect, type Decode } from "./answer.ts";
import type {
  Address,
  CallInfo,
  CallOptions,
  ChannelOptions,
  ChannelSummary,
} from "./channel_options.ts";
import type { ChannelStream, StreamOptions } from "./etcd_channel.ts";
import { Endpoint } from "./endpoint.ts";
import { EtcdError } from "./errors.ts";
import { type EtcdEvents, operationOf } from "./events.ts";
import { Failover } from "./failover.ts";
import { num } from "./kv.ts";

/** Errors that say the auth token was not accepted (invalid, expired, or older than the store). */
const TOKEN_REJECTED = /invalid auth token|auth store is old|token/;

/**
 * The shared half of an etcd channel; a subclass sends the calls (`fetchToken` and its own
 * call methods) and closes its connections in `close`.
 *
 * @example
 * ```ts
 * import { Channel } from "@kvwire/kvwire/etcd";
 * import { connect } from "@kvwire/kvwire/transports/auto";
 * // Channel and GrpcChannel extend ChannelBase:
 * const channel = new Channel({ endpoints: [{ host: "127.0.0.1", port: 2379 }], connect });
 * console.log(channel.authentications); // 0
 * channel.close();
 * ```
 */
export abstract class ChannelBase {
  protected readonly options: ChannelOptions;
  protected readonly endpoints: Endpoint[];
  protected readonly failover: Failover;
  protected readonly instrumenter: Instrumenter;
  readonly #events: EventHub<EtcdEvents>;
  /** The auth token, once fetched (undefined: none yet, or dropped after a rejection). */
  protected token: string | undefined;
  #authing: Promise<void> | undefined;
  #authentications = 0;
  #closed = false;
  readonly #closeHooks = new Set<() => void>();

  /** Checks the options and builds the endpoints; connections open on first use. */
  constructor(options: ChannelOptions) {
    if (options.endpoints.length === 0) throw new TypeError("At least one endpoint is required");
    for (
      const name of [
        "maxResponseBytes",
        "maxWatchMessageBytes",
        "maxHeaderBytes",
        "silenceTimeout",
        "keepAliveInterval",
      ]
    ) {
      const value = options[name as keyof ChannelOptions];
      if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) > 0)) {
        throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
      }
    }
    this.options = options;
    this.#events = options.events ?? new EventHub<EtcdEvents>();
    this.instrumenter = options.instrumenter ?? new Instrumenter();
    this.endpoints = options.endpoints.map((a) => new Endpoint(a, this.#events));
    this.failover = new Failover(
      this.endpoints,
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
    return summarizeStats(this.endpoints.map((ep) => ep.stats()), this.#closed);
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
    const instrumenter = this.instrumenter;
    if (!instrumenter.enabled) return undefined;
    const { host, port } = this.failover.pick(0).address;
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
    this.instrumenter.end(op, error);
  }

  /** `work` as the operation `op`: ended when it settles. */
  protected async tracked<T>(op: Operation | undefined, work: Promise<T>): Promise<T> {
    if (op === undefined) return await work;
    try {
      const result = await work;
      this.instrumenter.end(op);
      return result;
    } catch (error) {
      this.instrumenter.end(op, error);
      throw error;
    }
  }

  /**
   * The safe description `JSON.stringify`, `console.log` and the inspect hooks show: endpoints,
   * TLS and the user name; never the password, the token or a TLS key.
   */
  toJSON(): ChannelSummary {
    const { tls, auth } = this.options;
    return {
      endpoints: this.endpoints.map((ep) => ep.name),
      tls: tls !== undefined && tls !== false,
      clientCertificate: typeof tls === "object" && tls.cert !== undefined,
      ...(auth ? { username: auth.username } : {}),
    };
  }

  /** Node's and Bun's inspect: the {@link toJSON} summary. */
  [INSPECT_NODE](): string {
    return redactedRendering(this.constructor.name, this.toJSON());
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
    return this.options.auth !== undefined && error instanceof EtcdError &&
      TOKEN_REJECTED.test(error.message);
  }

  /**
   * Fetches a new token after a stream was refused, unless one was fetched since the token of
   * `generation` (the `tokenGeneration` of a stream) was sent: concurrent streams refused with
   * the same stale token renew it once.
   */
  async renewToken(generation: number, options: CallOptions = {}): Promise<void> {
    if (!this.options.auth) return;
    if (this.#authing) return await this.#authing;
    if (this.#authentications !== generation && this.token !== undefined) return;
    this.token = undefined;
    await this.authenticate(options);
  }

  /** The endpoint the next call goes to first. */
  get currentEndpoint(): Address {
    return this.failover.preferred.address;
  }

  /** Waits for a token being fetched, and fetches one when `auth` is set and none is held. */
  protected async ensureToken(options: CallOptions): Promise<void> {
    if (this.#authing) await this.#authing;
    if (this.options.auth && this.token === undefined) await this.authenticate(options);
  }

  /**
   * After the server refused the token of `generation`: only the first call refused with it
   * drops it, the others of a burst retry with the one that call fetches.
   */
  protected dropToken(generation: number): void {
    if (this.#authentications === generation) this.token = undefined;
  }

  /** Fetches a token (one fetch at a time; concurrent callers share it). */
  protected async authenticate(options: CallOptions): Promise<void> {
    this.#authing ??= this.tracked(
      this.startOperation("Authenticate"),
      (async () => {
        this.token = await this.fetchToken(this.options.auth!, options);
        this.#authentications++;
      })(),
    ).finally(() => (this.#authing = undefined));
    await this.#authing;
  }

  /**
   * Runs one blocking call (lock, campaign) as a stream of its own (see `openStream`). When the server
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
    return await this.tracked(op, this.#callDedicated(path, body, options, decode, op));
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

  /**
   * Refreshes lease `id` once and returns its new TTL in seconds (0: it expired): one
   * `/v3/lease/keepalive` call (the gRPC channel overrides it with its shared stream).
   */
  async keepAlive(id: bigint, options: CallOptions = {}): Promise<number> {
    return await this.call(
      "/v3/lease/keepalive",
      { ID: String(id) },
      { ...options, idempotent: true },
      (json) => num(((json.result ?? json) as { TTL?: unknown }).TTL),
    );
  }

  /** One unary call by gateway path with a JSON body; the answer through `decode`. */
  abstract call<T = Record<string, unknown>>(
    path: string,
    body: unknown,
    options?: CallOptions,
    decode?: Decode<T>,
    about?: CallInfo,
  ): Promise<T>;

  /** Opens a stream (watch, snapshot, a blocking call) by gateway path. */
  abstract openStream(path: string, body: unknown, options?: StreamOptions): Promise<ChannelStream>;

  /** Asks the cluster for a token with the channel's credentials, failing over. */
  protected abstract fetchToken(
    auth: { username: string; password: string },
    options: CallOptions,
  ): Promise<string>;

  /** Closes the channel: runs the close hooks and closes the endpoints; true the first time. */
  protected closeBase(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    for (const hook of [...this.#closeHooks]) hook();
    this.#closeHooks.clear();
    for (const ep of this.endpoints) ep.close();
    return true;
  }
}

// A self-healing connection shared by every client (DESIGN.md §5): connects lazily, reconnects
// with capped full-jitter backoff, holds requests in a bounded offline queue meanwhile, and
// retries a request on a new connection only when it is known never to have been sent.

import { Backoff, type BackoffOptions } from "./backoff.ts";
import type { ProtocolConnection } from "./connection.ts";
import { FifoTable } from "./correlation.ts";
import { Driver, type ReplyHandler, type RequestOptions } from "./driver.ts";
import type { EventHub } from "./events.ts";
import {
  type ConnectionEvents,
  type ConnectionState,
  type ConnectionStats,
  describeError,
} from "./observe.ts";
import {
  AbortedError,
  ConnectionClosedError,
  QueueFullError,
  ServerError,
  TimeoutError,
} from "./errors.ts";
import type { StreamQueue } from "./stream_queue.ts";
import type { Transport } from "./transport.ts";

/** Reconnection settings. */
export interface ReconnectOptions extends BackoffOptions {
  /** Reconnect after a lost connection. Default true. */
  enabled?: boolean;
  /** Stop reconnecting after this many failed attempts in a row. Default Infinity. */
  maxAttempts?: number;
  /** Fail the queued requests after this many failed attempts in a row. Default 20. */
  failQueueAfterAttempts?: number;
}

/** Options of a {@link ManagedConnection}. */
export interface ManagedConnectionOptions<Req, Reply, Item, Push> {
  /** Opens a transport to the server. */
  connect: () => Promise<Transport>;
  /** Creates a fresh protocol machine per connection (it carries the handshake). */
  createMachine: () => ProtocolConnection<Req, Reply, Item, Push>;
  /** Label for messages, such as `"redis 127.0.0.1:6379"`. */
  label: string;
  /** Reconnection settings. */
  reconnect?: ReconnectOptions;
  /** Requests held while (re)connecting. Default 10,000; over it requests fail at once. */
  offlineQueueSize?: number;
  /** Receives server pushes. */
  onPush?: (push: Push) => void;
  /**
   * Runs on each new connection before queued requests go out (a ready check, re-subscribe,
   * re-watch). Its rejection fails the attempt.
   */
  onConnect?: (
    driver: Driver<Req, Reply, Item, Push>,
    isReconnect: boolean,
  ) => Promise<void> | void;
  /** Observes connection losses (for logging); the error never contains secrets. */
  onDisconnect?: (error: Error | undefined) => void;
  /** The driver's `silenceTimeout`: ms a connection may stay silent with requests in flight. */
  silenceTimeout?: number;
  /** Receives this connection's `connect`, `ready`, `disconnect`, `reconnecting`, `error`. */
  events?: EventHub<ConnectionEvents>;
  /** The address named in events and stats. Default: `label`. */
  address?: string;
}

/** Per-request options of a managed connection. */
export interface ManagedRequestOptions extends RequestOptions {
  /**
   * Replay the request on the next connection when the current one closed before it was
   * written. Default true; transactions turn it off so that no part runs on its own.
   */
  replayUnsent?: boolean;
}

interface Queued {
  start: (driver: Driver<unknown, unknown, unknown, unknown>) => void;
  fail: (error: Error) => void;
}

/**
 * One logical connection that survives reconnects.
 *
 * Theory of operation: states are idle → connecting → open → (lost → connecting)* → closed.
 * While not open, requests wait in a bounded FIFO, each with its own deadline and abort
 * signal. When a connection drops, requests that were never written are replayed on the next
 * one; requests that were written fail with `ConnectionClosedError` (`sent: true`), because
 * the server may have executed them.
 *
 * @example
 * ```ts
 * import { ManagedConnection } from "@kvwire/kvwire";
 * import { RedisConnection } from "@kvwire/kvwire/redis";
 * import { connect } from "@kvwire/kvwire/transports/auto";
 * const conn = new ManagedConnection({
 *   label: "redis 127.0.0.1:6379",
 *   connect: () => connect({ host: "127.0.0.1", port: 6379 }),
 *   createMachine: () => new RedisConnection(),
 * });
 * console.log(await conn.request(["PING"]));
 * await conn.close();
 * ```
 */
export class ManagedConnection<Req, Reply, Item = never, Push = never> {
  readonly #options: ManagedConnectionOptions<Req, Reply, Item, Push>;
  readonly #backoff: Backoff;
  #driver: Driver<Req, Reply, Item, Push> | undefined;
  #connecting: Promise<void> | undefined;
  #queue = new FifoTable<Queued>();
  #closed = false;
  #everConnected = false;
  #failures = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #lastError: Error | undefined;
  #state: ConnectionState = "idle";
  #reconnects = 0;
  /** Bytes of the connections before the current one. */
  #retiredIn = 0;
  #retiredOut = 0;

  /** Creates the connection; nothing happens until `open()` or the first request. */
  constructor(options: ManagedConnectionOptions<Req, Reply, Item, Push>) {
    this.#options = options;
    this.#backoff = new Backoff(options.reconnect);
  }

  /** The current driver when connected. */
  get driver(): Driver<Req, Reply, Item, Push> | undefined {
    return this.#driver?.isOpen ? this.#driver : undefined;
  }

  /** True once `close()` or `destroy()` was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** The address named in events and stats. */
  get address(): string {
    return this.#options.address ?? this.#options.label;
  }

  /**
   * This connection's counters, cumulative over reconnects.
   *
   * @example
   * ```ts
   * import { ManagedConnection } from "@kvwire/kvwire";
   * import { RedisConnection } from "@kvwire/kvwire/redis";
   * import { connect } from "@kvwire/kvwire/transports/auto";
   * const conn = new ManagedConnection({
   *   label: "redis 127.0.0.1:6379",
   *   connect: () => connect({ host: "127.0.0.1", port: 6379 }),
   *   createMachine: () => new RedisConnection(),
   * });
   * console.log(conn.stats().state); // "idle"
   * ```
   */
  stats(): ConnectionStats {
    const driver = this.#driver;
    const stats: ConnectionStats = {
      address: this.address,
      state: this.#closed ? "closed" : this.#state,
      inFlight: driver ? driver.pendingCount : 0,
      queued: this.#queue.size,
      reconnects: this.#reconnects,
      bytesIn: this.#retiredIn + (driver ? driver.bytesIn : 0),
      bytesOut: this.#retiredOut + (driver ? driver.bytesOut : 0),
    };
    if (this.#lastError) stats.lastError = describeError(this.#lastError);
    return stats;
  }

  #retire(driver: Driver<Req, Reply, Item, Push>): void {
    this.#retiredIn += driver.bytesIn;
    this.#retiredOut += driver.bytesOut;
  }

  #emit<Name extends keyof ConnectionEvents & string>(
    name: Name,
    event: ConnectionEvents[Name],
  ): void {
    const events = this.#options.events;
    if (events?.has(name)) events.emit(name, event);
  }

  /** Connects now; rejects with the first attempt's error (no retry for the first connect). */
  async open(): Promise<void> {
    if (this.#closed) throw new ConnectionClosedError(`${this.#options.label} is closed`);
    if (this.driver) return;
    await this.#connect();
    if (!this.driver) {
      throw this.#lastError ?? new ConnectionClosedError(`${this.#options.label} closed`);
    }
  }

  /** Sends a request on the current connection, or queues it while (re)connecting. */
  request(req: Req, options: ManagedRequestOptions = {}, name?: string): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) =>
      this.send(req, options, name, { reply: resolve, fail: reject })
    );
  }

  /**
   * The callback form of {@link request}: `handler` learns the outcome. A request the
   * connection dropped before writing it is sent again on the next connection (unless
   * `replayUnsent` is false); one that was written is never repeated.
   */
  send(
    req: Req,
    options: ManagedRequestOptions,
    name: string | undefined,
    handler: ReplyHandler<Reply>,
  ): void {
    const label = name ?? "Request";
    const driver = this.driver;
    if (driver) driver.send(req, options, label, handler);
    else {
      this.#enqueue(options, name, (error) => handler.fail(error), (d) => {
        (d as Driver<Req, Reply, Item, Push>).send(req, options, label, handler);
      });
    }
  }

  /** The driver's `retryUnsent`: a request refused before it was written is sent again. */
  #retryUnsent = (
    req: Req,
    options: ManagedRequestOptions,
    name: string,
    handler: ReplyHandler<Reply>,
  ): boolean => {
    if (this.#closed || options.signal?.aborted || options.replayUnsent === false) return false;
    this.send(req, options, name, handler);
    return true;
  };

  /** Opens a stream on the current connection (connecting first if needed). */
  async stream(
    req: Req,
    options: RequestOptions & { highWaterMark?: number } = {},
    name?: string,
  ): Promise<StreamQueue<Item>> {
    if (!this.driver) await this.open();
    return this.driver!.stream(req, options, name);
  }

  #enqueue(
    options: RequestOptions,
    name: string | undefined,
    reject: (error: Error) => void,
    start: (driver: Driver<unknown, unknown, unknown, unknown>) => void,
  ): void {
    const label = name ?? "Request";
    if (this.#closed) {
      reject(new ConnectionClosedError(`${this.#options.label} is closed; ${label} was not sent`));
      return;
    }
    const limit = this.#options.offlineQueueSize ?? 10_000;
    if (this.#queue.size >= limit) {
      const why = this.#lastError ? ` (last error: ${this.#lastError.message})` : "";
      reject(
        new QueueFullError(
          `${this.#options.label} is not connected and ${limit} requests wait${why}`,
        ),
      );
      return;
    }
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = (): void => finish(new AbortedError(`${label} was aborted before it was sent`));
    const finish = (error?: Error, driver?: Driver<unknown, unknown, unknown, unknown>): void => {
      if (done) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      if (error) reject(error);
      else start(driver!);
    };
    if (options.timeout !== undefined) {
      timer = setTimeout(() => {
        const why = this.#lastError ? `: ${this.#lastError.message}` : "";
        finish(
          new TimeoutError(
            `${label} timed out waiting for a connection to ${this.#options.label}${why}`,
          ),
        );
      }, options.timeout);
    }
    options.signal?.addEventListener("abort", onAbort, { once: true });
    this.#queue.push({ start: (d) => finish(undefined, d), fail: (e) => finish(e) });
    if (!this.#connecting && !this.#retryTimer) this.#connect().catch(() => {});
  }

  #connect(): Promise<void> {
    if (this.#state === "idle") this.#state = "connecting";
    this.#connecting ??= this.#attempt().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #attempt(): Promise<void> {
    let driver: Driver<Req, Reply, Item, Push> | undefined;
    try {
      const transport = await this.#options.connect();
      if (this.#closed) {
        transport.close();
        throw new ConnectionClosedError(`${this.#options.label} was closed while connecting`);
      }
      this.#emit("connect", { address: this.address, attempt: this.#failures + 1 });
      const created: Driver<Req, Reply, Item, Push> = new Driver(
        this.#options.createMachine(),
        transport,
        {
          label: this.#options.label,
          retryUnsent: this.#retryUnsent,
          onPush: this.#options.onPush,
          onClose: (error) => this.#lost(created, error),
          silenceTimeout: this.#options.silenceTimeout,
        },
      );
      driver = created;
      // The setup's replies come after the machine's handshake, so they prove it worked.
      await this.#options.onConnect?.(driver, this.#everConnected);
      if (this.#closed) {
        throw new ConnectionClosedError(`${this.#options.label} was closed while connecting`);
      }
      if (!driver.isOpen) {
        throw driver.closeReason ??
          new ConnectionClosedError(`${this.#options.label} closed during setup`);
      }
    } catch (error) {
      if (driver) {
        driver.destroy(error as Error);
        this.#retire(driver);
      }
      this.#lastError = error as Error;
      this.#failures++;
      if (!this.#closed) {
        this.#emit("error", { address: this.address, error: error as Error, source: "connect" });
      }
      if (error instanceof ServerError || this.#failures > this.#failQueueAfter) {
        this.#failAll(error as Error);
      }
      this.#scheduleRetry();
      throw error;
    }
    const reconnect = this.#everConnected;
    if (reconnect) this.#reconnects++;
    this.#everConnected = true;
    this.#failures = 0;
    this.#backoff.reset();
    this.#driver = driver;
    this.#state = "ready";
    this.#emit("ready", { address: this.address, reconnect });
    this.#flushQueue(driver);
  }

  get #failQueueAfter(): number {
    return this.#options.reconnect?.failQueueAfterAttempts ?? 20;
  }

  #flushQueue(driver: Driver<Req, Reply, Item, Push>): void {
    for (let q = this.#queue.shift(); q; q = this.#queue.shift()) {
      q.start(driver as unknown as Driver<unknown, unknown, unknown, unknown>);
    }
  }

  #lost(driver: Driver<Req, Reply, Item, Push>, error: Error | undefined): void {
    if (this.#driver !== driver) return; // not yet established: #attempt reports it
    this.#driver = undefined;
    this.#retire(driver);
    const willReconnect = !this.#closed && this.#options.reconnect?.enabled !== false;
    this.#state = willReconnect ? "reconnecting" : "closed";
    this.#options.onDisconnect?.(error);
    this.#emit("disconnect", { address: this.address, error, willReconnect });
    if (this.#closed) return;
    if (error) this.#lastError = error;
    if (!willReconnect) {
      this.#closed = true;
      this.#failAll(error ?? new ConnectionClosedError(`${this.#options.label} closed`));
      return;
    }
    this.#emit("reconnecting", { address: this.address, attempt: 1, delay: 0 });
    this.#connect().catch(() => {});
  }

  /** Retries after a backoff delay, unless closed or nobody is waiting on a first connect. */
  #scheduleRetry(): void {
    if (this.#closed || this.#retryTimer) return;
    const max = this.#options.reconnect?.maxAttempts ?? Infinity;
    if (this.#failures >= max || this.#options.reconnect?.enabled === false) {
      this.#failAll(
        this.#lastError ?? new ConnectionClosedError(`${this.#options.label} is unreachable`),
      );
      return;
    }
    if (!this.#everConnected && this.#queue.size === 0) return; // open() reports the error
    const delay = this.#backoff.next();
    if (this.#everConnected) this.#state = "reconnecting";
    this.#emit("reconnecting", { address: this.address, attempt: this.#failures + 1, delay });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#closed) this.#connect().catch(() => {});
    }, delay);
  }

  #failAll(error: Error): void {
    for (let q = this.#queue.shift(); q; q = this.#queue.shift()) q.fail(error);
  }

  /** Closes gracefully: waits for requests in flight, fails queued ones, stops reconnecting. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#failAll(
      new ConnectionClosedError(`${this.#options.label} was closed before the request was sent`),
    );
    await this.#driver?.close();
  }

  /** Closes at once: every pending request fails. */
  destroy(): void {
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#failAll(new ConnectionClosedError(`${this.#options.label} was destroyed`));
    this.#driver?.destroy();
  }
}

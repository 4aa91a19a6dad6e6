// One server of a memcache pool: a self-healing connection (ManagedConnection) plus
// python-memcached's dead-server bookkeeping (dead_retry) and flush_on_reconnect.

import type { ReplyHandler, RequestOptions } from "../core/driver.ts";
import { defaultConnect } from "../core/default_connect.ts";
import { EventHub } from "../core/events.ts";
import { ManagedConnection } from "../core/managed_connection.ts";
import { type ConnectionEvents, describeError } from "../core/observe.ts";
import type { ProtocolConnection } from "../core/connection.ts";
import type { Connect, TlsOptions } from "../core/transport.ts";
import { BinaryConnection, type BinaryConnectionOptions } from "./binary_connection.ts";
import type { MemcacheProtocol, ServerSpec } from "./client_options.ts";
import { ConnectError, ServerError } from "../core/errors.ts";
import type { SaslCredentials } from "./credentials.ts";
import { ServerDeadError } from "./errors.ts";
import { MetaConnection } from "./meta_connection.ts";
import type { MemcacheEvents, MemcacheMemberStats } from "./observe.ts";
import { TextConnection } from "./text_connection.ts";
import type { MemcacheReply, MemcacheRequest } from "./types.ts";

/** What a {@link ServerNode} needs to know. */
export interface ServerNodeOptions {
  /** The protocol to speak. */
  protocol: MemcacheProtocol;
  /** SASL PLAIN credentials (binary protocol). */
  sasl?: SaslCredentials;
  /** TLS on, or its options. */
  tls?: boolean | TlsOptions;
  /** Connect timeout, in milliseconds. */
  connectTimeout?: number;
  /** How long a dead server is skipped, in milliseconds. */
  deadRetry?: number;
  /** Flush the server when it reconnects after being dead. */
  flushOnReconnect?: boolean;
  /** Requests held while the server (re)connects. */
  offlineQueueSize?: number;
  /** Ms a connection may stay silent with requests in flight before it is closed. */
  silenceTimeout?: number;
  /** Largest value accepted in a reply, in bytes (the machines' `maxValueLength`). */
  maxValueSize?: number;
  /** The transport connector. */
  connect?: Connect;
  /** Monotonic clock in milliseconds. Default `performance.now()`. */
  now?: () => number;
  /** Receives the server's connection events and `serverDown`/`serverUp`. */
  events?: EventHub<MemcacheEvents>;
}

/**
 * Creates the machine for a protocol.
 *
 * @example
 * ```ts
 * import { createMemcacheMachine } from "@kvwire/kvwire/memcache";
 * const machine = createMemcacheMachine("meta", { maxValueLength: 4 * 1024 * 1024 });
 * ```
 */
export function createMemcacheMachine(
  protocol: MemcacheProtocol,
  options: BinaryConnectionOptions = {},
): ProtocolConnection<MemcacheRequest, MemcacheReply> {
  if (protocol === "binary") return new BinaryConnection(options);
  const limits = { maxValueLength: options.maxValueLength };
  if (protocol === "text") return new TextConnection(limits);
  return new MetaConnection(limits);
}

/**
 * A pooled server. Requests go to its managed connection, which connects on first use,
 * replays requests a dropped connection never sent, and reconnects at once after a loss.
 *
 * Theory of operation: a failed connection attempt (refused, TLS, timeout, or the version
 * probe that follows each connect) marks the server dead for `deadRetry` ms: requests queued
 * for it fail with that error, and new ones fail at once with `ServerDeadError` (the client
 * may fail them over) without touching the network. So does a connection lost while open:
 * reset, closed by the server, failed by a bad reply, or closed by the driver because a
 * request timed out with nothing received (liveness), as python-memcached marks a server
 * dead on any socket error or timeout. The first request after `deadRetry`
 * tries again. With `flushOnReconnect`, a server that failed or lost its connection is
 * flushed before anything else is sent on its next connection.
 *
 * @example
 * ```ts
 * import { parseServer, ServerNode } from "@kvwire/kvwire/memcache";
 * const node = new ServerNode(parseServer("127.0.0.1:11211"), { protocol: "meta" });
 * await node.request({ op: "version" }, {}, "VERSION");
 * await node.close();
 * ```
 */
export class ServerNode {
  /** The server this node talks to. */
  readonly spec: ServerSpec;
  readonly #options: ServerNodeOptions;
  readonly #now: () => number;
  #conn: ManagedConnection<MemcacheRequest, MemcacheReply>;
  #deadUntil = 0;
  #flushOnNextConnect = false;
  #version: string | undefined;
  #lastError: Error | undefined;
  /** Marked dead and not yet back (serverDown was emitted, serverUp is owed). */
  #down = false;
  /** The serverDown of a connection loss, told right after its disconnect. */
  #owedDown: MemcacheEvents["serverDown"] | undefined;
  #losing = false;
  /** The error of the last attempt skipped because the server is dead (not an event). */
  #skipped: Error | undefined;
  /** Counters of the connections `reset()` replaced. */
  #retired = { reconnects: 0, bytesIn: 0, bytesOut: 0 };

  /** Creates the node; nothing connects until `open()` or the first request. */
  constructor(spec: ServerSpec, options: ServerNodeOptions) {
    this.spec = spec;
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#conn = this.#newConnection();
  }

  /** `memcache host:port`, for messages. */
  get label(): string {
    return `memcache ${this.spec.label}`;
  }

  /** True while the server is left alone after a failure. */
  get isDead(): boolean {
    return this.#deadUntil > this.#now();
  }

  /** The version the server reported on the last connect. */
  get version(): string | undefined {
    return this.#version;
  }

  /** True while a connection is open. */
  get isConnected(): boolean {
    return this.#conn.driver !== undefined;
  }

  /** Marks the server dead for `deadRetry` ms (python-memcached's `mark_dead`). */
  markDead(error?: Error): void {
    if (error) this.#lastError = error;
    const retryIn = this.#options.deadRetry ?? 30_000;
    this.#deadUntil = this.#now() + retryIn;
    if (this.#options.flushOnReconnect) this.#flushOnNextConnect = true;
    if (this.#down) return;
    this.#down = true;
    const events = this.#options.events;
    if (events?.has("serverDown")) {
      const why = this.#lastError ?? new ServerDeadError(`${this.label} was marked dead`);
      const down = { address: this.spec.label, error: why, retryIn };
      if (this.#losing) this.#owedDown = down;
      else events.emit("serverDown", down);
    }
  }

  /**
   * The hub the connection reports to: its events go on to the client's, except the attempt
   * skipped right after a loss because the server is dead (no connection was tried), and with
   * the loss's `serverDown` right after its `disconnect`.
   */
  #connectionEvents(): EventHub<ConnectionEvents> | undefined {
    const events = this.#options.events;
    if (events === undefined) return undefined;
    const hub = new EventHub<ConnectionEvents>();
    hub.onAny((name, event) => {
      if (name === "error" && (event as ConnectionEvents["error"]).error === this.#skipped) return;
      events.emit(name, event as MemcacheEvents[typeof name]);
      if (name !== "disconnect") return;
      this.#losing = false;
      const down = this.#owedDown;
      this.#owedDown = undefined;
      if (down) events.emit("serverDown", down);
    });
    return hub;
  }

  /** Forgets that the server failed (python-memcached's `forget_dead_hosts`). */
  revive(): void {
    this.#deadUntil = 0;
  }

  /**
   * The server's connection counters (cumulative over reconnects and `reset()`) and whether it
   * is marked dead.
   *
   * @example
   * ```ts
   * import { parseServer, ServerNode } from "@kvwire/kvwire/memcache";
   * const node = new ServerNode(parseServer("127.0.0.1:11211"), { protocol: "meta" });
   * console.log(node.stats()); // { address: "127.0.0.1:11211", state: "idle", ..., dead: false }
   * ```
   */
  stats(): MemcacheMemberStats {
    const stats = this.#conn.stats();
    const retired = this.#retired;
    stats.reconnects += retired.reconnects;
    stats.bytesIn += retired.bytesIn;
    stats.bytesOut += retired.bytesOut;
    if (stats.lastError === undefined && this.#lastError) {
      stats.lastError = describeError(this.#lastError);
    }
    return { ...stats, dead: this.isDead };
  }

  /** Sends a request; `handler` learns the outcome, once. */
  send(
    request: MemcacheRequest,
    options: RequestOptions,
    name: string,
    handler: ReplyHandler<MemcacheReply>,
  ): void {
    if (this.isDead) {
      handler.fail(this.#deadError());
      return;
    }
    this.#conn.send(request, options, name, handler);
  }

  /** The Promise form of {@link send}. */
  request(request: MemcacheRequest, options: RequestOptions, name: string): Promise<MemcacheReply> {
    return new Promise((resolve, reject) =>
      this.send(request, options, name, { reply: resolve, fail: reject })
    );
  }

  /** Connects now (unless dead); rejects with the attempt's error. */
  async open(): Promise<void> {
    if (this.isDead) throw this.#deadError();
    await this.#conn.open();
  }

  /** Closes gracefully, then starts over with a fresh connection on next use. */
  async reset(): Promise<void> {
    const old = this.#conn;
    this.#conn = this.#newConnection();
    await old.close();
    const last = old.stats();
    this.#retired.reconnects += last.reconnects + (last.bytesOut > 0 ? 1 : 0);
    this.#retired.bytesIn += last.bytesIn;
    this.#retired.bytesOut += last.bytesOut;
  }

  /** Closes gracefully: waits for requests in flight. */
  async close(): Promise<void> {
    await this.#conn.close();
  }

  /** Closes at once: pending requests fail. */
  destroy(): void {
    this.#conn.destroy();
  }

  #deadError(): ServerDeadError {
    const left = Math.max(0, Math.ceil(this.#deadUntil - this.#now()));
    const why = this.#lastError ? ` after: ${this.#lastError.message}` : "";
    return new ServerDeadError(`${this.label} is marked dead for ${left} ms more${why}`, {
      cause: this.#lastError,
    });
  }

  #newConnection(): ManagedConnection<MemcacheRequest, MemcacheReply> {
    const options = this.#options;
    const connect = options.connect ?? defaultConnect;
    const timeout = options.connectTimeout ?? 3000;
    const sasl = options.sasl;
    return new ManagedConnection<MemcacheRequest, MemcacheReply>({
      label: this.label,
      address: this.spec.label,
      events: this.#connectionEvents(),
      connect: async () => {
        // Marked dead by the loss that triggered this reconnect: no attempt until deadRetry.
        if (this.isDead) throw (this.#skipped = this.#deadError());
        try {
          return await connect(this.spec.address, { timeout, tls: options.tls });
        } catch (error) {
          this.markDead(error as Error);
          throw error;
        }
      },
      createMachine: () =>
        createMemcacheMachine(options.protocol, { sasl, maxValueLength: options.maxValueSize }),
      // One attempt per demand: a server that can't be reached is marked dead instead of
      // being retried in the background; the first request after deadRetry tries again.
      reconnect: { maxAttempts: 1, failQueueAfterAttempts: 0 },
      offlineQueueSize: options.offlineQueueSize,
      silenceTimeout: options.silenceTimeout,
      onConnect: async (driver) => {
        try {
          // The probe's reply follows the handshake (SASL), so it proves the server usable.
          const reply = await driver.request({ op: "version" }, { timeout }, "VERSION");
          if (reply.type === "version") this.#version = reply.version;
          if (this.#flushOnNextConnect) {
            await driver.request({ op: "flush" }, { timeout }, "FLUSH_ALL");
            this.#flushOnNextConnect = false;
          }
        } catch (error) {
          this.markDead(error as Error);
          // A refusal (SASL) is the answer callers need; anything else means the server is
          // unusable, and the requests waiting for it were never sent.
          if (error instanceof ServerError) throw error;
          throw new ConnectError(
            `${this.label} failed its check after connecting: ${(error as Error).message}`,
            { cause: error },
          );
        }
        this.#deadUntil = 0;
        if (this.#down) {
          this.#down = false;
          options.events?.emit("serverUp", { address: this.spec.label });
        }
      },
      // python-memcached's mark_dead rule: a connection lost to anything but our own close
      // (a timeout on a server gone silent, which the driver closes, a reset, a bad reply)
      // marks the server dead for deadRetry, so that failover moves its keys.
      onDisconnect: (error) => {
        this.#losing = true;
        if (error) this.markDead(error);
      },
    });
  }
}

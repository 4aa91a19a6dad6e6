// The tunnel relay, runtime-neutral: options, limits, counters and structured logs. Each
// accepted connection (any Transport) goes through `handle()`; runtime adapters only accept
// sockets and pass a connector and a resolver (see transports/tunnel_server.ts).

import type { Connect, TlsOptions, Transport } from "../core/transport.ts";
import { AllowList } from "./allow_list.ts";
import { ConnectionGate } from "./gate.ts";
import type { Resolve } from "./policy.ts";
import { refuseAtAccept, runSession, type SessionContext } from "./session.ts";
import { importTunnelSecret, type TunnelSecret } from "./token.ts";

/**
 * One structured log record. Never carries a token, a secret or a query string. `refused` and
 * failed `close` records carry `failure`, the {@link FailureClass} (`dns`, `refused`, `tls`,
 * `timeout`, `policy`, `limit`...); a failed dial lists its `attempts` (address, class and the
 * connector's message, e.g. the TLS verification error).
 */
export interface TunnelLogEntry {
  /** `http`, `refused`, `open`, `close`, `error`. */
  readonly event: string;
  /** Session number, unique per relay. */
  readonly id: number;
  /** The client's address. */
  readonly remote: string;
  /** Event-specific fields (target, code, reason, byte counts...). */
  readonly [field: string]: unknown;
}

/** Options of {@link TunnelRelay.create}. */
export interface TunnelRelayOptions {
  /** Shared secrets for tokens (first signs new tokens elsewhere; all verify). Required... */
  secrets?: readonly TunnelSecret[];
  /** ...unless this is set: accept any client without a token. Never do this in production. */
  insecureNoAuth?: boolean;
  /** The targets that may be dialled (entries or a parsed list). Required; empty refuses all. */
  allow: string | readonly string[] | AllowList;
  /** Opens the outbound TCP/TLS connection. */
  connect: Connect;
  /** Resolves target names. */
  resolve: Resolve;
  /**
   * Connections at most, counting those still in the WebSocket handshake; more are answered
   * `503` at accept, before a byte is read. Default 256.
   */
  maxConnections?: number;
  /** Handshakes in progress from one client IP at most; more are answered `429`. Default 64. */
  maxHandshakesPerIp?: number;
  /** Close a tunnel after this many ms without data either way (0: never). Default 300,000. */
  idleTimeout?: number;
  /** Largest WebSocket message accepted from a client, bytes. Default 1 MiB. */
  maxMessageSize?: number;
  /** Milliseconds to resolve and connect (TLS included) to a target. Default 10,000. */
  connectTimeout?: number;
  /** Milliseconds for a client to send its request head. Default 10,000. */
  handshakeTimeout?: number;
  /** Largest receive window a client may ask for, bytes. Default 16 MiB. */
  maxWindow?: number;
  /** Most frames one message may come in (empty fragments count); more close with 1009. Default 128. */
  maxFragments?: number;
  /**
   * Length of a client's budget window, ms. Each tunnel's client may send at most
   * `maxFramesPerWindow` frames and `maxBytesPerWindow` bytes (frame headers included) per
   * window; over that, the relay stops reading it until the budget recovers (TCP slows the
   * client down; nothing is buffered). Default 1,000.
   */
  budgetWindow?: number;
  /** Frames per budget window (data, text, control, empty: all count); 0: no limit. Default 20,000. */
  maxFramesPerWindow?: number;
  /** Bytes per budget window; 0: no limit. Default 64 MiB. */
  maxBytesPerWindow?: number;
  /**
   * Milliseconds a write to a client (data, pong) may wait for the client socket to drain;
   * a client that does not read for that long is dropped. Default 30,000.
   */
  drainTimeout?: number;
  /** TLS settings for targets dialled with `tls=1` (a CA for private servers, say). */
  targetTls?: Omit<TlsOptions, "serverName">;
  /** Receives structured log records. Default: none. */
  log?: (entry: TunnelLogEntry) => void;
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** Counters of a relay. */
export interface TunnelRelayStats {
  /** Tunnels open now (upgraded, not yet closed). */
  readonly active: number;
  /** Connections still in the WebSocket handshake (they count toward `maxConnections`). */
  readonly handshaking: number;
  /** Tunnels that reached `open`. */
  readonly opened: number;
  /** Connections refused (at accept for a limit, or before or while dialling). */
  readonly refused: number;
  /** Largest number of bytes one session held in buffers at once. */
  readonly maxSessionBuffered: number;
}

/**
 * A WebSocket-to-TCP relay. Give it accepted connections with `handle()`.
 *
 * @example
 * ```ts
 * import { TunnelRelay } from "@kvwire/kvwire/tunnel";
 * import { connect } from "@kvwire/kvwire/transports/auto";
 * const relay = await TunnelRelay.create({
 *   secrets: ["a-long-random-secret-of-32-bytes-or-more!"],
 *   allow: ["127.0.0.1:6379"],
 *   connect,
 *   resolve: () => Promise.resolve([]),
 * });
 * // for each accepted socket wrapped as a Transport: relay.handle(transport, "1.2.3.4:5678");
 * ```
 */
export class TunnelRelay {
  readonly #context: SessionContext;
  readonly #sessions = new Set<Transport>();
  readonly #gate: ConnectionGate;
  #nextId = 1;
  #stats = { active: 0, opened: 0, refused: 0, maxSessionBuffered: 0 };

  private constructor(context: SessionContext, maxHandshakesPerIp: number) {
    this.#context = context;
    this.#gate = new ConnectionGate({
      maxConnections: context.maxConnections,
      maxHandshakesPerIp,
    });
  }

  /** Checks the options and imports the secrets. Throws TypeError/RangeError for bad options. */
  static async create(options: TunnelRelayOptions): Promise<TunnelRelay> {
    const secrets = options.secrets ?? [];
    if (!options.insecureNoAuth && secrets.length === 0) {
      throw new TypeError("A tunnel relay needs at least one secret (or insecureNoAuth: true)");
    }
    const allow = options.allow instanceof AllowList
      ? options.allow
      : AllowList.parse(options.allow);
    const positive = (name: string, value: number | undefined, fallback: number): number => {
      const v = value ?? fallback;
      if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${name} must be >= 0, got ${v}`);
      return v;
    };
    const keys = await Promise.all(secrets.map(importTunnelSecret));
    const relay: TunnelRelay = new TunnelRelay({
      secrets: keys,
      insecureNoAuth: options.insecureNoAuth === true,
      allow,
      connect: options.connect,
      resolve: options.resolve,
      maxConnections: positive("maxConnections", options.maxConnections, 256),
      idleTimeout: positive("idleTimeout", options.idleTimeout, 300_000),
      maxMessageSize: positive("maxMessageSize", options.maxMessageSize, 1024 * 1024),
      connectTimeout: positive("connectTimeout", options.connectTimeout, 10_000),
      handshakeTimeout: positive("handshakeTimeout", options.handshakeTimeout, 10_000),
      maxWindow: positive("maxWindow", options.maxWindow, 16 * 1024 * 1024),
      maxFragments: positive("maxFragments", options.maxFragments, 128),
      budget: {
        window: Math.max(1, positive("budgetWindow", options.budgetWindow, 1000)),
        frames: positive("maxFramesPerWindow", options.maxFramesPerWindow, 20_000),
        bytes: positive("maxBytesPerWindow", options.maxBytesPerWindow, 64 * 1024 * 1024),
      },
      drainTimeout: positive("drainTimeout", options.drainTimeout, 30_000),
      targetTls: options.targetTls,
      log: options.log ?? (() => {}),
      now: options.now ?? Date.now,
      counters: {
        active: () => relay.#stats.active,
        enter: () => relay.#stats.active++,
        leave: () => relay.#stats.active--,
        opened: () => relay.#stats.opened++,
        refused: () => relay.#stats.refused++,
        buffered: (n) => {
          if (n > relay.#stats.maxSessionBuffered) relay.#stats.maxSessionBuffered = n;
        },
      },
    }, positive("maxHandshakesPerIp", options.maxHandshakesPerIp, 64));
    return relay;
  }

  /** Counters: open tunnels, handshakes in progress, totals, the largest buffering seen. */
  get stats(): TunnelRelayStats {
    return { ...this.#stats, handshaking: this.#gate.handshakes };
  }

  /** The allow-list in force. */
  get allow(): AllowList {
    return this.#context.allow;
  }

  /**
   * Serves one accepted connection (a health request or a tunnel) until it ends. `remote` is
   * the client's `ip:port` (the IP counts handshakes per address). Never rejects; closes
   * `client` when done.
   */
  async handle(client: Transport, remote: string): Promise<void> {
    const id = this.#nextId++;
    const who = { id, remote };
    this.#sessions.add(client);
    const ticket = this.#gate.enter(remote.slice(0, remote.lastIndexOf(":")));
    try {
      if (typeof ticket === "string") await refuseAtAccept(this.#context, client, who, ticket);
      else await runSession(this.#context, client, who, ticket);
    } catch (error) {
      this.#context.log({ event: "error", ...who, message: String(error) });
    } finally {
      if (typeof ticket !== "string") ticket.release();
      this.#sessions.delete(client);
      client.close();
    }
  }

  /** Drops every connection being served (a server shutting down). */
  closeAll(): void {
    for (const client of this.#sessions) client.close();
  }
}

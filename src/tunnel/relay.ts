// The tunnel relay, runtime-neutral: options, limits, counters and structured logs. Each
// accepted connection (any Transport) goes through `handle()`; runtime adapters only accept
// sockets and pass a connector and a resolver (see transports/tunnel_server.ts).

import type { Connect, TlsOptions, Transport } from "../core/transport.ts";
import { AllowList } from "./allow_list.ts";
import type { Resolve } from "./policy.ts";
import { runSession, type SessionContext } from "./session.ts";
import { importTunnelSecret, type TunnelSecret } from "./token.ts";

/** One structured log record. Never carries a token, a secret or a query string. */
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
  /** Open tunnels at most; more are closed with 4429. Default 256. */
  maxConnections?: number;
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
  /** Tunnels that reached `open`. */
  readonly opened: number;
  /** Tunnels refused before dialling. */
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
  #nextId = 1;
  #stats = { active: 0, opened: 0, refused: 0, maxSessionBuffered: 0 };

  private constructor(context: SessionContext) {
    this.#context = context;
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
    });
    return relay;
  }

  /** Counters: open tunnels, totals, the largest per-session buffering seen. */
  get stats(): TunnelRelayStats {
    return { ...this.#stats };
  }

  /** The allow-list in force. */
  get allow(): AllowList {
    return this.#context.allow;
  }

  /**
   * Serves one accepted connection (a health request or a tunnel) until it ends. Never
   * rejects; closes `client` when done.
   */
  async handle(client: Transport, remote: string): Promise<void> {
    const id = this.#nextId++;
    this.#sessions.add(client);
    try {
      await runSession(this.#context, client, { id, remote });
    } catch (error) {
      this.#context.log({ event: "error", id, remote, message: String(error) });
    } finally {
      this.#sessions.delete(client);
      client.close();
    }
  }

  /** Drops every connection being served (a server shutting down). */
  closeAll(): void {
    for (const client of this.#sessions) client.close();
  }
}

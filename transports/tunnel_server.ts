// The tunnel relay's socket server: a `node:net` (or `node:tls`, for wss) listener that hands
// each accepted socket to the runtime-neutral TunnelRelay. Runs on Node, Deno and Bun.

import * as net from "node:net";
import * as tls from "node:tls";
import { lookup } from "node:dns/promises";
import { ConnectionClosedError } from "../src/core/errors.ts";
import {
  TunnelRelay,
  type TunnelRelayOptions,
  type TunnelRelayStats,
} from "../src/tunnel/relay.ts";
import type { Resolve } from "../src/tunnel/policy.ts";
import { connect as autoConnect } from "./auto.ts";
import type { Connect, Transport, TransportInfo } from "./types.ts";

// The server entry also carries the runtime-neutral tunnel API (tokens, allow-list, relay).
export * from "../src/tunnel/mod.ts";

/** Options of {@link serveTunnel}: the relay's, plus where to listen. */
export interface ServeTunnelOptions extends Omit<TunnelRelayOptions, "connect" | "resolve"> {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on; 0 picks a free one. Default 0. */
  port?: number;
  /** Serve wss: the relay's certificate chain and key (PEM). */
  tls?: { cert: string; key: string };
  /** Outbound connector. Default: the runtime's own (transports/auto.ts). */
  connect?: Connect;
  /** Name resolver. Default: the system resolver (`node:dns` lookup, all addresses). */
  resolve?: Resolve;
}

/** A running relay. */
export interface TunnelServer {
  /** Where it listens. */
  readonly address: { host: string; port: number };
  /** `ws://host:port/` or `wss://...`, for clients. */
  readonly url: string;
  /** The relay behind it: counters and the allow-list. */
  readonly relay: TunnelRelay;
  /** Counters: open tunnels, totals, largest per-session buffering. */
  readonly stats: TunnelRelayStats;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

/** The system resolver: every address of a name, as the OS returns them. */
export const systemResolve: Resolve = async (name: string): Promise<string[]> => {
  const answers = await lookup(name, { all: true, verbatim: true });
  return answers.map((a) => a.address);
};

/**
 * Starts a tunnel relay: WebSocket clients name a `host:port`, the relay checks their token and
 * its allow-list, dials, and relays bytes both ways with backpressure.
 *
 * @example
 * ```ts
 * import { serveTunnel } from "@kvwire/kvwire/tunnel/server";
 * const server = await serveTunnel({
 *   port: 8787,
 *   secrets: ["a-long-random-secret-of-32-bytes-or-more!"],
 *   allow: ["127.0.0.1:6379"],
 *   log: (entry) => console.log(JSON.stringify(entry)),
 * });
 * console.log(server.url); // "ws://127.0.0.1:8787/"
 * await server.close();
 * ```
 */
export async function serveTunnel(options: ServeTunnelOptions): Promise<TunnelServer> {
  const relay = await TunnelRelay.create({
    ...options,
    connect: options.connect ?? autoConnect,
    resolve: options.resolve ?? systemResolve,
  });
  const sockets = new Set<net.Socket>();
  const onSocket = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.setNoDelay(true);
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    void relay.handle(new AcceptedSocket(socket, remote, options.tls !== undefined), remote);
  };
  const server: net.Server = options.tls
    ? tls.createServer({ ...options.tls, allowHalfOpen: true }, onSocket)
    : net.createServer({ allowHalfOpen: true }, onSocket);
  server.on("tlsClientError", () => {}); // a client that fails the handshake is its problem
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    address: { host, port },
    url: `${options.tls ? "wss" : "ws"}://${shown}:${port}/`,
    relay,
    get stats(): TunnelRelayStats {
      return relay.stats;
    },
    async close(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      relay.closeAll();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

type Waiter<T> = { resolve: (value: T) => void; reject: (error: Error) => void };

/** An accepted socket as a Transport: paused unless a read waits, `drain` for `ready()`. */
class AcceptedSocket implements Transport {
  readonly info: TransportInfo;
  readonly closed: Promise<void>;
  #socket: net.Socket;
  #where: string;
  #chunks: Uint8Array[] = [];
  #eof = false;
  #failure: Error | undefined;
  #reader: Waiter<Uint8Array | null> | undefined;
  #readyWaiters: Waiter<void>[] = [];
  #ending: Promise<void> | undefined;
  #needDrain = false;

  constructor(socket: net.Socket, where: string, secure: boolean) {
    this.#socket = socket;
    this.#where = where;
    this.info = { kind: "tunnel-client", tls: secure, remoteAddress: where };
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.pause();
    socket.on("data", (data: Uint8Array) => {
      // A view, not a copy: each read is a fresh Buffer, and the relay copies what it keeps.
      this.#chunks.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      socket.pause();
      this.#settle();
    });
    socket.on("end", () => {
      this.#eof = true;
      this.#settle();
    });
    socket.on("error", (error: Error) => {
      this.#failure = new ConnectionClosedError(`Client ${where} failed: ${error.message}`);
      this.#settle();
      this.#wake();
    });
    socket.on("close", () => {
      this.#eof = true;
      this.#settle();
      this.#wake();
    });
    socket.on("drain", () => {
      this.#needDrain = false;
      this.#wake();
    });
  }

  get bufferedAmount(): number {
    return this.#socket.destroyed ? 0 : this.#socket.writableLength;
  }

  read(): Promise<Uint8Array | null> {
    if (this.#reader) return Promise.reject(new TypeError("read() is already pending"));
    const chunk = this.#chunks.shift();
    if (chunk) return Promise.resolve(chunk);
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#eof || this.#socket.destroyed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.#reader = { resolve, reject };
      this.#socket.resume();
    });
  }

  write(chunk: Uint8Array): boolean {
    if (this.#socket.destroyed || this.#ending) {
      throw new ConnectionClosedError(`Connection to client ${this.#where} closed`);
    }
    this.#needDrain = !this.#socket.write(chunk);
    return !this.#needDrain;
  }

  ready(): Promise<void> {
    if (this.#socket.destroyed) {
      return Promise.reject(new ConnectionClosedError(`Client ${this.#where} went away`));
    }
    if (!this.#needDrain) return Promise.resolve();
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  end(): Promise<void> {
    this.#ending ??= new Promise<void>((resolve) => {
      if (this.#socket.destroyed) resolve();
      else this.#socket.end(() => resolve());
    });
    return this.#ending;
  }

  close(): void {
    this.#socket.destroy();
  }

  #settle(): void {
    const reader = this.#reader;
    if (!reader) return;
    const chunk = this.#chunks.shift();
    if (!chunk && !this.#failure && !this.#eof) return;
    this.#reader = undefined;
    if (chunk) reader.resolve(chunk);
    else if (this.#failure) reader.reject(this.#failure);
    else reader.resolve(null);
  }

  #wake(): void {
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    const gone = this.#socket.destroyed;
    for (const waiter of waiters) {
      if (gone) waiter.reject(new ConnectionClosedError(`Client ${this.#where} went away`));
      else waiter.resolve();
    }
  }
}

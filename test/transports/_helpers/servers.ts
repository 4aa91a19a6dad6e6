// Test peers for the transport conformance suite: `node:net` / `node:tls` servers and memory
// pairs, both driven through one small pull-based `Peer` interface.

import * as net from "node:net";
import * as tls from "node:tls";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address, Connect, ConnectOptions, Transport } from "../../../transports/types.ts";
import { memoryConnector, type MemoryPairOptions } from "../../../transports/memory.ts";

/** The server side of one connection, pull-based: nothing is read until `read()` is called. */
export interface Peer {
  read(): Promise<Uint8Array | null>;
  /** Resolves once the bytes are handed to the OS (or the memory pair). */
  write(bytes: Uint8Array): Promise<void>;
  end(): Promise<void>;
  /** Drops the connection at once. */
  destroy(): void;
}

/** What a test server does with each accepted connection. */
export type Handler = (peer: Peer) => void | Promise<void>;

/** A running test server. */
export interface TestServer {
  address: Address;
  /** Connects a client with the transport under test. */
  connect(options?: ConnectOptions): Promise<Transport>;
  /** Resolves with the next accepted connection (in accept order). */
  accepted(): Promise<Peer>;
  /** Errors thrown by handlers (a handler whose client went away is not a failure). */
  handlerErrors: unknown[];
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

/** Options for {@link serveNet}. */
export interface NetServerOptions {
  tls?: { cert: string; key: string };
  unix?: boolean;
  /**
   * Keep writing after the client's FIN. Always on for plain TCP; opt-in for TLS, where Node 20
   * then never finishes `server.close()` after a client aborts its handshake.
   */
  tlsHalfOpen?: boolean;
}

/** Accept bookkeeping shared by both kinds of server. */
function acceptQueue(handler: Handler) {
  const peers: Peer[] = [];
  const waiters: ((peer: Peer) => void)[] = [];
  const handlerErrors: unknown[] = [];
  return {
    handlerErrors,
    accept(peer: Peer): void {
      const waiter = waiters.shift();
      if (waiter) waiter(peer);
      else peers.push(peer);
      Promise.resolve().then(() => handler(peer)).catch((error) => handlerErrors.push(error));
    },
    accepted(): Promise<Peer> {
      const peer = peers.shift();
      return peer ? Promise.resolve(peer) : new Promise((resolve) => waiters.push(resolve));
    },
  };
}

/**
 * Starts a `node:net` (or `node:tls`) server on 127.0.0.1 or a Unix socket in a temp dir.
 *
 * @example
 * ```ts
 * const server = await serveNet(connectNode, echo);
 * const t = await server.connect();
 * ```
 */
export async function serveNet(
  connect: Connect,
  handler: Handler,
  options: NetServerOptions = {},
): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const queue = acceptQueue(handler);
  const onSocket = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    queue.accept(socketPeer(socket));
  };
  const server = options.tls
    ? tls.createServer({ ...options.tls, allowHalfOpen: options.tlsHalfOpen ?? false }, onSocket)
    : net.createServer({ allowHalfOpen: true }, onSocket);
  server.on("tlsClientError", () => {}); // clients that reject our certificate are expected
  let dir: string | undefined;
  let address: Address;
  if (options.unix) {
    dir = mkdtempSync(join(tmpdir(), "kvwire-sock-"));
    const path = join(dir, "s.sock");
    await new Promise<void>((resolve) => server.listen(path, resolve));
    address = { path };
  } else {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    address = { host: "127.0.0.1", port: (server.address() as net.AddressInfo).port };
  }
  return {
    address,
    connect: (connectOptions) => connect(address, connectOptions),
    accepted: queue.accepted,
    handlerErrors: queue.handlerErrors,
    async close(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A memory "server": every connect creates a pair and runs the handler on the server side.
 *
 * @example
 * ```ts
 * const server = serveMemory(echo, { chunkSizes: [1, 7] });
 * const t = await server.connect();
 * ```
 */
export function serveMemory(handler: Handler, pairOptions: MemoryPairOptions = {}): TestServer {
  const servers = new Set<Transport>();
  const queue = acceptQueue(handler);
  const connect = memoryConnector((server) => {
    servers.add(server);
    queue.accept(transportPeer(server));
  }, pairOptions);
  const address = { host: "memory", port: 1 };
  return {
    address,
    connect: (options) => connect(address, options),
    accepted: queue.accepted,
    handlerErrors: queue.handlerErrors,
    close(): Promise<void> {
      for (const server of servers) server.close();
      return Promise.resolve();
    },
  };
}

/** Wraps a server-side socket: it stays paused except while a `read()` waits. */
export function socketPeer(socket: net.Socket): Peer {
  const chunks: Uint8Array[] = [];
  let eof = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  socket.pause();
  const settle = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  socket.on("data", (data: Uint8Array) => {
    chunks.push(data);
    socket.pause();
    settle();
  });
  socket.on("end", () => {
    eof = true;
    settle();
  });
  socket.on("error", (error) => {
    failure = error;
    settle();
  });
  socket.on("close", () => {
    eof = true;
    settle();
  });
  return {
    async read(): Promise<Uint8Array | null> {
      while (chunks.length === 0 && !eof && !failure) {
        socket.resume();
        await new Promise<void>((resolve) => (wake = resolve));
      }
      const chunk = chunks.shift();
      if (chunk) return chunk;
      if (failure) throw failure;
      return null;
    },
    write: (bytes) =>
      new Promise<void>((resolve, reject) =>
        socket.write(bytes, (error) => (error ? reject(error) : resolve()))
      ),
    end: () => new Promise<void>((resolve) => socket.end(() => resolve())),
    destroy: () => socket.destroy(),
  };
}

/** Wraps the server side of a memory pair. */
export function transportPeer(transport: Transport): Peer {
  return {
    read: () => transport.read(),
    async write(bytes): Promise<void> {
      if (!transport.write(bytes)) await transport.ready();
    },
    end: () => transport.end(),
    destroy: () => transport.close(new Error("peer destroyed the connection")),
  };
}

/** Echoes every byte back and ends after the client ends. */
export const echo: Handler = async (peer) => {
  for (let chunk = await peer.read(); chunk !== null; chunk = await peer.read()) {
    await peer.write(chunk);
  }
  await peer.end();
};

/** Accepts and then does nothing: never reads, never answers. */
export const silent: Handler = () => {};

/** FNV-1a over a byte stream, continued from `hash`. */
export function fnv1a(hash: number, bytes: Uint8Array): number {
  let h = hash;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/** The FNV-1a offset basis, the hash of nothing. */
export const FNV_START = 0x811c9dc5;

/** Deterministic pseudo-random bytes (xorshift32). */
export function patternBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A free loopback TCP port nobody listens on (listened on, then closed). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Fails with a clear message instead of hanging when `promise` does not settle in time. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

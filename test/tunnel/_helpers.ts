// Shared pieces of the tunnel tests: a WebSocket constructor for this runtime, guard listeners
// that count connections, a dial-recording connector that never leaves loopback, and a fake
// resolver (tests never query real DNS).

import * as net from "node:net";
import type { Address, Connect, ConnectOptions, Transport } from "../../transports/types.ts";
import { connect as autoConnect } from "../../transports/auto.ts";
import type { WebSocketConstructor } from "../../transports/websocket.ts";
import type { Resolve } from "../../src/tunnel/policy.ts";
import { ConnectError } from "../../src/core/errors.ts";

/** A secret long enough for the relay. */
export const SECRET = "test-secret-0123456789-abcdefghijklmnop";

/**
 * The global WebSocket (Deno, Bun, Node >= 22), else the `ws` package's (Node 20).
 *
 * @example
 * ```ts
 * const WebSocket = await webSocketClass();
 * ```
 */
export async function webSocketClass(): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global) return global;
  const ws = await import("ws");
  return ws.WebSocket as unknown as WebSocketConstructor;
}

/** A listener that must see no connection: it counts what it accepts. */
export interface Guard {
  port: number;
  /** Loopback addresses it listens on (127.0.0.1 always; 127.0.0.2 and ::1 when possible). */
  hosts: string[];
  accepted(): number;
  /**
   * Connects to the guard ourselves and waits for that connection to be accepted: accepts
   * happen in order, so any earlier connection (a relay that dialled) is counted by then.
   * Returns how many connections (not probes) arrived since the previous barrier.
   */
  barrier(): Promise<number>;
  close(): Promise<void>;
}

function listen(server: net.Server, port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, host, () => resolve(true));
  });
}

/**
 * Starts guard listeners on one port on every loopback address this machine allows.
 *
 * @example
 * ```ts
 * const guard = await startGuard();
 * assert.equal(await guard.barrier(), 0);
 * ```
 */
export async function startGuard(): Promise<Guard> {
  let count = 0;
  let probes = 0;
  let counted = 0;
  const sockets = new Set<net.Socket>();
  const seenPorts = new Set<number>();
  let onAccept: (() => void) | undefined;
  const make = (): net.Server =>
    net.createServer((socket) => {
      count++;
      sockets.add(socket);
      if (socket.remotePort !== undefined) seenPorts.add(socket.remotePort);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
      onAccept?.();
    });
  const first = make();
  await listen(first, 0, "127.0.0.1");
  const port = (first.address() as net.AddressInfo).port;
  const servers = [first];
  const hosts = ["127.0.0.1"];
  for (const host of ["127.0.0.2", "::1"]) {
    const server = make();
    if (await listen(server, port, host)) {
      servers.push(server);
      hosts.push(host);
    }
  }
  return {
    port,
    hosts,
    accepted: () => count - probes,
    async barrier(): Promise<number> {
      probes++;
      const probe = net.connect(port, "127.0.0.1");
      probe.on("error", () => {});
      await new Promise<void>((resolve) => probe.once("connect", () => resolve()));
      while (!seenPorts.has(probe.localPort!)) {
        await new Promise<void>((resolve) => (onAccept = resolve));
      }
      onAccept = undefined;
      probe.destroy();
      const fresh = count - probes - counted;
      counted += fresh;
      return fresh;
    },
    async close(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

/** Loopback only: 127.0.0.0/8 or ::1. */
export function isLoopback(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === "::1";
}

/** A connector that records every dial and refuses any non-loopback address outright. */
export interface SpyConnector {
  connect: Connect;
  dials: string[];
}

/**
 * Wraps the runtime's connector: records dials, never lets one leave loopback.
 *
 * @example
 * ```ts
 * const spy = spyConnector();
 * await serveTunnel({ ..., connect: spy.connect });
 * ```
 */
export function spyConnector(inner: Connect = autoConnect): SpyConnector {
  const dials: string[] = [];
  const connect: Connect = (address: Address, options?: ConnectOptions): Promise<Transport> => {
    const text = "path" in address ? address.path : `${address.host}:${address.port}`;
    dials.push(text);
    if ("path" in address || !isLoopback(address.host)) {
      return Promise.reject(new ConnectError(`Test policy: refusing to dial ${text}`));
    }
    return inner(address, options);
  };
  return { connect, dials };
}

/**
 * A resolver from a fixed table; unknown names fail like NXDOMAIN. No real DNS.
 *
 * @example
 * ```ts
 * const resolve = fakeResolver({ "cache.test": ["169.254.169.254"] });
 * ```
 */
export function fakeResolver(table: Record<string, string[]>): Resolve {
  return (name: string): Promise<string[]> => {
    const answer = table[name];
    return answer ? Promise.resolve(answer) : Promise.reject(new Error(`ENOTFOUND ${name}`));
  };
}

/**
 * A TCP echo server on 127.0.0.1 (half-close aware).
 *
 * @example
 * ```ts
 * const echo = await startEcho();
 * ```
 */
export async function startEcho(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    socket.pipe(socket);
  });
  await listen(server, 0, "127.0.0.1");
  return {
    port: (server.address() as net.AddressInfo).port,
    async close(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

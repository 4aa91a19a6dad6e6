// The hostile-server kit: a loopback TCP server that answers a protocol through a small
// per-protocol responder and injects one fault per connection (silence, drops, duplicates,
// reordering, pre-sent bytes, dripping, replaced replies); later connections can be healthy.

import * as net from "node:net";
import process from "node:process";
import { setImmediate } from "node:timers";

/** What a connection does wrong; requests are counted from 0, handshake steps not counted. */
export type Fault =
  | { kind: "none" }
  /** Answer `after` requests (default 0), then read everything and answer nothing. */
  | { kind: "silent"; after?: number }
  /** Never answer request #at; answer the others. */
  | { kind: "drop"; at: number }
  /** Send the reply to request #at twice. */
  | { kind: "duplicate"; at: number }
  /** Send the replies to #at and #at+1 swapped. */
  | { kind: "reorder"; at: number }
  /** Write `bytes` right after the handshake replies (at accept without a handshake). */
  | { kind: "presend"; bytes: Uint8Array }
  /** Write every reply one byte at a time. */
  | { kind: "drip" }
  /** Answer #at with `bytes`, then go silent (default), close, or go on normally. */
  | { kind: "replace"; at: number; bytes: Uint8Array; then?: "silent" | "close" | "continue" }
  /** Close the socket when request #at arrives. */
  | { kind: "close"; at: number };

/** Per-connection state a responder may keep; `index` is the accept order from 0. */
export interface HostileSession {
  readonly index: number;
  readonly state: Map<string, unknown>;
}

/** How to read requests off a connection and answer them. */
export interface HostileProtocol<Req> {
  /** Splits one request off the front of `buffer`, or undefined when it is incomplete. */
  parse(buffer: Uint8Array): { request: Req; length: number } | undefined;
  /** The reply bytes for a request; `handshake: true` marks handshake steps. */
  respond(request: Req, session: HostileSession): { bytes: Uint8Array; handshake?: boolean };
  /** True when the client opens with handshake requests (a presend then follows them). */
  hasHandshake?: boolean;
}

/** A running hostile server. */
export interface HostileServer {
  readonly host: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Non-handshake requests received, all connections. */
  readonly requests: number;
  /** Sets the fault of connections accepted from now on. */
  setFaults(faultFor: (connectionIndex: number) => Fault): void;
  /** Resolves once `requests >= n`. */
  waitForRequests(n: number): Promise<void>;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

const NO_FAULT: Fault = { kind: "none" };

/**
 * Starts a hostile server on a free loopback port.
 *
 * @example
 * ```ts
 * const server = await startHostileServer(respProtocol, (i) => i === 0 ? { kind: "silent" } : { kind: "none" });
 * // connect a client to server.host:server.port; its first connection goes silent
 * await server.close();
 * ```
 */
export async function startHostileServer<Req>(
  protocol: HostileProtocol<Req>,
  faultFor: (connectionIndex: number) => Fault = () => NO_FAULT,
): Promise<HostileServer> {
  let faults = faultFor;
  let accepted = 0;
  let requests = 0;
  const sockets = new Set<net.Socket>();
  const waiters: { n: number; resolve: () => void }[] = [];
  const counted = (): void => {
    requests++;
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (requests >= waiters[i].n) waiters.splice(i, 1)[0].resolve();
    }
  };

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const session: HostileSession = { index: accepted++, state: new Map() };
    serve(socket, protocol, faults(session.index), session, counted);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    host: "127.0.0.1",
    port,
    get accepted() {
      return accepted;
    },
    get requests() {
      return requests;
    },
    setFaults(next) {
      faults = next;
    },
    waitForRequests(n) {
      if (requests >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs one connection: parses requests, answers them through `fault`. */
function serve<Req>(
  socket: net.Socket,
  protocol: HostileProtocol<Req>,
  fault: Fault,
  session: HostileSession,
  counted: () => void,
): void {
  let buffer: Uint8Array = new Uint8Array(0);
  let index = 0; // non-handshake requests seen on this connection
  let silent = false;
  let presendDone = fault.kind !== "presend";
  let held: Uint8Array | undefined; // the reply held back by "reorder"
  let dripping = Promise.resolve();

  const write = (bytes: Uint8Array): void => {
    if (bytes.length === 0 || socket.destroyed) return;
    if (fault.kind !== "drip") {
      socket.write(bytes);
      return;
    }
    dripping = dripping.then(async () => {
      for (const byte of bytes) {
        if (socket.destroyed) return;
        await new Promise<void>((resolve) => socket.write(Uint8Array.of(byte), () => resolve()));
        await new Promise<void>((resolve) => setImmediate(resolve)); // let the peer read it
      }
    });
  };
  const presend = (): void => {
    if (presendDone || fault.kind !== "presend") return;
    presendDone = true;
    write(fault.bytes);
  };
  if (!protocol.hasHandshake) presend();

  const answer = (request: Req): void => {
    const { bytes, handshake } = protocol.respond(request, session);
    if (handshake) {
      write(bytes);
      return;
    }
    presend();
    const at = index++;
    counted();
    if (silent) return;
    switch (fault.kind) {
      case "silent":
        if (at >= (fault.after ?? 0)) silent = true;
        else write(bytes);
        return;
      case "drop":
        if (at !== fault.at) write(bytes);
        return;
      case "duplicate":
        write(bytes);
        if (at === fault.at) write(bytes);
        return;
      case "reorder":
        if (at === fault.at) held = bytes;
        else {
          write(bytes);
          if (held) write(held);
          held = undefined;
        }
        return;
      case "replace":
        if (at !== fault.at) write(bytes);
        else {
          write(fault.bytes);
          if (fault.then === "close") socket.end();
          else if (fault.then !== "continue") silent = true;
        }
        return;
      case "close":
        if (at === fault.at) socket.destroy();
        else write(bytes);
        return;
      default:
        write(bytes);
    }
  };

  socket.on("data", (chunk: Uint8Array) => {
    const joined = new Uint8Array(buffer.length + chunk.length);
    joined.set(buffer);
    joined.set(chunk, buffer.length);
    buffer = joined;
    for (;;) {
      if (socket.destroyed) return;
      const parsed = protocol.parse(buffer);
      if (!parsed) break;
      buffer = buffer.subarray(parsed.length);
      answer(parsed.request);
    }
  });
}

interface GcGlobals {
  gc?: () => void;
  Bun?: { gc(force: boolean): void };
}

/**
 * Bytes in use after a full garbage collection: the JS heap plus ArrayBuffer storage. The test runner starts Node with
 * `--expose-gc` and Deno with `--v8-flags=--expose-gc`; Bun has `Bun.gc`.
 *
 * @example
 * ```ts
 * const before = await heapUsedAfterGc();
 * // ... the case ...
 * assert.ok((await heapUsedAfterGc()) - before < 10 * 2 ** 20);
 * ```
 */
export async function heapUsedAfterGc(): Promise<number> {
  const g = globalThis as GcGlobals;
  // Twice, with turns between, so that finalizers and weakly held buffers go too.
  for (let i = 0; i < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (g.Bun) g.Bun.gc(true);
    else if (g.gc) g.gc();
    else throw new Error("heapUsedAfterGc needs --expose-gc (Node) or --v8-flags=--expose-gc");
  }
  // Deno reports ArrayBuffer storage under `external` and leaves `arrayBuffers` at 0.
  const memory = process.memoryUsage();
  return memory.heapUsed + Math.max(memory.arrayBuffers, memory.external);
}

/**
 * Runs `body`, then a few event-loop turns, and returns every rejection left unhandled
 * meanwhile. On Node it takes them from the test runner, so a test can assert on them; Deno's
 * and Bun's runners fail the running test on any unhandled rejection before a listener sees
 * it, so there a leak fails the test by itself and the list stays empty.
 *
 * @example
 * ```ts
 * const leaked = await collectUnhandledRejections(async () => {
 *   await client.multi().incr("x").exec().catch(() => {});
 * });
 * assert.deepEqual(leaked, []);
 * ```
 */
export async function collectUnhandledRejections(body: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    seen.push(reason);
  };
  // Deno reports through the global event; Node and Bun through process.
  const onEvent = (event: Event): void => {
    event.preventDefault();
    seen.push((event as Event & { reason?: unknown }).reason);
  };
  const deno = "Deno" in globalThis;
  // The test runner's own listeners would fail the test: set them aside meanwhile.
  const others = deno ? [] : process.listeners("unhandledRejection");
  if (deno) globalThis.addEventListener("unhandledrejection", onEvent);
  else {
    process.removeAllListeners("unhandledRejection");
    process.on("unhandledRejection", onRejection);
  }
  try {
    await body();
    // Rejections are reported after the microtask queue drains: give them a few turns.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 1));
  } finally {
    if (deno) globalThis.removeEventListener("unhandledrejection", onEvent);
    else {
      process.off("unhandledRejection", onRejection);
      for (const listener of others) process.on("unhandledRejection", listener);
    }
  }
  return seen;
}

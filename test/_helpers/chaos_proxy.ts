// TCP chaos proxy for fault tests: forwards loopback connections to a target and injects delays,
// one-byte fragmentation, truncation, stalls and resets, switchable while connections are open.

import * as net from "node:net";
import { setImmediate } from "node:timers";

/** Which bytes a {@linkcode ChaosProxy.dropAfter} budget counts. */
export type Direction = "toServer" | "toClient" | "both";

/**
 * A running proxy. The fault mode applies to new and existing connections alike; each connection
 * keeps the order of its bytes in each direction whatever the mode.
 *
 * @example
 * ```ts
 * const proxy = await startChaosProxy(await redisAddress());
 * proxy.fragment(); // connect a client to proxy.host:proxy.port and watch it cope
 * await proxy.stop();
 * ```
 */
export interface ChaosProxy {
  readonly host: string;
  readonly port: number;
  /** Connection pairs currently open. */
  readonly connections: number;
  /** Connections accepted since the start. */
  readonly accepted: number;
  /** Bytes forwarded client → server, all connections, since the start. */
  readonly bytesToServer: number;
  /** Bytes forwarded server → client, all connections, since the start. */
  readonly bytesToClient: number;
  /** Forward everything as it comes (flushing whatever a stall or delay held). */
  pass(): void;
  /** Forward each chunk `ms` after it arrived, in order. */
  delay(ms: number): void;
  /** Forward one byte per write, yielding to the event loop after each write completes. */
  fragment(): void;
  /**
   * Per connection: forward exactly `bytes` more bytes in `direction` ("both" counts the two
   * directions together; default "toClient"), counted from this call for open connections and
   * from the accept for new ones, then destroy both sockets of that connection (once the last
   * byte is written). With 0 every open connection is destroyed now and every new one on accept.
   * Stays in force until another mode is set.
   */
  dropAfter(bytes: number, direction?: Direction): void;
  /** Forward nothing but keep the sockets open; `pass()` flushes what was held. */
  stall(): void;
  /** Destroy both sockets of every open connection now (peers see a close, normally a FIN). */
  resetAll(): void;
  /** Resolves once exactly `count` connections are open; rejects after `timeoutMs` (10 s). */
  waitForConnections(count: number, timeoutMs?: number): Promise<void>;
  /** Stop listening and destroy every connection; idempotent. */
  stop(): Promise<void>;
}

type Mode =
  | { kind: "pass" }
  | { kind: "delay"; ms: number }
  | { kind: "fragment" }
  | { kind: "stall" }
  | { kind: "drop"; bytes: number; direction: Direction; epoch: number };

type Flow = "toServer" | "toClient";

const HIGH_WATER = 1 << 20;

// Lets the event loop poll I/O before the next one-byte write. Deno runs setImmediate callbacks
// without polling sockets in between (a same-process reader then sees one chunk); its timers do.
const yieldToIo: (callback: () => void) => void = "Deno" in globalThis
  ? (callback) => setTimeout(callback, 0)
  : (callback) => setImmediate(callback);

interface Chunk {
  bytes: Uint8Array;
  at: number;
}

class Pipe {
  queue: Chunk[] = [];
  queued = 0;
  eof = false;
  ended = false;
  busy = false;
  timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly proxy: Proxy,
    readonly pair: Pair,
    readonly flow: Flow,
    readonly src: net.Socket,
    readonly dst: net.Socket,
  ) {
    src.on("data", (data: Uint8Array) => {
      this.queue.push({ bytes: new Uint8Array(data), at: performance.now() });
      this.queued += data.length;
      if (this.queued > HIGH_WATER) src.pause();
      this.pump();
    });
    src.on("end", () => {
      this.eof = true;
      this.pump();
    });
  }

  clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  take(n: number): Uint8Array {
    const head = this.queue[0];
    if (n >= head.bytes.length) {
      this.queue.shift();
    } else {
      this.queue[0] = { bytes: head.bytes.subarray(n), at: head.at };
    }
    this.queued -= Math.min(n, head.bytes.length);
    if (this.queued <= HIGH_WATER / 2 && this.src.isPaused()) this.src.resume();
    return head.bytes.subarray(0, n);
  }

  /** Forwards what the current mode allows; re-entered on data, mode changes, timers, drains. */
  pump(): void {
    this.clearTimer();
    const pair = this.pair;
    if (this.busy || pair.closed || pair.dropping) return;
    while (this.queue.length > 0) {
      const mode = this.proxy.mode;
      if (mode.kind === "stall") return;
      let n = this.queue[0].bytes.length;
      let last = false;
      if (mode.kind === "delay") {
        const wait = this.queue[0].at + mode.ms - performance.now();
        if (wait > 0) {
          this.timer = setTimeout(() => this.pump(), Math.ceil(wait));
          return;
        }
      } else if (mode.kind === "fragment") {
        n = 1;
      } else if (
        mode.kind === "drop" && (mode.direction === "both" || mode.direction === this.flow)
      ) {
        const left = mode.bytes - pair.dropCount(mode);
        if (left <= 0) return pair.destroy();
        if (n >= left) [n, last] = [left, true];
      }
      const bytes = this.take(n);
      pair.counted(this.flow, bytes.length, mode);
      this.proxy.counted(this.flow, bytes.length);
      if (last) {
        pair.dropping = true;
        this.dst.write(bytes, () => pair.destroy());
        return;
      }
      if (mode.kind === "fragment") {
        this.busy = true;
        this.dst.write(bytes, () =>
          yieldToIo(() => {
            this.busy = false;
            this.pump();
          }));
        return;
      }
      if (!this.dst.write(bytes)) {
        this.busy = true;
        this.dst.once("drain", () => {
          this.busy = false;
          this.pump();
        });
        return;
      }
    }
    if (this.eof && !this.ended) {
      this.ended = true;
      this.dst.end();
    }
  }
}

class Pair {
  closed = false;
  dropping = false;
  dropEpoch = -1;
  dropped = { toServer: 0, toClient: 0 };
  readonly toServer: Pipe;
  readonly toClient: Pipe;

  constructor(readonly proxy: Proxy, readonly client: net.Socket, readonly server: net.Socket) {
    client.setNoDelay(true);
    server.setNoDelay(true);
    this.toServer = new Pipe(proxy, this, "toServer", client, server);
    this.toClient = new Pipe(proxy, this, "toClient", server, client);
    const onClose = (into: Pipe) => () => {
      // Closing before we ended it means the peer went away abruptly.
      if (!into.ended || (this.toServer.ended && this.toClient.ended)) this.destroy();
    };
    client.on("close", onClose(this.toClient));
    server.on("close", onClose(this.toServer));
    client.on("error", () => this.destroy());
    server.on("error", () => this.destroy());
  }

  /** Bytes counted against the current drop budget. */
  dropCount(mode: Mode & { kind: "drop" }): number {
    this.syncEpoch(mode);
    if (mode.direction === "both") return this.dropped.toServer + this.dropped.toClient;
    return this.dropped[mode.direction];
  }

  syncEpoch(mode: Mode & { kind: "drop" }): void {
    if (this.dropEpoch !== mode.epoch) {
      this.dropEpoch = mode.epoch;
      this.dropped = { toServer: 0, toClient: 0 };
    }
  }

  counted(flow: Flow, n: number, mode: Mode): void {
    if (mode.kind !== "drop") return;
    this.syncEpoch(mode);
    this.dropped[flow] += n;
  }

  kick(): void {
    this.toServer.pump();
    this.toClient.pump();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.toServer.clearTimer();
    this.toClient.clearTimer();
    this.client.destroy();
    this.server.destroy();
    this.proxy.removed(this);
  }
}

class Proxy implements ChaosProxy {
  mode: Mode = { kind: "pass" };
  host = "127.0.0.1";
  port = 0;
  accepted = 0;
  bytesToServer = 0;
  bytesToClient = 0;
  readonly pairs = new Set<Pair>();
  readonly server: net.Server;
  private epoch = 0;
  private waiters: { count: number; resolve: () => void }[] = [];
  private stopping: Promise<void> | undefined;

  constructor(readonly target: { host: string; port: number }) {
    this.server = net.createServer({ allowHalfOpen: true }, (client) => this.accept(client));
  }

  get connections(): number {
    return this.pairs.size;
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    const server = net.connect({ ...this.target, allowHalfOpen: true });
    const pair = new Pair(this, client, server);
    this.pairs.add(pair);
    this.notify();
    if (this.mode.kind === "drop" && this.mode.bytes === 0) pair.destroy();
  }

  counted(flow: Flow, n: number): void {
    if (flow === "toServer") this.bytesToServer += n;
    else this.bytesToClient += n;
  }

  removed(pair: Pair): void {
    this.pairs.delete(pair);
    this.notify();
  }

  private notify(): void {
    const ready = this.waiters.filter((w) => w.count === this.pairs.size);
    this.waiters = this.waiters.filter((w) => w.count !== this.pairs.size);
    for (const w of ready) w.resolve();
  }

  private set(mode: Mode): void {
    this.mode = mode;
    for (const pair of [...this.pairs]) pair.kick();
  }

  pass(): void {
    this.set({ kind: "pass" });
  }

  delay(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`Delay must be a non-negative number, got ${ms}`);
    this.set({ kind: "delay", ms });
  }

  fragment(): void {
    this.set({ kind: "fragment" });
  }

  dropAfter(bytes: number, direction: Direction = "toClient"): void {
    if (!Number.isInteger(bytes) || bytes < 0) {
      throw new RangeError(`Byte budget must be a non-negative integer, got ${bytes}`);
    }
    const mode = { kind: "drop", bytes, direction, epoch: ++this.epoch } as const;
    for (const pair of this.pairs) pair.syncEpoch(mode);
    this.set(mode);
    if (bytes === 0) this.resetAll();
  }

  stall(): void {
    this.set({ kind: "stall" });
  }

  resetAll(): void {
    for (const pair of [...this.pairs]) pair.destroy();
  }

  waitForConnections(count: number, timeoutMs = 10_000): Promise<void> {
    if (this.pairs.size === count) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`Expected ${count} open connections, still ${this.pairs.size}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.resetAll();
    });
    return this.stopping;
  }
}

/**
 * Starts a chaos proxy on `127.0.0.1:0` in front of `target`, in `pass()` mode.
 *
 * @example
 * ```ts
 * const proxy = await startChaosProxy({ host: "127.0.0.1", port: 6379 });
 * proxy.dropAfter(3, "toClient"); // the next reply is cut after 3 bytes
 * await proxy.stop();
 * ```
 */
export async function startChaosProxy(
  target: { host: string; port: number },
): Promise<ChaosProxy> {
  const proxy = new Proxy(target);
  await new Promise<void>((resolve, reject) => {
    proxy.server.once("error", reject);
    proxy.server.listen(0, "127.0.0.1", () => resolve());
  });
  proxy.port = (proxy.server.address() as net.AddressInfo).port;
  return proxy;
}

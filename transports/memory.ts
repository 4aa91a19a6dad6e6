// In-process transport pair for tests (DESIGN.md §4): what one side writes the other reads,
// optionally re-chunked and delayed. A side that does not read is a slow reader.

import { AbortedError, ConnectionClosedError } from "../src/core/errors.ts";
import {
  type Address,
  type ChunkReader,
  type Connect,
  type ConnectOptions,
  DEFAULT_HIGH_WATER_MARK,
  formatAddress,
  type Transport,
  type TransportInfo,
} from "./types.ts";
import { ReadQueue, WriteWaiters } from "./_stream_state.ts";

/**
 * How a memory pair delivers bytes.
 *
 * @example
 * ```ts
 * import { createMemoryPair, type MemoryPairOptions } from "@kvwire/kvwire/transports/memory";
 * const options: MemoryPairOptions = { chunkSizes: [1, 3], latency: 5, highWaterMark: 1024 };
 * const [client, server] = createMemoryPair(options);
 * ```
 */
export interface MemoryPairOptions {
  /**
   * Each write reaches the peer split into pieces of these sizes, cycled across writes
   * (`[1]` delivers byte by byte). Default: one piece per write.
   */
  chunkSizes?: number[];
  /** Milliseconds between a write and its delivery to the peer; order is kept. Default 0. */
  latency?: number;
  /** Unread bytes (written, not yet read by the peer) before `write()` returns false. */
  highWaterMark?: number;
}

/** What travels to the peer: data pieces, then possibly the end of the stream. */
type Delivery = { pieces: Uint8Array[]; eof: boolean; onDelivered?: () => void };

/**
 * Creates two connected in-process transports.
 *
 * `bufferedAmount` of a side counts the bytes it wrote that the peer has not read yet, so a
 * peer that does not call `read()` makes `write()` return false past the high-water mark.
 * `end()` makes the peer read `null` after the data; `close()` makes it read `null`, or
 * reject with a `ConnectionClosedError` when a reason was given.
 *
 * @example
 * ```ts
 * import { createMemoryPair } from "@kvwire/kvwire/transports/memory";
 * const [client, server] = createMemoryPair({ chunkSizes: [1] });
 * client.write(new TextEncoder().encode("hi"));
 * console.log(await server.read()); // Uint8Array [104]
 * console.log(await server.read()); // Uint8Array [105]
 * ```
 */
export function createMemoryPair(options: MemoryPairOptions = {}): [Transport, Transport] {
  return makePair(options);
}

/**
 * A connector that creates a memory pair per `connect()` and hands the server side to
 * `onAccept`: a fake peer for tests of code that takes a `Connect`. It has no TLS: a `tls`
 * option rejects with a `TypeError` rather than being ignored.
 *
 * @example
 * ```ts
 * import { memoryConnector } from "@kvwire/kvwire/transports/memory";
 * const connect = memoryConnector(async (server) => {
 *   for (let chunk; (chunk = await server.read()) !== null;) server.write(chunk); // echo
 *   await server.end();
 * });
 * const t = await connect({ host: "fake", port: 6379 });
 * ```
 */
export function memoryConnector(
  onAccept: (server: Transport) => void,
  options: MemoryPairOptions = {},
): Connect {
  return (address: Address, connectOptions: ConnectOptions = {}): Promise<Transport> => {
    const where = formatAddress(address);
    if (connectOptions.tls) {
      return Promise.reject(
        new TypeError(`The memory transport has no TLS (tls option set for ${where})`),
      );
    }
    if (connectOptions.signal?.aborted) {
      return Promise.reject(
        new AbortedError(`Connecting to ${where} was aborted`, {
          cause: connectOptions.signal.reason,
        }),
      );
    }
    const [client, server] = makePair(
      { ...options, highWaterMark: connectOptions.highWaterMark ?? options.highWaterMark },
      where,
    );
    onAccept(server);
    return Promise.resolve(client);
  };
}

function makePair(options: MemoryPairOptions, where?: string): [Transport, Transport] {
  const sizes = options.chunkSizes ?? [];
  if (sizes.some((size) => !Number.isInteger(size) || size < 1)) {
    throw new RangeError(`chunkSizes must be positive integers, got ${JSON.stringify(sizes)}`);
  }
  const hwm = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  if (!(hwm > 0)) throw new RangeError(`highWaterMark must be positive, got ${hwm}`);
  const latency = options.latency ?? 0;
  const client = new MemoryTransport(sizes, latency, hwm, where ?? "memory server");
  const server = new MemoryTransport(sizes, latency, hwm, "memory client");
  client.peer = server;
  server.peer = client;
  return [client, server];
}

/** One side of a memory pair. */
class MemoryTransport implements Transport {
  readonly info: TransportInfo;
  readonly closed: Promise<void>;
  peer!: MemoryTransport;
  #sizes: number[];
  #sizeIndex = 0;
  #latency: number;
  #hwm: number;
  #where: string;
  /** What the peer sent; each chunk read gives the peer its credit back. */
  #inbox = new ReadQueue({ taken: (chunk) => this.peer.#acknowledge(chunk.length) });
  #eofDelivered = false;
  #unread = 0;
  #inFlight: Delivery[] = [];
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #writers = new WriteWaiters();
  #ending: Promise<void> | undefined;
  #closedLocally = false;
  #done = false;
  #resolveClosed!: () => void;

  constructor(sizes: number[], latency: number, hwm: number, where: string) {
    this.#sizes = sizes;
    this.#latency = latency;
    this.#hwm = hwm;
    this.#where = where;
    this.info = { kind: "memory", tls: false, remoteAddress: where };
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  get bufferedAmount(): number {
    return this.#done ? 0 : this.#unread;
  }

  read(): Promise<Uint8Array | null> {
    return this.#inbox.read();
  }

  readInto(reader: ChunkReader): void {
    this.#inbox.readInto(reader);
  }

  write(chunk: Uint8Array): boolean {
    if (this.#done || this.#ending) {
      throw this.#closedError(this.#ending ? "after end()" : "after it closed");
    }
    if (chunk.length > 0) {
      const copy = new Uint8Array(chunk); // the peer owns what it reads, whatever the writer does
      const pieces: Uint8Array[] = [];
      for (let offset = 0; offset < copy.length;) {
        const size = this.#sizes.length === 0
          ? copy.length
          : this.#sizes[this.#sizeIndex++ % this.#sizes.length];
        pieces.push(copy.subarray(offset, offset + size));
        offset += size;
      }
      this.#unread += copy.length;
      this.#send({ pieces, eof: false });
    }
    return this.#unread < this.#hwm;
  }

  ready(): Promise<void> {
    if (this.#done) return Promise.reject(this.#closedError("before the write drained"));
    if (this.#unread < this.#hwm) return Promise.resolve();
    return this.#writers.wait();
  }

  end(): Promise<void> {
    if (this.#ending) return this.#ending;
    if (this.#done) return Promise.reject(this.#closedError("before end()"));
    this.#ending = this.#writers.waitEnd();
    this.#send({
      pieces: [],
      eof: true,
      onDelivered: () => {
        this.#eofDelivered = true;
        this.#writers.resolveEnd();
        if (this.#inbox.ended) this.#finish();
      },
    });
    return this.#ending;
  }

  close(reason?: Error): void {
    if (this.#closedLocally) return;
    this.#closedLocally = true;
    this.#inbox.close(reason);
    const wasDone = this.#done;
    this.#finish(reason);
    if (!wasDone) this.peer.#onPeerClosed(reason);
  }

  #closedError(when: string, cause?: unknown): ConnectionClosedError {
    return new ConnectionClosedError(`Connection to ${this.#where} closed ${when}`, { cause });
  }

  /** Delivers now, or after the latency; deliveries leave in the order they were sent. */
  #send(delivery: Delivery): void {
    if (this.#latency <= 0 && this.#inFlight.length === 0) {
      this.peer.#receive(delivery);
      return;
    }
    this.#inFlight.push(delivery);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const next = this.#inFlight.shift();
      if (next) this.peer.#receive(next);
    }, this.#latency);
    this.#timers.add(timer);
  }

  #receive(delivery: Delivery): void {
    if (this.#done) return;
    for (const piece of delivery.pieces) this.#inbox.push(piece);
    delivery.onDelivered?.();
    if (delivery.eof) {
      this.#inbox.end();
      if (this.#eofDelivered) this.#finish();
    }
  }

  /** The peer read `n` of our bytes. */
  #acknowledge(n: number): void {
    this.#unread -= n;
    if (this.#unread < this.#hwm) this.#writers.wake();
  }

  #onPeerClosed(reason: Error | undefined): void {
    if (reason && !this.#inbox.ended) {
      this.#inbox.fail(
        new ConnectionClosedError(
          `Connection to ${this.#where} was closed by the peer: ${reason.message}`,
          { cause: reason },
        ),
      );
    }
    this.#inbox.end();
    this.#finish(reason);
  }

  /** The connection is gone: stop deliveries, settle writers, resolve `closed`. */
  #finish(cause?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#inFlight = [];
    this.#writers.rejectAll(this.#closedError("before the write drained", cause));
    this.#resolveClosed();
  }
}

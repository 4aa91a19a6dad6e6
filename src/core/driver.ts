// The driver: runs one ProtocolConnection over one Transport (DESIGN.md §5). A read loop gated
// by `wantsRead`, one corked flush per microtask, one timer re-armed from `pollTimeout()`.
// Over 500 lines on purpose: it is one state machine whose read loop, flush, timers, pending
// table and shutdown share private state on the path of every byte and every request; split
// across files they would need that state exposed or passed per call.

import type { ConnectionEvent, ProtocolConnection, RequestId } from "./connection.ts";
import {
  AbortedError,
  ConnectionClosedError,
  ServerError,
  TimeoutError,
  UnresponsiveError,
} from "./errors.ts";
import { StreamQueue } from "./stream_queue.ts";
import { IdTable } from "./id_table.ts";
import type { ChunkReader, Transport } from "./transport.ts";

/** Per-request options. */
export interface RequestOptions {
  /** Milliseconds the request may take, queued or in flight. */
  timeout?: number;
  /** Cancels the request; it then rejects with `AbortedError`. */
  signal?: AbortSignal;
}

/** Options of a {@link Driver}. */
export interface DriverOptions<Push, Req = unknown, Reply = unknown> {
  /**
   * Offered each request made with `send` that fails with a `ConnectionClosedError` before it
   * was written (`sent: false`): return true to take it over (e.g. send it again on the next
   * connection), and its handler is not told. Requests made with `request` and streams are
   * never offered.
   */
  retryUnsent?: (
    req: Req,
    options: RequestOptions,
    name: string,
    handler: ReplyHandler<Reply>,
  ) => boolean;
  /** Receives server pushes (pub/sub messages, RESP3 push frames). */
  onPush?: (push: Push) => void;
  /** Called once when the connection is gone, with the reason when it was not a clean close. */
  onClose?: (error?: Error) => void;
  /** A label for messages, such as `"redis 127.0.0.1:6379"`. Defaults to the transport's. */
  label?: string;
  /** Monotonic clock in milliseconds. Default `performance.now()`. */
  now?: () => number;
  /**
   * Milliseconds a connection may stay silent while requests (not streams) are in flight
   * before it is presumed dead and closed: its requests fail with `sent: true`. Default off;
   * a request whose own deadline passes with no byte received since it was written closes
   * the connection in any case.
   */
  silenceTimeout?: number;
}

/**
 * Receives the outcome of one request: exactly one method is called, once. The callback form
 * of a request, for hot paths that settle their own Promise (one object, no closures).
 *
 * @example
 * ```ts
 * import type { ReplyHandler } from "@kvwire/kvwire";
 * const log: ReplyHandler<unknown> = {
 *   reply: (value) => console.log("reply", value),
 *   fail: (error) => console.error(error.message),
 * };
 * ```
 */
export interface ReplyHandler<Reply> {
  /** Called with the reply when the request succeeded. */
  reply(value: Reply): void;
  /** Called with the error when the request failed, timed out, was aborted or was lost. */
  fail(error: Error): void;
}

/**
 * A handler that drops the outcome, for a request whose failure shows in the reply of the one
 * written after it on the same connection (Redis Cluster's ASKING).
 *
 * @example
 * ```ts
 * import { IGNORE_REPLY } from "@kvwire/kvwire";
 * IGNORE_REPLY.reply("OK"); // nothing happens
 * ```
 */
export const IGNORE_REPLY: ReplyHandler<unknown> = Object.freeze({ reply() {}, fail() {} });

/** `#syncChunk` when no chunk was handed over. */
const NO_CHUNK: unique symbol = Symbol("no chunk");

/** Requests with no options share this object instead of allocating one each. */
const NO_DEADLINE: { deadline?: number } = Object.freeze({});

interface Pending<Reply, Item> {
  handler: ReplyHandler<Reply>;
  sent: boolean;
  /** When the request was handed to the transport (the driver's clock); 0 until then. */
  sentAt: number;
  name: string;
  /** The request and its options, for `retryUnsent` (options unset: not offered). */
  req?: unknown;
  options?: RequestOptions;
  stream?: StreamQueue<Item>;
  detach?: () => void;
}

/**
 * Connects a protocol machine to a transport and turns requests into Promises.
 *
 * Theory of operation: `request` calls `machine.send` synchronously (so encoding errors throw
 * before anything is queued), records a pending entry and schedules one flush per microtask,
 * which drains `pollTransmit` into the transport and honours `write()` backpressure (when the
 * transport copies on write, `pollTransmitView` into `writeBorrowed`: no copy per flush). A single
 * read loop feeds chunks to the machine while `wantsRead` holds and dispatches every event.
 * One timer is armed for the earliest `pollTimeout()`. When the transport ends or fails, or
 * the machine reports `closed`, every pending request settles: `ConnectionClosedError` with
 * `sent` telling whether it may have run.
 *
 * Liveness (DESIGN.md §5): the driver notes when each request was written and when the last
 * byte arrived. A request that times out after it was written, with no byte received since,
 * means the peer is gone or stuck: the connection is closed (its other requests fail with
 * `sent: true`) rather than kept for later calls to time out on. `silenceTimeout` applies the
 * same rule without waiting for a deadline. Neither applies while reading is paused.
 *
 * @example
 * ```ts
 * import { Driver } from "@kvwire/kvwire";
 * import { RedisConnection } from "@kvwire/kvwire/redis";
 * import { connect } from "@kvwire/kvwire/transports/auto";
 * const transport = await connect({ host: "127.0.0.1", port: 6379 });
 * const driver = new Driver(new RedisConnection(), transport);
 * console.log(await driver.request(["PING"]));
 * await driver.close();
 * ```
 */
export class Driver<Req, Reply, Item = never, Push = never> {
  readonly #machine: ProtocolConnection<Req, Reply, Item, Push>;
  readonly #transport: Transport;
  readonly #options: DriverOptions<Push, Req, Reply>;
  readonly #now: () => number;
  readonly #label: string;
  /** The transport copies on write and the machine can lend its buffer: flush with no copy. */
  readonly #lend: boolean;
  #pending = new IdTable<Pending<Reply, Item>>();
  #unsent: Pending<Reply, Item>[] = [];
  #flushScheduled = false;
  #flushing = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  /** When the last chunk arrived (the driver's clock); -Infinity before the first. */
  #lastByteAt = -Infinity;
  #silenceTimer: ReturnType<typeof setTimeout> | undefined;
  #readResume: (() => void) | undefined;
  /** While `#readNext` calls the transport: a chunk handed over synchronously lands here. */
  #syncChunk: Uint8Array | null | typeof NO_CHUNK = NO_CHUNK;
  #inRead = false;
  /** Streams whose consumer is behind: reading pauses until each drains or ends. */
  #fullStreams = new Set<StreamQueue<Item>>();
  #userPaused = false;
  #closing = false;
  #closedError: Error | undefined;
  #isClosed = false;
  #bytesIn = 0;
  #bytesOut = 0;
  #drained: (() => void) | undefined;
  /** Resolves once the connection closed: with the reason, or undefined after a clean close. */
  readonly closed: Promise<Error | undefined>;
  #resolveClosed!: (error: Error | undefined) => void;

  /** Starts reading from `transport` in the next microtask. */
  constructor(
    machine: ProtocolConnection<Req, Reply, Item, Push>,
    transport: Transport,
    options: DriverOptions<Push, Req, Reply> = {},
  ) {
    this.#machine = machine;
    this.#transport = transport;
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#label = options.label ?? transport.info.remoteAddress ?? transport.info.kind;
    this.#lend = transport.writeBorrowed !== undefined && machine.pollTransmitView !== undefined;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#resumeTask(); // never dispatch inside the constructor
  }

  /** Requests sent or queued and not yet settled. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Requests accepted but not yet handed to the transport. */
  get unsentCount(): number {
    return this.#unsent.length;
  }

  /** Bytes received on this connection. */
  get bytesIn(): number {
    return this.#bytesIn;
  }

  /** Bytes handed to the transport on this connection. */
  get bytesOut(): number {
    return this.#bytesOut;
  }

  /** False once the connection is closing or closed: new requests are refused. */
  get isOpen(): boolean {
    return !this.#closing && !this.#isClosed;
  }

  /** The machine, for protocol-specific state (read it; don't drive it around the driver). */
  get machine(): ProtocolConnection<Req, Reply, Item, Push> {
    return this.#machine;
  }

  /** Sends a request and resolves with its reply; rejects with a `KvError`. */
  request(req: Req, options: RequestOptions = {}, name = "Request"): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const handler = { reply: resolve, fail: reject };
      const entry: Pending<Reply, Item> = {
        handler,
        sent: false,
        sentAt: 0,
        name,
        req,
        options: undefined,
      };
      this.#start(req, entry, options);
    });
  }

  /** The callback form of {@link request}: `handler` learns the outcome. */
  send(req: Req, options: RequestOptions, name: string, handler: ReplyHandler<Reply>): void {
    const entry: Pending<Reply, Item> = { handler, sent: false, sentAt: 0, name, req, options };
    this.#start(req, entry, options);
  }

  /**
   * Sends a request whose answer is a stream of items (watch, subscribe). The queue ends at
   * the machine's `streamEnd`; leaving the `for await` loop early cancels the request.
   */
  stream(
    req: Req,
    options: RequestOptions & { highWaterMark?: number } = {},
    name = "Stream",
  ): StreamQueue<Item> {
    const started: { id?: RequestId } = {}; // set below; the callbacks run later
    const release = (): void => {
      if (this.#fullStreams.delete(queue) && this.#fullStreams.size === 0 && !this.#userPaused) {
        this.#resumeReading();
      }
    };
    const queue: StreamQueue<Item> = new StreamQueue<Item>({
      highWaterMark: options.highWaterMark,
      onDrain: release,
      onCancel: () => {
        release();
        const id = started.id;
        if (id !== undefined && this.#pending.delete(id)) this.#machine.cancel(id);
        this.#kick();
      },
    });
    const entry: Pending<Reply, Item> = {
      handler: { reply: () => {}, fail: (error) => queue.end(error) },
      sent: false,
      sentAt: 0,
      name,
      req: undefined,
      options: undefined,
      stream: queue,
    };
    started.id = this.#start(req, entry, options);
    return queue;
  }

  #start(req: Req, entry: Pending<Reply, Item>, options: RequestOptions): RequestId | undefined {
    if (!this.isOpen) {
      this.#fail(entry, this.#closedErrorFor(entry));
      return undefined;
    }
    if (options.signal?.aborted) {
      entry.handler.fail(new AbortedError(`${entry.name} was aborted before it was sent`));
      return undefined;
    }
    const deadline = options.timeout === undefined ? undefined : this.#now() + options.timeout;
    let id: RequestId;
    try {
      id = this.#machine.send(req, deadline === undefined ? NO_DEADLINE : { deadline });
    } catch (error) {
      entry.handler.fail(error as Error);
      return undefined;
    }
    this.#pending.set(id, entry);
    this.#unsent.push(entry);
    if (options.signal) this.#watchSignal(id, entry, options.signal);
    this.#scheduleFlush();
    if (deadline !== undefined && deadline < this.#timerAt) this.#armTimer();
    return id;
  }

  #watchSignal(id: RequestId, entry: Pending<Reply, Item>, signal: AbortSignal): void {
    const onAbort = (): void => {
      if (this.#pending.get(id) !== entry) return;
      this.#pending.delete(id);
      this.#machine.cancel(id);
      const state = entry.sent
        ? "after it was sent; it may have been executed"
        : "before it was sent";
      this.#settle(
        entry,
        new AbortedError(`${entry.name} was aborted ${state}`, {
          sent: entry.sent,
          cause: signal.reason,
        }),
      );
      this.#kick();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    entry.detach = () => signal.removeEventListener("abort", onAbort);
  }

  /**
   * Stops reading from the transport (push consumers use it for backpressure: the peer
   * then sees a full TCP window). Requests already received stay queued in the transport.
   */
  pauseReading(): void {
    this.#userPaused = true;
  }

  /** Undoes {@link pauseReading}. */
  resumeReading(): void {
    if (!this.#userPaused) return;
    this.#userPaused = false;
    if (this.#fullStreams.size === 0) this.#resumeReading();
  }

  /**
   * Acts on what the machine was asked to do outside a request (such as a liveness PING of
   * an HTTP/2 machine): writes its bytes and arms its timers.
   */
  poke(): void {
    if (!this.#isClosed) this.#kick();
  }

  /** Closes gracefully: refuses new requests, waits for pending ones, then ends the stream. */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#closing = true;
    if (this.#pending.size > 0) {
      await new Promise<void>((resolve) => (this.#drained = resolve));
    }
    if (this.#isClosed) return;
    this.#machine.close();
    this.#scheduleFlush();
    try {
      await this.#flush();
      await this.#transport.end();
    } catch {
      // The peer went away while we said goodbye: nothing is pending, nothing is lost.
    }
    this.#shutdown(undefined);
  }

  /** Closes at once: every pending request rejects with `ConnectionClosedError`. */
  destroy(error?: Error): void {
    this.#shutdown(
      error ?? new ConnectionClosedError(`Connection to ${this.#label} was destroyed`),
    );
  }

  /** Closes gracefully at the end of an `await using` scope, as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(this.#flushTask);
  }

  readonly #flushTask = (): void => {
    this.#flushScheduled = false;
    if (this.#flushing) return;
    try {
      this.#flush()?.catch((error) => this.#shutdown(error));
    } catch (error) {
      this.#shutdown(error as Error);
    }
  };

  /** Writes what the machine has to send; a promise only when the transport pushed back. */
  #flush(): Promise<void> | undefined {
    if (this.#isClosed) return;
    this.#flushing = true;
    try {
      for (;;) {
        const unsent = this.#unsent;
        if (unsent.length > 0) {
          const now = this.#now();
          for (let i = 0; i < unsent.length; i++) {
            unsent[i].sent = true;
            unsent[i].sentAt = now;
          }
          unsent.length = 0;
          if (this.#silenceTimer === undefined && this.#options.silenceTimeout !== undefined) {
            this.#armSilenceTimer(now + this.#options.silenceTimeout);
          }
        }
        const lend = this.#lend;
        const chunk = lend ? this.#machine.pollTransmitView!() : this.#machine.pollTransmit();
        if (chunk === undefined) break;
        this.#bytesOut += chunk.length;
        const more = lend ? this.#transport.writeBorrowed!(chunk) : this.#transport.write(chunk);
        if (!more) return this.#flushWhenReady();
      }
    } catch (error) {
      this.#flushing = false;
      throw error;
    }
    this.#flushing = false;
  }

  async #flushWhenReady(): Promise<void> {
    try {
      await this.#transport.ready();
    } finally {
      this.#flushing = false;
    }
    if (!this.#isClosed) await this.#flush();
  }

  /**
   * Reads chunk after chunk while the machine wants bytes and no consumer is behind. Chunks
   * the transport hands over synchronously (already queued) are taken in this loop; the
   * others arrive through `#reader` from the transport's receive event.
   */
  #readNext(): void {
    const transport = this.#transport;
    while (!this.#isClosed) {
      if (!this.#machine.wantsRead || this.#fullStreams.size > 0 || this.#userPaused) {
        this.#readResume = this.#resumeTask;
        return;
      }
      this.#syncChunk = NO_CHUNK;
      this.#inRead = true;
      if (transport.readInto) transport.readInto(this.#reader);
      else transport.read().then(this.#reader.resolve, this.#reader.reject);
      this.#inRead = false;
      // (the calls above may have set it: no narrowing from the assignment before them)
      const chunk = this.#syncChunk as Uint8Array | null | typeof NO_CHUNK;
      if (chunk === NO_CHUNK) return; // it comes through #reader
      this.#syncChunk = NO_CHUNK;
      if (!this.#receive(chunk)) return;
    }
  }

  readonly #reader: ChunkReader = {
    resolve: (chunk) => {
      if (this.#inRead) this.#syncChunk = chunk;
      else if (this.#receive(chunk)) this.#readNext();
    },
    reject: (error) => this.#shutdown(error),
  };

  /** Gated reading resumes from a microtask, never inside the caller that lifted the gate. */
  readonly #resumeTask = (): void => queueMicrotask(() => this.#readNext());

  /** Feeds one chunk (or the end) to the machine and dispatches; false once reading is over. */
  #receive(chunk: Uint8Array | null): boolean {
    if (this.#isClosed) return false;
    try {
      this.#lastByteAt = this.#now();
      if (chunk === null) this.#machine.receiveEof();
      else {
        this.#bytesIn += chunk.length;
        this.#machine.receive(chunk);
      }
      this.#dispatch();
      if (chunk !== null) return true;
      this.#shutdown(
        this.#pending.size > 0 || !this.#closing
          ? new ConnectionClosedError(`Connection to ${this.#label} was closed by the peer`)
          : undefined,
      );
    } catch (error) {
      this.#shutdown(error as Error);
    }
    return false;
  }

  #resumeReading(): void {
    const resume = this.#readResume;
    this.#readResume = undefined;
    resume?.();
  }

  /** Re-dispatches and re-arms after the caller changed machine state outside a read. */
  #kick(): void {
    this.#dispatch();
    this.#scheduleFlush();
    this.#maybeDrained();
  }

  #dispatch(): void {
    let event: ConnectionEvent<Reply, Item, Push> | undefined;
    for (;;) {
      try {
        event = this.#machine.nextEvent();
      } catch (error) {
        this.#shutdown(error as Error);
        return;
      }
      if (event === undefined) break;
      this.#handle(event);
      if (this.#isClosed) return;
    }
    this.#armTimer();
    this.#scheduleFlush(); // replies can release held requests (e.g. after a handshake)
    this.#maybeDrained();
    if (this.#machine.wantsRead && this.#fullStreams.size === 0 && !this.#userPaused) {
      this.#resumeReading();
    }
  }

  #handle(event: ConnectionEvent<Reply, Item, Push>): void {
    switch (event.type) {
      case "reply": {
        const entry = this.#take(event.id);
        if (entry && !entry.stream) entry.handler.reply(event.value);
        break;
      }
      case "serverError": {
        const entry = this.#take(event.id);
        if (entry) this.#settle(entry, event.error);
        break;
      }
      case "streamItem": {
        const entry = this.#pending.get(event.id);
        if (entry?.stream && !entry.stream.push(event.item)) this.#fullStreams.add(entry.stream);
        break;
      }
      case "streamEnd": {
        const entry = this.#take(event.id);
        if (entry?.stream) {
          entry.stream.end(event.error);
          this.#fullStreams.delete(entry.stream);
        }
        break;
      }
      case "push":
        this.#options.onPush?.(event.value);
        break;
      case "timeout": {
        const entry = this.#take(event.id);
        if (!entry) break;
        const state = event.sent
          ? "; it was sent and may have been executed"
          : " before it was sent";
        const silent = event.sent && this.#reading && entry.sentAt > this.#lastByteAt;
        const dead = silent ? "; nothing arrived since, so the connection is replaced" : "";
        this.#settle(
          entry,
          new TimeoutError(`${entry.name} to ${this.#label} timed out${state}${dead}`, {
            sent: event.sent,
          }),
        );
        if (silent) this.#presumeDead(`nothing arrived since ${entry.name} was written`);
        break;
      }
      case "closed":
        this.#shutdown(
          event.error ?? new ConnectionClosedError(`Connection to ${this.#label} closed`),
        );
        break;
    }
  }

  #take(id: RequestId): Pending<Reply, Item> | undefined {
    const entry = this.#pending.get(id);
    if (entry) {
      this.#pending.delete(id);
      entry.detach?.();
    }
    return entry;
  }

  #settle(entry: Pending<Reply, Item>, error: Error): void {
    entry.detach?.();
    if (entry.stream) entry.stream.end(error);
    else this.#fail(entry, error);
  }

  /** Fails a request, unless `retryUnsent` takes over one that was never written. */
  #fail(entry: Pending<Reply, Item>, error: Error): void {
    const retry = this.#options.retryUnsent;
    if (
      retry && error instanceof ConnectionClosedError && !error.sent && entry.options &&
      retry(entry.req as Req, entry.options, entry.name, entry.handler)
    ) return;
    entry.handler.fail(error);
  }

  #maybeDrained(): void {
    if (this.#pending.size === 0 && this.#drained) {
      const drained = this.#drained;
      this.#drained = undefined;
      drained();
    }
  }

  #armTimer(): void {
    const at = this.#machine.pollTimeout();
    if (at === this.#timerAt) return;
    // A timer that fires early is harmless (it re-arms), so keep it when the earliest
    // deadline only moved later: no clearTimeout/setTimeout pair per reply.
    if (this.#timer !== undefined && at !== undefined && at > this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at ?? Infinity;
    if (at === undefined || this.#isClosed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#machine.handleTimeout(this.#now());
      this.#kick();
    }, Math.max(0, Math.ceil(at - this.#now())));
  }

  /** True while the read loop is reading: silence then means the peer said nothing. */
  get #reading(): boolean {
    return this.#readResume === undefined;
  }

  #presumeDead(why: string): void {
    this.#shutdown(
      new UnresponsiveError(`Connection to ${this.#label} was unresponsive (${why})`),
    );
  }

  #armSilenceTimer(at: number): void {
    this.#silenceTimer = setTimeout(
      this.#checkSilence,
      Math.max(0, Math.ceil(at - this.#now())),
    );
  }

  /** Closes the connection when requests waited `silenceTimeout` with nothing arriving. */
  readonly #checkSilence = (): void => {
    this.#silenceTimer = undefined;
    const limit = this.#options.silenceTimeout;
    if (this.#isClosed || limit === undefined) return;
    let oldest = Infinity;
    for (const entry of this.#pending.values()) {
      if (entry.sent && !entry.stream && entry.sentAt < oldest) oldest = entry.sentAt;
    }
    if (oldest === Infinity) return; // nothing waits; the next write re-arms
    const quietSince = Math.max(oldest, this.#lastByteAt);
    if (this.#reading && this.#now() - quietSince >= limit) {
      this.#presumeDead(`silent for ${limit} ms with requests in flight`);
    } else this.#armSilenceTimer(this.#reading ? quietSince + limit : this.#now() + limit);
  };

  #closedErrorFor(entry: Pending<Reply, Item>, cause?: Error): Error {
    const state = entry.sent
      ? `after ${entry.name} was sent; it may have been executed`
      : `before ${entry.name} was sent`;
    const why = cause ? ` (${cause.message})` : "";
    return new ConnectionClosedError(`Connection to ${this.#label} closed ${state}${why}`, {
      sent: entry.sent,
      cause,
    });
  }

  #shutdown(error: Error | undefined): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#closedError = error;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#silenceTimer !== undefined) clearTimeout(this.#silenceTimer);
    this.#silenceTimer = undefined;
    // Ask the machine which requests it really wrote before closing it: requests it held back
    // (e.g. behind a handshake) were never sent, so they may be replayed elsewhere.
    const wasSent = this.#machine.wasSent?.bind(this.#machine);
    if (wasSent) { for (const [id, entry] of this.#pending) entry.sent = wasSent(id); }
    this.#machine.close();
    this.#transport.close(error);
    const entries = [...this.#pending.values()];
    this.#pending.clear();
    for (const entry of entries) {
      // A refused handshake (a server error) is the answer the caller needs; anything else
      // becomes "closed", saying whether the request may have run, with the reason attached.
      const reason = error instanceof ServerError ? error : this.#closedErrorFor(entry, error);
      this.#settle(entry, reason);
    }
    this.#fullStreams.clear();
    this.#resumeReading();
    this.#maybeDrained();
    this.#options.onClose?.(error);
    this.#resolveClosed(error);
  }

  /** The reason the connection closed, or undefined while open or after a clean close. */
  get closeReason(): Error | undefined {
    return this.#closedError;
  }
}

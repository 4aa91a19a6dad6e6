// Stream state shared by the transports (DESIGN.md §4): the receive queue with its one pending
// reader, and the waiters of `ready()` and `end()`. No I/O here: each transport keeps its own
// runtime code and calls these on its events. A private helper, not a package entry point.

/** The settle functions of a pending promise. */
export type Waiter<T> = { resolve: (value: T) => void; reject: (error: Error) => void };

/** How a transport follows what a {@link ReadQueue} hands out. */
export interface ReadQueueHooks {
  /**
   * Called with each chunk as it goes to a reader, taken from the queue or handed straight
   * over by `push()`, before the reader gets it.
   */
  taken?: (chunk: Uint8Array) => void;
  /** Called when `read()` took a queued chunk or is about to wait: the reader wants more. */
  wanted?: () => void;
  /** Chunks pushed over this many bytes are handed out in slices of it (`readSize`). */
  maxChunk?: number;
}

/**
 * Received chunks waiting for `read()`, with at most one read pending.
 *
 * `read()` hands out queued chunks first. Once none are left it rejects with the error given
 * to `fail()`, else resolves `null` after `end()`, else waits for the next `push()`. A second
 * `read()` while one is pending rejects with a `TypeError`. After `close()` every read resolves
 * `null`, or rejects with the reason given to it.
 *
 * @example
 * ```ts
 * const queue = new ReadQueue();
 * const pending = queue.read();
 * queue.push(new Uint8Array([1])); // pending resolves with this chunk
 * queue.end();
 * await queue.read(); // null
 * ```
 */
export class ReadQueue {
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #reader: Waiter<Uint8Array | null> | undefined;
  #ended = false;
  #failure: Error | undefined;
  #closed = false;
  #closeReason: Error | undefined;
  #hooks: ReadQueueHooks;
  readonly #maxChunk: number;

  /** Creates an empty queue; `hooks` tell the transport what its reader takes. */
  constructor(hooks: ReadQueueHooks = {}) {
    this.#hooks = hooks;
    this.#maxChunk = hooks.maxChunk ?? Infinity;
  }

  /** Bytes queued and not read yet: what a transport weighs against its high-water mark. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether `end()` was called: the sender will send nothing more. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Hands `chunk` to the pending read, else queues it (in slices of `maxChunk` when it is
   * larger). Ignored after `close()`.
   */
  push(chunk: Uint8Array): void {
    const max = this.#maxChunk;
    if (chunk.length > max) {
      for (let at = 0; at < chunk.length; at += max) this.#push(chunk.subarray(at, at + max));
    } else {
      this.#push(chunk);
    }
  }

  #push(chunk: Uint8Array): void {
    if (this.#closed) return;
    const reader = this.#reader;
    if (reader) {
      this.#reader = undefined;
      this.#hooks.taken?.(chunk);
      reader.resolve(chunk);
      return;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
  }

  /** Marks the end of the stream: reads resolve `null` once the queue is empty. */
  end(): void {
    this.#ended = true;
    this.#settle();
  }

  /**
   * Records a failure: reads reject with it once the queue is empty, even after `end()`.
   * The first failure stays.
   */
  fail(error: Error): void {
    this.#failure ??= error;
    this.#settle();
  }

  /** Drops the queue; the pending and every later read resolve `null`, or reject with `reason`. */
  close(reason?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    this.#chunks = [];
    this.#bytes = 0;
    const reader = this.#reader;
    this.#reader = undefined;
    if (reader) reason ? reader.reject(reason) : reader.resolve(null);
  }

  /** The next chunk, or `null` at the end of the stream. One read at a time. */
  read(): Promise<Uint8Array | null> {
    return new Promise((resolve, reject) => this.readInto({ resolve, reject }));
  }

  /**
   * The callback form of {@link read} (a transport's `readInto`): `reader` is settled once,
   * at once when a chunk is queued or the stream is over, else by the next `push()`.
   */
  readInto(reader: Waiter<Uint8Array | null>): void {
    if (this.#reader) return reader.reject(new TypeError("read() is already pending"));
    if (this.#closed) {
      return this.#closeReason ? reader.reject(this.#closeReason) : reader.resolve(null);
    }
    const chunk = this.#chunks.shift();
    if (chunk) {
      this.#bytes -= chunk.length;
      this.#hooks.taken?.(chunk);
      this.#hooks.wanted?.();
      return reader.resolve(chunk);
    }
    if (this.#failure) return reader.reject(this.#failure);
    if (this.#ended) return reader.resolve(null);
    this.#hooks.wanted?.();
    this.#reader = reader;
  }

  /** Settles a pending read once the queue is empty and the stream has ended or failed. */
  #settle(): void {
    const reader = this.#reader;
    if (!reader || this.#chunks.length > 0) return;
    if (this.#failure) {
      this.#reader = undefined;
      reader.reject(this.#failure);
    } else if (this.#ended) {
      this.#reader = undefined;
      reader.resolve(null);
    }
  }
}

/**
 * The callers waiting on write backpressure: `ready()` promises, woken together once the
 * transport can take more, and `end()` promises, resolved once the write side is shut.
 * `rejectAll()` fails both kinds when the connection goes.
 *
 * @example
 * ```ts
 * const writers = new WriteWaiters();
 * const ready = writers.wait(); // from ready() while over the high-water mark
 * writers.wake(); // on drain, once under the mark again: ready resolves
 * ```
 */
export class WriteWaiters {
  #ready: Waiter<void>[] = [];
  #end: Waiter<void>[] = [];

  /** Whether a `wait()` or a `waitEnd()` promise is pending. */
  get waiting(): boolean {
    return this.#ready.length > 0 || this.#end.length > 0;
  }

  /** Whether a `waitEnd()` promise is pending. */
  get endWaiting(): boolean {
    return this.#end.length > 0;
  }

  /** A promise that `wake()` resolves (or `rejectAll()` rejects). */
  wait(): Promise<void> {
    return new Promise((resolve, reject) => this.#ready.push({ resolve, reject }));
  }

  /** A promise that `resolveEnd()` resolves (or `rejectAll()` rejects). */
  waitEnd(): Promise<void> {
    return new Promise((resolve, reject) => this.#end.push({ resolve, reject }));
  }

  /** Resolves every `wait()` promise. */
  wake(): void {
    const waiters = this.#ready;
    this.#ready = [];
    for (const waiter of waiters) waiter.resolve();
  }

  /** Resolves every `waitEnd()` promise. */
  resolveEnd(): void {
    const waiters = this.#end;
    this.#end = [];
    for (const waiter of waiters) waiter.resolve();
  }

  /** Rejects every pending promise with `error`: the `wait()` ones first, then `waitEnd()`. */
  rejectAll(error: Error): void {
    const waiters = [...this.#ready, ...this.#end];
    this.#ready = [];
    this.#end = [];
    for (const waiter of waiters) waiter.reject(error);
  }
}

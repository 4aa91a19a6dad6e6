// A bounded single-consumer async queue: the producer side of a stream (watch events,
// pub/sub messages, scan pages) and the consumer's AsyncIterable, with backpressure signals.

import { FifoTable } from "./correlation.ts";

/**
 * Options of a {@link StreamQueue}. The hooks are called as methods of this object, so an
 * instance of a class with `onDrain`/`onCancel` methods may be passed (no closure per queue).
 */
export interface StreamQueueOptions {
  /** `push` returns false once this many items wait. Default 1024. */
  highWaterMark?: number;
  /** Called when the queue falls back under the high-water mark after a `push` returned false. */
  onDrain?: () => void;
  /** Called once when the consumer stops early (`break` out of `for await`, or `return()`). */
  onCancel?: () => void;
}

/**
 * An async iterable fed by a producer. `push` never drops: it returns false over the
 * high-water mark so that the producer stops reading its source until `onDrain` fires.
 *
 * @example
 * ```ts
 * import { StreamQueue } from "@kvwire/kvwire";
 * const q = new StreamQueue<number>();
 * q.push(1);
 * q.push(2);
 * q.end();
 * for await (const n of q) console.log(n); // 1, 2
 * ```
 */
export class StreamQueue<T> implements AsyncIterableIterator<T> {
  #items = new FifoTable<T>();
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  #ended = false;
  #error: unknown = undefined;
  #cancelled = false;
  #overHighWater = false;
  readonly #highWaterMark: number;
  readonly #hooks: StreamQueueOptions;

  /** Creates an empty open queue. */
  constructor(options: StreamQueueOptions = {}) {
    this.#highWaterMark = options.highWaterMark ?? 1024;
    this.#hooks = options;
  }

  /** Items waiting for the consumer. */
  get size(): number {
    return this.#items.size;
  }

  /** True once `end` was called or the consumer cancelled. */
  get ended(): boolean {
    return this.#ended || this.#cancelled;
  }

  /** Delivers an item; returns false when the producer should pause. Ignored once ended. */
  push(item: T): boolean {
    if (this.ended) return true;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter.resolve({ value: item, done: false });
      return true;
    }
    this.#items.push(item);
    if (this.#items.size >= this.#highWaterMark) this.#overHighWater = true;
    return !this.#overHighWater;
  }

  /** Ends the stream: the consumer sees the buffered items, then the end or `error`. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.#ended = true;
    this.#error = error;
    const waiter = this.#waiter;
    if (!waiter) return;
    this.#waiter = undefined;
    this.#error = undefined;
    this.#cancelled = true; // the end is reported once, to the consumer waiting for it
    if (error !== undefined) waiter.reject(error);
    else waiter.resolve({ value: undefined, done: true });
  }

  /** The next item, waiting for one when none is buffered. */
  next(): Promise<IteratorResult<T>> {
    if (this.#items.size > 0) {
      const value = this.#items.shift() as T;
      if (this.#overHighWater && this.#items.size <= this.#highWaterMark / 2) {
        this.#overHighWater = false;
        this.#hooks.onDrain?.();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#cancelled) return Promise.resolve({ value: undefined, done: true });
    if (this.#ended) {
      const error = this.#error;
      this.#error = undefined;
      this.#cancelled = true; // the end is reported once
      return error === undefined
        ? Promise.resolve({ value: undefined, done: true })
        : Promise.reject(error);
    }
    if (this.#waiter) return Promise.reject(new TypeError("StreamQueue has a single consumer"));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /**
   * The next item, or undefined when none arrived within `ms` milliseconds: a wait that
   * times out is withdrawn, so the next item goes to the next call (nothing is lost).
   *
   * @example
   * ```ts
   * import { StreamQueue } from "@kvwire/kvwire";
   * const q = new StreamQueue<string>();
   * console.log(await q.nextWithin(10)); // undefined
   * q.push("a");
   * console.log(await q.nextWithin(10)); // { value: "a", done: false }
   * ```
   */
  nextWithin(ms: number): Promise<IteratorResult<T> | undefined> {
    if (this.#items.size > 0 || this.ended || this.#waiter) return this.next();
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (r: IteratorResult<T>): void => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e: unknown): void => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        if (this.#waiter === waiter) this.#waiter = undefined;
        resolve(undefined);
      }, ms);
      this.#waiter = waiter;
    });
  }

  /** Stops consuming: drops buffered items and tells the producer through `onCancel`. */
  return(): Promise<IteratorResult<T>> {
    if (!this.#cancelled) {
      const producerStillRunning = !this.#ended;
      this.#cancelled = true;
      this.#items.drain();
      this.#waiter?.resolve({ value: undefined, done: true });
      this.#waiter = undefined;
      if (producerStillRunning) this.#hooks.onCancel?.();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Returns itself: a queue is iterated once. */
  [Symbol.asyncIterator](): this {
    return this;
  }
}

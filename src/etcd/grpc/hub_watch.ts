// One watch of a WatchHub as its consumer sees it: an async iterable of events with the
// watcher's surface (created, nextRevision, reconnects, close); the hub keeps its state.

import type { StreamQueue } from "../../core/stream_queue.ts";
import type { WatchEvent, WatchStream } from "../watch.ts";

/**
 * One watch on a `WatchHub`: an async iterable of events, each seen once and in order
 * across stream losses. Ends with `EtcdCompactedError`, `EtcdError` (server cancel), or the
 * stream's fatal error.
 *
 * @example
 * ```ts
 * import type { HubWatch } from "./hub_watch.ts";
 * async function firstEvent(watch: HubWatch) {
 *   await watch.created;
 *   for await (const event of watch) return event;
 * }
 * ```
 */
export class HubWatch implements WatchStream {
  /** Resolves with the revision the watch started after, once the server confirmed it. */
  readonly created: Promise<bigint>;
  readonly #queue: StreamQueue<WatchEvent>;
  readonly #next: () => bigint | undefined;
  readonly #reconnects: () => number;
  readonly #stop: () => void;

  /** Made by `WatchHub.watch`, which keeps the state these read. */
  constructor(state: {
    queue: StreamQueue<WatchEvent>;
    created: Promise<bigint>;
    next: () => bigint | undefined;
    reconnects: () => number;
    stop: () => void;
  }) {
    this.#queue = state.queue;
    this.created = state.created;
    this.#next = state.next;
    this.#reconnects = state.reconnects;
    this.#stop = state.stop;
  }

  /** The next revision the watch will report (last delivered + 1). */
  get nextRevision(): bigint | undefined {
    return this.#next();
  }

  /** How many times the watch was re-established on a new stream. */
  get reconnects(): number {
    return this.#reconnects();
  }

  /** Events waiting for the consumer. */
  get buffered(): number {
    return this.#queue.size;
  }

  /** Stops the watch; iteration ends after the buffered events. */
  close(): void {
    this.#stop();
  }

  /** Waits for the next event. */
  next(): Promise<IteratorResult<WatchEvent>> {
    return this.#queue.next();
  }

  /** Stops the watch and ends iteration. */
  return(): Promise<IteratorResult<WatchEvent>> {
    this.#stop();
    return this.#queue.return();
  }

  /** Returns itself: a watch is iterated once. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Stops the watch at the end of an `await using` scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }
}

// One watch of a WatchHub as its consumer sees it: an async iterable of events with the
// watcher's surface (created, nextRevision, reconnects, close); the hub keeps its state.

import type { StreamQueue } from "../../core/stream_queue.ts";
import type { WatchEvent, WatchStream } from "../watch.ts";

/**
 * What a {@link HubWatch} reads and calls: the hub's entry of the watch.
 *
 * @example
 * ```ts
 * import type { HubWatchState } from "./hub_watch.ts";
 * const stopAll = (states: HubWatchState[]) => states.forEach((s) => s.stop());
 * ```
 */
export interface HubWatchState {
  readonly queue: StreamQueue<WatchEvent>;
  /** Resolves with the revision the watch started after, once the server confirmed it. */
  readonly created: Promise<bigint>;
  /** Last delivered revision + 1. */
  readonly next: bigint | undefined;
  /** Times the watch was re-established. */
  readonly reconnects: number;
  /** Stops the watch. */
  stop(): void;
}

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
  readonly #state: HubWatchState;

  /** Made by `WatchHub.watch`, whose entry of the watch is `state`. */
  constructor(state: HubWatchState) {
    this.#state = state;
    this.created = state.created;
  }

  /** The next revision the watch will report (last delivered + 1). */
  get nextRevision(): bigint | undefined {
    return this.#state.next;
  }

  /** How many times the watch was re-established on a new stream. */
  get reconnects(): number {
    return this.#state.reconnects;
  }

  /** Events waiting for the consumer. */
  get buffered(): number {
    return this.#state.queue.size;
  }

  /** Stops the watch; iteration ends after the buffered events. */
  close(): void {
    this.#state.stop();
  }

  /** Waits for the next event. */
  next(): Promise<IteratorResult<WatchEvent>> {
    return this.#state.queue.next();
  }

  /** Stops the watch and ends iteration. */
  return(): Promise<IteratorResult<WatchEvent>> {
    this.#state.stop();
    return this.#state.queue.return();
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

// Request deadlines of the memcache machines, reported on a coarse grid with a sticky horizon so
// that the driver's one timer is not re-armed for every request.

import { DeadlineHeap } from "../core/deadline_heap.ts";
import { TimeoutError } from "../core/errors.ts";
import type { TimeoutEvent } from "../core/pending_requests.ts";

/** Deadlines are reported rounded up to a multiple of this many milliseconds. */
export const DEADLINE_GRANULARITY = 16;

/**
 * Deadlines of requests with payloads that settle early.
 *
 * Theory of operation: `poll` returns the earliest live deadline rounded up to the grid, and
 * keeps returning the last value it gave (the horizon) when nothing is pending, until `expire`
 * runs at or after it. A driver re-arms its timer only when that value changes, so requests
 * one after another, or many at once, share one timer; the cost is a timeout up to one grid
 * step late and at most one spurious wake-up per horizon.
 *
 * @example
 * ```ts
 * import { CoarseDeadlines } from "@kvwire/kvwire/memcache";
 * const deadlines = new CoarseDeadlines<{ settled: boolean }>();
 * const request = { settled: false };
 * deadlines.push(100, request);
 * deadlines.poll(); // 112
 * deadlines.expire(112); // [request]
 * ```
 */
export class CoarseDeadlines<E extends { settled: boolean }> {
  readonly #heap = new DeadlineHeap<E>((e) => !e.settled);
  #horizon: number | undefined;

  /** Adds a deadline. */
  push(deadline: number, entry: E): void {
    this.#heap.push(deadline, entry);
  }

  /** When `expire` should next run, or undefined. */
  poll(): number | undefined {
    const next = this.#heap.peek();
    if (next !== undefined) {
      this.#horizon = Math.ceil(next / DEADLINE_GRANULARITY) * DEADLINE_GRANULARITY;
    }
    return this.#horizon;
  }

  /** Removes and returns the live entries due at `now`. */
  expire(now: number): E[] {
    const due = this.#heap.popExpired(now);
    if (this.#heap.peek() === undefined && this.#horizon !== undefined && now >= this.#horizon) {
      this.#horizon = undefined;
    }
    return due;
  }

  /** Drops everything. */
  clear(): void {
    this.#heap.clear();
    this.#horizon = undefined;
  }
}

/**
 * The `closed` event a memcache machine reports after timeouts, when one of the requests that
 * timed out had been written: its reply may never come, and an in-order connection would then
 * read every later reply as the one before (python-memcached drops the socket on a timeout
 * too). Undefined when none was written.
 *
 * @example
 * ```ts
 * import { closedAfterTimeouts } from "@kvwire/kvwire/memcache";
 * closedAfterTimeouts([{ type: "timeout", id: 1, sent: true }])?.type; // "closed"
 * ```
 */
export function closedAfterTimeouts(
  timeouts: readonly TimeoutEvent[],
): { type: "closed"; error: TimeoutError } | undefined {
  const written = timeouts.filter((t) => t.sent).length;
  if (written === 0) return undefined;
  return {
    type: "closed",
    error: new TimeoutError(
      `${written} memcache request(s) timed out after they were sent; the connection is ` +
        "closed so that no late or missing reply can be taken for another request's",
      { sent: true },
    ),
  };
}

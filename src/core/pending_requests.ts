// The requests a machine has accepted and not yet answered: lookup by id (for cancel and
// wasSent), deadlines, and the timeout events they turn into. Shared by the protocol machines.

import type { ConnectionEvent, RequestId } from "./connection.ts";
import { DeadlineHeap } from "./deadline_heap.ts";
import { IdTable } from "./id_table.ts";

/** A timeout event, as {@link PendingRequests.expire} makes them. */
export type TimeoutEvent = Extract<ConnectionEvent<never>, { type: "timeout" }>;

/** What every machine's request entry carries. */
export interface TrackedRequest {
  /** The id `send` returned. */
  readonly id: RequestId;
  /** Answered, timed out or cancelled: any late reply is skipped. */
  settled: boolean;
  /** Its bytes were handed out by `pollTransmit`. */
  transmitted: boolean;
}

/** Where deadlines are kept: precise by default; a machine may report them coarser. */
export interface DeadlineStore<E> {
  /** Adds an entry due at `deadline`. */
  push(deadline: number, entry: E): void;
  /** When `expire` should next run, or undefined. */
  poll(): number | undefined;
  /** Removes and returns the unsettled entries due at `now`. */
  expire(now: number): E[];
  /** Drops everything. */
  clear(): void;
}

/** The default store: exact deadlines in a min-heap. */
class PreciseDeadlines<E extends TrackedRequest> implements DeadlineStore<E> {
  readonly #heap = new DeadlineHeap<E>((e) => !e.settled);
  push(deadline: number, entry: E): void {
    this.#heap.push(deadline, entry);
  }
  poll(): number | undefined {
    return this.#heap.peek();
  }
  expire(now: number): E[] {
    return this.#heap.popExpired(now);
  }
  clear(): void {
    this.#heap.clear();
  }
}

/**
 * Open requests by id, with their deadlines.
 *
 * Theory of operation: `add` registers an entry (and its deadline); `finish` forgets an entry
 * that got its answer; `cancel` and `expire` settle entries early, so that the machine skips
 * their replies while keeping its reply order. After `closeAll` every entry is settled, but
 * `get` still finds it, so a driver can ask which requests were really written.
 *
 * @example
 * ```ts
 * import { PendingRequests } from "@kvwire/kvwire";
 * const pending = new PendingRequests<{ id: number; settled: boolean; transmitted: boolean }>();
 * pending.add({ id: 1, settled: false, transmitted: true }, 100);
 * pending.nextDeadline(); // 100
 * pending.expire(100); // [{ type: "timeout", id: 1, sent: true }]
 * ```
 */
export class PendingRequests<E extends TrackedRequest> {
  readonly #byId = new IdTable<E>();
  readonly #deadlines: DeadlineStore<E>;

  /** Creates an empty set; `deadlines` decides how deadlines are kept (precise by default). */
  constructor(deadlines: DeadlineStore<E> = new PreciseDeadlines<E>()) {
    this.#deadlines = deadlines;
  }

  /** Entries registered and not yet finished, cancelled or expired. */
  get size(): number {
    return this.#byId.size;
  }

  /** Registers an entry, with an optional absolute deadline. */
  add(entry: E, deadline?: number): void {
    this.#byId.set(entry.id, entry);
    if (deadline !== undefined) this.#deadlines.push(deadline, entry);
  }

  /** The entry for `id`, if it is still open (or the machine was closed with it open). */
  get(id: RequestId): E | undefined {
    return this.#byId.get(id);
  }

  /** Forgets an entry whose answer arrived. */
  finish(entry: E): void {
    this.#byId.delete(entry.id);
  }

  /** Settles and forgets the entry for `id`; its reply, if any comes, is to be skipped. */
  cancel(id: RequestId): E | undefined {
    const entry = this.#byId.get(id);
    if (!entry) return undefined;
    entry.settled = true;
    this.#byId.delete(id);
    return entry;
  }

  /** The earliest deadline of an unsettled entry, for `pollTimeout`. */
  nextDeadline(): number | undefined {
    return this.#deadlines.poll();
  }

  /** Settles the entries due at `now` and returns their `timeout` events, for `handleTimeout`. */
  expire(now: number): TimeoutEvent[] {
    return this.#deadlines.expire(now).map((entry) => {
      entry.settled = true;
      this.#byId.delete(entry.id);
      return { type: "timeout", id: entry.id, sent: entry.transmitted };
    });
  }

  /** Settles every entry (the machine closed); `get` keeps answering for them. */
  closeAll(): void {
    for (const entry of this.#byId.values()) entry.settled = true;
    this.#deadlines.clear();
  }
}

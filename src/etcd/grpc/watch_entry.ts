// One watch of a WatchHub (watch_hub.ts): its options, what its owner learns of it, and the
// entry that holds its state and serves as its queue's hooks (no closures per watch).

import { StreamQueue, type StreamQueueOptions } from "../../core/stream_queue.ts";
import { Within } from "../kv.ts";
import type * as M from "../proto/messages.ts";
import type { Address } from "../channel_options.ts";
import type { WatchEvent, WatchOptions, WatchRestart } from "../watch.ts";
import type { HubWatchState } from "./hub_watch.ts";

/**
 * Options of one watch on a hub: those of a gateway watch, plus `fragment`.
 *
 * @example
 * ```ts
 * import type { HubWatchOptions } from "./watch_entry.ts";
 * const options: HubWatchOptions = { key: "jobs/", prefix: true, fragment: true };
 * ```
 */
export interface HubWatchOptions extends WatchOptions {
  /** Let the server split responses larger than its request limit (reassembled here). */
  fragment?: boolean;
}

/**
 * What the owner of a watch on a hub learns of it, called as methods of one object (no
 * closures per watch).
 *
 * @example
 * ```ts
 * import type { WatchReport } from "./watch_entry.ts";
 * const report: WatchReport = {
 *   created: (endpoint, reconnects) => console.log("on", endpoint.host, "after", reconnects),
 *   restarting: (restart) => console.log("restart", restart.attempt),
 *   ended: (error) => console.log("ended", error),
 * };
 * ```
 */
export interface WatchReport {
  /** The server confirmed the watch: on which endpoint, after how many restarts. */
  created(endpoint: Address, reconnects: number): void;
  /** The watch is about to be re-established (told before the caller's `onRestart`). */
  restarting(restart: WatchRestart): void;
  /** The watch ended, once: closed (no error), or with the error it ends with. */
  ended(error?: unknown): void;
}

/**
 * What the hub does for an entry: one per hub, shared by all its entries.
 *
 * @example
 * ```ts
 * import type { EntryOwner } from "./watch_entry.ts";
 * const owner: EntryOwner = { resume: (e) => console.log("resume", e.id), stop: () => {} };
 * ```
 */
export interface EntryOwner {
  resume(entry: Entry): void;
  stop(entry: Entry): void;
}

/**
 * One watch on the hub: its state, the hooks of its queue and the state its `HubWatch`
 * reads, in one object (methods, not closures: a hub may hold thousands).
 *
 * @example
 * ```ts
 * import { Entry, type EntryOwner } from "./watch_entry.ts";
 * const owner: EntryOwner = { resume: () => {}, stop: () => {} };
 * const entry = new Entry(owner, { key: "jobs/", prefix: true }, undefined, { key: new Uint8Array() });
 * entry.stop();
 * ```
 */
export class Entry implements StreamQueueOptions, HubWatchState {
  readonly queue: StreamQueue<WatchEvent>;
  readonly created: Promise<bigint>;
  readonly highWaterMark: number | undefined;
  readonly within: Within;
  resolveCreated!: (revision: bigint) => void;
  rejectCreated!: (error: unknown) => void;
  /** Last delivered revision + 1 (undefined until created without a start revision). */
  next: bigint | undefined;
  /** The server's watch id on the current stream, once created. */
  id: bigint | undefined = undefined;
  /** Cancelled on the server because its queue is full; created again once it drains. */
  suspended = false;
  reconnects = 0;
  /** Events of the fragments received so far of a fragmented response. */
  fragments: M.EventMsg[] | undefined = undefined;
  fragmentBytes = 0;

  constructor(
    readonly owner: EntryOwner,
    readonly options: HubWatchOptions,
    readonly report: WatchReport | undefined,
    readonly create: M.WatchCreateRequestMsg,
  ) {
    this.highWaterMark = options.highWaterMark;
    this.within = new Within(create);
    this.next = options.startRevision;
    this.queue = new StreamQueue<WatchEvent>(this);
    this.created = new Promise<bigint>((resolve, reject) => {
      this.resolveCreated = resolve;
      this.rejectCreated = reject;
    });
    this.created.catch(() => {});
  }

  /** The consumer drained the queue to half: the hub creates the watch again if suspended. */
  onDrain(): void {
    this.owner.resume(this);
  }

  /** The consumer stopped iterating. */
  onCancel(): void {
    this.owner.stop(this);
  }

  /** The watch's `close`. */
  stop(): void {
    this.owner.stop(this);
  }
}

// Typed events for every client (one shape everywhere): `on(name, listener)` returns the function
// that removes the listener. A throwing listener never disturbs the client: its error is reported
// on the `error` event (and dropped when an `error` listener itself throws).

import type { ConnectionEvents } from "./observe.ts";

/** Something whose events can be listened to: every kvwire client and pool. */
export interface Observable<Events extends object> {
  /**
   * Calls `listener` for each `name` event until the returned function is called.
   *
   * @example
   * ```ts
   * import { RedisClient } from "@kvwire/kvwire/redis";
   * const redis = await RedisClient.connect({ port: 6379 });
   * const stop = redis.on("disconnect", (e) => console.warn(e.address, e.error?.message));
   * stop();
   * await redis.close();
   * ```
   */
  on<Name extends keyof Events & string>(
    name: Name,
    listener: (event: Events[Name]) => void,
  ): () => void;
}

/** A listener for every event: the name and the payload. */
export type AnyListener<Events extends object> = <Name extends keyof Events & string>(
  name: Name,
  event: Events[Name],
) => void;

// deno-lint-ignore no-explicit-any
type Fn = (event: any) => void;

/**
 * The emitter behind a client's `on()`.
 *
 * Theory of operation: listeners live in a set per name, copied on emit only when a listener
 * changes the set while it runs, so emitting to nobody costs one map lookup. `has(name)` lets a
 * hot path skip building a payload nobody reads. Pool members share their client's hub and say
 * which member they are in the payload (`address`).
 *
 * @example
 * ```ts
 * import { EventHub } from "@kvwire/kvwire";
 * const hub = new EventHub<{ tick: { n: number } }>();
 * const stop = hub.on("tick", (e) => console.log(e.n));
 * hub.emit("tick", { n: 1 });
 * stop();
 * ```
 */
export class EventHub<Events extends object> implements Observable<Events> {
  #listeners = new Map<string, Set<Fn>>();
  #any = new Set<AnyListener<Events>>();

  /** {@inheritDoc Observable.on} */
  on<Name extends keyof Events & string>(
    name: Name,
    listener: (event: Events[Name]) => void,
  ): () => void {
    if (typeof listener !== "function") {
      throw new TypeError(`The listener for "${name}" must be a function`);
    }
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, set = new Set());
    const own = (event: Events[Name]): void => listener(event);
    set.add(own);
    return () => {
      set.delete(own);
    };
  }

  /** Calls `listener` for every event (loggers, forwarding); returns the remover. */
  onAny(listener: AnyListener<Events>): () => void {
    this.#any.add(listener);
    return () => {
      this.#any.delete(listener);
    };
  }

  /** True when someone listens to `name` (directly or through `onAny`). */
  has(name: keyof Events & string): boolean {
    return this.#any.size > 0 || (this.#listeners.get(name)?.size ?? 0) > 0;
  }

  /** Delivers `event` to the listeners of `name`, then to the `onAny` listeners. */
  emit<Name extends keyof Events & string>(name: Name, event: Events[Name]): void {
    const set = this.#listeners.get(name);
    if (set && set.size > 0) {
      for (const listener of [...set]) this.#call(name, () => listener(event));
    }
    if (this.#any.size > 0) {
      for (const listener of [...this.#any]) this.#call(name, () => listener(name, event));
    }
  }

  #call(name: string, run: () => void): void {
    try {
      run();
    } catch (error) {
      if (name === "error") return; // an error listener's own failure has nowhere to go
      const wrapped = error instanceof Error ? error : new Error(String(error));
      (this as unknown as EventHub<ConnectionEvents>).emit("error", {
        error: wrapped,
        source: "listener",
      });
    }
  }
}

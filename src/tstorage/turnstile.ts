// A FIFO lock with per-waiter deadlines and abort signals. TStorage answers one request at a
// time, so the client lets one call at a time reach the connection (this keeps "sent" exact).

import { FifoTable } from "../core/correlation.ts";
import { AbortedError, TimeoutError } from "../core/errors.ts";

interface Waiter {
  resolve: () => void;
  done: boolean;
}

/** What {@link Turnstile.acquire} hands out. */
export interface Turn {
  /** Lets the next caller in; idempotent. */
  release(): void;
  /** Milliseconds left of the caller's timeout, or undefined without one. */
  remaining: number | undefined;
}

/**
 * Lets callers through one at a time, in arrival order. A waiter whose timeout passes or whose
 * signal aborts leaves the line with `TimeoutError`/`AbortedError` (`sent: false`).
 *
 * @example
 * ```ts
 * import { Turnstile } from "@kvwire/kvwire/tstorage";
 * const gate = new Turnstile();
 * const turn = await gate.acquire("GET", 1000);
 * try {
 *   // one request at a time here
 * } finally {
 *   turn.release();
 * }
 * ```
 */
export class Turnstile {
  #busy = false;
  #line = new FifoTable<Waiter>();

  /** True while someone holds the turn. */
  get busy(): boolean {
    return this.#busy;
  }

  /** Waits for the turn; `timeout` (ms) and `signal` bound the wait. */
  async acquire(name: string, timeout?: number, signal?: AbortSignal): Promise<Turn> {
    const started = performance.now();
    if (signal?.aborted) {
      throw new AbortedError(`${name} was aborted before it was sent`, { cause: signal.reason });
    }
    if (!this.#busy) this.#busy = true;
    else await this.#wait(name, timeout, signal);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.#handOff();
    };
    if (timeout === undefined) return { release, remaining: undefined };
    const remaining = timeout - (performance.now() - started);
    if (remaining <= 0) {
      release();
      throw new TimeoutError(`${name} timed out waiting for its turn on the connection`);
    }
    return { release, remaining };
  }

  #wait(name: string, timeout?: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const cleanup = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const waiter: Waiter = {
        done: false,
        resolve: () => {
          cleanup();
          resolve();
        },
      };
      const fail = (error: Error): void => {
        if (waiter.done) return;
        waiter.done = true;
        cleanup();
        reject(error);
      };
      const onAbort = (): void =>
        fail(new AbortedError(`${name} was aborted before it was sent`, { cause: signal?.reason }));
      if (timeout !== undefined) {
        timer = setTimeout(
          () =>
            fail(
              new TimeoutError(
                `${name} timed out waiting for its turn (TStorage answers one request at a time)`,
              ),
            ),
          timeout,
        );
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#line.push(waiter);
    });
  }

  #handOff(): void {
    for (let w = this.#line.shift(); w; w = this.#line.shift()) {
      if (w.done) continue;
      w.done = true;
      w.resolve(); // the turn passes on: #busy stays true
      return;
    }
    this.#busy = false;
  }
}

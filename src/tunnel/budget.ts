// The per-connection budget of what a client may send the relay: frames and bytes per time
// window. Pure bookkeeping (the session pauses reading when a window's budget is spent).

/** Limits of a {@link FrameBudget}. */
export interface BudgetLimits {
  /** Length of a budget window, ms. */
  readonly window: number;
  /** Frames (data, text, control, empty fragments alike) per window; 0: unlimited. */
  readonly frames: number;
  /** Bytes on the wire (frame headers included) per window; 0: unlimited. */
  readonly bytes: number;
}

/**
 * Counts what one client sent in the current window. `charge()` adds frames and bytes and
 * says how long to stop reading (ms until the window ends) when the budget is spent; each
 * window that passes pays off one budget, so an overdraft (one read can hold many frames)
 * carries over and the long-run rate never exceeds the budget. A client over budget is slowed to the budget's rate, never
 * buffered: the relay does not read it while it waits, so TCP holds the client back.
 *
 * @example
 * ```ts
 * import { FrameBudget } from "@kvwire/kvwire/tunnel";
 * const budget = new FrameBudget({ window: 1000, frames: 2, bytes: 0 }, 0);
 * budget.charge(1, 10, 0); // 0: go on
 * budget.charge(2, 10, 100); // 900: 3 frames > 2, wait until the window ends
 * budget.charge(0, 0, 1000); // 0: the next window paid off 2 of the 3
 * ```
 */
export class FrameBudget {
  readonly #limits: BudgetLimits;
  #start: number;
  #frames = 0;
  #bytes = 0;

  /** Starts the first window at `now` (ms). */
  constructor(limits: BudgetLimits, now: number) {
    this.#limits = limits;
    this.#start = now;
  }

  /** Adds what arrived; returns 0 to go on, or ms to wait before reading again. */
  charge(frames: number, bytes: number, now: number): number {
    const { window, frames: maxFrames, bytes: maxBytes } = this.#limits;
    const elapsed = Math.floor((now - this.#start) / window);
    if (elapsed > 0) {
      // Each window that passed pays off one budget's worth (an overdraft carries over).
      this.#start += elapsed * window;
      this.#frames = Math.max(0, this.#frames - elapsed * maxFrames);
      this.#bytes = Math.max(0, this.#bytes - elapsed * maxBytes);
    }
    this.#frames += frames;
    this.#bytes += bytes;
    const over = (maxFrames > 0 && this.#frames > maxFrames) ||
      (maxBytes > 0 && this.#bytes > maxBytes);
    return over ? Math.max(1, this.#start + window - now) : 0;
  }
}

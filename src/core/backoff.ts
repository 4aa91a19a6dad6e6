// Exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS Architecture
// Blog, 2015): delay = random(0, min(maxDelay, initialDelay * factor^attempt)).

/** Settings of a backoff schedule, in milliseconds. */
export interface BackoffOptions {
  /** Upper bound of the first delay. Default 50 ms. */
  initialDelay?: number;
  /** Cap of every delay. Default 5,000 ms. */
  maxDelay?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Random source in [0, 1); injectable for tests. Default `Math.random`. */
  random?: () => number;
}

/**
 * The delay before retry number `attempt` (0-based), with full jitter.
 *
 * @example
 * ```ts
 * import { backoffDelay } from "@kvwire/kvwire";
 * backoffDelay(3, { initialDelay: 100, maxDelay: 1000, random: () => 0.5 }); // 400
 * ```
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialDelay ?? 50;
  const max = options.maxDelay ?? 5000;
  const factor = options.factor ?? 2;
  const ceiling = Math.min(max, initial * Math.pow(factor, Math.max(0, attempt)));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

/**
 * A stateful schedule: `next()` returns the next delay, `reset()` starts over after a success.
 *
 * @example
 * ```ts
 * import { Backoff } from "@kvwire/kvwire";
 * const b = new Backoff({ initialDelay: 10, maxDelay: 100 });
 * const first = b.next(); // between 0 and 9
 * b.attempts; // 1
 * b.reset();
 * ```
 */
export class Backoff {
  #attempts = 0;
  readonly #options: BackoffOptions;

  /** Creates a schedule. */
  constructor(options: BackoffOptions = {}) {
    this.#options = options;
  }

  /** Delays handed out since the last reset. */
  get attempts(): number {
    return this.#attempts;
  }

  /** The next delay in milliseconds. */
  next(): number {
    return backoffDelay(this.#attempts++, this.#options);
  }

  /** Starts over from the first delay. */
  reset(): void {
    this.#attempts = 0;
  }
}

// Waiting without busy loops: a turn in a queue of waiters (bounded by a deadline and a signal),
// and a plain sleep that an AbortSignal cuts short.

import { AbortedError, TimeoutError } from "../core/errors.ts";

/**
 * Queues a wake-up in `waiters` and resolves when it is called; rejects with `TimeoutError` at
 * `deadline` or `AbortedError` when `signal` aborts (nothing was sent).
 */
export function waitTurn(
  waiters: (() => void)[],
  deadline: number,
  what: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (error?: Error): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      const i = waiters.indexOf(wake);
      if (i !== -1) waiters.splice(i, 1);
      if (error) reject(error);
      else resolve();
    };
    const wake = (): void => settle();
    const onAbort = (): void =>
      settle(new AbortedError(`${what} was aborted before it was sent`, { cause: signal?.reason }));
    const timer = setTimeout(
      () => settle(new TimeoutError(`${what} timed out waiting for a free connection`)),
      Math.max(0, deadline - Date.now()),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
    waiters.push(wake);
  });
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

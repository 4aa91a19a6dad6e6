// Test helpers for the observability of a client: a hook recording every operation, a logger
// keeping every line, a recorder of events, and a wait for the next event matching a test.

import type {
  Instrumentation,
  Logger,
  Observable,
  Operation,
} from "../../src/core/observability.ts";

/** A hook that keeps the operations it saw start and end. */
export function recordOperations(): {
  hook: Instrumentation;
  started: Operation[];
  ended: Operation[];
} {
  const started: Operation[] = [];
  const ended: Operation[] = [];
  return {
    hook: { onStart: (op) => started.push(op), onEnd: (op) => ended.push(op) },
    started,
    ended,
  };
}

/** A logger keeping each line with its fields as JSON. */
export function recordLog(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push(JSON.stringify({ level, message, fields }));
  };
  return {
    logger: { debug: keep("debug"), info: keep("info"), warn: keep("warn"), error: keep("error") },
    lines,
  };
}

/** Records the events `names` of `client` in order as `[name, payload]` (give the event map). */
export function recordEvents<E extends object>(
  client: Observable<E>,
  names: readonly (keyof E & string)[],
): [keyof E & string, unknown][] {
  const seen: [keyof E & string, unknown][] = [];
  for (const name of names) client.on(name, (event) => seen.push([name, event]));
  return seen;
}

/**
 * A wait for events of `client` (give the event map: `eventWaiter<PegasusEvents>(client)`): the
 * function resolves with the next `name` event for which `test` holds, or rejects after `ms`.
 */
export function eventWaiter<E extends object>(client: Observable<E>) {
  return <Name extends keyof E & string>(
    name: Name,
    test: (event: E[Name]) => boolean = () => true,
    ms = 5000,
  ): Promise<E[Name]> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`No ${name} event within ${ms} ms`));
      }, ms);
      const stop = client.on(name, (event) => {
        if (!test(event)) return;
        clearTimeout(timer);
        stop();
        resolve(event);
      });
    });
}

/** Resolves once `check()` holds, looking again after each turn of I/O; rejects after `ms`. */
export async function until(check: () => boolean, ms = 5000): Promise<void> {
  const giveUp = performance.now() + ms;
  while (!check()) {
    if (performance.now() > giveUp) throw new Error(`Condition not reached within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

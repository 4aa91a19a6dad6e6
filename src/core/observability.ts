// The options every client takes to be observed (`instrumentation`, `logger`) and the one
// helper that turns them into the client's event hub and instrumenter. Re-exports the pieces.

import { EventHub } from "./events.ts";
import { type Instrumentation, Instrumenter } from "./instrument.ts";
import { logEvents, type Logger } from "./logger.ts";
import type { ConnectionEvents } from "./observe.ts";

export * from "./events.ts";
export * from "./instrument.ts";
export * from "./logger.ts";
export * from "./observe.ts";

/** How a client is observed: options shared by every client. */
export interface ObservabilityOptions {
  /**
   * Hooks that see every request and stream of this client (in addition to the process-wide
   * ones of `addInstrumentation`). Default none.
   */
  instrumentation?: Instrumentation | readonly Instrumentation[];
  /** Logs the client's events (debug: connects, reconnects, redirections). Default none. */
  logger?: Logger;
}

/** A client's event hub and instrumenter. */
export interface Observability<Events extends ConnectionEvents> {
  /** The hub behind the client's `on()`. */
  readonly events: EventHub<Events>;
  /** The hooks for the client's operations. */
  readonly instrumenter: Instrumenter;
}

/**
 * Builds a client's hub and instrumenter from its options; the logger (if any) listens to the hub.
 *
 * @example
 * ```ts
 * import { observability } from "@kvwire/kvwire";
 * const { events, instrumenter } = observability({ logger: console }, "redis 127.0.0.1:6379");
 * events.emit("ready", { address: "127.0.0.1:6379", reconnect: false });
 * console.log(instrumenter.enabled);
 * ```
 */
export function observability<Events extends ConnectionEvents = ConnectionEvents>(
  options: ObservabilityOptions,
  label: string,
): Observability<Events> {
  const events = new EventHub<Events>();
  if (options.logger !== undefined) logEvents(events, options.logger, label);
  return { events, instrumenter: new Instrumenter(options.instrumentation) };
}

// Publishes every kvwire operation on `node:diagnostics_channel` tracing channels (Node, Deno,
// Bun; Workers with `nodejs_compat`), through the process-wide hook of src/core/instrument.ts.
// Lives outside src/ because it names a runtime module.

import { tracingChannel } from "node:diagnostics_channel";
import { addInstrumentation, type Operation } from "../src/core/instrument.ts";

/**
 * The names of the tracing channels: requests (settle once) and streams (watches, subscriptions,
 * scanners, GET streams: they end when the stream ends). Each name is the prefix of five
 * channels, `tracing:<name>:start`, `:end`, `:asyncStart`, `:asyncEnd` and `:error`.
 *
 * @example
 * ```ts
 * import { tracingChannel } from "node:diagnostics_channel";
 * import { CHANNELS } from "@kvwire/kvwire/diagnostics-channel";
 * tracingChannel(CHANNELS.request).subscribe({
 *   start() {},
 *   end() {},
 *   asyncStart() {},
 *   asyncEnd(op) { console.log(op.operation, op.duration, op.errorCode); },
 *   error() {},
 * });
 * ```
 */
export const CHANNELS = { request: "kvwire:request", stream: "kvwire:stream" } as const;

const request = tracingChannel<unknown, Operation>(CHANNELS.request);
const stream = tracingChannel<unknown, Operation>(CHANNELS.stream);
type Channels = typeof request;

/** Per channel: `hasSubscribers` of the collection is missing on some runtimes. */
function listened(channels: Channels): boolean {
  return channels.start.hasSubscribers || channels.end.hasSubscribers ||
    channels.asyncStart.hasSubscribers || channels.asyncEnd.hasSubscribers ||
    channels.error.hasSubscribers;
}

/** Operations whose `start` went out: only they get the closing events. */
const published = new WeakSet<Operation>();

const hook = {
  active: (): boolean => listened(request) || listened(stream),
  onStart(op: Operation): void {
    const channels = op.kind === "stream" ? stream : request;
    if (!listened(channels)) return;
    published.add(op);
    channels.start.publish(op);
    channels.end.publish(op);
  },
  onEnd(op: Operation): void {
    if (!published.delete(op)) return;
    const channels = op.kind === "stream" ? stream : request;
    if (op.error !== undefined) channels.error.publish(op);
    channels.asyncStart.publish(op);
    channels.asyncEnd.publish(op);
  },
};

/**
 * Who publishes, kept on the global object so that two copies of this module (the ESM and CJS
 * builds) never publish an operation twice.
 */
const state = ((globalThis as { [key: symbol]: unknown })[
  Symbol.for("kvwire.diagnostics_channel")
] ??= { users: 0, remove: undefined }) as { users: number; remove?: () => void };

/**
 * Starts publishing every operation of every kvwire client in this process on the tracing
 * channels named by {@link CHANNELS}; returns a function that stops it (after as many stops as
 * starts). The context object of every event is the {@link Operation} itself, the same object
 * from `start` to `asyncEnd`, and never holds keys, values or credentials.
 *
 * Events, following Node's TracingChannel for a Promise: `start` then `end` when the operation
 * starts (kvwire runs no user code inside it, so the synchronous part is empty and stores bound
 * to `start` are not entered); when it settles, `error` (a failure: `error` and `errorCode` are
 * set), then `asyncStart` and `asyncEnd` (`endTime` and `duration` are set). While no channel
 * has a subscriber, operations are not even built.
 *
 * @example
 * ```ts
 * import { subscribe } from "node:diagnostics_channel";
 * import { publishDiagnostics } from "@kvwire/kvwire/diagnostics-channel";
 * const stop = publishDiagnostics();
 * subscribe("tracing:kvwire:request:asyncEnd", (op) => console.log(op));
 * stop();
 * ```
 */
export function publishDiagnostics(): () => void {
  if (state.users++ === 0) state.remove = addInstrumentation(hook);
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    if (--state.users === 0) {
      state.remove?.();
      state.remove = undefined;
    }
  };
}

// The sans-I/O connection machine shape shared by all five protocols (DESIGN.md §3):
// bytes in through receive(), events out through nextEvent(), bytes out through pollTransmit().

import type { KvError, ServerError } from "./errors.ts";

/** Identifies one request on one connection; assigned by `send`. */
export type RequestId = number;

/** Everything a machine can report. */
export type ConnectionEvent<Reply, Item = never, Push = never> =
  | { type: "reply"; id: RequestId; value: Reply }
  | { type: "serverError"; id: RequestId; error: ServerError }
  | { type: "streamItem"; id: RequestId; item: Item }
  | { type: "streamEnd"; id: RequestId; error?: ServerError }
  | { type: "push"; value: Push }
  | { type: "timeout"; id: RequestId; sent: boolean }
  | { type: "closed"; error?: KvError };

/** Per-request options a machine understands. */
export interface SendOptions {
  /** Absolute time (same clock as `handleTimeout`) after which the request times out. */
  deadline?: number;
}

/**
 * A protocol connection as a pure state machine: no I/O, no timers, no Promises.
 *
 * - `receive` takes ownership of a chunk and never parses eagerly; `nextEvent` parses lazily
 *   and returns `undefined` when it needs more bytes.
 * - `send` encodes a request (throwing `LocalProtocolError`, `TypeError` or `RangeError`
 *   before anything is queued) and returns its id; `pollTransmit` hands out the bytes.
 * - After a `RemoteProtocolError` (thrown by `nextEvent`) or a `closed` event (whose error is a
 *   `RemoteProtocolError`, or a `ServerError` when a handshake step was refused) the
 *   machine is failed: every later call reports `closed` again.
 *
 * @example
 * ```ts
 * import type { ProtocolConnection } from "@kvwire/kvwire";
 * function drain<R>(conn: ProtocolConnection<unknown, R>): R[] {
 *   const replies: R[] = [];
 *   for (let e = conn.nextEvent(); e; e = conn.nextEvent()) {
 *     if (e.type === "reply") replies.push(e.value);
 *   }
 *   return replies;
 * }
 * ```
 */
export interface ProtocolConnection<Req, Reply, Item = never, Push = never> {
  receive(chunk: Uint8Array): void;
  receiveEof(): void;
  nextEvent(): ConnectionEvent<Reply, Item, Push> | undefined;
  send(request: Req, options?: SendOptions): RequestId;
  cancel(id: RequestId): void;
  close(): void;
  pollTransmit(maxBytes?: number): Uint8Array | undefined;
  readonly inFlight: number;
  readonly canSend: boolean;
  readonly wantsRead: boolean;
  pollTimeout(): number | undefined;
  handleTimeout(now: number): void;
}

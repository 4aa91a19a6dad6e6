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
  /**
   * Buffers bytes read from the peer; takes ownership of `chunk` (the caller must not reuse
   * it) and parses nothing until `nextEvent` is called. Ignored once closed or after EOF.
   */
  receive(chunk: Uint8Array): void;
  /**
   * Tells the machine the peer ended its stream: once the buffered events are drained,
   * `nextEvent` reports `closed` (with a `RemoteProtocolError` when a frame was cut short).
   */
  receiveEof(): void;
  /**
   * Returns the next event, parsing buffered bytes lazily, or `undefined` when more bytes are
   * needed; throws `RemoteProtocolError` on a protocol violation, which fails the machine.
   */
  nextEvent(): ConnectionEvent<Reply, Item, Push> | undefined;
  /**
   * Encodes a request, queues its bytes for `pollTransmit` and returns its id; throws
   * `LocalProtocolError` when the request is illegal now (closed, restricted mode), or
   * `TypeError`/`RangeError` on bad arguments, before anything is queued.
   */
  send(request: Req, options?: SendOptions): RequestId;
  /**
   * Abandons a request: no event is reported for it afterwards, an unsent one may never be
   * written and a late reply is discarded (a machine that cannot skip an in-flight reply may
   * close instead). Unknown or settled ids are ignored.
   */
  cancel(id: RequestId): void;
  /**
   * Closes the machine locally: pending requests are forgotten without events, nothing more
   * is transmitted and `send` throws `LocalProtocolError`. Idempotent.
   */
  close(): void;
  /**
   * Returns the next bytes to write, coalescing queued requests up to `maxBytes` (a hint;
   * one request may exceed it), or `undefined` when nothing is waiting. Bytes handed out
   * count as sent.
   */
  pollTransmit(maxBytes?: number): Uint8Array | undefined;
  /**
   * Optional: as `pollTransmit`, but the bytes may be a view into the machine's own buffer,
   * valid only until the next call to the machine. The driver uses it with transports that
   * copy on write (`Transport.writeBorrowed`), so a flush copies nothing.
   */
  pollTransmitView?(maxBytes?: number): Uint8Array | undefined;
  /** Requests accepted by `send` and not yet settled (replied, failed, timed out or cancelled). */
  readonly inFlight: number;
  /**
   * Whether the machine accepts requests now: false once closed or while its pipeline is full
   * (a restricted mode may still refuse a particular request in `send`).
   */
  readonly canSend: boolean;
  /**
   * Whether the driver should keep feeding `receive`: false once closed or while undelivered
   * events are over the machine's high-water mark, until `nextEvent` drains them.
   */
  readonly wantsRead: boolean;
  /**
   * The earliest absolute time (the clock of `SendOptions.deadline`) at which
   * `handleTimeout` must be called, or `undefined` when nothing is timed.
   */
  pollTimeout(): number | undefined;
  /**
   * Runs the timers due at `now`: every request whose deadline is at or before it is
   * forgotten and reported by a `timeout` event saying whether its bytes were sent.
   */
  handleTimeout(now: number): void;
  /**
   * Optional: whether the bytes of request `id` have been handed out by `pollTransmit`.
   * Machines that hold requests back (behind a handshake, one at a time) implement it, so a
   * lost connection can tell requests never written (safe to send again) from ones that may
   * have run. Without it the driver assumes every request it flushed was sent.
   */
  wasSent?(id: RequestId): boolean;
}

// The outbound side of the machines: requests are encoded back to back into one buffer when they
// are sent and handed out coalesced; requests settled before they went out are cut out.

import { concatBytes } from "./bytes.ts";
import { FifoTable } from "./correlation.ts";

/** The buffer requests are encoded into (ByteWriter, or a protocol's own). */
export interface OutboundBuffer {
  /** Bytes written. */
  readonly length: number;
  /** The bytes written, as a view valid until the next write. */
  view(): Uint8Array;
  /** A copy of the bytes written, leaving the buffer empty. */
  finish(): Uint8Array;
  /** Drops the first `n` bytes written. */
  discard(n: number): void;
}

/** What the outbox needs of a request entry. */
export interface OutboxEntry {
  /** Byte range in the outbound buffer while queued. */
  start: number;
  /** End of that range. */
  end: number;
  /** True once timed out or cancelled: not transmitted if still queued. */
  settled: boolean;
  /** True once handed to `pollTransmit`'s caller. */
  transmitted: boolean;
}

/** Options of an {@link Outbox}. */
export interface OutboxOptions<E> {
  /** Entries that go out even when settled (e.g. Redis subscriptions, whose confirmations the
   * machine must still count). Default: none. */
  sendSettled?: (entry: E) => boolean;
}

/**
 * Encoded requests waiting to be transmitted, in order.
 *
 * Theory of operation: `send` validates a request, writes its bytes at the end of `writer` and
 * calls `push(entry, start)`. `take` moves entries out in order (at least one, then as many as
 * fit in `maxBytes`), marks them transmitted and returns their bytes as one chunk; an entry that
 * settled while queued is dropped and its bytes are cut out, so a request that timed out before
 * it was sent never reaches the server. The common case (everything, nothing dropped) is one
 * copy of the buffer, or none when the caller borrows the bytes (`lend`).
 *
 * @example
 * ```ts
 * import { ByteWriter, Outbox } from "@kvwire/kvwire";
 * const box = new Outbox(new ByteWriter());
 * const entry = { start: 0, end: 0, settled: false, transmitted: false };
 * const start = box.writer.length;
 * box.writer.writeAscii("mn\r\n");
 * box.push(entry, start);
 * box.take(Infinity, () => {}); // bytes of "mn\r\n"
 * ```
 */
export class Outbox<E extends OutboxEntry, B extends OutboundBuffer> {
  /** The buffer requests are encoded into. */
  readonly writer: B;
  readonly #queue = new FifoTable<E>();
  readonly #sendSettled: (entry: E) => boolean;

  /** Creates an empty outbox over `writer`. */
  constructor(writer: B, options: OutboxOptions<E> = {}) {
    this.writer = writer;
    this.#sendSettled = options.sendSettled ?? (() => false);
  }

  /** Entries waiting. */
  get size(): number {
    return this.#queue.size;
  }

  /** Records an entry whose bytes run from `start` to the current end of `writer`. */
  push(entry: E, start: number): void {
    entry.start = start;
    entry.end = this.writer.length;
    this.#queue.push(entry);
  }

  #dropped(entry: E): boolean {
    return entry.settled && !this.#sendSettled(entry);
  }

  /**
   * Hands out the bytes of the next entries (at least one, then up to `maxBytes`), calling
   * `moved` for each one sent and `dropped` for each settled one that is cut out. With `lend`
   * the bytes may be a view into `writer`, valid until its next write (no copy).
   */
  take(
    maxBytes: number,
    moved: (entry: E) => void,
    dropped?: (entry: E) => void,
    lend = false,
  ): Uint8Array | undefined {
    const queue = this.#queue;
    if (queue.size === 0) return undefined;
    // First pass, without allocating: how many go, and whether any is cut out.
    let count = 0;
    let end = 0;
    let anyDropped = false;
    for (; count < queue.size; count++) {
      const entry = queue.at(count)!;
      if (count > 0 && entry.end > maxBytes) break;
      end = entry.end;
      if (this.#dropped(entry)) anyDropped = true;
    }
    let out: Uint8Array;
    if (!anyDropped && end === this.writer.length) { // the common case
      if (lend) {
        out = this.writer.view();
        this.writer.discard(end); // empties it; the bytes stay until the next write
      } else out = this.writer.finish();
    } else {
      const bytes = this.writer.view();
      if (anyDropped) {
        const parts: Uint8Array[] = [];
        for (let i = 0; i < count; i++) {
          const entry = queue.at(i)!;
          if (!this.#dropped(entry)) parts.push(bytes.subarray(entry.start, entry.end));
        }
        out = concatBytes(parts);
      } else out = bytes.slice(0, end);
      this.writer.discard(end);
    }
    for (let i = 0; i < count; i++) {
      const entry = queue.shift()!;
      if (this.#dropped(entry)) dropped?.(entry);
      else {
        entry.transmitted = true;
        moved(entry);
      }
    }
    for (const entry of queue) {
      entry.start -= end;
      entry.end -= end;
    }
    if (out.length === 0) return this.take(maxBytes, moved, dropped, lend); // all of it was cut out
    return out;
  }

  /** Drops every waiting entry and its bytes; returns the entries. */
  clear(): E[] {
    this.writer.finish();
    return this.#queue.drain();
  }
}

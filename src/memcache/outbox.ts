// The outbound side of the memcache machines: requests are encoded back to back into one
// buffer at send() time and handed out coalesced; requests settled before they went out are cut.

import { ByteWriter, concatBytes } from "../core/bytes.ts";
import { FifoTable } from "../core/correlation.ts";

/** What the outbox needs of a request entry. */
export interface OutboxEntry {
  /** Byte range in the outbound buffer while queued. */
  start: number;
  end: number;
  /** True once timed out or cancelled: never transmitted if still queued. */
  settled: boolean;
  /** True once handed to `pollTransmit`'s caller. */
  transmitted: boolean;
}

/**
 * Encoded requests waiting to be transmitted, in order.
 *
 * Theory of operation: `send` validates a request, then writes its bytes at the end of
 * `writer` and calls `push(entry, start)`. `take` moves entries out in order (at least one,
 * then as many as fit in `maxBytes`), marks them transmitted and returns their bytes as one
 * chunk; an entry that settled while queued is dropped and its bytes are cut out, so a
 * request that timed out before it was sent never reaches the server.
 *
 * @example
 * ```ts
 * import { Outbox } from "@kvwire/kvwire/memcache";
 * const box = new Outbox();
 * const entry = { start: 0, end: 0, settled: false, transmitted: false };
 * const start = box.writer.length;
 * box.writer.writeAscii("mn\r\n");
 * box.push(entry, start);
 * box.take(Infinity, () => {}); // bytes of "mn\r\n"
 * ```
 */
export class Outbox<E extends OutboxEntry = OutboxEntry> {
  readonly #out = new ByteWriter(16 * 1024);
  readonly #queue = new FifoTable<E>();

  /** The buffer requests are encoded into. */
  get writer(): ByteWriter {
    return this.#out;
  }

  /** Entries waiting. */
  get size(): number {
    return this.#queue.size;
  }

  /** Records an entry whose bytes run from `start` to the current end of `writer`. */
  push(entry: E, start: number): void {
    entry.start = start;
    entry.end = this.#out.length;
    this.#queue.push(entry);
  }

  /**
   * Hands out the bytes of the next entries (at least one, then up to `maxBytes`), calling
   * `moved` for each live one and `dropped` for each settled one that is cut out.
   */
  take(
    maxBytes: number,
    moved: (entry: E) => void,
    dropped?: (entry: E) => void,
  ): Uint8Array | undefined {
    if (this.#queue.size === 0) return undefined;
    let end = 0;
    let anyDropped = false;
    const all: E[] = [];
    for (let entry = this.#queue.peek(); entry; entry = this.#queue.peek()) {
      if (all.length > 0 && entry.end > maxBytes) break;
      this.#queue.shift();
      all.push(entry);
      end = entry.end;
      if (entry.settled) {
        anyDropped = true;
        dropped?.(entry);
        continue;
      }
      entry.transmitted = true;
      moved(entry);
    }
    if (!anyDropped && end === this.#out.length) return this.#out.finish(); // the common case
    const bytes = this.#out.finish();
    let out: Uint8Array;
    if (anyDropped) {
      const live = all.filter((e) => !e.settled);
      out = concatBytes(live.map((e) => bytes.subarray(e.start, e.end)));
    } else out = bytes.subarray(0, end);
    for (const entry of this.#queue) {
      entry.start -= end;
      entry.end -= end;
    }
    this.#out.writeBytes(bytes.subarray(end));
    if (out.length === 0) return this.take(maxBytes, moved, dropped); // all of it was dropped
    return out;
  }

  /** Drops every waiting entry and its bytes; returns the entries. */
  clear(): E[] {
    this.#out.finish();
    return this.#queue.drain();
  }
}

// The TStorage decoder's input queue: received chunks with one cached DataView per chunk, so
// fixed-layout little-endian fields are read in place; only items that span chunks are joined.

/**
 * A FIFO of owned chunks read through `contiguous(n)`, which makes the first `n` bytes lie in
 * one chunk (joining them when they span chunks) and then exposes that chunk as `bytes`/`view`
 * with the first byte at `at`.
 *
 * @example
 * ```ts
 * import { ByteQueue } from "@kvwire/kvwire/tstorage";
 * const q = new ByteQueue();
 * q.push(new Uint8Array([1, 0]));
 * q.push(new Uint8Array([0, 0, 9]));
 * q.contiguous(4); // true (joined once)
 * q.view.getInt32(q.at, true); // 1
 * q.skip(4);
 * q.length; // 1
 * ```
 */
export class ByteQueue {
  #chunks: Uint8Array[] = [];
  #first = 0;
  #length = 0;
  /** The first chunk (valid after `contiguous` returned true). */
  bytes: Uint8Array = EMPTY;
  /** A DataView over the first chunk's bytes. */
  view: DataView = EMPTY_VIEW;
  /** Offset of the next unread byte in `bytes` / `view`. */
  at = 0;

  /** Unread bytes. */
  get length(): number {
    return this.#length;
  }

  /** Appends a chunk (the queue takes ownership and never writes to it). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    if (this.#chunks.length - this.#first === 1) this.#setFirst(chunk, 0);
  }

  /** Makes the next `n` bytes contiguous; false when fewer are buffered. */
  contiguous(n: number): boolean {
    if (n > this.#length) return false;
    if (this.at + n <= this.bytes.length) return true;
    const joined = new Uint8Array(n);
    let written = 0;
    let i = this.#first;
    let start = this.at;
    while (written < n) {
      const chunk = this.#chunks[i];
      const part = Math.min(chunk.length - start, n - written);
      joined.set(chunk.subarray(start, start + part), written);
      written += part;
      if (start + part < chunk.length) {
        this.#chunks[i] = chunk.subarray(start + part);
        break;
      }
      i++;
      start = 0;
    }
    // The joined bytes replace the chunks they came from.
    this.#chunks.splice(this.#first, i - this.#first, joined);
    this.#setFirst(joined, 0);
    return true;
  }

  /** Consumes `n` bytes (at most `length`). */
  skip(n: number): void {
    let left = Math.min(n, this.#length);
    this.#length -= left;
    while (left > 0) {
      const room = this.bytes.length - this.at;
      if (left < room) {
        this.at += left;
        return;
      }
      left -= room;
      this.#first++;
      if (this.#first >= this.#chunks.length) {
        this.#chunks.length = 0;
        this.#first = 0;
        this.#setFirst(EMPTY, 0);
        return;
      }
      if (this.#first > 64) {
        this.#chunks.splice(0, this.#first);
        this.#first = 0;
      }
      this.#setFirst(this.#chunks[this.#first], 0);
    }
    if (this.at === this.bytes.length && this.#length === 0) {
      this.#chunks.length = 0;
      this.#first = 0;
      this.#setFirst(EMPTY, 0);
    }
  }

  #setFirst(chunk: Uint8Array, at: number): void {
    this.bytes = chunk;
    this.view = chunk === EMPTY
      ? EMPTY_VIEW
      : new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.at = at;
  }
}

const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(new ArrayBuffer(0));

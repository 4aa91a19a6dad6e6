// The receive buffer every decoder reads from: a queue of owned chunks that hands out views
// and copies only when a requested range spans chunks (each such range is joined once).

/**
 * Bytes received and not yet consumed, kept as the chunks they arrived in.
 *
 * Theory of operation: `push` appends a chunk without copying. `view(n)` returns the first `n`
 * bytes as one contiguous view; when they span chunks, exactly those bytes are joined into a new
 * chunk that replaces them, so a range is never copied twice. `take`/`skip` consume.
 * Views returned by `view`/`take` stay valid forever (chunks are never written to), but they
 * keep their chunk alive; decoders that hold values for long should copy.
 *
 * @example
 * ```ts
 * import { ReceiveBuffer } from "@kvwire/kvwire";
 * const buf = new ReceiveBuffer();
 * buf.push(new Uint8Array([1, 2]));
 * buf.push(new Uint8Array([3, 4]));
 * buf.indexOf(3); // 2
 * buf.take(3); // Uint8Array [1, 2, 3] (joined once)
 * buf.length; // 1
 * ```
 */
export class ReceiveBuffer {
  #chunks: Uint8Array[] = [];
  #first = 0; // index of the first live chunk in #chunks
  #offset = 0; // bytes consumed from the first live chunk
  #length = 0;

  /** Unconsumed bytes. */
  get length(): number {
    return this.#length;
  }

  /** Appends a chunk; the buffer takes ownership and never writes to it. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /**
   * The unconsumed part of the first chunk: a cheap contiguous prefix for fast-path parsing.
   * Empty when the buffer is empty.
   */
  head(): Uint8Array {
    if (this.#length === 0) return EMPTY;
    return this.#chunks[this.#first].subarray(this.#offset);
  }

  /**
   * The first chunk as a whole, for parsers that keep their own cursor: its unconsumed bytes
   * start at {@link firstOffset}. Same bytes as {@link head}, without allocating a view. Empty
   * when the buffer is empty.
   */
  firstChunk(): Uint8Array {
    return this.#length === 0 ? EMPTY : this.#chunks[this.#first];
  }

  /** Where the unconsumed bytes of {@link firstChunk} start (0 when the buffer is empty). */
  get firstOffset(): number {
    return this.#length === 0 ? 0 : this.#offset;
  }

  /** The byte at position `index` (0 = next unconsumed byte); `index` must be < length. */
  byteAt(index: number): number {
    let i = this.#first;
    let pos = index + this.#offset;
    while (pos >= this.#chunks[i].length) {
      pos -= this.#chunks[i].length;
      i++;
    }
    return this.#chunks[i][pos];
  }

  /** Position of the first `byte` at or after `from`, or -1. */
  indexOf(byte: number, from = 0): number {
    let base = -this.#offset;
    for (let i = this.#first; i < this.#chunks.length; i++) {
      const chunk = this.#chunks[i];
      const start = Math.max(0, from - base);
      if (start < chunk.length) {
        const found = chunk.indexOf(byte, start);
        if (found !== -1) return base + found;
      }
      base += chunk.length;
    }
    return -1;
  }

  /**
   * The first `n` bytes as one contiguous view, without consuming them. Throws `RangeError`
   * when fewer than `n` bytes are buffered.
   */
  view(n: number): Uint8Array {
    if (n > this.#length) throw new RangeError(`Only ${this.#length} bytes buffered, ${n} asked`);
    if (n === 0) return EMPTY;
    const head = this.#chunks[this.#first];
    if (this.#offset + n <= head.length) return head.subarray(this.#offset, this.#offset + n);
    // Join exactly the n bytes once; the join replaces the chunks it covers, and a partly
    // covered last chunk keeps only its remainder (a view, not a copy).
    const joined = new Uint8Array(n);
    let written = 0;
    let i = this.#first;
    let start = this.#offset;
    while (written < n) {
      const part = this.#chunks[i].subarray(start, start + n - written);
      joined.set(part, written);
      written += part.length;
      if (start + part.length < this.#chunks[i].length) {
        this.#chunks[i] = this.#chunks[i].subarray(start + part.length);
        break;
      }
      i++;
      start = 0;
    }
    this.#chunks.splice(this.#first, i - this.#first, joined);
    this.#offset = 0;
    return joined;
  }

  /** Consumes and returns the first `n` bytes (a view when they lie in one chunk). */
  take(n: number): Uint8Array {
    const out = this.view(n);
    this.skip(n);
    return out;
  }

  /** Consumes `n` bytes. */
  skip(n: number): void {
    if (n > this.#length) throw new RangeError(`Only ${this.#length} bytes buffered, ${n} asked`);
    this.#length -= n;
    let pos = this.#offset + n;
    while (this.#first < this.#chunks.length && pos >= this.#chunks[this.#first].length) {
      pos -= this.#chunks[this.#first].length;
      this.#first++;
    }
    this.#offset = pos;
    if (this.#first === this.#chunks.length) {
      this.#chunks.length = 0;
      this.#first = 0;
      this.#offset = 0;
    } else if (this.#first > 32) {
      this.#chunks.splice(0, this.#first);
      this.#first = 0;
    }
  }

  /** Drops everything. */
  clear(): void {
    this.#chunks.length = 0;
    this.#first = 0;
    this.#offset = 0;
    this.#length = 0;
  }
}

const EMPTY = new Uint8Array(0);

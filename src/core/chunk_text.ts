// UTF-8 text of many small ranges of one received chunk: the chunk is decoded once and the ranges
// are cut from that string, instead of one TextDecoder call and one view per range.

import { utf8Decode } from "./bytes.ts";

/** Ranges longer than this are decoded on their own (the call overhead no longer matters). */
const SMALL = 1024;
/** A first range starting this close to the chunk's start decodes the chunk from byte 0. */
const NEAR_START = 64;

/**
 * Decodes byte ranges of received chunks as UTF-8, cheaply when they are small.
 *
 * Theory of operation: the first small range asked of a chunk decodes the rest of the chunk
 * (from that range on, or from byte 0 when the range starts near it) in one call. When the text has as many UTF-16 units as the bytes it came
 * from, every byte stood for one unit (ASCII, or a lone invalid byte that becomes U+FFFD either
 * way), so the text of any range is a plain `substring`. Otherwise, and for large ranges, each
 * range is decoded by itself. The result is always what `utf8Decode(chunk.subarray(s, e))`
 * gives for ranges that do not split a character.
 *
 * @example
 * ```ts
 * import { ChunkText } from "@kvwire/kvwire";
 * const chunk = new TextEncoder().encode("$2\r\nhi\r\n$3\r\nyou\r\n");
 * const text = new ChunkText();
 * text.decode(chunk, 4, 6); // "hi"
 * text.decode(chunk, 12, 15); // "you"
 * ```
 */
export class ChunkText {
  #chunk: Uint8Array | undefined;
  #base = 0;
  #text = "";
  #oneUnitPerByte = false;

  /** The UTF-8 text of `chunk[start, end)`. */
  decode(chunk: Uint8Array, start: number, end: number): string {
    if (end - start > SMALL) return utf8Decode(chunk.subarray(start, end));
    if (chunk !== this.#chunk || start < this.#base) {
      this.#chunk = chunk;
      // When little precedes the range, decode the whole chunk: no view to make.
      const base = start <= NEAR_START ? 0 : start;
      this.#base = base;
      this.#text = utf8Decode(base === 0 ? chunk : chunk.subarray(base));
      this.#oneUnitPerByte = this.#text.length === chunk.length - base;
    }
    if (!this.#oneUnitPerByte) return utf8Decode(chunk.subarray(start, end));
    return this.#text.substring(start - this.#base, end - this.#base);
  }

  /** Forgets the chunk (so that it can be collected). */
  clear(): void {
    this.#chunk = undefined;
    this.#text = "";
  }
}

// Byte helpers shared by every codec: UTF-8, concat, search, big-endian integers, varints.
// Uint8Array only (never Buffer); 64-bit integers are bigint.

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * Encodes a string as UTF-8.
 *
 * @example
 * ```ts
 * import { utf8Encode } from "@kvwire/kvwire";
 * utf8Encode("hé"); // Uint8Array [104, 195, 169]
 * ```
 */
export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Decodes UTF-8 bytes to a string (invalid sequences become U+FFFD).
 *
 * @example
 * ```ts
 * import { utf8Decode } from "@kvwire/kvwire";
 * utf8Decode(new Uint8Array([104, 105])); // "hi"
 * ```
 */
export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/**
 * Decodes bytes known to be ASCII (protocol keywords, numbers) without TextDecoder overhead.
 *
 * @example
 * ```ts
 * import { asciiDecode } from "@kvwire/kvwire";
 * asciiDecode(new Uint8Array([79, 75])); // "OK"
 * ```
 */
export function asciiDecode(bytes: Uint8Array, start = 0, end: number = bytes.length): string {
  if (end - start > 64) return decoder.decode(bytes.subarray(start, end));
  let text = "";
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]);
  return text;
}

/**
 * Joins byte arrays into one new array.
 *
 * @example
 * ```ts
 * import { concatBytes } from "@kvwire/kvwire";
 * concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * Finds `needle` in `haystack` from `from`; returns its index or -1.
 *
 * @example
 * ```ts
 * import { indexOfBytes, utf8Encode } from "@kvwire/kvwire";
 * indexOfBytes(utf8Encode("a\r\nb"), utf8Encode("\r\n")); // 1
 * ```
 */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  if (needle.length === 0) return from <= haystack.length ? from : -1;
  const first = needle[0];
  const last = haystack.length - needle.length;
  for (
    let i = haystack.indexOf(first, from);
    i !== -1 && i <= last;
    i = haystack.indexOf(first, i + 1)
  ) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

/**
 * Compares two byte arrays for equal contents.
 *
 * @example
 * ```ts
 * import { bytesEqual } from "@kvwire/kvwire";
 * bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])); // true
 * ```
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Reads a big-endian unsigned 16-bit integer.
 *
 * @example
 * ```ts
 * import { readUint16BE } from "@kvwire/kvwire";
 * readUint16BE(new Uint8Array([1, 2]), 0); // 258
 * ```
 */
export function readUint16BE(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] << 8) | bytes[offset + 1];
}

/**
 * Reads a big-endian unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import { readUint32BE } from "@kvwire/kvwire";
 * readUint32BE(new Uint8Array([0, 0, 1, 0]), 0); // 256
 * ```
 */
export function readUint32BE(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] * 0x1000000) +
    ((bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3]);
}

/**
 * Reads a big-endian signed 32-bit integer.
 *
 * @example
 * ```ts
 * import { readInt32BE } from "@kvwire/kvwire";
 * readInt32BE(new Uint8Array([255, 255, 255, 255]), 0); // -1
 * ```
 */
export function readInt32BE(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) |
    bytes[offset + 3];
}

/**
 * Reads a big-endian unsigned 64-bit integer as a bigint.
 *
 * @example
 * ```ts
 * import { readBigUint64BE } from "@kvwire/kvwire";
 * readBigUint64BE(new Uint8Array([0, 0, 0, 0, 0, 0, 1, 0]), 0); // 256n
 * ```
 */
export function readBigUint64BE(bytes: Uint8Array, offset: number): bigint {
  return (BigInt(readUint32BE(bytes, offset)) << 32n) | BigInt(readUint32BE(bytes, offset + 4));
}

/**
 * Reads a big-endian signed 64-bit integer as a bigint.
 *
 * @example
 * ```ts
 * import { readBigInt64BE } from "@kvwire/kvwire";
 * readBigInt64BE(new Uint8Array(8).fill(255), 0); // -1n
 * ```
 */
export function readBigInt64BE(bytes: Uint8Array, offset: number): bigint {
  return BigInt.asIntN(64, readBigUint64BE(bytes, offset));
}

/**
 * Decodes an unsigned LEB128 varint (protobuf style) at `offset`.
 * Returns `undefined` when the bytes end before the varint does; throws `RangeError` on a
 * varint longer than 10 bytes.
 *
 * @example
 * ```ts
 * import { decodeVarint } from "@kvwire/kvwire";
 * decodeVarint(new Uint8Array([0xac, 0x02]), 0); // { value: 300n, length: 2 }
 * ```
 */
export function decodeVarint(
  bytes: Uint8Array,
  offset: number,
): { value: bigint; length: number } | undefined {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    if (offset + i >= bytes.length) return undefined;
    const byte = bytes[offset + i];
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if ((byte & 0x80) === 0) return { value: BigInt.asUintN(64, value), length: i + 1 };
  }
  throw new RangeError("Varint is longer than 10 bytes");
}

/**
 * A growable byte writer: appends integers, bytes and strings, then hands out the result.
 *
 * @example
 * ```ts
 * import { ByteWriter } from "@kvwire/kvwire";
 * const w = new ByteWriter();
 * w.writeUint8(1).writeUint32BE(2).writeUtf8("hi");
 * w.finish(); // Uint8Array [1, 0, 0, 0, 2, 104, 105]
 * ```
 */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  /** Creates a writer with an initial capacity in bytes. */
  constructor(initialCapacity = 256) {
    this.#buf = new Uint8Array(Math.max(16, initialCapacity));
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#len;
  }

  #reserve(extra: number): void {
    const need = this.#len + extra;
    if (need <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Appends one byte. */
  writeUint8(value: number): this {
    this.#reserve(1);
    this.#buf[this.#len++] = value;
    return this;
  }

  /** Appends a big-endian 16-bit unsigned integer. */
  writeUint16BE(value: number): this {
    this.#reserve(2);
    this.#view.setUint16(this.#len, value);
    this.#len += 2;
    return this;
  }

  /** Appends a big-endian 32-bit unsigned integer. */
  writeUint32BE(value: number): this {
    this.#reserve(4);
    this.#view.setUint32(this.#len, value);
    this.#len += 4;
    return this;
  }

  /** Appends a big-endian 32-bit signed integer. */
  writeInt32BE(value: number): this {
    this.#reserve(4);
    this.#view.setInt32(this.#len, value);
    this.#len += 4;
    return this;
  }

  /** Appends a big-endian 64-bit integer (two's complement for negatives). */
  writeBigInt64BE(value: bigint): this {
    this.#reserve(8);
    this.#view.setBigUint64(this.#len, BigInt.asUintN(64, value));
    this.#len += 8;
    return this;
  }

  /** Appends a big-endian IEEE-754 double. */
  writeFloat64BE(value: number): this {
    this.#reserve(8);
    this.#view.setFloat64(this.#len, value);
    this.#len += 8;
    return this;
  }

  /** Appends an unsigned LEB128 varint. */
  writeVarint(value: bigint | number): this {
    let v = BigInt.asUintN(64, BigInt(value));
    this.#reserve(10);
    while (v >= 0x80n) {
      this.#buf[this.#len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.#buf[this.#len++] = Number(v);
    return this;
  }

  /** Appends raw bytes. */
  writeBytes(bytes: Uint8Array): this {
    this.#reserve(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
    return this;
  }

  /** Appends a string as UTF-8; returns the writer. */
  writeUtf8(text: string): this {
    this.#reserve(text.length * 3);
    const { written } = encoder.encodeInto(text, this.#buf.subarray(this.#len));
    this.#len += written;
    return this;
  }

  /** Appends a string of ASCII characters (digits, keywords) byte for byte. */
  writeAscii(text: string): this {
    this.#reserve(text.length);
    for (let i = 0; i < text.length; i++) this.#buf[this.#len++] = text.charCodeAt(i);
    return this;
  }

  /** Overwrites a big-endian 32-bit unsigned integer at `offset` (for length prefixes). */
  setUint32BE(offset: number, value: number): this {
    this.#view.setUint32(offset, value);
    return this;
  }

  /** The bytes written so far, as a view that is valid until the next write. */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  /** Drops the first `n` bytes written, keeping the rest in order. */
  discard(n: number): void {
    this.#buf.copyWithin(0, n, this.#len);
    this.#len -= n;
  }

  /** Returns a copy of the bytes written and resets the writer for reuse. */
  finish(): Uint8Array {
    const out = this.#buf.slice(0, this.#len);
    this.#len = 0;
    return out;
  }
}

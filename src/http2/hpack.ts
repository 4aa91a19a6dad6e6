// HPACK (RFC 7541): prefixed integers (§5.1), string literals with optional Huffman (§5.2), and
// the decoder and encoder of header blocks over the static and dynamic tables (§3, §6).

import { ByteWriter } from "../core/bytes.ts";
import { RemoteProtocolError } from "../core/errors.ts";
import { huffmanDecode, huffmanEncode, huffmanEncodedLength } from "./huffman.ts";
import { DynamicTable, entrySize, type HeaderField, STATIC_TABLE } from "./hpack_table.ts";

export type { HeaderField } from "./hpack_table.ts";

/** Largest integer the decoder accepts: anything above is a protocol error, not a bigint. */
const MAX_INTEGER = 2 ** 31 - 1;

/** A read position over one header block. */
interface Cursor {
  bytes: Uint8Array;
  pos: number;
}

/**
 * Decodes an HPACK integer with an `n`-bit prefix (RFC 7541 §5.1) at `cur.pos`, advancing it.
 * Throws `RemoteProtocolError` when the block ends inside it or it exceeds 2^31 - 1.
 *
 * @example
 * ```ts
 * import { decodeInteger } from "./hpack.ts";
 * decodeInteger({ bytes: new Uint8Array([0x1f, 0x9a, 0x0a]), pos: 0 }, 5); // 1337
 * ```
 */
export function decodeInteger(cur: Cursor, n: number): number {
  const { bytes } = cur;
  if (cur.pos >= bytes.length) throw new RemoteProtocolError("HPACK block ends in an integer");
  const max = (1 << n) - 1;
  let value = bytes[cur.pos++] & max;
  if (value < max) return value;
  let shift = 0;
  for (;;) {
    if (cur.pos >= bytes.length) throw new RemoteProtocolError("HPACK block ends in an integer");
    const b = bytes[cur.pos++];
    value += (b & 0x7f) * 2 ** shift;
    if (value > MAX_INTEGER) throw new RemoteProtocolError("HPACK integer is too large");
    if ((b & 0x80) === 0) return value;
    shift += 7;
  }
}

/**
 * Appends an HPACK integer with an `n`-bit prefix; `flags` fills the bits above the prefix.
 *
 * @example
 * ```ts
 * import { ByteWriter } from "../core/bytes.ts";
 * import { encodeInteger } from "./hpack.ts";
 * const w = new ByteWriter();
 * encodeInteger(w, 1337, 5, 0);
 * w.finish(); // Uint8Array [0x1f, 0x9a, 0x0a]
 * ```
 */
export function encodeInteger(w: ByteWriter, value: number, n: number, flags: number): void {
  const max = (1 << n) - 1;
  if (value < max) {
    w.writeUint8(flags | value);
    return;
  }
  w.writeUint8(flags | max);
  let rest = value - max;
  while (rest >= 128) {
    w.writeUint8((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  w.writeUint8(rest);
}

/**
 * Bytes to a string, one char per octet (header values are octets, not UTF-8).
 *
 * @example
 * ```ts
 * import { latin1Decode } from "./hpack.ts";
 * latin1Decode(new Uint8Array([104, 233])); // "hé"
 * ```
 */
export function latin1Decode(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return text;
}

/**
 * A string of octets (chars 0..255) to bytes; throws `TypeError` on wider chars, naming
 * `what` and the position but never quoting the text (header values may be secrets).
 *
 * @example
 * ```ts
 * import { latin1Encode } from "./hpack.ts";
 * latin1Encode("hé"); // Uint8Array [104, 233]
 * ```
 */
export function latin1Encode(text: string, what = "Header"): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 255) throw new TypeError(`${what} has a non-octet character at position ${i}`);
    out[i] = c;
  }
  return out;
}

/**
 * Decodes an HPACK string literal (§5.2) at `cur.pos`, advancing it; `limit` bounds its length.
 *
 * @example
 * ```ts
 * import { decodeString } from "./hpack.ts";
 * decodeString({ bytes: new Uint8Array([0x02, 0x68, 0x69]), pos: 0 }, 100); // "hi"
 * ```
 */
export function decodeString(cur: Cursor, limit: number): string {
  const huffman = cur.pos < cur.bytes.length && (cur.bytes[cur.pos] & 0x80) !== 0;
  const length = decodeInteger(cur, 7);
  if (length > cur.bytes.length - cur.pos) {
    throw new RemoteProtocolError("HPACK string runs past the end of the header block");
  }
  if (length > limit) throw new RemoteProtocolError(`HPACK string of ${length} bytes is too long`);
  const raw = cur.bytes.subarray(cur.pos, cur.pos + length);
  cur.pos += length;
  return latin1Decode(huffman ? huffmanDecode(raw) : raw);
}

/**
 * Appends an HPACK string literal, Huffman-coded when that is shorter (or as `huffman` says).
 *
 * @example
 * ```ts
 * import { ByteWriter } from "../core/bytes.ts";
 * import { encodeString } from "./hpack.ts";
 * const w = new ByteWriter();
 * encodeString(w, "no-cache");
 * w.finish(); // 86 a8 eb 10 64 9c bf
 * ```
 */
export function encodeString(w: ByteWriter, text: string, huffman?: boolean): void {
  const raw = latin1Encode(text);
  const useHuffman = huffman ?? huffmanEncodedLength(raw) < raw.length;
  const bytes = useHuffman ? huffmanEncode(raw) : raw;
  encodeInteger(w, bytes.length, 7, useHuffman ? 0x80 : 0);
  w.writeBytes(bytes);
}

/** Options of an {@link HpackDecoder}. */
export interface HpackDecoderOptions {
  /** The dynamic table size we announced (SETTINGS_HEADER_TABLE_SIZE). Default 4096. */
  maxTableSize?: number;
  /** Largest decoded header list (sum of name + value + 32 per field). Default 64 KiB. */
  maxHeaderListSize?: number;
}

/**
 * Decodes header blocks in order, keeping the dynamic table across them (one per connection).
 * Any malformed block throws `RemoteProtocolError` (a connection error, COMPRESSION_ERROR).
 *
 * @example
 * ```ts
 * import { HpackDecoder } from "./hpack.ts";
 * const d = new HpackDecoder();
 * d.decode(new Uint8Array([0x82, 0x86, 0x84])); // [[":method","GET"],[":scheme","http"],[":path","/"]]
 * ```
 */
export class HpackDecoder {
  readonly table: DynamicTable;
  readonly #maxTableSize: number;
  readonly #maxListSize: number;

  /** Creates a decoder with an empty dynamic table. */
  constructor(options: HpackDecoderOptions = {}) {
    this.#maxTableSize = options.maxTableSize ?? 4096;
    this.#maxListSize = options.maxHeaderListSize ?? 64 * 1024;
    this.table = new DynamicTable(this.#maxTableSize);
  }

  /** Decodes one complete header block into its fields, in order. */
  decode(block: Uint8Array): HeaderField[] {
    const cur: Cursor = { bytes: block, pos: 0 };
    const fields: HeaderField[] = [];
    let listSize = 0;
    let mayResize = true;
    while (cur.pos < block.length) {
      const b = block[cur.pos];
      let field: HeaderField;
      if (b & 0x80) {
        field = this.#lookup(decodeInteger(cur, 7));
      } else if ((b & 0xe0) === 0x20) {
        if (!mayResize) throw new RemoteProtocolError("HPACK table size update after a field");
        const size = decodeInteger(cur, 5);
        if (size > this.#maxTableSize) {
          throw new RemoteProtocolError(`HPACK table size update to ${size} exceeds the limit`);
        }
        this.table.resize(size);
        continue;
      } else {
        const indexing = (b & 0xc0) === 0x40;
        const index = decodeInteger(cur, indexing ? 6 : 4);
        const room = this.#maxListSize - listSize;
        const name = index === 0 ? decodeString(cur, room) : this.#lookup(index)[0];
        const value = decodeString(cur, room);
        field = [name, value];
        if (indexing) this.table.add(name, value);
      }
      mayResize = false;
      listSize += entrySize(field[0], field[1]);
      if (listSize > this.#maxListSize) {
        throw new RemoteProtocolError(
          `Header list exceeds the limit of ${this.#maxListSize} bytes`,
        );
      }
      fields.push(field);
    }
    return fields;
  }

  #lookup(index: number): HeaderField {
    if (index === 0) throw new RemoteProtocolError("HPACK index 0 is invalid");
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1];
    const entry = this.table.get(index - STATIC_TABLE.length - 1);
    if (!entry) throw new RemoteProtocolError(`HPACK index ${index} is not in the table`);
    return entry;
  }
}

/** Options of {@link HpackEncoder.encode}. */
export interface HpackEncodeOptions {
  /** Huffman-code literals: true, false, or undefined (whichever is shorter). */
  huffman?: boolean;
  /** Names whose fields are sent "never indexed" (§6.2.3), e.g. `authorization`, `token`. */
  sensitive?: ReadonlySet<string>;
}

/** Static-table lookups: exact name+value, and the first index of each name. */
const STATIC_EXACT = new Map<string, number>();
const STATIC_NAME = new Map<string, number>();
STATIC_TABLE.forEach(([name, value], i) => {
  STATIC_EXACT.set(`${name}\0${value}`, i + 1);
  if (!STATIC_NAME.has(name)) STATIC_NAME.set(name, i + 1);
});

/**
 * Encodes header blocks in order, with incremental indexing into its dynamic table (the
 * peer's decoder mirrors it). Sensitive fields are never indexed.
 *
 * @example
 * ```ts
 * import { HpackEncoder } from "./hpack.ts";
 * const e = new HpackEncoder();
 * e.encode([[":method", "GET"]]); // Uint8Array [0x82]
 * ```
 */
export class HpackEncoder {
  readonly table: DynamicTable;
  /** A size update owed at the start of the next block (the peer changed its limit). */
  #pendingSize: number | undefined;
  /** The smallest size the table reached since the last block (§4.2: signal it too). */
  #lowestSize: number | undefined;

  /** Creates an encoder whose table starts at `maxTableSize` (the peer's, default 4096). */
  constructor(maxTableSize = 4096) {
    this.table = new DynamicTable(maxTableSize);
  }

  /** Applies the peer's SETTINGS_HEADER_TABLE_SIZE: our table may not exceed it. */
  setMaxTableSize(size: number): void {
    const next = Math.min(size, 4096);
    if (next === this.table.maxSize && this.#pendingSize === undefined) return;
    this.#lowestSize = Math.min(this.#lowestSize ?? next, next);
    this.#pendingSize = next;
    this.table.resize(next);
  }

  /** Encodes one header list into a header block. */
  encode(fields: readonly HeaderField[], options: HpackEncodeOptions = {}): Uint8Array {
    const w = new ByteWriter(64);
    if (this.#pendingSize !== undefined) {
      if (this.#lowestSize !== undefined && this.#lowestSize < this.#pendingSize) {
        encodeInteger(w, this.#lowestSize, 5, 0x20);
      }
      encodeInteger(w, this.#pendingSize, 5, 0x20);
      this.#pendingSize = undefined;
      this.#lowestSize = undefined;
    }
    for (const [name, value] of fields) {
      const exact = STATIC_EXACT.get(`${name}\0${value}`);
      if (exact !== undefined) {
        encodeInteger(w, exact, 7, 0x80);
        continue;
      }
      const dynamic = this.table.find(name, value);
      if (dynamic?.exact) {
        encodeInteger(w, dynamic.index + STATIC_TABLE.length + 1, 7, 0x80);
        continue;
      }
      const nameIndex = STATIC_NAME.get(name) ??
        (dynamic ? dynamic.index + STATIC_TABLE.length + 1 : 0);
      const never = options.sensitive?.has(name) === true;
      if (never) encodeInteger(w, nameIndex, 4, 0x10);
      else encodeInteger(w, nameIndex, 6, 0x40);
      if (nameIndex === 0) encodeString(w, name, options.huffman);
      encodeString(w, value, options.huffman);
      if (!never) this.table.add(name, value);
    }
    return w.finish();
  }
}

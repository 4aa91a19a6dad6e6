// Strict Thrift binary protocol primitives (pegasus.md §1.6): a writer for requests and a
// bounded, schema-agnostic reader that throws RemoteProtocolError on anything malformed.

import { ByteWriter } from "../core/bytes.ts";
import { RemoteProtocolError } from "../core/errors.ts";

/** Thrift binary type bytes. */
export const TType = {
  STOP: 0,
  BOOL: 2,
  BYTE: 3,
  DOUBLE: 4,
  I16: 6,
  I32: 8,
  I64: 10,
  STRING: 11,
  STRUCT: 12,
  MAP: 13,
  SET: 14,
  LIST: 15,
} as const;

/** Thrift message types. */
export const MessageType = { CALL: 1, REPLY: 2, EXCEPTION: 3, ONEWAY: 4 } as const;

/** Deepest nesting the reader skips through. */
const MAX_DEPTH = 32;

/**
 * Writes Thrift binary values. Pegasus "placeholder" types (blob, gpid, ...) are written by
 * the caller as a STRUCT field header followed by the raw primitive, with no STOP.
 *
 * @example
 * ```ts
 * import { ThriftWriter, TType } from "@kvwire/kvwire/pegasus";
 * const w = new ThriftWriter();
 * w.field(TType.I32, 3).i32(0).stop();
 * w.finish(); // Uint8Array [8, 0, 3, 0, 0, 0, 0, 0]
 * ```
 */
export class ThriftWriter extends ByteWriter {
  /** A field header: type byte and i16 id. */
  field(type: number, id: number): this {
    return this.writeUint8(type).writeUint16BE(id);
  }

  /** The STOP byte ending a struct. */
  stop(): this {
    return this.writeUint8(TType.STOP);
  }

  /** A bool as one byte. */
  bool(value: boolean): this {
    return this.writeUint8(value ? 1 : 0);
  }

  /** An i32. */
  i32(value: number): this {
    return this.writeInt32BE(value);
  }

  /** An i64 from a bigint (two's complement). */
  i64(value: bigint): this {
    return this.writeBigInt64BE(value);
  }

  /** A binary/string: i32 length and the bytes. */
  binary(bytes: Uint8Array): this {
    return this.writeInt32BE(bytes.length).writeBytes(bytes);
  }

  /** An ASCII string (names): i32 length and the characters. */
  ascii(text: string): this {
    return this.writeInt32BE(text.length).writeAscii(text);
  }

  /** A blob field: STRUCT header, then the raw binary (the placeholder encoding). */
  blobField(id: number, bytes: Uint8Array): this {
    return this.field(TType.STRUCT, id).binary(bytes);
  }

  /** A list header: element type and i32 count. */
  listBegin(elementType: number, count: number): this {
    return this.writeUint8(elementType).writeInt32BE(count);
  }
}

/**
 * Reads Thrift binary values from `bytes[start, end)`; every read is bounds-checked and a
 * short or malformed input throws `RemoteProtocolError`.
 *
 * @example
 * ```ts
 * import { ThriftReader } from "@kvwire/kvwire/pegasus";
 * const r = new ThriftReader(new Uint8Array([8, 0, 3, 0, 0, 0, 7, 0]));
 * r.fieldHeader(); // { type: 8, id: 3 }
 * r.i32(); // 7
 * r.fieldHeader(); // { type: 0, id: 0 } (STOP)
 * ```
 */
export class ThriftReader {
  /** The buffer read from. */
  readonly bytes: Uint8Array;
  /** Offset of the next byte to read. */
  pos: number;
  /** Offset just past the last byte that may be read. */
  readonly end: number;

  /** Reads from `bytes` between `start` and `end`. */
  constructor(bytes: Uint8Array, start = 0, end: number = bytes.length) {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
  }

  /** Bytes left. */
  get remaining(): number {
    return this.end - this.pos;
  }

  #need(n: number): void {
    if (this.pos + n > this.end) {
      throw new RemoteProtocolError(
        `Thrift data ends early: need ${n} bytes at offset ${this.pos}, ${this.remaining} left`,
      );
    }
  }

  /** One unsigned byte. */
  u8(): number {
    this.#need(1);
    return this.bytes[this.pos++];
  }

  /** A signed i16. */
  i16(): number {
    this.#need(2);
    const v = (this.bytes[this.pos] << 8) | this.bytes[this.pos + 1];
    this.pos += 2;
    return (v << 16) >> 16;
  }

  /** A signed i32. */
  i32(): number {
    this.#need(4);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 4;
    return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
  }

  /** A signed i64 as bigint. */
  i64(): bigint {
    const hi = this.i32();
    const lo = this.i32() >>> 0;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** A bool (any non-zero byte is true). */
  bool(): boolean {
    return this.u8() !== 0;
  }

  /** A binary: i32 length and the bytes (a copy, so the frame can be released). */
  binary(): Uint8Array {
    const length = this.i32();
    if (length < 0) throw new RemoteProtocolError(`Negative Thrift binary length ${length}`);
    this.#need(length);
    const out = this.bytes.slice(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  /** A string decoded as UTF-8. */
  string(): string {
    return new TextDecoder().decode(this.binary());
  }

  /** A field header; `type` 0 means STOP (and `id` is 0). */
  fieldHeader(): { type: number; id: number } {
    const type = this.u8();
    if (type === TType.STOP) return { type, id: 0 };
    return { type, id: this.i16() };
  }

  /** A list header; the count is checked against the bytes left (one byte per element). */
  listHeader(): { elementType: number; count: number } {
    const elementType = this.u8();
    const count = this.i32();
    if (count < 0 || count > this.remaining) {
      throw new RemoteProtocolError(`Implausible Thrift list size ${count}`);
    }
    return { elementType, count };
  }

  /** Skips one value of `type` (ordinary Thrift types only). */
  skip(type: number, depth = 0): void {
    if (depth > MAX_DEPTH) throw new RemoteProtocolError("Thrift value is nested too deeply");
    switch (type) {
      case TType.BOOL:
      case TType.BYTE:
        this.#need(1);
        this.pos += 1;
        return;
      case TType.I16:
        this.#need(2);
        this.pos += 2;
        return;
      case TType.I32:
        this.#need(4);
        this.pos += 4;
        return;
      case TType.I64:
      case TType.DOUBLE:
        this.#need(8);
        this.pos += 8;
        return;
      case TType.STRING: {
        const length = this.i32();
        if (length < 0) throw new RemoteProtocolError(`Negative Thrift binary length ${length}`);
        this.#need(length);
        this.pos += length;
        return;
      }
      case TType.STRUCT:
        for (let f = this.fieldHeader(); f.type !== TType.STOP; f = this.fieldHeader()) {
          this.skip(f.type, depth + 1);
        }
        return;
      case TType.MAP: {
        const keyType = this.u8();
        const valueType = this.u8();
        const count = this.i32();
        if (count < 0 || count > this.remaining) {
          throw new RemoteProtocolError(`Implausible Thrift map size ${count}`);
        }
        for (let i = 0; i < count; i++) {
          this.skip(keyType, depth + 1);
          this.skip(valueType, depth + 1);
        }
        return;
      }
      case TType.SET:
      case TType.LIST: {
        const { elementType, count } = this.listHeader();
        for (let i = 0; i < count; i++) this.skip(elementType, depth + 1);
        return;
      }
      default:
        throw new RemoteProtocolError(`Unknown Thrift type ${type}`);
    }
  }

  /**
   * Reads a struct field by field: `onField` returns true when it consumed the value, and
   * false to have it skipped generically. Stops at STOP.
   */
  struct(onField: (type: number, id: number) => boolean): void {
    for (let f = this.fieldHeader(); f.type !== TType.STOP; f = this.fieldHeader()) {
      if (!onField(f.type, f.id)) this.skip(f.type);
    }
  }
}

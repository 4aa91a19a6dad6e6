// Fixed-size binary layouts in Python `struct` notation ("<i", ">qd?", "<4sH", "ie"), for the
// payload types that mirror tstorage_client's StructPayloadType and TuplePayloadType: standard
// sizes with "<", ">", "!", "="; native order, sizes and alignment with "@" or no prefix.

import { readFloat16, writeFloat16 } from "./half_float.ts";

/** A value of one struct field: integers up to 32 bits and floats as numbers, 64-bit integers
 * (and native `l`, `L`, `n`, `N`, `P`) as bigint, `?` as boolean, `c`/`s` as bytes. */
export type StructValue = number | bigint | boolean | Uint8Array;

interface Field {
  code: string;
  offset: number;
  /** Bytes of the field (for `s`, the declared length). */
  size: number;
}

const SIZES: Record<string, number> = {
  x: 1,
  c: 1,
  b: 1,
  B: 1,
  "?": 1,
  h: 2,
  H: 2,
  i: 4,
  I: 4,
  l: 4,
  L: 4,
  q: 8,
  Q: 8,
  e: 2,
  f: 4,
  d: 8,
  s: 1,
};

/**
 * Native mode (`@` or no prefix) as CPython builds it on the 64-bit platforms where the vendor's
 * client runs (LP64: Linux, macOS): `long`, `size_t` and pointers are 8 bytes, read as the
 * 64-bit codes; every field is aligned to its own size; no padding is added at the end.
 */
const NATIVE_AS: Record<string, string> = { l: "q", L: "Q", n: "q", N: "Q", P: "Q" };

/** The byte order of this machine (what Python's native and "=" modes use). */
const NATIVE_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const INT_RANGES: Record<string, [number, number]> = {
  b: [-0x80, 0x7f],
  B: [0, 0xff],
  h: [-0x8000, 0x7fff],
  H: [0, 0xffff],
  i: [-0x80000000, 0x7fffffff],
  I: [0, 0xffffffff],
  l: [-0x80000000, 0x7fffffff],
  L: [0, 0xffffffff],
};

/**
 * A parsed struct format: byte order, fields and total size. Throws `TypeError` for formats it
 * does not support (unknown codes, native-only codes such as `n` or `P` in a standard mode).
 *
 * @example
 * ```ts
 * import { StructFormat } from "@kvwire/kvwire/tstorage";
 * const f = new StructFormat("<if?");
 * f.size; // 9
 * f.pack([10, 12, true]); // Uint8Array [10, 0, 0, 0, 0, 0, 64, 65, 1]
 * f.unpack(f.pack([10, 12, true])); // [10, 12, true]
 * ```
 */
export class StructFormat {
  /** The format as given. */
  readonly format: string;
  /** Total bytes. */
  readonly size: number;
  /** Number of values (pad bytes carry none). */
  readonly count: number;
  readonly #littleEndian: boolean;
  readonly #fields: Field[] = [];

  /** Parses `format`. */
  constructor(format: string) {
    if (typeof format !== "string") {
      throw new TypeError(`A struct format must be a string, got ${describe(format)}`);
    }
    this.format = format;
    const order = format[0] ?? "@";
    const native = !"<>!=".includes(order);
    this.#littleEndian = order === "<" || (native || order === "=") && NATIVE_LITTLE_ENDIAN;
    let offset = 0;
    const body = format.slice("<>!=@".includes(order) ? 1 : 0).replace(/\s+/g, "");
    const token = /(\d*)(.)/g;
    for (let m = token.exec(body); m; m = token.exec(body)) {
      const repeat = m[1] === "" ? 1 : Number(m[1]);
      const given = m[2];
      const code = native ? NATIVE_AS[given] ?? given : given;
      if (!(code in SIZES)) {
        const why = given in NATIVE_AS ? ' outside native mode ("@" or no prefix)' : "";
        throw new TypeError(
          `Struct format ${JSON.stringify(format)}: code ${JSON.stringify(given)} is not ` +
            `supported${why}`,
        );
      }
      if (native && code !== "s") offset = Math.ceil(offset / SIZES[code]) * SIZES[code];
      if (code === "s") {
        this.#fields.push({ code, offset, size: repeat });
        offset += repeat;
      } else {
        for (let i = 0; i < repeat; i++) {
          if (code !== "x") this.#fields.push({ code, offset, size: SIZES[code] });
          offset += SIZES[code];
        }
      }
    }
    this.size = offset;
    this.count = this.#fields.length;
  }

  /** Encodes `values` (one per field). Throws `TypeError`/`RangeError` like `struct.pack`. */
  pack(values: readonly StructValue[]): Uint8Array {
    if (values.length !== this.#fields.length) {
      throw new TypeError(
        `Struct format ${JSON.stringify(this.format)} takes ${this.#fields.length} values, ` +
          `got ${values.length}`,
      );
    }
    const out = new Uint8Array(this.size);
    const view = new DataView(out.buffer);
    this.#fields.forEach((field, i) => this.#write(view, out, field, values[i]));
    return out;
  }

  /** Decodes exactly `size` bytes; undefined for any other length. */
  unpack(bytes: Uint8Array): StructValue[] | undefined {
    if (bytes.length !== this.size) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return this.#fields.map((field) => this.#read(view, bytes, field));
  }

  /** Decodes the first value of exactly `size` bytes (the one-value fast path). */
  unpackFirst(bytes: Uint8Array): StructValue | undefined {
    if (bytes.length !== this.size || this.#fields.length === 0) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return this.#read(view, bytes, this.#fields[0]);
  }

  #write(view: DataView, out: Uint8Array, field: Field, value: StructValue): void {
    const le = this.#littleEndian;
    const { code, offset } = field;
    const bad = (what: string): never => {
      throw new TypeError(
        `Struct code ${JSON.stringify(code)} needs ${what}, got ${describe(value)}`,
      );
    };
    switch (code) {
      case "c":
      case "s": {
        if (!(value instanceof Uint8Array)) return bad("a Uint8Array");
        const bytes = value as Uint8Array;
        if (code === "c" && bytes.length !== 1) return bad("exactly one byte");
        out.set(bytes.subarray(0, field.size), offset); // "s" pads with zeros or truncates
        return;
      }
      case "?":
        view.setUint8(offset, value ? 1 : 0);
        return;
      case "q":
      case "Q": {
        if (typeof value !== "bigint") return bad("a bigint");
        const v = value as bigint;
        const [min, max] = code === "q" ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
        if (v < min || v > max) {
          throw new RangeError(`${v} is out of range for struct code ${code}`);
        }
        view.setBigUint64(offset, BigInt.asUintN(64, v), le);
        return;
      }
      case "e":
      case "f":
      case "d":
        if (typeof value !== "number") return bad("a number");
        if (code === "e") writeFloat16(view, offset, value as number, le);
        else if (code === "f") view.setFloat32(offset, value as number, le);
        else view.setFloat64(offset, value as number, le);
        return;
      default: {
        if (typeof value !== "number" || !Number.isInteger(value)) return bad("an integer");
        const [min, max] = INT_RANGES[code];
        const v = value as number;
        if (v < min || v > max) {
          throw new RangeError(`${v} is out of range for struct code ${code}`);
        }
        if (field.size === 1) view.setUint8(offset, v & 0xff);
        else if (field.size === 2) view.setUint16(offset, v & 0xffff, le);
        else view.setUint32(offset, v >>> 0, le);
      }
    }
  }

  #read(view: DataView, bytes: Uint8Array, field: Field): StructValue {
    const le = this.#littleEndian;
    const { offset } = field;
    switch (field.code) {
      case "c":
      case "s":
        return bytes.slice(offset, offset + field.size);
      case "?":
        return view.getUint8(offset) !== 0;
      case "b":
        return view.getInt8(offset);
      case "B":
        return view.getUint8(offset);
      case "h":
        return view.getInt16(offset, le);
      case "H":
        return view.getUint16(offset, le);
      case "i":
      case "l":
        return view.getInt32(offset, le);
      case "I":
      case "L":
        return view.getUint32(offset, le);
      case "q":
        return view.getBigInt64(offset, le);
      case "Q":
        return view.getBigUint64(offset, le);
      case "e":
        return readFloat16(view, offset, le);
      case "f":
        return view.getFloat32(offset, le);
      default:
        return view.getFloat64(offset, le);
    }
  }
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === "bigint") return `${value}n`;
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

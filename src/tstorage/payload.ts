// Payload types: how record values become bytes and back (tstorage_client.payload_type):
// raw bytes, the empty unit, UTF-8 text, single-value and tuple structs, and your own.

import { StructFormat, type StructFormat as Format, type StructValue } from "./struct_format.ts";

/**
 * Converts record values to payload bytes and back. `fromBytes` returns `undefined` when the
 * bytes are not a value of this type; a GET then fails with `UnparseableEntityError`. It gets
 * a view that it must not modify; copy what you keep if memory matters (the view keeps the
 * received chunk alive).
 *
 * @example
 * ```ts
 * import type { PayloadType } from "@kvwire/kvwire/tstorage";
 * const json: PayloadType<unknown> = {
 *   name: "json",
 *   toBytes: (value) => new TextEncoder().encode(JSON.stringify(value)),
 *   fromBytes: (bytes) => {
 *     try {
 *       return JSON.parse(new TextDecoder().decode(bytes));
 *     } catch {
 *       return undefined;
 *     }
 *   },
 * };
 * ```
 */
export interface PayloadType<T> {
  /** The value's payload bytes; throw `TypeError`/`RangeError` for a value it cannot encode. */
  toBytes(value: T): Uint8Array;
  /** The value in `bytes`, or undefined when they do not hold one. */
  fromBytes(bytes: Uint8Array): T | undefined;
  /** A short name for messages. */
  readonly name?: string;
}

/**
 * Raw bytes, unchanged. `fromBytes` copies, so a record never pins a whole network chunk.
 *
 * @example
 * ```ts
 * import { BytesPayloadType } from "@kvwire/kvwire/tstorage";
 * new BytesPayloadType().toBytes(new Uint8Array([1, 2])); // Uint8Array [1, 2]
 * ```
 */
export class BytesPayloadType implements PayloadType<Uint8Array> {
  readonly name = "bytes";

  /** Checks the value is a Uint8Array and returns it. */
  toBytes(value: Uint8Array): Uint8Array {
    if (!(value instanceof Uint8Array)) {
      throw new TypeError(`A bytes payload must be a Uint8Array, got ${typeof value}`);
    }
    return value;
  }

  /** A copy of the bytes. */
  fromBytes(bytes: Uint8Array): Uint8Array {
    return bytes.slice();
  }
}

/**
 * Empty payloads: any value is written as no bytes; any payload reads as `null` (it never
 * fails), like the reference client's UnitPayloadType.
 *
 * @example
 * ```ts
 * import { UnitPayloadType } from "@kvwire/kvwire/tstorage";
 * new UnitPayloadType().toBytes(null).length; // 0
 * ```
 */
export class UnitPayloadType implements PayloadType<null> {
  readonly name = "unit";

  /** Always empty. */
  toBytes(_value: unknown): Uint8Array {
    return new Uint8Array(0);
  }

  /** Always null. */
  fromBytes(_bytes: Uint8Array): null {
    return null;
  }
}

/**
 * UTF-8 text. Invalid UTF-8 does not decode (the GET fails with `UnparseableEntityError`).
 *
 * @example
 * ```ts
 * import { Utf8PayloadType } from "@kvwire/kvwire/tstorage";
 * new Utf8PayloadType().toBytes("hé"); // Uint8Array [104, 195, 169]
 * ```
 */
export class Utf8PayloadType implements PayloadType<string> {
  readonly name = "utf-8";
  readonly #encoder = new TextEncoder();
  readonly #decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

  /** The UTF-8 bytes of `value`. */
  toBytes(value: string): Uint8Array {
    if (typeof value !== "string") {
      throw new TypeError(`A UTF-8 payload must be a string, got ${typeof value}`);
    }
    return this.#encoder.encode(value);
  }

  /** The text, or undefined for invalid UTF-8. */
  fromBytes(bytes: Uint8Array): string | undefined {
    try {
      return this.#decoder.decode(bytes);
    } catch {
      return undefined;
    }
  }
}

/**
 * One fixed-size value in Python `struct` notation, like the reference client's
 * StructPayloadType: `"<i"` int32, `"<q"` int64 (bigint), `"<d"` float64, `"<?"` boolean,
 * `"<8s"` 8 bytes. A payload of any other length does not decode. Throws `TypeError` when the
 * format does not hold exactly one value.
 *
 * @example
 * ```ts
 * import { StructPayloadType } from "@kvwire/kvwire/tstorage";
 * const int32 = new StructPayloadType<number>("<i");
 * int32.toBytes(-2); // Uint8Array [254, 255, 255, 255]
 * int32.fromBytes(new Uint8Array([1, 0, 0, 0])); // 1
 * int32.fromBytes(new Uint8Array([1, 0])); // undefined
 * ```
 */
export class StructPayloadType<T extends StructValue = StructValue> implements PayloadType<T> {
  readonly name: string;
  readonly #format: Format;

  /** Parses `format`, which must hold one value. */
  constructor(format: string) {
    this.#format = new StructFormat(format);
    if (this.#format.count !== 1) {
      throw new TypeError(
        `StructPayloadType takes a one-value format; ${JSON.stringify(format)} has ` +
          `${this.#format.count} (use TuplePayloadType)`,
      );
    }
    this.name = `struct ${format}`;
  }

  /** Payload size in bytes. */
  get size(): number {
    return this.#format.size;
  }

  /** Packs the value. */
  toBytes(value: T): Uint8Array {
    return this.#format.pack([value]);
  }

  /** Unpacks the value, or undefined when the length differs. */
  fromBytes(bytes: Uint8Array): T | undefined {
    return this.#format.unpackFirst(bytes) as T | undefined;
  }
}

/**
 * Several fixed-size values in Python `struct` notation, as an array, like the reference
 * client's TuplePayloadType.
 *
 * @example
 * ```ts
 * import { TuplePayloadType } from "@kvwire/kvwire/tstorage";
 * const t = new TuplePayloadType<[number, number, boolean]>("<if?");
 * t.toBytes([10, 12, true]); // 0a000000 00004041 01
 * ```
 */
export class TuplePayloadType<T extends StructValue[] = StructValue[]> implements PayloadType<T> {
  readonly name: string;
  readonly #format: Format;

  /** Parses `format`. */
  constructor(format: string) {
    this.#format = new StructFormat(format);
    this.name = `tuple ${format}`;
  }

  /** Payload size in bytes. */
  get size(): number {
    return this.#format.size;
  }

  /** Packs the values. */
  toBytes(value: T): Uint8Array {
    if (!Array.isArray(value)) throw new TypeError("A tuple payload must be an array");
    return this.#format.pack(value);
  }

  /** Unpacks the values, or undefined when the length differs. */
  fromBytes(bytes: Uint8Array): T | undefined {
    return this.#format.unpack(bytes) as T | undefined;
  }
}

// TStorage keys and records (shared/protocols/tstorage.md §1.3, §2): five fields, per-field
// ranges, the four wire layouts (with/without cid and acq, little-endian), lexicographic order.

/**
 * Smallest and largest values of the key fields (int32 and int64).
 *
 * @example
 * ```ts
 * import { KeyLimits } from "@kvwire/kvwire/tstorage";
 * KeyLimits.INT64_MAX; // 9223372036854775807n
 * ```
 */
export const KeyLimits = {
  INT32_MIN: -0x80000000,
  INT32_MAX: 0x7fffffff,
  INT64_MIN: -(2n ** 63n),
  INT64_MAX: 2n ** 63n - 1n,
} as const;

/** Bytes of a full key on the wire: cid int32, mid int64, moid int32, cap int64, acq int64. */
export const KEY_SIZE = 32;

/** The five fields of a {@link Key}; 64-bit fields may be given as safe-integer numbers. */
export interface KeyFields {
  /** Client id, 0 … 2^31−1. */
  cid: number;
  /** Meter id, int64. */
  mid: bigint | number;
  /** Meter object id, int32. */
  moid: number;
  /** Capture time, int64 (TStorage nanoseconds by convention). */
  cap: bigint | number;
  /** Acquisition time, int64 (TStorage nanoseconds): set by the server on PUT, by you on PUTA. */
  acq: bigint | number;
}

/** Which fields a key layout carries on the wire (both default to true). */
export interface KeyLayout {
  /** Whether the key carries its `cid`. Default true. */
  withCid?: boolean;
  /** Whether the key carries its `acq`. Default true. */
  withAcq?: boolean;
}

function toInt64(value: bigint | number, field: string): bigint {
  if (typeof value === "bigint") return value;
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`Key field ${field} must be a bigint or a safe integer, got ${value}`);
  }
  return BigInt(value);
}

const isInt32 = (v: number): boolean =>
  Number.isInteger(v) && v >= KeyLimits.INT32_MIN && v <= KeyLimits.INT32_MAX;
const isInt64 = (v: bigint): boolean => v >= KeyLimits.INT64_MIN && v <= KeyLimits.INT64_MAX;

/**
 * A TStorage key: `cid`, `mid`, `moid`, `cap`, `acq`. Immutable; every field defaults to −1
 * like the reference client's, so `new Key()` is not valid. 64-bit fields are `bigint`.
 * Ordering (`compare`) is lexicographic and only for local sorting: the server selects keys
 * per field (`min.x ≤ k.x < max.x` for every field), see {@link Key.inRange}.
 *
 * @example
 * ```ts
 * import { Key } from "@kvwire/kvwire/tstorage";
 * const key = new Key(1, 2n, 3, 4n, 5n);
 * key.valid(); // true
 * key.toBytes({ withCid: false, withAcq: false }).length; // 20
 * Key.fromBytes(key.toBytes())?.equals(key); // true
 * ```
 */
export class Key {
  /** Client id, 0 … 2^31−1. */
  readonly cid: number;
  /** Meter id, int64. */
  readonly mid: bigint;
  /** Meter object id, int32. */
  readonly moid: number;
  /** Capture time, int64 (TStorage nanoseconds by convention). */
  readonly cap: bigint;
  /** Acquisition time, int64 (TStorage nanoseconds). */
  readonly acq: bigint;

  /** Creates a key; throws `RangeError` for a 64-bit field given as an unsafe number. */
  constructor(
    cid = -1,
    mid: bigint | number = -1n,
    moid = -1,
    cap: bigint | number = -1n,
    acq: bigint | number = -1n,
  ) {
    this.cid = cid;
    this.mid = toInt64(mid, "mid");
    this.moid = moid;
    this.cap = toInt64(cap, "cap");
    this.acq = toInt64(acq, "acq");
  }

  /** Creates a key from named fields (missing ones are −1). */
  static of(fields: Partial<KeyFields>): Key {
    return new Key(fields.cid, fields.mid, fields.moid, fields.cap, fields.acq);
  }

  /** The smallest storable key: `(0, −2^63, −2^31, −2^63, −2^63)`. */
  static min(): Key {
    const { INT32_MIN, INT64_MIN } = KeyLimits;
    return new Key(0, INT64_MIN, INT32_MIN, INT64_MIN, INT64_MIN);
  }

  /** The largest key: every field at its maximum (exclusive upper bound of every range). */
  static max(): Key {
    const { INT32_MAX, INT64_MAX } = KeyLimits;
    return new Key(INT32_MAX, INT64_MAX, INT32_MAX, INT64_MAX, INT64_MAX);
  }

  /** Bytes of the full wire format (always 32, like the reference client's `bytes_count`). */
  static bytesCount(): number {
    return KEY_SIZE;
  }

  /** A copy with some fields replaced. */
  with(fields: Partial<KeyFields>): Key {
    return new Key(
      fields.cid ?? this.cid,
      fields.mid ?? this.mid,
      fields.moid ?? this.moid,
      fields.cap ?? this.cap,
      fields.acq ?? this.acq,
    );
  }

  /**
   * True when the key can be stored: `cid ≥ 0` (the reference client's rule) and every field
   * within its wire range (integers; int32 or int64).
   */
  valid(): boolean {
    return this.cid >= 0 && this.encodable();
  }

  /** True when every field fits its wire type (a negative cid is encodable, not valid). */
  encodable(): boolean {
    return isInt32(this.cid) && isInt32(this.moid) && isInt64(this.mid) &&
      isInt64(this.cap) && isInt64(this.acq);
  }

  /** Why the key is not valid (a sentence), or undefined when it is. */
  problem(): string | undefined {
    if (!isInt32(this.cid) || this.cid < 0) return `cid ${this.cid} is not in 0…2147483647`;
    if (!isInt32(this.moid)) return `moid ${this.moid} is not an int32`;
    if (!isInt64(this.mid)) return `mid ${this.mid} is not an int64`;
    if (!isInt64(this.cap)) return `cap ${this.cap} is not an int64`;
    if (!isInt64(this.acq)) return `acq ${this.acq} is not an int64`;
    return undefined;
  }

  /** True when `min.x ≤ this.x < max.x` for every field: the server's range rule. */
  inRange(min: Key, max: Key): boolean {
    return min.cid <= this.cid && this.cid < max.cid && min.mid <= this.mid &&
      this.mid < max.mid && min.moid <= this.moid && this.moid < max.moid &&
      min.cap <= this.cap && this.cap < max.cap && min.acq <= this.acq && this.acq < max.acq;
  }

  /**
   * The key's wire bytes (little-endian) in one of four layouts: 32 bytes by default, 28
   * without cid, 24 without acq, 20 without both. Throws `RangeError` when a field does not
   * fit its wire type.
   */
  toBytes(layout: KeyLayout = {}): Uint8Array {
    const size = keySize(layout);
    const out = new Uint8Array(size);
    writeKey(new DataView(out.buffer), 0, this, layout.withCid ?? true, layout.withAcq ?? true);
    return out;
  }

  /**
   * Reads a full 32-byte key at `offset`; undefined when fewer bytes remain or the cid is
   * negative (as the reference client does).
   */
  static fromBytes(data: Uint8Array, offset = 0): Key | undefined {
    if (offset < 0 || data.length - offset < KEY_SIZE) return undefined;
    const key = readKey(new DataView(data.buffer, data.byteOffset, data.byteLength), offset);
    return key.cid < 0 ? undefined : key;
  }

  /** Lexicographic order on (cid, mid, moid, cap, acq): −1, 0 or 1. */
  compare(other: Key): -1 | 0 | 1 {
    return Key.compare(this, other);
  }

  /** Lexicographic order on (cid, mid, moid, cap, acq), for `Array.prototype.sort`. */
  static compare(a: Key, b: Key): -1 | 0 | 1 {
    if (a.cid !== b.cid) return a.cid < b.cid ? -1 : 1;
    if (a.mid !== b.mid) return a.mid < b.mid ? -1 : 1;
    if (a.moid !== b.moid) return a.moid < b.moid ? -1 : 1;
    if (a.cap !== b.cap) return a.cap < b.cap ? -1 : 1;
    if (a.acq !== b.acq) return a.acq < b.acq ? -1 : 1;
    return 0;
  }

  /** Field-wise equality. */
  equals(other: Key): boolean {
    return Key.compare(this, other) === 0;
  }

  /** `Key(cid, mid, moid, cap, acq)`. */
  toString(): string {
    return `Key(${this.cid}, ${this.mid}, ${this.moid}, ${this.cap}, ${this.acq})`;
  }
}

/**
 * A stored record: a key and its payload value.
 *
 * @example
 * ```ts
 * import { Key, type TStorageRecord } from "@kvwire/kvwire/tstorage";
 * const record: TStorageRecord<Uint8Array> = { key: new Key(1, 2n, 3, 4n), value: new Uint8Array([1]) };
 * ```
 */
export interface TStorageRecord<T> {
  /** The record's key. */
  readonly key: Key;
  /** The record's payload value. */
  readonly value: T;
}

/**
 * Bytes of a key layout: 32, 28 (no cid), 24 (no acq) or 20.
 *
 * @example
 * ```ts
 * import { keySize } from "@kvwire/kvwire/tstorage";
 * keySize({ withCid: false, withAcq: true }); // 28
 * ```
 */
export function keySize(layout: KeyLayout = {}): number {
  return 20 + (layout.withCid ?? true ? 4 : 0) + (layout.withAcq ?? true ? 8 : 0);
}

/**
 * Writes a key little-endian at `offset` and returns the offset after it. Throws
 * `RangeError` when a written field does not fit its wire type.
 *
 * @example
 * ```ts
 * import { Key, writeKey } from "@kvwire/kvwire/tstorage";
 * const out = new Uint8Array(32);
 * writeKey(new DataView(out.buffer), 0, new Key(1, 2n, 3, 4n, 5n), true, true); // 32
 * ```
 */
export function writeKey(
  view: DataView,
  offset: number,
  key: Key,
  withCid: boolean,
  withAcq: boolean,
): number {
  if (!isInt32(key.moid) || !isInt64(key.mid) || !isInt64(key.cap)) {
    throw new RangeError(`${key} does not fit the wire format: ${key.problem()}`);
  }
  if (withCid && !isInt32(key.cid)) throw new RangeError(`${key}: cid is not an int32`);
  if (withAcq && !isInt64(key.acq)) throw new RangeError(`${key}: acq is not an int64`);
  let at = offset;
  if (withCid) {
    view.setInt32(at, key.cid, true);
    at += 4;
  }
  view.setBigInt64(at, key.mid, true);
  view.setInt32(at + 8, key.moid, true);
  view.setBigInt64(at + 12, key.cap, true);
  at += 20;
  if (withAcq) {
    view.setBigInt64(at, key.acq, true);
    at += 8;
  }
  return at;
}

/**
 * Reads a full 32-byte key little-endian at `offset` (any cid, negative too).
 *
 * @example
 * ```ts
 * import { Key, readKey } from "@kvwire/kvwire/tstorage";
 * const bytes = new Key(1, 2n, 3, 4n, 5n).toBytes();
 * readKey(new DataView(bytes.buffer), 0).moid; // 3
 * ```
 */
export function readKey(view: DataView, offset: number): Key {
  return new Key(
    view.getInt32(offset, true),
    view.getBigInt64(offset + 4, true),
    view.getInt32(offset + 12, true),
    view.getBigInt64(offset + 16, true),
    view.getBigInt64(offset + 24, true),
  );
}

// The protobuf wire format (protobuf.dev/programming-guides/encoding): varints, zigzag,
// fixed32/64, length-delimited fields, packed repeated scalars, unknown fields skipped; and a
// schema-driven codec so each message is declared once as a list of fields (proto3 rules).

import { ByteWriter, utf8Decode, utf8Encode } from "../../core/bytes.ts";
import { RemoteProtocolError } from "../../core/errors.ts";

/** Wire types. */
export const WireType = { Varint: 0, Fixed64: 1, Bytes: 2, Fixed32: 5 } as const;

/** Scalar kinds a field may have (int64 family as bigint, 32-bit as number). */
export type ScalarKind =
  | "int64"
  | "uint64"
  | "sint64"
  | "fixed64"
  | "int32"
  | "uint32"
  | "sint32"
  | "fixed32"
  | "bool"
  | "enum"
  | "string"
  | "bytes";

/** One field of a message schema. */
export interface FieldSpec {
  /** The property name in TypeScript (camelCase). */
  name: string;
  /** The field number. */
  no: number;
  /** A scalar kind, or a function returning the schema of a nested message. */
  kind: ScalarKind | (() => MessageSpec);
  /** `repeated`: an array (scalars packed on the wire, either form accepted). */
  repeated?: boolean;
  /** Member of a `oneof`: encoded whenever set, even to a default; undefined when absent. */
  oneof?: boolean;
  /**
   * The name in the JSON gateway's mapping (the `.proto` field name) when it is not the
   * snake_case of `name`, such as `ID` or `dbSize`.
   */
  json?: string;
  /** An enum's value names by number, as the JSON mapping spells them. */
  enumNames?: readonly string[];
}

/** A message schema: its fields. */
export type MessageSpec = readonly FieldSpec[];

/** A decoded or to-be-encoded message: properties named after its fields. */
export type ProtoObject = Record<string, unknown>;

const LIMIT_DEPTH = 32;

/** The last small int64 decoded, as a number and as a bigint (see `ProtoReader.int64`). */
let lastSmall = 0;
let lastBig = 0n;

/**
 * A cursor over an encoded message. Every read checks bounds and throws `RemoteProtocolError`.
 *
 * @example
 * ```ts
 * import { ProtoReader } from "./wire.ts";
 * const r = new ProtoReader(new Uint8Array([0xac, 0x02]));
 * r.varint(); // 300n
 * ```
 */
export class ProtoReader {
  readonly bytes: Uint8Array;
  pos: number;
  readonly end: number;

  /** Reads `bytes` from `start` to `end`. */
  constructor(bytes: Uint8Array, start = 0, end: number = bytes.length) {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
  }

  /** A varint as an unsigned 64-bit bigint. */
  varint(): bigint {
    const n = this.shortVarint(7);
    return n >= 0 ? BigInt(n) : this.#longVarint();
  }

  /**
   * A varint of at most `maxBytes` bytes (up to 7, so below 2^49) as a number; -1, with
   * nothing consumed, when it is longer (or runs past the end: the caller then reads it
   * with `varint`, which throws). The fast path of every read: no bigint on the way.
   */
  shortVarint(maxBytes: number): number {
    const bytes = this.bytes;
    const stop = Math.min(this.end, this.pos + maxBytes);
    let value = 0;
    let scale = 1;
    for (let at = this.pos; at < stop; at++) {
      const b = bytes[at];
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.pos = at + 1;
        return value;
      }
      scale *= 128;
    }
    return -1;
  }

  #longVarint(): bigint {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RemoteProtocolError("Protobuf varint runs past the end");
      const b = this.bytes[this.pos++];
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi = (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if ((b & 0x80) === 0) {
        return BigInt.asUintN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
      }
    }
    throw new RemoteProtocolError("Protobuf varint is longer than 10 bytes");
  }

  /** A varint that must fit a small non-negative number (tags, lengths). */
  smallVarint(): number {
    const n = this.shortVarint(4);
    if (n >= 0) return n;
    const v = this.#longVarint();
    if (v > 0x7fffffffn) throw new RemoteProtocolError(`Protobuf length or tag ${v} is too large`);
    return Number(v);
  }

  /** An int64 field's value: a varint read as a signed 64-bit bigint. */
  int64(): bigint {
    const n = this.shortVarint(7); // below 2^49: the same as a signed 64-bit value
    if (n < 0) return BigInt.asIntN(64, this.#longVarint());
    // Revisions repeat (an event's create and mod revision, the events of one txn): the
    // last bigint made is reused rather than allocated again.
    if (n !== lastSmall) {
      lastSmall = n;
      lastBig = BigInt(n);
    }
    return lastBig;
  }

  /** An int32 or enum field's value: a varint read as a signed 32-bit number. */
  int32(): number {
    const n = this.shortVarint(4); // below 2^28: the same as a signed 32-bit value
    return n >= 0 ? n : Number(BigInt.asIntN(32, this.#longVarint()));
  }

  /** A bool field's value: any varint, true unless 0. */
  bool(): boolean {
    const n = this.shortVarint(7);
    return n >= 0 ? n !== 0 : this.#longVarint() !== 0n;
  }

  /** A string field's value (UTF-8). */
  string(): string {
    return utf8Decode(this.lengthDelimited());
  }

  /** A length-delimited field's bytes (a view). */
  lengthDelimited(): Uint8Array {
    return this.take(this.smallVarint());
  }

  /** A reader over the next length-delimited field (an embedded message or packed list). */
  embedded(): ProtoReader {
    const length = this.smallVarint();
    const start = this.pos;
    this.take(length);
    return new ProtoReader(this.bytes, start, start + length);
  }

  /** `n` raw bytes (a view). */
  take(n: number): Uint8Array {
    if (n > this.end - this.pos) throw new RemoteProtocolError("Protobuf field runs past the end");
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A little-endian fixed 64-bit value as unsigned bigint. */
  fixed64(): bigint {
    const b = this.take(8);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  }

  /** A little-endian fixed 32-bit value as unsigned number. */
  fixed32(): number {
    const b = this.take(4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
  }

  /** Skips a field of `wireType` (the tag was read). */
  skip(wireType: number): void {
    if (wireType === WireType.Varint) this.varint();
    else if (wireType === WireType.Fixed64) this.take(8);
    else if (wireType === WireType.Bytes) this.take(this.smallVarint());
    else if (wireType === WireType.Fixed32) this.take(4);
    else throw new RemoteProtocolError(`Protobuf wire type ${wireType} is not supported`);
  }
}

/**
 * Zigzag-encodes a signed 64-bit value (sint32/sint64 fields).
 *
 * @example
 * ```ts
 * import { zigzagEncode } from "./wire.ts";
 * zigzagEncode(-1n); // 1n
 * ```
 */
export function zigzagEncode(v: bigint): bigint {
  return BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
}

/**
 * Zigzag-decodes to a signed 64-bit value.
 *
 * @example
 * ```ts
 * import { zigzagDecode } from "./wire.ts";
 * zigzagDecode(3n); // -2n
 * ```
 */
export function zigzagDecode(v: bigint): bigint {
  return BigInt.asIntN(64, (v >> 1n) ^ -(v & 1n));
}

function wireTypeOf(kind: FieldSpec["kind"]): number {
  if (typeof kind === "function" || kind === "string" || kind === "bytes") return WireType.Bytes;
  if (kind === "fixed64") return WireType.Fixed64;
  if (kind === "fixed32") return WireType.Fixed32;
  return WireType.Varint;
}

/**
 * True for a proto3 default (omitted on the wire): absent, 0, false, "" or empty bytes.
 *
 * @example
 * ```ts
 * import { isDefault } from "./wire.ts";
 * isDefault(0n); // true
 * ```
 */
export function isDefault(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (value === 0 || value === 0n || value === false || value === "") return true;
  return value instanceof Uint8Array && value.length === 0;
}

function writeScalar(w: ByteWriter, kind: ScalarKind, value: unknown, field: string): void {
  switch (kind) {
    case "int64":
    case "uint64":
    case "int32":
    case "uint32":
    case "enum":
      w.writeVarint(toBigInt(value, field));
      return;
    case "sint64":
    case "sint32":
      w.writeVarint(zigzagEncode(toBigInt(value, field)));
      return;
    case "bool":
      w.writeUint8(value ? 1 : 0);
      return;
    case "fixed64": {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, toBigInt(value, field)), true);
      w.writeBytes(b);
      return;
    }
    case "fixed32": {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, Number(toBigInt(value, field)) >>> 0, true);
      w.writeBytes(b);
      return;
    }
    case "string": {
      if (typeof value !== "string") throw new TypeError(`${field} must be a string`);
      const bytes = utf8Encode(value);
      w.writeVarint(bytes.length).writeBytes(bytes);
      return;
    }
    case "bytes": {
      if (!(value instanceof Uint8Array)) throw new TypeError(`${field} must be a Uint8Array`);
      w.writeVarint(value.length).writeBytes(value);
      return;
    }
  }
}

function toBigInt(value: unknown, field: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  if (typeof value === "boolean") return value ? 1n : 0n;
  throw new TypeError(`${field} must be an integer, got ${String(value)}`);
}

/**
 * Encodes `value` by `spec`: fields at their default are omitted (proto3), except `oneof`
 * members that are set; repeated scalars are packed.
 *
 * @example
 * ```ts
 * import { encodeProto } from "./wire.ts";
 * encodeProto([{ name: "id", no: 1, kind: "int64" }], { id: 150n }); // 08 96 01
 * ```
 */
export function encodeProto(spec: MessageSpec, value: ProtoObject): Uint8Array {
  const w = new ByteWriter(64);
  writeMessage(w, spec, value);
  return w.finish();
}

function writeMessage(w: ByteWriter, spec: MessageSpec, value: ProtoObject): void {
  for (const f of spec) {
    const v = value[f.name];
    if (f.repeated) {
      const list = (v ?? []) as unknown[];
      if (!Array.isArray(list)) throw new TypeError(`${f.name} must be an array`);
      if (list.length === 0) continue;
      const wt = wireTypeOf(f.kind);
      if (wt !== WireType.Bytes) {
        const inner = new ByteWriter(list.length * 2);
        for (const item of list) writeScalar(inner, f.kind as ScalarKind, item, f.name);
        w.writeVarint((f.no << 3) | WireType.Bytes).writeVarint(inner.length);
        w.writeBytes(inner.view());
      } else for (const item of list) writeField(w, f, item);
      continue;
    }
    if (f.oneof ? v === undefined : isDefault(v)) continue;
    writeField(w, f, v);
  }
}

function writeField(w: ByteWriter, f: FieldSpec, v: unknown): void {
  w.writeVarint((f.no << 3) | wireTypeOf(f.kind));
  if (typeof f.kind === "function") {
    const inner = new ByteWriter(64);
    writeMessage(inner, f.kind(), (v ?? {}) as ProtoObject);
    w.writeVarint(inner.length).writeBytes(inner.view());
  } else writeScalar(w, f.kind, v, f.name);
}

/** A field as the decoder reads it: its spec, wire type and nested schema, built once. */
interface ReadField {
  readonly f: FieldSpec;
  readonly wire: number;
  /** A repeated scalar, which may come packed. */
  readonly packable: boolean;
  readonly nested: (() => MessageSpec) | undefined;
}

/** Per-schema decoding plan: fields by number, and the names and kinds that get defaults. */
interface Plan {
  readonly byNo: (ReadField | undefined)[];
  readonly defaults: readonly [string, ScalarKind | undefined][];
}

const PLANS = new WeakMap<MessageSpec, Plan>();

function planOf(spec: MessageSpec): Plan {
  let plan = PLANS.get(spec);
  if (!plan) {
    const byNo: (ReadField | undefined)[] = [];
    const defaults: [string, ScalarKind | undefined][] = [];
    for (const f of spec) {
      const nested = typeof f.kind === "function" ? f.kind : undefined;
      const wire = wireTypeOf(f.kind);
      byNo[f.no] = { f, wire, packable: !!f.repeated && wire !== WireType.Bytes, nested };
      if (f.repeated) defaults.push([f.name, undefined]);
      else if (!nested && !f.oneof) defaults.push([f.name, f.kind as ScalarKind]);
    }
    plan = { byNo, defaults };
    PLANS.set(spec, plan);
  }
  return plan;
}

/**
 * The empty bytes of absent fields (it has no elements to change, so it is shared).
 *
 * @example
 * ```ts
 * import { NO_BYTES } from "./wire.ts";
 * NO_BYTES.length; // 0
 * ```
 */
export const NO_BYTES = new Uint8Array(0);

function defaultOf(kind: ScalarKind): unknown {
  switch (kind) {
    case "int64":
    case "uint64":
    case "sint64":
    case "fixed64":
      return 0n;
    case "bool":
      return false;
    case "string":
      return "";
    case "bytes":
      return NO_BYTES;
    default:
      return 0;
  }
}

/**
 * Decodes a message by `spec`. Absent scalars get their proto3 default, absent repeated
 * fields `[]`, absent messages and oneof members stay undefined; unknown fields are skipped.
 * Malformed input throws `RemoteProtocolError`. Bytes fields are views into `bytes` (no copy:
 * the caller hands over a buffer it owns, such as a received message), absent ones a shared
 * empty array.
 *
 * @example
 * ```ts
 * import { decodeProto } from "./wire.ts";
 * decodeProto([{ name: "id", no: 1, kind: "int64" }], new Uint8Array([8, 0x96, 1])); // { id: 150n }
 * ```
 */
export function decodeProto<T = ProtoObject>(spec: MessageSpec, bytes: Uint8Array): T {
  return readMessage(new ProtoReader(bytes), spec, 0) as T;
}

function readMessage(r: ProtoReader, spec: MessageSpec, depth: number): ProtoObject {
  if (depth > LIMIT_DEPTH) throw new RemoteProtocolError("Protobuf messages nest too deeply");
  const plan = planOf(spec);
  const out: ProtoObject = {};
  for (const [name, kind] of plan.defaults) out[name] = kind === undefined ? [] : defaultOf(kind);
  while (r.pos < r.end) {
    const tag = r.smallVarint();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no === 0) throw new RemoteProtocolError("Protobuf field number 0");
    const field = plan.byNo[no];
    if (field === undefined) {
      r.skip(wt);
      continue;
    }
    const f = field.f;
    if (field.packable && wt === WireType.Bytes) {
      const packed = r.embedded();
      const list = out[f.name] as unknown[];
      while (packed.pos < packed.end) list.push(readScalar(packed, f.kind as ScalarKind));
      continue;
    }
    if (wt !== field.wire) {
      throw new RemoteProtocolError(
        `Protobuf field ${f.name} has wire type ${wt}, not ${field.wire}`,
      );
    }
    let value: unknown;
    if (field.nested !== undefined) {
      value = readMessage(r.embedded(), field.nested(), depth + 1);
    } else value = readScalar(r, f.kind as ScalarKind);
    if (f.repeated) (out[f.name] as unknown[]).push(value);
    else out[f.name] = value;
  }
  return out;
}

function readScalar(r: ProtoReader, kind: ScalarKind): unknown {
  switch (kind) {
    case "int64":
      return r.int64();
    case "uint64":
      return r.varint();
    case "sint64":
      return zigzagDecode(r.varint());
    case "int32":
    case "enum":
      return r.int32();
    case "uint32": {
      const n = r.shortVarint(4);
      return n >= 0 ? n : Number(BigInt.asUintN(32, r.varint()));
    }
    case "sint32":
      return Number(BigInt.asIntN(32, zigzagDecode(r.varint())));
    case "bool":
      return r.bool();
    case "fixed64":
      return r.fixed64();
    case "fixed32":
      return r.fixed32();
    case "string":
      return r.string();
    case "bytes":
      return r.lengthDelimited();
  }
}

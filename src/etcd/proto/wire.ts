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
    const v = this.varint();
    if (v > 0x7fffffffn) throw new RemoteProtocolError(`Protobuf length or tag ${v} is too large`);
    return Number(v);
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

/** Per-schema lookup by field number, built once. */
const INDEX = new WeakMap<MessageSpec, Map<number, FieldSpec>>();

function indexOf(spec: MessageSpec): Map<number, FieldSpec> {
  let map = INDEX.get(spec);
  if (!map) {
    map = new Map(spec.map((f) => [f.no, f]));
    INDEX.set(spec, map);
  }
  return map;
}

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
      return new Uint8Array(0);
    default:
      return 0;
  }
}

/**
 * Decodes a message by `spec`. Absent scalars get their proto3 default, absent repeated
 * fields `[]`, absent messages and oneof members stay undefined; unknown fields are skipped.
 * Malformed input throws `RemoteProtocolError`. Bytes fields are copies.
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
  const out: ProtoObject = {};
  for (const f of spec) {
    if (f.repeated) out[f.name] = [];
    else if (typeof f.kind !== "function" && !f.oneof) out[f.name] = defaultOf(f.kind);
  }
  const index = indexOf(spec);
  while (r.pos < r.end) {
    const tag = r.smallVarint();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no === 0) throw new RemoteProtocolError("Protobuf field number 0");
    const f = index.get(no);
    if (!f) {
      r.skip(wt);
      continue;
    }
    const expected = wireTypeOf(f.kind);
    if (f.repeated && wt === WireType.Bytes && expected !== WireType.Bytes) {
      const end = r.smallVarint();
      const packed = new ProtoReader(r.bytes, r.pos, r.pos + end);
      r.take(end);
      const list = out[f.name] as unknown[];
      while (packed.pos < packed.end) list.push(readScalar(packed, f.kind as ScalarKind));
      continue;
    }
    if (wt !== expected) {
      throw new RemoteProtocolError(
        `Protobuf field ${f.name} has wire type ${wt}, not ${expected}`,
      );
    }
    let value: unknown;
    if (typeof f.kind === "function") {
      const length = r.smallVarint();
      const inner = new ProtoReader(r.bytes, r.pos, r.pos + length);
      r.take(length);
      value = readMessage(inner, f.kind(), depth + 1);
    } else value = readScalar(r, f.kind);
    if (f.repeated) (out[f.name] as unknown[]).push(value);
    else out[f.name] = value;
  }
  return out;
}

function readScalar(r: ProtoReader, kind: ScalarKind): unknown {
  switch (kind) {
    case "int64":
      return BigInt.asIntN(64, r.varint());
    case "uint64":
      return r.varint();
    case "sint64":
      return zigzagDecode(r.varint());
    case "int32":
    case "enum":
      return Number(BigInt.asIntN(32, r.varint()));
    case "uint32":
      return Number(BigInt.asUintN(32, r.varint()));
    case "sint32":
      return Number(BigInt.asIntN(32, zigzagDecode(r.varint())));
    case "bool":
      return r.varint() !== 0n;
    case "fixed64":
      return r.fixed64();
    case "fixed32":
      return r.fixed32();
    case "string":
      return utf8Decode(r.take(r.smallVarint()));
    case "bytes":
      return r.take(r.smallVarint()).slice();
  }
}

// The etcd gateway's JSON (the proto3 JSON mapping as grpc-gateway writes it: `.proto` field
// names, bytes as base64, 64-bit integers as strings, enums by name, defaults omitted) to and
// from the protobuf objects of the message specs, so callers speak one dialect on both channels.

import { base64Decode, base64Encode } from "../base64.ts";
import { type FieldSpec, isDefault, type MessageSpec, type ProtoObject } from "../proto/wire.ts";

type Json = Record<string, unknown>;

/** Each field's JSON name, built once per schema. */
const NAMES = new WeakMap<MessageSpec, string[]>();

function namesOf(spec: MessageSpec): string[] {
  let names = NAMES.get(spec);
  if (!names) {
    names = spec.map((f) => f.json ?? f.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
    NAMES.set(spec, names);
  }
  return names;
}

/**
 * A gateway JSON request as a protobuf object of `spec`. Bad input (a field of the wrong
 * type) is a `TypeError` naming the field; unknown JSON properties are a `TypeError` too.
 *
 * @example
 * ```ts
 * import { protoFromJson } from "./json.ts";
 * import { LeaseGrantRequest } from "../proto/messages.ts";
 * protoFromJson(LeaseGrantRequest, { TTL: "30" }); // { ttl: 30n }
 * ```
 */
export function protoFromJson(spec: MessageSpec, json: Json): ProtoObject {
  const names = namesOf(spec);
  const out: ProtoObject = {};
  let seen = 0;
  for (let i = 0; i < spec.length; i++) {
    const v = json[names[i]];
    if (v === undefined) continue;
    seen++;
    const f = spec[i];
    out[f.name] = f.repeated
      ? (Array.isArray(v) ? v : fail(f, v)).map((item) => fromJsonValue(f, item))
      : fromJsonValue(f, v);
  }
  if (seen !== Object.keys(json).length) {
    const unknown = Object.keys(json).filter((k) => !names.includes(k));
    if (unknown.length > 0) throw new TypeError(`Unknown field ${unknown[0]} in an etcd request`);
  }
  return out;
}

function fromJsonValue(f: FieldSpec, v: unknown): unknown {
  const kind = f.kind;
  if (typeof kind === "function") {
    return typeof v === "object" && v !== null ? protoFromJson(kind(), v as Json) : fail(f, v);
  }
  switch (kind) {
    case "bytes":
      return typeof v === "string" ? base64Decode(v) : fail(f, v);
    case "string":
      return typeof v === "string" ? v : fail(f, v);
    case "bool":
      return typeof v === "boolean" ? v : fail(f, v);
    case "enum": {
      if (typeof v === "number") return v;
      const index = typeof v === "string" ? f.enumNames?.indexOf(v) ?? -1 : -1;
      return index >= 0 ? index : fail(f, v);
    }
    case "int64":
    case "uint64":
    case "sint64":
    case "fixed64":
      if (typeof v === "bigint") return v;
      if ((typeof v === "string" && /^-?\d+$/.test(v)) || Number.isSafeInteger(v)) {
        return BigInt(v as string | number);
      }
      return fail(f, v);
    default:
      if (typeof v === "string" && /^-?\d+$/.test(v)) return Number(v);
      return Number.isSafeInteger(v) ? v : fail(f, v);
  }
}

function fail(f: FieldSpec, v: unknown): never {
  throw new TypeError(`etcd request field ${f.name} has an invalid value ${String(v)}`);
}

/**
 * A decoded protobuf object of `spec` as the gateway's JSON: fields at their default omitted
 * (set `oneof` members and present messages kept), bytes base64, 64-bit integers as strings,
 * enums by name.
 *
 * @example
 * ```ts
 * import { jsonFromProto } from "./json.ts";
 * import { LeaseGrantResponse } from "../proto/messages.ts";
 * jsonFromProto(LeaseGrantResponse, { id: 7n, ttl: 30n, error: "" }); // { ID: "7", TTL: "30" }
 * ```
 */
export function jsonFromProto(spec: MessageSpec, value: ProtoObject): Json {
  const names = namesOf(spec);
  const out: Json = {};
  for (let i = 0; i < spec.length; i++) {
    const f = spec[i];
    const v = value[f.name];
    if (v === undefined) continue;
    if (f.repeated) {
      const list = v as unknown[];
      if (list.length > 0) out[names[i]] = list.map((item) => toJsonValue(f, item));
    } else if (f.oneof || typeof f.kind === "function" || !isDefault(v)) {
      out[names[i]] = toJsonValue(f, v);
    }
  }
  return out;
}

function toJsonValue(f: FieldSpec, v: unknown): unknown {
  const kind = f.kind;
  if (typeof kind === "function") return jsonFromProto(kind(), v as ProtoObject);
  if (v instanceof Uint8Array) return base64Encode(v);
  if (typeof v === "bigint") return String(v);
  if (kind === "enum") return f.enumNames?.[v as number] ?? v;
  return v;
}

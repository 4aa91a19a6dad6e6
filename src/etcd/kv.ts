// v3 KV messages as the JSON gateway spells them (etcdserverpb rpc.proto, kv.proto): request
// builders and response decoders. Keys and values are base64; int64 fields are strings.

import { utf8Decode, utf8Encode } from "../core/bytes.ts";
import { RemoteProtocolError } from "../core/errors.ts";
import { base64Decode, base64Encode } from "./base64.ts";

/** A key or value: bytes, or a string sent as UTF-8. */
export type Bytes = Uint8Array | string;

/** One stored key. Revisions are bigint (etcd's int64). */
export interface KeyValue {
  /** The key. */
  key: Uint8Array;
  /** The value. */
  value: Uint8Array;
  /** The revision of the key's creation. */
  createRevision: bigint;
  /** The revision of the key's last modification. */
  modRevision: bigint;
  /** Writes to the key since its creation (1 after the first put). */
  version: bigint;
  /** The attached lease id, 0n for none. */
  lease: bigint;
}

/** Which keys a request covers: one key, `[key, rangeEnd)`, a prefix, or all from `key` on. */
export interface KeyRange {
  /** The key, or the start of the range. */
  key: Bytes;
  /** Exclusive end of the range. */
  rangeEnd?: Bytes;
  /** Every key starting with `key`. */
  prefix?: boolean;
  /** Every key greater than or equal to `key`. */
  fromKey?: boolean;
}

/** Options of a range read. */
export interface RangeOptions {
  /** Most keys to return (0 or absent: no limit). */
  limit?: number;
  /** Order of the keys returned. Default `none`. */
  sortOrder?: "none" | "ascend" | "descend";
  /** The field `sortOrder` sorts by. Default `key`. */
  sortTarget?: "key" | "version" | "create" | "mod" | "value";
  /** Read at this revision (it must not be compacted). */
  revision?: bigint;
  /** Return keys without their values. */
  keysOnly?: boolean;
  /** Return only the count of keys. */
  countOnly?: boolean;
  /** Answer from the member's local state without a quorum read. */
  serializable?: boolean;
  /** Only keys modified at or after this revision. */
  minModRevision?: bigint;
  /** Only keys modified at or before this revision. */
  maxModRevision?: bigint;
  /** Only keys created at or after this revision. */
  minCreateRevision?: bigint;
  /** Only keys created at or before this revision. */
  maxCreateRevision?: bigint;
}

/** The answer of a range read. */
export interface RangeResult {
  /** The keys found, in the order asked for. */
  kvs: KeyValue[];
  /** Keys in the range (all of them, also past `limit`). */
  count: bigint;
  /** True when `limit` cut the result. */
  more: boolean;
  /** The store revision the read saw. */
  revision: bigint;
}

/** Options of a put. */
export interface PutOptions {
  /** Attach the key to this lease id. */
  lease?: bigint;
  /** Return the key-value before the put. */
  prevKv?: boolean;
  /** Keep the current value (only the lease changes). */
  ignoreValue?: boolean;
  /** Keep the current lease. */
  ignoreLease?: boolean;
}

/** The answer of a put. */
export interface PutResult {
  /** The store revision of the put. */
  revision: bigint;
  /** The key-value before the put, when asked for and the key existed. */
  prevKv?: KeyValue;
}

/** The answer of a delete. */
export interface DeleteResult {
  /** How many keys were deleted. */
  deleted: bigint;
  /** The deleted key-values, when asked for. */
  prevKvs: KeyValue[];
  /** The store revision of the delete. */
  revision: bigint;
}

/** Maps user keys to stored keys (a namespace prefix) and back. */
export class Keys {
  readonly #prefix: Uint8Array;

  /** `namespace` is prepended to every key. */
  constructor(namespace: Bytes = "") {
    this.#prefix = toBytes(namespace, "namespace");
  }

  /** The stored key for a user key. */
  key(key: Bytes): Uint8Array {
    const k = toBytes(key, "key");
    if (this.#prefix.length === 0) return k;
    const out = new Uint8Array(this.#prefix.length + k.length);
    out.set(this.#prefix);
    out.set(k, this.#prefix.length);
    return out;
  }

  /** The user key of a stored key. */
  strip(key: Uint8Array): Uint8Array {
    return this.#prefix.length === 0 ? key : key.subarray(this.#prefix.length);
  }

  /** `{key, range_end}` JSON fields for a range. */
  range(range: KeyRange): { key: string; range_end?: string } {
    const key = this.key(range.key);
    let end: Uint8Array | undefined;
    if (range.rangeEnd !== undefined) end = this.key(range.rangeEnd);
    else if (range.prefix) end = prefixEnd(key);
    else if (range.fromKey) end = this.#prefix.length > 0 ? prefixEnd(this.#prefix) : ZERO;
    return end === undefined
      ? { key: base64Encode(key) }
      : { key: base64Encode(key), range_end: base64Encode(end) };
  }

  /**
   * Decodes a gateway `KeyValue` object. With `within` (the request's `{key, range_end}`), a
   * key outside the range asked for is refused: that answer belongs to another request.
   */
  kv(json: JsonKv, within?: Within): KeyValue {
    const key = b64(json.key);
    if (within !== undefined && !within.has(key)) {
      throw new RemoteProtocolError(
        `etcd answered with key ${JSON.stringify(json.key)} outside the range asked for`,
        { sent: true },
      );
    }
    return {
      key: this.strip(key),
      value: b64(json.value),
      createRevision: int(json.create_revision),
      modRevision: int(json.mod_revision),
      version: int(json.version),
      lease: int(json.lease),
    };
  }
}

const ZERO = new Uint8Array([0]);

/**
 * The stored keys a request's `{key, range_end}` covers: one key, `[key, range_end)`, or
 * every key from `key` on (`range_end` "\0").
 */
export class Within {
  readonly #from: Uint8Array;
  readonly #end: Uint8Array | undefined;
  readonly #open: boolean;

  /** Reads the range of a request's JSON (base64 fields), or takes its `key` and `rangeEnd`. */
  constructor(
    request: { key?: unknown; range_end?: unknown } | { key: Uint8Array; rangeEnd?: Uint8Array },
  ) {
    if (request.key instanceof Uint8Array) {
      this.#from = request.key;
      this.#end = (request as { rangeEnd?: Uint8Array }).rangeEnd;
    } else {
      const json = request as { key?: unknown; range_end?: unknown };
      this.#from = b64(json.key as string | undefined);
      this.#end = json.range_end === undefined ? undefined : b64(json.range_end as string);
    }
    this.#open = this.#end !== undefined && this.#end.length === 1 && this.#end[0] === 0;
  }

  /** True when the range covers `key`. */
  has(key: Uint8Array): boolean {
    if (this.#end === undefined) return compareBytes(key, this.#from) === 0;
    return compareBytes(key, this.#from) >= 0 &&
      (this.#open || compareBytes(key, this.#end) < 0);
  }
}

/** Orders byte strings as etcd does (unsigned, shorter first on a common prefix). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * The smallest key greater than every key starting with `prefix` (`"\0"` = no end).
 *
 * @example
 * ```ts
 * import { prefixEnd } from "@kvwire/kvwire/etcd";
 * prefixEnd(new TextEncoder().encode("a")); // Uint8Array [98] ("b")
 * ```
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i]++;
      return end;
    }
  }
  return ZERO;
}

/** A key-value pair as the gateway sends it. */
export interface JsonKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

/**
 * Bytes of a string (UTF-8) or the bytes themselves; anything else (a number, null) is a
 * TypeError naming `name`, thrown before a request is sent.
 */
export function toBytes(value: Bytes, name = "value"): Uint8Array {
  if (typeof value === "string") return utf8Encode(value);
  if (value instanceof Uint8Array) return value;
  throw new TypeError(`${name} must be a string or a Uint8Array, got ${describe(value)}`);
}

function describe(value: unknown): string {
  return value === null ? "null" : typeof value === "number" ? `the number ${value}` : typeof value;
}

/** Decodes a base64 field (absent = empty). */
export function b64(text: string | undefined): Uint8Array {
  if (text === undefined || text === "") return new Uint8Array(0);
  if (typeof text !== "string") throw new TypeError(`Expected base64, got ${typeof text}`);
  return base64Decode(text);
}

/** Reads an int64 field the gateway sent as a string (absent = 0). */
export function int(value: string | number | undefined): bigint {
  if (value === undefined) return 0n;
  if (typeof value === "string" ? !/^-?\d{1,20}$/.test(value) : !Number.isSafeInteger(value)) {
    throw new TypeError(`Expected an integer, got ${JSON.stringify(value)}`);
  }
  return BigInt(value);
}

/** Reads a number field (absent = 0); a value that is not a finite number is refused. */
export function num(value: unknown): number {
  if (value === undefined) return 0;
  const n = typeof value === "string" || typeof value === "number" ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new TypeError(`Expected a number, got ${JSON.stringify(value)}`);
  return n;
}

/** Reads an array field (absent = empty); anything else is refused. */
export function list<T>(value: unknown): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TypeError(`Expected an array, got ${typeof value}`);
  return value as T[];
}

/** Fields of each kind of answer that no other kind of answer carries. */
const OWN_FIELDS = {
  range: ["kvs", "count", "more"],
  put: ["prev_kv"],
  delete: ["deleted", "prev_kvs"],
  txn: ["succeeded", "responses"],
} as const;

/**
 * Refuses an answer carrying fields only another kind of answer has (a put answered with
 * `kvs`, a range with `deleted`): it was meant for another request.
 */
export function expectKind(json: Record<string, unknown>, kind: keyof typeof OWN_FIELDS): void {
  for (const [other, fields] of Object.entries(OWN_FIELDS)) {
    if (other === kind) continue;
    for (const field of fields) {
      if (json[field] !== undefined) {
        throw new RemoteProtocolError(
          `etcd answered a ${kind} request with a ${other} answer (field ${field})`,
          { sent: true },
        );
      }
    }
  }
}

/** The header revision of a gateway answer. */
export function headerRevision(json: { header?: { revision?: string } }): bigint {
  return int(json.header?.revision);
}

/** The JSON of a RangeRequest. */
export function rangeRequest(
  keys: Keys,
  range: KeyRange,
  o: RangeOptions = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...keys.range(range) };
  if (o.limit !== undefined) out.limit = String(o.limit);
  if (o.sortOrder) out.sort_order = o.sortOrder.toUpperCase();
  if (o.sortTarget) out.sort_target = o.sortTarget.toUpperCase();
  if (o.revision !== undefined) out.revision = String(o.revision);
  if (o.keysOnly) out.keys_only = true;
  if (o.countOnly) out.count_only = true;
  if (o.serializable) out.serializable = true;
  if (o.minModRevision !== undefined) out.min_mod_revision = String(o.minModRevision);
  if (o.maxModRevision !== undefined) out.max_mod_revision = String(o.maxModRevision);
  if (o.minCreateRevision !== undefined) out.min_create_revision = String(o.minCreateRevision);
  if (o.maxCreateRevision !== undefined) out.max_create_revision = String(o.maxCreateRevision);
  return out;
}

/**
 * Decodes a RangeResponse; with `asked` (the RangeRequest JSON) every key must lie in the
 * range asked for.
 */
export function rangeResult(
  keys: Keys,
  json: Record<string, unknown>,
  asked?: { key?: unknown; range_end?: unknown },
): RangeResult {
  expectKind(json, "range");
  const within = asked === undefined ? undefined : new Within(asked);
  const kvs = list<JsonKv>(json.kvs).map((kv) => keys.kv(kv, within));
  return {
    kvs,
    count: int(json.count as string | undefined),
    more: json.more === true,
    revision: headerRevision(json),
  };
}

/** The JSON of a PutRequest. */
export function putRequest(keys: Keys, key: Bytes, value: Bytes, o: PutOptions = {}): object {
  const out: Record<string, unknown> = {
    key: base64Encode(keys.key(key)),
    value: base64Encode(toBytes(value)),
  };
  if (o.lease !== undefined && o.lease !== 0n) out.lease = String(o.lease);
  if (o.prevKv) out.prev_kv = true;
  if (o.ignoreValue) out.ignore_value = true;
  if (o.ignoreLease) out.ignore_lease = true;
  return out;
}

/** Decodes a PutResponse. */
export function putResult(keys: Keys, json: Record<string, unknown>): PutResult {
  expectKind(json, "put");
  const prev = json.prev_kv as JsonKv | undefined;
  return prev
    ? { revision: headerRevision(json), prevKv: keys.kv(prev) }
    : { revision: headerRevision(json) };
}

/** The JSON of a DeleteRangeRequest. */
export function deleteRequest(keys: Keys, range: KeyRange, prevKv?: boolean): object {
  return prevKv ? { ...keys.range(range), prev_kv: true } : keys.range(range);
}

/** Decodes a DeleteRangeResponse. */
export function deleteResult(keys: Keys, json: Record<string, unknown>): DeleteResult {
  expectKind(json, "delete");
  return {
    deleted: int(json.deleted as string | undefined),
    prevKvs: list<JsonKv>(json.prev_kvs).map((kv) => keys.kv(kv)),
    revision: headerRevision(json),
  };
}

/**
 * Decodes bytes as UTF-8 text, for values stored as strings.
 *
 * @example
 * ```ts
 * import { text } from "@kvwire/kvwire/etcd";
 * text(new Uint8Array([104, 105])); // "hi"
 * ```
 */
export function text(bytes: Uint8Array): string {
  return utf8Decode(bytes);
}

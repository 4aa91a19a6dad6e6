// v3 transactions (etcdserverpb TxnRequest/Compare/RequestOp over the JSON gateway): compares
// on value, version, create/mod revision and lease; put, range and delete operations.

import { base64Encode } from "./base64.ts";
import {
  type Bytes,
  deleteRequest,
  type DeleteResult,
  deleteResult,
  expectKind,
  headerRevision,
  type KeyRange,
  type Keys,
  list,
  type PutOptions,
  putRequest,
  type PutResult,
  putResult,
  type RangeOptions,
  rangeRequest,
  type RangeResult,
  rangeResult,
  toBytes,
} from "./kv.ts";

/** What a compare looks at. */
export type CompareTarget = "value" | "version" | "createRevision" | "modRevision" | "lease";

/** One condition of a transaction: `target(key) op value`. */
export interface Compare {
  /** The key compared. */
  key: Bytes;
  /** Compare every key in `[key, rangeEnd)` instead of one. */
  rangeEnd?: Bytes;
  /** What of the key is compared. */
  target: CompareTarget;
  /** The comparison operator. */
  op: "==" | "!=" | "<" | ">";
  /** Bytes for `value`; a revision, version or lease id (bigint) for the others. */
  value: Bytes | bigint;
}

/** One operation of a transaction branch. */
export type TxnOp =
  | { put: { key: Bytes; value: Bytes } & PutOptions }
  | { get: KeyRange & RangeOptions }
  | { delete: KeyRange & { prevKv?: boolean } };

/** A transaction: if every compare holds, run `success`, else `failure`. */
export interface TxnRequest {
  /** The conditions, all of which must hold. */
  compare?: Compare[];
  /** Operations run when every compare holds. */
  success?: TxnOp[];
  /** Operations run otherwise. */
  failure?: TxnOp[];
}

/** The answer of one operation, in order. */
export type TxnOpResult =
  | { put: PutResult }
  | { get: RangeResult }
  | { delete: DeleteResult };

/** The answer of a transaction. */
export interface TxnResult {
  /** True when every compare held and `success` ran. */
  succeeded: boolean;
  /** The store revision after the transaction. */
  revision: bigint;
  /** The results of the operations that ran, in order. */
  responses: TxnOpResult[];
}

const RESULT = { "==": "EQUAL", "!=": "NOT_EQUAL", "<": "LESS", ">": "GREATER" } as const;
const TARGET = {
  value: ["VALUE", "value"],
  version: ["VERSION", "version"],
  createRevision: ["CREATE", "create_revision"],
  modRevision: ["MOD", "mod_revision"],
  lease: ["LEASE", "lease"],
} as const;

/** The JSON of a TxnRequest. */
export function txnRequest(keys: Keys, txn: TxnRequest): object {
  const compare = (txn.compare ?? []).map((c) => {
    const target = TARGET[c.target];
    if (!target) throw new TypeError(`Unknown compare target ${JSON.stringify(c.target)}`);
    const result = RESULT[c.op];
    if (!result) throw new TypeError(`Unknown compare operator ${JSON.stringify(c.op)}`);
    const out: Record<string, unknown> = {
      ...keys.range({ key: c.key, rangeEnd: c.rangeEnd }),
      target: target[0],
      result,
    };
    if (c.target === "value") {
      if (typeof c.value === "bigint") throw new TypeError("A value compare needs bytes");
      out.value = base64Encode(toBytes(c.value));
    } else {
      if (typeof c.value !== "bigint") {
        throw new TypeError(`A ${c.target} compare needs a bigint, got ${typeof c.value}`);
      }
      out[target[1]] = String(c.value);
    }
    return out;
  });
  return {
    compare,
    success: (txn.success ?? []).map((op) => opRequest(keys, op)),
    failure: (txn.failure ?? []).map((op) => opRequest(keys, op)),
  };
}

function opRequest(keys: Keys, op: TxnOp): object {
  if ("put" in op) return { request_put: putRequest(keys, op.put.key, op.put.value, op.put) };
  if ("get" in op) return { request_range: rangeRequest(keys, op.get, op.get) };
  if ("delete" in op) {
    return { request_delete_range: deleteRequest(keys, op.delete, op.delete.prevKv) };
  }
  throw new TypeError("A transaction operation needs put, get or delete");
}

/** Decodes a TxnResponse. */
export function txnResult(keys: Keys, json: Record<string, unknown>): TxnResult {
  expectKind(json, "txn");
  const revision = headerRevision(json);
  const responses = list<Record<string, Record<string, unknown>>>(json.responses)
    .map((r): TxnOpResult => {
      if (r.response_put) {
        return { put: putResult(keys, { header: json.header, ...r.response_put }) };
      }
      if (r.response_range) {
        return { get: rangeResult(keys, { header: json.header, ...r.response_range }) };
      }
      return {
        delete: deleteResult(keys, { header: json.header, ...(r.response_delete_range ?? {}) }),
      };
    });
  return { succeeded: json.succeeded === true, revision, responses };
}

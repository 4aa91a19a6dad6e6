// The routed operations of the RPCs on several sort keys of one hash key (multi_put, multi_get,
// multi_remove, sortkey_count, check_and_set, check_and_mutate): validation, args, decoder.

import {
  type Bytes,
  bytes,
  compare,
  expireTs,
  hashKeyBytes,
  type MultiGetOptions,
  multiGetRequest,
  mutateSpec,
  type Mutation,
  pairs,
} from "./client_options.ts";
import { crc64 } from "./crc64.ts";
import { CHECK_FAILED, INCOMPLETE, OK_ONLY } from "./key_operations.ts";
import {
  blobArgs,
  checkAndMutateArgs,
  checkAndSetArgs,
  type CheckType,
  multiGetArgs,
  multiPutArgs,
  multiRemoveArgs,
} from "./requests.ts";
import { decodeCheckResponse, decodeCountResponse, decodeKvsResponse } from "./responses.ts";
import type { RoutedOperation } from "./router.ts";

/**
 * A multi_put of sort keys and values under one hash key, with one TTL for all.
 *
 * @example
 * ```ts
 * import { multiSetOperation } from "@kvwire/kvwire/pegasus";
 * multiSetOperation("user:1", { name: "Ada", lang: "en" }, undefined).rpc; // "RPC_RRDB_RRDB_MULTI_PUT"
 * ```
 */
export function multiSetOperation(
  hashKey: Bytes,
  entries: Iterable<readonly [Bytes, Bytes]> | Record<string, Bytes>,
  ttl: number | undefined,
): RoutedOperation {
  const h = hashKeyBytes(hashKey, true);
  const kvs = pairs(entries).map(([k, v]) => ({
    key: bytes(k, "Sort key"),
    value: bytes(v, "Value"),
  }));
  if (kvs.length === 0) throw new RangeError("multiSet needs at least one sort key");
  return {
    name: "multiSet",
    rpc: "RPC_RRDB_RRDB_MULTI_PUT",
    args: multiPutArgs(h, kvs, expireTs(ttl)),
    decode: (rd) => decodeCountResponse("update", rd),
    hash: crc64(h),
    idempotent: true,
    accept: OK_ONLY,
  };
}

/**
 * A multi_get of named sort keys (or, with none, of the range `start`..`stop`) of one hash key.
 *
 * @example
 * ```ts
 * import { multiGetOperation } from "@kvwire/kvwire/pegasus";
 * const none = new Uint8Array(0);
 * multiGetOperation("user:1", [], none, none, { maxKvCount: 10 }).rpc; // "RPC_RRDB_RRDB_MULTI_GET"
 * ```
 */
export function multiGetOperation(
  hashKey: Bytes,
  sortKeys: Uint8Array[],
  start: Uint8Array,
  stop: Uint8Array,
  options: MultiGetOptions,
): RoutedOperation {
  const h = hashKeyBytes(hashKey, true);
  return {
    name: "multiGet",
    rpc: "RPC_RRDB_RRDB_MULTI_GET",
    args: multiGetArgs(multiGetRequest(h, sortKeys, start, stop, options)),
    decode: (rd) => decodeKvsResponse(false, rd),
    hash: crc64(h),
    idempotent: true,
    accept: INCOMPLETE,
  };
}

/**
 * A multi_remove of named sort keys of one hash key.
 *
 * @example
 * ```ts
 * import { multiDelOperation } from "@kvwire/kvwire/pegasus";
 * multiDelOperation("user:1", ["name"]).rpc; // "RPC_RRDB_RRDB_MULTI_REMOVE"
 * ```
 */
export function multiDelOperation(hashKey: Bytes, sortKeys: readonly Bytes[]): RoutedOperation {
  const h = hashKeyBytes(hashKey, true);
  if (sortKeys.length === 0) throw new RangeError("multiDel needs at least one sort key");
  return {
    name: "multiDel",
    rpc: "RPC_RRDB_RRDB_MULTI_REMOVE",
    args: multiRemoveArgs(h, sortKeys.map((k) => bytes(k, "Sort key"))),
    decode: (rd) => decodeCountResponse("multiRemove", rd),
    hash: crc64(h),
    idempotent: true,
    accept: OK_ONLY,
  };
}

/**
 * A sortkey_count of one hash key.
 *
 * @example
 * ```ts
 * import { sortKeyCountOperation } from "@kvwire/kvwire/pegasus";
 * sortKeyCountOperation("user:1").rpc; // "RPC_RRDB_RRDB_SORTKEY_COUNT"
 * ```
 */
export function sortKeyCountOperation(hashKey: Bytes): RoutedOperation {
  const h = hashKeyBytes(hashKey, true);
  return {
    name: "sortKeyCount",
    rpc: "RPC_RRDB_RRDB_SORTKEY_COUNT",
    args: blobArgs(h),
    decode: (rd) => decodeCountResponse("count", rd),
    hash: crc64(h),
    idempotent: true,
    accept: OK_ONLY,
  };
}

/** What a check_and_set writes when its check passes. */
export interface CheckAndSetSpec {
  /** The sort key whose value is checked. */
  checkSortKey: Bytes;
  /** How it is checked. */
  checkType: CheckType;
  /** The operand of the check (ignored by the existence checks). */
  checkOperand: Bytes;
  /** The sort key written when the check passes (may be the checked one). */
  setSortKey: Bytes;
  /** The value written. */
  setValue: Bytes;
  /** Seconds to live of the written value; 0 or undefined = forever. */
  ttl?: number;
  /** Return the checked value. */
  returnCheckValue?: boolean;
}

/**
 * A check_and_set on one hash key: atomic on the server, never resent after an unknown outcome.
 *
 * @example
 * ```ts
 * import { CheckType, checkAndSetOperation } from "@kvwire/kvwire/pegasus";
 * checkAndSetOperation("user:1", {
 *   checkSortKey: "v", checkType: CheckType.ValueNotExist, checkOperand: "",
 *   setSortKey: "v", setValue: "1",
 * }).idempotent; // false
 * ```
 */
export function checkAndSetOperation(hashKey: Bytes, spec: CheckAndSetSpec): RoutedOperation {
  const h = hashKeyBytes(hashKey, true);
  const checkSk = bytes(spec.checkSortKey, "Check sort key");
  const setSk = bytes(spec.setSortKey, "Set sort key");
  return {
    name: "checkAndSet",
    rpc: "RPC_RRDB_RRDB_CHECK_AND_SET",
    args: checkAndSetArgs({
      hashKey: h,
      checkSortKey: checkSk,
      checkType: spec.checkType,
      checkOperand: bytes(spec.checkOperand, "Check operand"),
      setDiffSortKey: compare(checkSk, setSk) !== 0,
      setSortKey: setSk,
      setValue: bytes(spec.setValue, "Value"),
      setExpireTs: expireTs(spec.ttl),
      returnCheckValue: spec.returnCheckValue ?? false,
    }),
    decode: decodeCheckResponse,
    hash: crc64(h),
    idempotent: false,
    accept: CHECK_FAILED,
  };
}

/**
 * A check_and_mutate on one hash key: atomic on the server, never resent after an unknown
 * outcome.
 *
 * @example
 * ```ts
 * import { CheckType, checkAndMutateOperation } from "@kvwire/kvwire/pegasus";
 * checkAndMutateOperation("user:1", "v", CheckType.NoCheck, "", [
 *   { op: "put", sortKey: "a", value: "1" },
 * ], false).rpc; // "RPC_RRDB_RRDB_CHECK_AND_MUTATE"
 * ```
 */
export function checkAndMutateOperation(
  hashKey: Bytes,
  checkSortKey: Bytes,
  checkType: CheckType,
  checkOperand: Bytes,
  mutations: readonly Mutation[],
  returnCheckValue: boolean,
): RoutedOperation {
  const h = hashKeyBytes(hashKey, true);
  if (mutations.length === 0) throw new RangeError("checkAndMutate needs at least one mutation");
  return {
    name: "checkAndMutate",
    rpc: "RPC_RRDB_RRDB_CHECK_AND_MUTATE",
    args: checkAndMutateArgs({
      hashKey: h,
      checkSortKey: bytes(checkSortKey, "Check sort key"),
      checkType,
      checkOperand: bytes(checkOperand, "Check operand"),
      mutations: mutations.map(mutateSpec),
      returnCheckValue,
    }),
    decode: decodeCheckResponse,
    hash: crc64(h),
    idempotent: false,
    accept: CHECK_FAILED,
  };
}

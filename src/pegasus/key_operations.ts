// The routed operations of the single-key RPCs (get, ttl, set, remove, incr): key encoding and
// partition hash, args, decoder; and, for every RPC, which RocksDB statuses are answers.

import { type Bytes, bytes, expireTs, hashKeyBytes } from "./client_options.ts";
import { RocksStatus } from "./errors.ts";
import { encodeKey, keyHash } from "./key_schema.ts";
import { blobArgs, incrArgs, updateArgs } from "./requests.ts";
import { decodeCountResponse, decodeReadResponse } from "./responses.ts";
import type { RoutedOperation } from "./router.ts";

/** `accept` of an operation whose only answer is status 0. */
export const OK_ONLY: readonly number[] = [];
/** `accept` of reads: a missing record is an answer. */
export const MISSING: readonly number[] = [RocksStatus.NotFound];
/** `accept` of multi_get: a read cut short by its limits is an answer. */
export const INCOMPLETE: readonly number[] = [RocksStatus.Incomplete];
/** `accept` of check_and_set / check_and_mutate: a failed check is an answer. */
export const CHECK_FAILED: readonly number[] = [RocksStatus.TryAgain];

/** The encoded key and partition hash of (hashKey, sortKey), validated. */
function keyOf(hashKey: Bytes, sortKey: Bytes): { key: Uint8Array; hash: bigint } {
  const h = hashKeyBytes(hashKey, false);
  const s = bytes(sortKey, "Sort key");
  return { key: encodeKey(h, s), hash: keyHash(h, s) };
}

/**
 * A get or ttl of (hashKey, sortKey); `operation` names it in instrumentation (`exist`).
 *
 * @example
 * ```ts
 * import { readOperation } from "@kvwire/kvwire/pegasus";
 * readOperation("get", "user:1", "name").rpc; // "RPC_RRDB_RRDB_GET"
 * ```
 */
export function readOperation(
  name: "get" | "ttl",
  hashKey: Bytes,
  sortKey: Bytes,
  operation: string = name,
): RoutedOperation {
  const { key, hash } = keyOf(hashKey, sortKey);
  const rpc = name === "get" ? "RPC_RRDB_RRDB_GET" : "RPC_RRDB_RRDB_TTL";
  const args = blobArgs(key);
  return {
    name,
    rpc,
    args,
    decode: decodeReadResponse,
    hash,
    idempotent: true,
    accept: MISSING,
    operation,
  };
}

/**
 * A set (put) of (hashKey, sortKey) with an optional TTL in seconds.
 *
 * @example
 * ```ts
 * import { setOperation } from "@kvwire/kvwire/pegasus";
 * setOperation("user:1", "name", "Ada", undefined).rpc; // "RPC_RRDB_RRDB_PUT"
 * ```
 */
export function setOperation(
  hashKey: Bytes,
  sortKey: Bytes,
  value: Bytes,
  ttl: number | undefined,
): RoutedOperation {
  const { key, hash } = keyOf(hashKey, sortKey);
  const args = updateArgs(key, bytes(value, "Value"), expireTs(ttl));
  return {
    name: "set",
    rpc: "RPC_RRDB_RRDB_PUT",
    args,
    decode: (rd) => decodeCountResponse("update", rd),
    hash,
    idempotent: true,
    accept: OK_ONLY,
  };
}

/**
 * A remove of (hashKey, sortKey).
 *
 * @example
 * ```ts
 * import { removeOperation } from "@kvwire/kvwire/pegasus";
 * removeOperation("user:1", "name").rpc; // "RPC_RRDB_RRDB_REMOVE"
 * ```
 */
export function removeOperation(hashKey: Bytes, sortKey: Bytes): RoutedOperation {
  const { key, hash } = keyOf(hashKey, sortKey);
  return {
    name: "remove",
    rpc: "RPC_RRDB_RRDB_REMOVE",
    args: blobArgs(key),
    decode: (rd) => decodeCountResponse("update", rd),
    hash,
    idempotent: true,
    accept: OK_ONLY,
  };
}

/**
 * An incr of (hashKey, sortKey); `ttl`: seconds, 0 none, -1 keep the record's, undefined none.
 *
 * @example
 * ```ts
 * import { incrOperation } from "@kvwire/kvwire/pegasus";
 * incrOperation("user:1", "visits", 1n, undefined).idempotent; // false
 * ```
 */
export function incrOperation(
  hashKey: Bytes,
  sortKey: Bytes,
  increment: bigint | number,
  ttl: number | undefined,
): RoutedOperation {
  const { key, hash } = keyOf(hashKey, sortKey);
  if (typeof increment === "number" && !Number.isSafeInteger(increment)) {
    throw new RangeError(`Increment must be a safe integer or a bigint, got ${increment}`);
  }
  if (ttl !== undefined && ttl < -1) throw new RangeError(`incr TTL must be ≥ -1, got ${ttl}`);
  return {
    name: "incr",
    rpc: "RPC_RRDB_RRDB_INCR",
    args: incrArgs(key, BigInt(increment), ttl === -1 ? -1 : expireTs(ttl)),
    decode: (rd) => decodeCountResponse("incr", rd),
    hash,
    idempotent: false,
    accept: OK_ONLY,
  };
}

// Encoders of the Pegasus request structs (pegasus.md §3, idl/rrdb.thrift, dsn.layer2.thrift).
// Each writes the "args" wrapper (field 1 + the value + STOP); blobs use the STRUCT placeholder.

import { type ThriftWriter, TType } from "./thrift.ts";

/** Writes one request's args wrapper. */
export type ArgsWriter = (w: ThriftWriter) => void;

/** `filter_type` values. */
export const FilterType = {
  NoFilter: 0,
  MatchAnywhere: 1,
  MatchPrefix: 2,
  MatchPostfix: 3,
} as const;

/** One of {@link FilterType}. */
export type FilterType = typeof FilterType[keyof typeof FilterType];

/** `cas_check_type` values (the `CT_VALUE_` prefix dropped). */
export const CheckType = {
  NoCheck: 0,
  ValueNotExist: 1,
  ValueNotExistOrEmpty: 2,
  ValueExist: 3,
  ValueNotEmpty: 4,
  MatchAnywhere: 5,
  MatchPrefix: 6,
  MatchPostfix: 7,
  BytesLess: 8,
  BytesLessOrEqual: 9,
  BytesEqual: 10,
  BytesGreaterOrEqual: 11,
  BytesGreater: 12,
  IntLess: 13,
  IntLessOrEqual: 14,
  IntEqual: 15,
  IntGreaterOrEqual: 16,
  IntGreater: 17,
} as const;

/** One of {@link CheckType}. */
export type CheckType = typeof CheckType[keyof typeof CheckType];

/** `mutate_operation` values. */
export const MutateOperation = { Put: 0, Delete: 1 } as const;

/** One of {@link MutateOperation}. */
export type MutateOperation = typeof MutateOperation[keyof typeof MutateOperation];

/** A `multi_get_request`. */
export interface MultiGetRequest {
  /** The hash key. */
  hashKey: Uint8Array;
  /** The sort keys to read; empty reads the sort-key range instead. */
  sortKeys: Uint8Array[];
  /** Most pairs to return; ≤ 0 = no limit. */
  maxKvCount: number;
  /** Most bytes to return; ≤ 0 = no limit. */
  maxKvSize: number;
  /** Return empty values (keys only). */
  noValue: boolean;
  /** Start of the sort-key range (empty = from the first). */
  startSortKey: Uint8Array;
  /** End of the sort-key range (empty = to the last). */
  stopSortKey: Uint8Array;
  /** Include the start sort key. */
  startInclusive: boolean;
  /** Include the stop sort key. */
  stopInclusive: boolean;
  /** How sort keys are matched against `filterPattern`. */
  filterType: FilterType;
  /** The pattern sort keys must match. */
  filterPattern: Uint8Array;
  /** Return the pairs in descending sort-key order. */
  reverse: boolean;
}

/** A `check_and_set_request`. */
export interface CheckAndSetRequest {
  /** The hash key of both the checked and the set record. */
  hashKey: Uint8Array;
  /** The sort key of the record checked. */
  checkSortKey: Uint8Array;
  /** The check applied to that record's value. */
  checkType: CheckType;
  /** The operand of the check (unused by the existence checks). */
  checkOperand: Uint8Array;
  /** True when `setSortKey` differs from `checkSortKey`. */
  setDiffSortKey: boolean;
  /** The sort key of the record set. */
  setSortKey: Uint8Array;
  /** The value set. */
  setValue: Uint8Array;
  /** Absolute expiry of the value set (seconds since 2016-01-01), 0 = never. */
  setExpireTs: number;
  /** Return the value that was checked. */
  returnCheckValue: boolean;
}

/** One `mutate` of a check_and_mutate. */
export interface MutateSpec {
  /** Put or delete. */
  operation: MutateOperation;
  /** The sort key of the record written. */
  sortKey: Uint8Array;
  /** The value put (ignored for a delete). */
  value: Uint8Array;
  /** Absolute expiry of the value put (seconds since 2016-01-01), 0 = never. */
  expireTs: number;
}

/** A `check_and_mutate_request`. */
export interface CheckAndMutateRequest {
  /** The hash key of the checked and the mutated records. */
  hashKey: Uint8Array;
  /** The sort key of the record checked. */
  checkSortKey: Uint8Array;
  /** The check applied to that record's value. */
  checkType: CheckType;
  /** The operand of the check (unused by the existence checks). */
  checkOperand: Uint8Array;
  /** The writes made when the check passes, in order. */
  mutations: MutateSpec[];
  /** Return the value that was checked. */
  returnCheckValue: boolean;
}

/** A `get_scanner_request`. */
export interface GetScannerRequest {
  /** Start of the range as an encoded key (hash key and sort key). */
  startKey: Uint8Array;
  /** End of the range as an encoded key (hash key and sort key). */
  stopKey: Uint8Array;
  /** Include the start key. */
  startInclusive: boolean;
  /** Include the stop key. */
  stopInclusive: boolean;
  /** Records per round trip. */
  batchSize: number;
  /** Return empty values (keys only). */
  noValue: boolean;
  /** How hash keys are matched against `hashKeyFilterPattern`. */
  hashKeyFilterType: FilterType;
  /** The pattern hash keys must match. */
  hashKeyFilterPattern: Uint8Array;
  /** How sort keys are matched against `sortKeyFilterPattern`. */
  sortKeyFilterType: FilterType;
  /** The pattern sort keys must match. */
  sortKeyFilterPattern: Uint8Array;
  /** Have the server skip records of other partitions (full scans). */
  validatePartitionHash: boolean;
  /** Mark the scan as a full-table scan. */
  fullScan: boolean;
  /** Count the records instead of returning them (`only_return_count`). Default false. */
  onlyReturnCount?: boolean;
}

function wrap(body: (w: ThriftWriter) => void): ArgsWriter {
  return (w) => {
    w.field(TType.STRUCT, 1);
    body(w);
    w.stop(); // args wrapper
  };
}

/**
 * The args of get, remove, ttl (a composite key) and sortkey_count (a raw hash key): one
 * blob.
 *
 * @example
 * ```ts
 * import { blobArgs, ThriftWriter } from "@kvwire/kvwire/pegasus";
 * const w = new ThriftWriter();
 * blobArgs(new Uint8Array([0, 1, 104, 115]))(w);
 * w.finish(); // 0c 00 01 00 00 00 04 00 01 68 73 00
 * ```
 */
export function blobArgs(blob: Uint8Array): ArgsWriter {
  return (w) => w.blobField(1, blob).stop();
}

/**
 * The args of put: an `update_request`.
 *
 * @example
 * ```ts
 * import { updateArgs } from "@kvwire/kvwire/pegasus";
 * const args = updateArgs(new Uint8Array([0, 1, 104, 115]), new TextEncoder().encode("v"), 0);
 * ```
 */
export function updateArgs(key: Uint8Array, value: Uint8Array, expireTs: number): ArgsWriter {
  return wrap((w) => {
    w.blobField(1, key).blobField(2, value).field(TType.I32, 3).i32(expireTs).stop();
  });
}

/**
 * The args of multi_put: a `multi_put_request` (keys of `kvs` are sort keys).
 *
 * @example
 * ```ts
 * import { multiPutArgs } from "@kvwire/kvwire/pegasus";
 * const te = new TextEncoder();
 * multiPutArgs(te.encode("h"), [{ key: te.encode("s"), value: te.encode("v") }], 0);
 * ```
 */
export function multiPutArgs(
  hashKey: Uint8Array,
  kvs: readonly { key: Uint8Array; value: Uint8Array }[],
  expireTs: number,
): ArgsWriter {
  return wrap((w) => {
    w.blobField(1, hashKey).field(TType.LIST, 2).listBegin(TType.STRUCT, kvs.length);
    for (const kv of kvs) w.blobField(1, kv.key).blobField(2, kv.value).stop();
    w.field(TType.I32, 3).i32(expireTs).stop();
  });
}

/**
 * The args of multi_remove: a `multi_remove_request` (max_count 0).
 *
 * @example
 * ```ts
 * import { multiRemoveArgs } from "@kvwire/kvwire/pegasus";
 * const te = new TextEncoder();
 * multiRemoveArgs(te.encode("h"), [te.encode("s")]);
 * ```
 */
export function multiRemoveArgs(hashKey: Uint8Array, sortKeys: readonly Uint8Array[]): ArgsWriter {
  return wrap((w) => {
    w.blobField(1, hashKey).field(TType.LIST, 2).listBegin(TType.STRUCT, sortKeys.length);
    for (const key of sortKeys) w.binary(key);
    w.field(TType.I64, 3).i64(0n).stop();
  });
}

/**
 * The args of multi_get: a `multi_get_request`.
 *
 * @example
 * ```ts
 * import { FilterType, multiGetArgs } from "@kvwire/kvwire/pegasus";
 * const none = new Uint8Array(0);
 * multiGetArgs({
 *   hashKey: new TextEncoder().encode("h"), sortKeys: [], maxKvCount: 100, maxKvSize: 1000000,
 *   noValue: false, startSortKey: none, stopSortKey: none, startInclusive: true,
 *   stopInclusive: false, filterType: FilterType.NoFilter, filterPattern: none, reverse: false,
 * });
 * ```
 */
export function multiGetArgs(req: MultiGetRequest): ArgsWriter {
  return wrap((w) => {
    w.blobField(1, req.hashKey).field(TType.LIST, 2).listBegin(TType.STRUCT, req.sortKeys.length);
    for (const key of req.sortKeys) w.binary(key);
    w.field(TType.I32, 3).i32(req.maxKvCount).field(TType.I32, 4).i32(req.maxKvSize);
    w.field(TType.BOOL, 5).bool(req.noValue);
    w.blobField(6, req.startSortKey).blobField(7, req.stopSortKey);
    w.field(TType.BOOL, 8).bool(req.startInclusive).field(TType.BOOL, 9).bool(req.stopInclusive);
    w.field(TType.I32, 10).i32(req.filterType).blobField(11, req.filterPattern);
    w.field(TType.BOOL, 12).bool(req.reverse).stop();
  });
}

/**
 * The args of incr: an `incr_request`.
 *
 * @example
 * ```ts
 * import { incrArgs } from "@kvwire/kvwire/pegasus";
 * incrArgs(new Uint8Array([0, 1, 104, 115]), 1n, 0);
 * ```
 */
export function incrArgs(key: Uint8Array, increment: bigint, expireTs: number): ArgsWriter {
  return wrap((w) => {
    w.blobField(1, key).field(TType.I64, 2).i64(increment).field(TType.I32, 3).i32(expireTs);
    w.stop();
  });
}

/**
 * The args of check_and_set: a `check_and_set_request`.
 *
 * @example
 * ```ts
 * import { CheckType, checkAndSetArgs } from "@kvwire/kvwire/pegasus";
 * const te = new TextEncoder();
 * checkAndSetArgs({
 *   hashKey: te.encode("h"), checkSortKey: te.encode("s"), checkType: CheckType.ValueNotExist,
 *   checkOperand: new Uint8Array(0), setDiffSortKey: false, setSortKey: te.encode("s"),
 *   setValue: te.encode("v"), setExpireTs: 0, returnCheckValue: false,
 * });
 * ```
 */
export function checkAndSetArgs(req: CheckAndSetRequest): ArgsWriter {
  return wrap((w) => {
    w.blobField(1, req.hashKey).blobField(2, req.checkSortKey);
    w.field(TType.I32, 3).i32(req.checkType).blobField(4, req.checkOperand);
    w.field(TType.BOOL, 5).bool(req.setDiffSortKey).blobField(6, req.setSortKey);
    w.blobField(7, req.setValue).field(TType.I32, 8).i32(req.setExpireTs);
    w.field(TType.BOOL, 9).bool(req.returnCheckValue).stop();
  });
}

/**
 * The args of check_and_mutate: a `check_and_mutate_request`.
 *
 * @example
 * ```ts
 * import { CheckType, checkAndMutateArgs, MutateOperation } from "@kvwire/kvwire/pegasus";
 * const te = new TextEncoder();
 * checkAndMutateArgs({
 *   hashKey: te.encode("h"), checkSortKey: te.encode("s"), checkType: CheckType.ValueExist,
 *   checkOperand: new Uint8Array(0), returnCheckValue: false,
 *   mutations: [{ operation: MutateOperation.Delete, sortKey: te.encode("s"),
 *     value: new Uint8Array(0), expireTs: 0 }],
 * });
 * ```
 */
export function checkAndMutateArgs(req: CheckAndMutateRequest): ArgsWriter {
  return wrap((w) => {
    w.blobField(1, req.hashKey).blobField(2, req.checkSortKey);
    w.field(TType.I32, 3).i32(req.checkType).blobField(4, req.checkOperand);
    w.field(TType.LIST, 5).listBegin(TType.STRUCT, req.mutations.length);
    for (const m of req.mutations) {
      w.field(TType.I32, 1).i32(m.operation).blobField(2, m.sortKey).blobField(3, m.value);
      w.field(TType.I32, 4).i32(m.expireTs).stop();
    }
    w.field(TType.BOOL, 6).bool(req.returnCheckValue).stop();
  });
}

/**
 * The args of get_scanner: a `get_scanner_request` (fields 1-11 and 13).
 *
 * @example
 * ```ts
 * import { FilterType, getScannerArgs } from "@kvwire/kvwire/pegasus";
 * const none = new Uint8Array(0);
 * getScannerArgs({
 *   startKey: new Uint8Array([0, 0]), stopKey: new Uint8Array([0xff, 0xff]),
 *   startInclusive: true, stopInclusive: false, batchSize: 100, noValue: false,
 *   hashKeyFilterType: FilterType.NoFilter, hashKeyFilterPattern: none,
 *   sortKeyFilterType: FilterType.NoFilter, sortKeyFilterPattern: none,
 *   validatePartitionHash: true, fullScan: true,
 * });
 * ```
 */
export function getScannerArgs(req: GetScannerRequest): ArgsWriter {
  return wrap((w) => {
    w.blobField(1, req.startKey).blobField(2, req.stopKey);
    w.field(TType.BOOL, 3).bool(req.startInclusive).field(TType.BOOL, 4).bool(req.stopInclusive);
    w.field(TType.I32, 5).i32(req.batchSize).field(TType.BOOL, 6).bool(req.noValue);
    w.field(TType.I32, 7).i32(req.hashKeyFilterType).blobField(8, req.hashKeyFilterPattern);
    w.field(TType.I32, 9).i32(req.sortKeyFilterType).blobField(10, req.sortKeyFilterPattern);
    w.field(TType.BOOL, 11).bool(req.validatePartitionHash);
    w.field(TType.BOOL, 13).bool(req.fullScan);
    if (req.onlyReturnCount) w.field(TType.BOOL, 14).bool(true);
    w.stop();
  });
}

/**
 * The args of scan: a `scan_request`.
 *
 * @example
 * ```ts
 * import { scanArgs } from "@kvwire/kvwire/pegasus";
 * scanArgs(7n);
 * ```
 */
export function scanArgs(contextId: bigint): ArgsWriter {
  return wrap((w) => w.field(TType.I64, 1).i64(contextId).stop());
}

/**
 * The args of the one-way clear_scanner: a bare i64 as field 1 (type I64).
 *
 * @example
 * ```ts
 * import { clearScannerArgs } from "@kvwire/kvwire/pegasus";
 * clearScannerArgs(7n);
 * ```
 */
export function clearScannerArgs(contextId: bigint): ArgsWriter {
  return (w) => w.field(TType.I64, 1).i64(contextId).stop();
}

/**
 * The args of the meta query: a `query_cfg_request` (an empty index list = all partitions).
 *
 * @example
 * ```ts
 * import { queryConfigArgs } from "@kvwire/kvwire/pegasus";
 * queryConfigArgs("temp");
 * ```
 */
export function queryConfigArgs(appName: string, partitionIndices: number[] = []): ArgsWriter {
  return wrap((w) => {
    w.field(TType.STRING, 1).binary(new TextEncoder().encode(appName));
    w.field(TType.LIST, 2).listBegin(TType.I32, partitionIndices.length);
    for (const i of partitionIndices) w.i32(i);
    w.stop();
  });
}

// Options, result types and argument helpers of PegasusClient (client.ts): validation of
// keys, values and TTLs happens here, before anything is sent (pegasus.md §5.5, §5.7).

import { utf8Encode } from "../core/bytes.ts";
import type { ObservabilityOptions } from "../core/observability.ts";
import type { ClusterOptions } from "./cluster.ts";
import type { CallOptions } from "./router.ts";
import { PegasusError } from "./errors.ts";
import { crc64 } from "./crc64.ts";
import { encodeKey, MAX_HASH_KEY_LENGTH, nextKeyAfterPrefix } from "./key_schema.ts";
import {
  FilterType,
  type GetScannerRequest,
  type MultiGetRequest,
  MutateOperation,
  type MutateSpec,
} from "./requests.ts";
import type { ScanTarget } from "./scanner.ts";

/** A key or value: bytes, or a string sent as UTF-8. */
export type Bytes = string | Uint8Array;

/** Options of {@link PegasusClient.connect}. */
export interface PegasusClientOptions
  extends Omit<ClusterOptions, "metaServers">, ObservabilityOptions {
  /** Meta servers as `"host:port"`, e.g. `["127.0.0.1:34601", "127.0.0.1:34602"]`. */
  metaServers: readonly string[];
  /** The table (app) name. */
  table: string;
  /** Default timeout of each operation in ms, retries included. Default 1000. */
  timeout?: number;
  /** Return keys and values as UTF-8 strings instead of `Uint8Array`. */
  decode?: boolean;
}

/** Options of writes that can carry a TTL. */
export interface WriteOptions extends CallOptions {
  /** Seconds to live; 0 (default) = forever. */
  ttl?: number;
}

/** Limits of multiGet / getSortKeys (pypegasus defaults: 100 pairs, 1,000,000 bytes). */
export interface MultiGetLimits extends CallOptions {
  /** Most pairs to return; ≤ 0 = no limit. */
  maxKvCount?: number;
  /** Most bytes to return; ≤ 0 = no limit. */
  maxKvSize?: number;
  /** Return empty values (keys only). */
  noValue?: boolean;
}

/** Range options of multiGetOpt (pypegasus's `MultiGetOptions`). */
export interface MultiGetOptions extends MultiGetLimits {
  /** Include the start sort key. Default true. */
  startInclusive?: boolean;
  /** Include the stop sort key. Default false. */
  stopInclusive?: boolean;
  /** How sort keys are matched against `sortKeyFilterPattern`. Default no filter. */
  sortKeyFilterType?: FilterType;
  /** The pattern sort keys must match. */
  sortKeyFilterPattern?: Bytes;
  /**
   * Walk the range from its stop key down, so that the limits keep the last pairs; the pairs
   * still come back in ascending sort-key order (as the server returns them). Default false.
   */
  reverse?: boolean;
}

/** The answer of multiGet: pairs in sort-key order and whether everything was fetched. */
export interface MultiGetResult<V> {
  /** The sort keys and values found. */
  entries: [sortKey: V, value: V][];
  /** False when a limit cut the answer short (more data exists). */
  complete: boolean;
}

/** Scanner options (pypegasus's `ScanOptions`). */
export interface ScanOptions {
  /** Records per round trip. Default 1000. */
  batchSize?: number;
  /** Include the start key. Default true. */
  startInclusive?: boolean;
  /** Include the stop key. Default false. */
  stopInclusive?: boolean;
  /** Per round trip, ms. Default 5000. */
  timeout?: number;
  /** How hash keys are matched against `hashKeyFilterPattern`. Default no filter. */
  hashKeyFilterType?: FilterType;
  /** The pattern hash keys must match. */
  hashKeyFilterPattern?: Bytes;
  /** How sort keys are matched against `sortKeyFilterPattern`. Default no filter. */
  sortKeyFilterType?: FilterType;
  /** The pattern sort keys must match. */
  sortKeyFilterPattern?: Bytes;
  /** Return empty values (keys only). */
  noValue?: boolean;
  /** Aborts the scan. */
  signal?: AbortSignal;
  /**
   * Called when the server dropped the scan's context and the scanner starts again after the
   * last record it delivered (nothing is repeated or skipped, but the scan is no longer one
   * server-side snapshot). An exception thrown here ends the scan with it.
   */
  onRestart?: (restart: ScanRestart) => void;
}

/** What {@link ScanOptions.onRestart} is told. */
export interface ScanRestart {
  /** The encoded key of the last record delivered before the restart. */
  afterKey: Uint8Array;
  /** Restarts of this scanner so far, this one included. */
  attempt: number;
}

/** One mutation of checkAndMutate. */
export type Mutation =
  | { op: "put"; sortKey: Bytes; value: Bytes; ttl?: number }
  | { op: "delete"; sortKey: Bytes };

/** Options of checkAndSet / checkAndMutate. */
export interface CheckOptions extends CallOptions {
  /** Return the value that was checked. */
  returnCheckValue?: boolean;
  /** TTL of the value set by checkAndSet, seconds. */
  ttl?: number;
}

/** The outcome of checkAndSet / checkAndMutate. */
export interface CheckResult<V> {
  /** True when the check passed and the write happened. */
  succeeded: boolean;
  /** With `returnCheckValue`: whether the checked record existed, and its value. */
  checkValueExist?: boolean;
  /** With `returnCheckValue`: the checked record's value, when it existed. */
  checkValue?: V;
}

const NONE = new Uint8Array(0);
const EPOCH_2016 = 1451606400;

/** Bytes of a key or value; `TypeError` for anything else. */
export function bytes(value: Bytes, what: string): Uint8Array {
  if (typeof value === "string") return utf8Encode(value);
  if (value instanceof Uint8Array) return value;
  throw new TypeError(`${what} must be a string or a Uint8Array, got ${typeof value}`);
}

/** Bytes of a hash key, checked against the length limit (and emptiness when asked). */
export function hashKeyBytes(value: Bytes, nonEmpty: boolean): Uint8Array {
  const b = bytes(value, "Hash key");
  if (b.length >= MAX_HASH_KEY_LENGTH) {
    throw new RangeError(`Hash key is ${b.length} bytes; Pegasus allows at most 65534`);
  }
  if (nonEmpty && b.length === 0) throw new TypeError("Hash key must not be empty here");
  return b;
}

/** Absolute expiry (seconds since 2016-01-01) of a TTL in seconds; 0 = none. */
export function expireTs(ttl: number | undefined): number {
  if (ttl === undefined || ttl === 0) return 0;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 0x7fffffff) {
    throw new RangeError(`TTL must be a whole number of seconds ≥ 0, got ${ttl}`);
  }
  return ttl + Math.floor(Date.now() / 1000) - EPOCH_2016;
}

/** Throws a {@link PegasusError} for a non-zero RocksDB status. */
export function check(status: number, what: string): void {
  if (status !== 0) throw new PegasusError("ERR_OK", `Pegasus ${what} failed`, status);
}

/** Byte-wise lexicographic comparison (shorter first on a common prefix). */
export function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** The pairs of an iterable or a record. */
export function pairs(
  entries: Iterable<readonly [Bytes, Bytes]> | Record<string, Bytes>,
): (readonly [Bytes, Bytes])[] {
  if (Symbol.iterator in Object(entries)) {
    return [...(entries as Iterable<readonly [Bytes, Bytes]>)];
  }
  return Object.entries(entries as Record<string, Bytes>);
}

/** The get_scanner request of a scan (validates `batchSize`). */
export function scanRequest(
  o: ScanOptions,
  startKey: Uint8Array,
  stopKey: Uint8Array,
  startInclusive: boolean,
  stopInclusive: boolean,
  full: boolean,
): GetScannerRequest {
  const batchSize = o.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a whole number ≥ 1, got ${batchSize}`);
  }
  return {
    startKey,
    stopKey,
    startInclusive,
    stopInclusive,
    batchSize,
    noValue: o.noValue ?? false,
    hashKeyFilterType: o.hashKeyFilterType ?? FilterType.NoFilter,
    hashKeyFilterPattern: o.hashKeyFilterPattern === undefined
      ? NONE
      : bytes(o.hashKeyFilterPattern, "Filter pattern"),
    sortKeyFilterType: o.sortKeyFilterType ?? FilterType.NoFilter,
    sortKeyFilterPattern: o.sortKeyFilterPattern === undefined
      ? NONE
      : bytes(o.sortKeyFilterPattern, "Filter pattern"),
    validatePartitionHash: full,
    fullScan: full,
  };
}

/** What a scan of a sort-key range of one hash key reads: one target, or none when empty. */
export function hashKeyScanTargets(
  hashKey: Bytes,
  startSortKey: Bytes,
  stopSortKey: Bytes,
  options: ScanOptions,
): ScanTarget[] {
  const h = hashKeyBytes(hashKey, true);
  const startSk = bytes(startSortKey, "Start sort key");
  const stopSk = bytes(stopSortKey, "Stop sort key");
  let start = encodeKey(h, startSk);
  let stop = stopSk.length > 0 ? encodeKey(h, stopSk) : nextKeyAfterPrefix(encodeKey(h, NONE))!;
  let stopInclusive = stopSk.length > 0 && (options.stopInclusive ?? false);
  let startInclusive = options.startInclusive ?? true;
  if (options.sortKeyFilterType === FilterType.MatchPrefix && options.sortKeyFilterPattern) {
    // Narrow the range to the prefix (pegasus.md §5.6).
    const prefixKey = encodeKey(h, bytes(options.sortKeyFilterPattern, "Filter pattern"));
    const prefixStop = nextKeyAfterPrefix(prefixKey) ?? stop;
    if (compare(prefixKey, start) > 0) [start, startInclusive] = [prefixKey, true];
    if (compare(prefixStop, stop) < 0) [stop, stopInclusive] = [prefixStop, false];
  }
  const c = compare(start, stop);
  if (c > 0 || (c === 0 && !(startInclusive && stopInclusive))) return [];
  const request = scanRequest(options, start, stop, startInclusive, stopInclusive, false);
  return [{ hash: crc64(h), request }];
}

/** The targets of at most `maxSplitCount` full-table scanners over disjoint partitions. */
export function unorderedScanTargets(
  partitionCount: number,
  maxSplitCount: number,
  options: ScanOptions,
): ScanTarget[][] {
  const n = Math.min(partitionCount, maxSplitCount);
  const scanners: ScanTarget[][] = [];
  let next = 0;
  for (let i = 0; i < n; i++) {
    const size = Math.floor(partitionCount / n) + (i < partitionCount % n ? 1 : 0);
    const targets: ScanTarget[] = [];
    for (let j = 0; j < size; j++) {
      const all = [new Uint8Array([0, 0]), new Uint8Array([0xff, 0xff])] as const;
      targets.push({ partition: next++, request: scanRequest(options, ...all, true, false, true) });
    }
    scanners.push(targets);
  }
  return scanners;
}

/** The multi_get request of a hash key's sort keys or range, with pypegasus's defaults. */
export function multiGetRequest(
  hashKey: Uint8Array,
  sortKeys: Uint8Array[],
  start: Uint8Array,
  stop: Uint8Array,
  o: MultiGetOptions,
): MultiGetRequest {
  return {
    hashKey,
    sortKeys,
    maxKvCount: o.maxKvCount ?? 100,
    maxKvSize: o.maxKvSize ?? 1_000_000,
    noValue: o.noValue ?? false,
    startSortKey: start,
    stopSortKey: stop,
    startInclusive: o.startInclusive ?? true,
    stopInclusive: o.stopInclusive ?? false,
    filterType: o.sortKeyFilterType ?? FilterType.NoFilter,
    filterPattern: o.sortKeyFilterPattern === undefined
      ? NONE
      : bytes(o.sortKeyFilterPattern, "Filter pattern"),
    reverse: o.reverse ?? false,
  };
}

/** One mutation of checkAndMutate as the request carries it. */
export function mutateSpec(m: Mutation): MutateSpec {
  return {
    operation: m.op === "put" ? MutateOperation.Put : MutateOperation.Delete,
    sortKey: bytes(m.sortKey, "Sort key"),
    value: m.op === "put" ? bytes(m.value, "Value") : NONE,
    expireTs: m.op === "put" ? expireTs(m.ttl) : 0,
  };
}

// PegasusClient: the user-facing Apache Pegasus client: pypegasus's whole API in TypeScript
// idiom plus incr, check-and-set, check-and-mutate and batches (pegasus.md §2-§6). Just over
// 500 lines: one short method per RPC, kept together so the API reads in one place.

import { utf8Decode } from "../core/bytes.ts";
import { type CallOptions, Cluster, TableRouter } from "./cluster.ts";
import {
  type Bytes,
  bytes,
  check,
  type CheckOptions,
  type CheckResult,
  compare,
  expireTs,
  hashKeyBytes,
  type MultiGetLimits,
  type MultiGetOptions,
  type MultiGetResult,
  type Mutation,
  pairs,
  type PegasusClientOptions,
  type ScanOptions,
  scanRequest,
  type WriteOptions,
} from "./client_options.ts";
import { crc64 } from "./crc64.ts";
import { encodeKey, keyHash, nextKeyAfterPrefix } from "./key_schema.ts";
import {
  blobArgs,
  checkAndMutateArgs,
  checkAndSetArgs,
  type CheckType,
  FilterType,
  incrArgs,
  multiGetArgs,
  multiPutArgs,
  multiRemoveArgs,
  MutateOperation,
  updateArgs,
} from "./requests.ts";
import {
  type CheckResponse,
  type CountResponse,
  decodeCheckResponse,
  decodeCountResponse,
  decodeKvsResponse,
  decodeReadResponse,
  type KvsResponse,
  type ReadResponse,
} from "./responses.ts";
import { PegasusScanner, type ScanTarget } from "./scanner.ts";

const NONE = new Uint8Array(0);

/**
 * An Apache Pegasus client bound to one table. Operations are routed to the primary replica
 * of the key's partition, pipelined per replica, retried after routing changes within their
 * timeout. Values are `Uint8Array` unless `decode: true`.
 *
 * @example
 * ```ts
 * import { PegasusClient } from "@kvwire/kvwire/pegasus";
 * await using client = await PegasusClient.connect({
 *   metaServers: ["127.0.0.1:34601", "127.0.0.1:34602"], table: "temp", decode: true,
 * });
 * await client.set("hkey1", "skey1", "value");
 * console.log(await client.get("hkey1", "skey1")); // "value"
 * ```
 */
export class PegasusClient<V = Uint8Array> {
  readonly #router: TableRouter;
  readonly #convert: (b: Uint8Array) => V;

  /** Connects: queries the meta servers for the table's partitions. */
  static connect(options: PegasusClientOptions & { decode: true }): Promise<PegasusClient<string>>;
  /** Connects: queries the meta servers for the table's partitions. */
  static connect(options: PegasusClientOptions): Promise<PegasusClient<Uint8Array>>;
  static async connect(
    options: PegasusClientOptions,
  ): Promise<PegasusClient<string> | PegasusClient<Uint8Array>> {
    const client = new PegasusClient<Uint8Array>(options);
    try {
      await client.#router.refresh(performance.now() + (options.metaTimeout ?? 5000));
    } catch (error) {
      client.destroy();
      throw error;
    }
    return client;
  }

  /** Creates a client that queries meta on its first operation. Prefer `connect`. */
  constructor(options: PegasusClientOptions) {
    if (typeof options?.table !== "string" || options.table === "") {
      throw new TypeError("Pegasus needs a table name");
    }
    if ("tls" in options) {
      throw new TypeError("Pegasus has no TLS: its rDSN sessions are plaintext (no `tls` option)");
    }
    const timeout = options.timeout ?? 1000;
    const cluster = new Cluster({
      ...options,
      silenceTimeout: options.silenceTimeout ?? Math.max(timeout, 5000),
    });
    this.#router = new TableRouter(cluster, options.table, timeout);
    this.#convert = (options.decode ? utf8Decode : (b: Uint8Array) => b) as (b: Uint8Array) => V;
  }

  /** The table's cached partition count, once known. */
  get partitionCount(): number | undefined {
    return this.#router.config?.partitionCount;
  }

  #single(name: string, rpc: string, hk: Bytes, sk: Bytes) {
    const h = hashKeyBytes(hk, false);
    const s = bytes(sk, "Sort key");
    return { name, rpc, key: encodeKey(h, s), hash: keyHash(h, s) };
  }

  /** The value of (hashKey, sortKey), or `undefined` when missing or expired. */
  async get(hashKey: Bytes, sortKey: Bytes, options?: CallOptions): Promise<V | undefined> {
    const op = this.#single("get", "RPC_RRDB_RRDB_GET", hashKey, sortKey);
    const r = await this.#router.call({
      ...op,
      args: blobArgs(op.key),
      decode: decodeReadResponse,
      idempotent: true,
    }, options) as ReadResponse;
    if (r.error === 1) return undefined;
    check(r.error, "get");
    return this.#convert(r.value);
  }

  /** Stores a value, optionally with a TTL in seconds. */
  async set(
    hashKey: Bytes,
    sortKey: Bytes,
    value: Bytes,
    options: WriteOptions = {},
  ): Promise<void> {
    const op = this.#single("set", "RPC_RRDB_RRDB_PUT", hashKey, sortKey);
    const args = updateArgs(op.key, bytes(value, "Value"), expireTs(options.ttl));
    const r = await this.#router.call({
      ...op,
      args,
      decode: (rd) => decodeCountResponse("update", rd),
      idempotent: true,
    }, options) as CountResponse;
    check(r.error, "set");
  }

  /** Whether (hashKey, sortKey) exists. */
  async exist(hashKey: Bytes, sortKey: Bytes, options?: CallOptions): Promise<boolean> {
    return (await this.ttl(hashKey, sortKey, options)) !== undefined;
  }

  /** Remaining seconds to live: -1 = no TTL, `undefined` = missing. */
  async ttl(hashKey: Bytes, sortKey: Bytes, options?: CallOptions): Promise<number | undefined> {
    const op = this.#single("ttl", "RPC_RRDB_RRDB_TTL", hashKey, sortKey);
    const r = await this.#router.call({
      ...op,
      args: blobArgs(op.key),
      decode: decodeReadResponse,
      idempotent: true,
    }, options) as ReadResponse;
    if (r.error === 1) return undefined;
    check(r.error, "ttl");
    return r.ttlSeconds;
  }

  /** Removes (hashKey, sortKey); removing a missing record is not an error. */
  async remove(hashKey: Bytes, sortKey: Bytes, options?: CallOptions): Promise<void> {
    const op = this.#single("remove", "RPC_RRDB_RRDB_REMOVE", hashKey, sortKey);
    const r = await this.#router.call({
      ...op,
      args: blobArgs(op.key),
      decode: (rd) => decodeCountResponse("update", rd),
      idempotent: true,
    }, options) as CountResponse;
    check(r.error, "remove");
  }

  /** Stores several sort keys of one hash key at once (one TTL for all). */
  async multiSet(
    hashKey: Bytes,
    entries: Iterable<readonly [Bytes, Bytes]> | Record<string, Bytes>,
    options: WriteOptions = {},
  ): Promise<void> {
    const h = hashKeyBytes(hashKey, true);
    const kvs = pairs(entries).map(([k, v]) => ({
      key: bytes(k, "Sort key"),
      value: bytes(v, "Value"),
    }));
    if (kvs.length === 0) throw new RangeError("multiSet needs at least one sort key");
    const r = await this.#router.call({
      name: "multiSet",
      rpc: "RPC_RRDB_RRDB_MULTI_PUT",
      args: multiPutArgs(h, kvs, expireTs(options.ttl)),
      decode: (rd) => decodeCountResponse("update", rd),
      hash: crc64(h),
      idempotent: true,
    }, options) as CountResponse;
    check(r.error, "multiSet");
  }

  /**
   * Reads the given sort keys of a hash key (all of them when `sortKeys` is empty or
   * omitted, up to the limits).
   */
  multiGet(
    hashKey: Bytes,
    sortKeys: readonly Bytes[] = [],
    options: MultiGetLimits = {},
  ): Promise<MultiGetResult<V>> {
    return this.#multiGet(hashKey, sortKeys.map((k) => bytes(k, "Sort key")), NONE, NONE, options);
  }

  /** Reads a sort-key range of a hash key: [start, stop) by default; empty stop = to the end. */
  multiGetOpt(
    hashKey: Bytes,
    startSortKey: Bytes,
    stopSortKey: Bytes,
    options: MultiGetOptions = {},
  ): Promise<MultiGetResult<V>> {
    return this.#multiGet(
      hashKey,
      [],
      bytes(startSortKey, "Start sort key"),
      bytes(stopSortKey, "Stop sort key"),
      options,
    );
  }

  async #multiGet(
    hashKey: Bytes,
    sortKeys: Uint8Array[],
    start: Uint8Array,
    stop: Uint8Array,
    o: MultiGetOptions,
  ): Promise<MultiGetResult<V>> {
    const h = hashKeyBytes(hashKey, true);
    const r = await this.#router.call({
      name: "multiGet",
      rpc: "RPC_RRDB_RRDB_MULTI_GET",
      args: multiGetArgs({
        hashKey: h,
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
      }),
      decode: (rd) => decodeKvsResponse(false, rd),
      hash: crc64(h),
      idempotent: true,
    }, o) as KvsResponse;
    if (r.error !== 0 && r.error !== 7) check(r.error, "multiGet");
    return {
      entries: r.kvs.map((kv) => [this.#convert(kv.key), this.#convert(kv.value)]),
      complete: r.error === 0,
    };
  }

  /**
   * Removes several sort keys of one hash key; resolves with how many sort keys were named (the
   * server's count: it does not tell which of them existed).
   */
  async multiDel(
    hashKey: Bytes,
    sortKeys: readonly Bytes[],
    options?: CallOptions,
  ): Promise<bigint> {
    const h = hashKeyBytes(hashKey, true);
    if (sortKeys.length === 0) throw new RangeError("multiDel needs at least one sort key");
    const r = await this.#router.call({
      name: "multiDel",
      rpc: "RPC_RRDB_RRDB_MULTI_REMOVE",
      args: multiRemoveArgs(h, sortKeys.map((k) => bytes(k, "Sort key"))),
      decode: (rd) => decodeCountResponse("multiRemove", rd),
      hash: crc64(h),
      idempotent: true,
    }, options) as CountResponse;
    check(r.error, "multiDel");
    return r.count;
  }

  /** How many sort keys a hash key has. */
  async sortKeyCount(hashKey: Bytes, options?: CallOptions): Promise<bigint> {
    const h = hashKeyBytes(hashKey, true);
    const r = await this.#router.call({
      name: "sortKeyCount",
      rpc: "RPC_RRDB_RRDB_SORTKEY_COUNT",
      args: blobArgs(h),
      decode: (rd) => decodeCountResponse("count", rd),
      hash: crc64(h),
      idempotent: true,
    }, options) as CountResponse;
    check(r.error, "sortKeyCount");
    return r.count;
  }

  /** The sort keys of a hash key (up to the limits). */
  async getSortKeys(
    hashKey: Bytes,
    options: Omit<MultiGetLimits, "noValue"> = {},
  ): Promise<{ sortKeys: V[]; complete: boolean }> {
    const r = await this.multiGet(hashKey, [], { ...options, noValue: true });
    return { sortKeys: r.entries.map(([k]) => k), complete: r.complete };
  }

  /** Scans a sort-key range of one hash key in order; empty stop = to the end. */
  getScanner(
    hashKey: Bytes,
    startSortKey: Bytes,
    stopSortKey: Bytes,
    options: ScanOptions = {},
  ): PegasusScanner<V> {
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
    const empty = c > 0 || (c === 0 && !(startInclusive && stopInclusive));
    const target: ScanTarget = {
      hash: crc64(h),
      request: scanRequest(options, start, stop, startInclusive, stopInclusive, false),
    };
    return new PegasusScanner(this.#router, empty ? [] : [target], this.#convert, {
      timeout: options.timeout ?? 5000,
      signal: options.signal,
    }, options.onRestart);
  }

  /** Splits a full-table scan into at most `maxSplitCount` scanners over disjoint partitions. */
  async getUnorderedScanners(
    maxSplitCount: number,
    options: ScanOptions = {},
  ): Promise<PegasusScanner<V>[]> {
    if (!Number.isInteger(maxSplitCount) || maxSplitCount < 1) {
      throw new RangeError(`maxSplitCount must be a whole number ≥ 1, got ${maxSplitCount}`);
    }
    const config = this.#router.config ??
      await this.#router.refresh(performance.now() + (options.timeout ?? 5000));
    const count = config.partitionCount;
    const n = Math.min(count, maxSplitCount);
    const scanners: PegasusScanner<V>[] = [];
    let next = 0;
    for (let i = 0; i < n; i++) {
      const size = Math.floor(count / n) + (i < count % n ? 1 : 0);
      const targets: ScanTarget[] = [];
      for (let j = 0; j < size; j++) {
        const request = scanRequest(
          options,
          new Uint8Array([0, 0]),
          new Uint8Array([0xff, 0xff]),
          true,
          false,
          true,
        );
        targets.push({ partition: next++, request });
      }
      scanners.push(
        new PegasusScanner(this.#router, targets, this.#convert, {
          timeout: options.timeout ?? 5000,
          signal: options.signal,
        }, options.onRestart),
      );
    }
    return scanners;
  }

  /** Adds `increment` to an integer value (missing = 0); resolves with the new value. */
  async incr(
    hashKey: Bytes,
    sortKey: Bytes,
    increment: bigint | number = 1n,
    options: WriteOptions & { ttl?: number } = {},
  ): Promise<bigint> {
    const op = this.#single("incr", "RPC_RRDB_RRDB_INCR", hashKey, sortKey);
    if (typeof increment === "number" && !Number.isSafeInteger(increment)) {
      throw new RangeError(`Increment must be a safe integer or a bigint, got ${increment}`);
    }
    const ttl = options.ttl;
    if (ttl !== undefined && ttl < -1) throw new RangeError(`incr TTL must be ≥ -1, got ${ttl}`);
    const r = await this.#router.call({
      ...op,
      args: incrArgs(op.key, BigInt(increment), ttl === -1 ? -1 : expireTs(ttl)),
      decode: (rd) => decodeCountResponse("incr", rd),
      idempotent: false,
    }, options) as CountResponse;
    check(r.error, "incr");
    return r.count;
  }

  /** Sets a value if a check on (hashKey, checkSortKey) passes; atomic on the server. */
  async checkAndSet(
    hashKey: Bytes,
    checkSortKey: Bytes,
    checkType: CheckType,
    checkOperand: Bytes,
    setSortKey: Bytes,
    setValue: Bytes,
    options: CheckOptions = {},
  ): Promise<CheckResult<V>> {
    const h = hashKeyBytes(hashKey, true);
    const checkSk = bytes(checkSortKey, "Check sort key");
    const setSk = bytes(setSortKey, "Set sort key");
    const r = await this.#router.call({
      name: "checkAndSet",
      rpc: "RPC_RRDB_RRDB_CHECK_AND_SET",
      args: checkAndSetArgs({
        hashKey: h,
        checkSortKey: checkSk,
        checkType,
        checkOperand: bytes(checkOperand, "Check operand"),
        setDiffSortKey: compare(checkSk, setSk) !== 0,
        setSortKey: setSk,
        setValue: bytes(setValue, "Value"),
        setExpireTs: expireTs(options.ttl),
        returnCheckValue: options.returnCheckValue ?? false,
      }),
      decode: decodeCheckResponse,
      hash: crc64(h),
      idempotent: false,
    }, options) as CheckResponse;
    return this.#checkResult(r, "checkAndSet");
  }

  /** Applies mutations to a hash key if a check passes; atomic on the server. */
  async checkAndMutate(
    hashKey: Bytes,
    checkSortKey: Bytes,
    checkType: CheckType,
    checkOperand: Bytes,
    mutations: readonly Mutation[],
    options: CheckOptions = {},
  ): Promise<CheckResult<V>> {
    const h = hashKeyBytes(hashKey, true);
    if (mutations.length === 0) throw new RangeError("checkAndMutate needs at least one mutation");
    const r = await this.#router.call({
      name: "checkAndMutate",
      rpc: "RPC_RRDB_RRDB_CHECK_AND_MUTATE",
      args: checkAndMutateArgs({
        hashKey: h,
        checkSortKey: bytes(checkSortKey, "Check sort key"),
        checkType,
        checkOperand: bytes(checkOperand, "Check operand"),
        mutations: mutations.map((m) => ({
          operation: m.op === "put" ? MutateOperation.Put : MutateOperation.Delete,
          sortKey: bytes(m.sortKey, "Sort key"),
          value: m.op === "put" ? bytes(m.value, "Value") : NONE,
          expireTs: m.op === "put" ? expireTs(m.ttl) : 0,
        })),
        returnCheckValue: options.returnCheckValue ?? false,
      }),
      decode: decodeCheckResponse,
      hash: crc64(h),
      idempotent: false,
    }, options) as CheckResponse;
    return this.#checkResult(r, "checkAndMutate");
  }

  #checkResult(r: CheckResponse, what: string): CheckResult<V> {
    if (r.error !== 0 && r.error !== 13) check(r.error, what);
    const out: CheckResult<V> = { succeeded: r.error === 0 };
    if (r.checkValueReturned) {
      out.checkValueExist = r.checkValueExist;
      if (r.checkValueExist) out.checkValue = this.#convert(r.checkValue);
    }
    return out;
  }

  /** Reads many (hashKey, sortKey) pairs across partitions, in parallel; missing = undefined. */
  batchGet(
    keys: readonly (readonly [Bytes, Bytes])[],
    options?: CallOptions,
  ): Promise<(V | undefined)[]> {
    return Promise.all(keys.map(([h, s]) => this.get(h, s, options)));
  }

  /** Writes many records across partitions, in parallel. */
  async batchSet(
    items: readonly (readonly [Bytes, Bytes, Bytes])[],
    options?: WriteOptions,
  ): Promise<void> {
    await Promise.all(items.map(([h, s, v]) => this.set(h, s, v, options)));
  }

  /** Removes many records across partitions, in parallel. */
  async batchDel(keys: readonly (readonly [Bytes, Bytes])[], options?: CallOptions): Promise<void> {
    await Promise.all(keys.map(([h, s]) => this.remove(h, s, options)));
  }

  /** Closes every session after the requests in flight complete. */
  async close(): Promise<void> {
    await this.#router.cluster.close();
  }

  /** Closes at once; pending operations fail. */
  destroy(): void {
    this.#router.cluster.destroy();
  }

  /** Closes gracefully at the end of an `await using` scope, as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

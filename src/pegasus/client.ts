// PegasusClient: the user-facing Apache Pegasus client: pypegasus's whole API in TypeScript
// idiom plus incr, check-and-set, check-and-mutate and batches (pegasus.md §2-§6), observable
// (events, stats, one instrumented operation per call). Just over 500 lines: one short method
// per RPC, kept together so the API reads in one place.

import { utf8Decode } from "../core/bytes.ts";
import type { EventHub, Observable } from "../core/events.ts";
import type { Operation } from "../core/instrument.ts";
import { observability } from "../core/observability.ts";
import type { ClientStats } from "../core/observe.ts";
import { Cluster } from "./cluster.ts";
import {
  type Bytes,
  bytes,
  type CheckOptions,
  type CheckResult,
  hashKeyScanTargets,
  type MultiGetLimits,
  type MultiGetOptions,
  type MultiGetResult,
  type Mutation,
  type PegasusClientOptions,
  type ScanOptions,
  unorderedScanTargets,
  type WriteOptions,
} from "./client_options.ts";
import { RocksStatus } from "./errors.ts";
import {
  checkAndMutateOperation,
  checkAndSetOperation,
  multiDelOperation,
  multiGetOperation,
  multiSetOperation,
  sortKeyCountOperation,
} from "./hash_key_operations.ts";
import { incrOperation, readOperation, removeOperation, setOperation } from "./key_operations.ts";
import type { PegasusEvents } from "./observe.ts";
import type { CheckType } from "./requests.ts";
import type { CheckResponse, CountResponse, KvsResponse, ReadResponse } from "./responses.ts";
import { type CallOptions, TableRouter } from "./router.ts";
import { PegasusScanner } from "./scanner.ts";

const NONE = new Uint8Array(0);

/**
 * An Apache Pegasus client bound to one table. Operations are routed to the primary replica
 * of the key's partition, pipelined per replica, retried after routing changes within their
 * timeout. Values are `Uint8Array` unless `decode: true`. Observable: `on()` (see
 * {@link PegasusEvents}), `stats()`, and one instrumented operation per call (`get`, `set`,
 * `del`, `multi_get`, `check_and_set`, `batch_get`, a `scan` stream per scanner, …; `namespace`
 * is the table).
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
export class PegasusClient<V = Uint8Array> implements Observable<PegasusEvents> {
  readonly #router: TableRouter;
  readonly #convert: (b: Uint8Array) => V;
  readonly #events: EventHub<PegasusEvents>;

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
    const { events, instrumenter } = observability<PegasusEvents>(
      options,
      `pegasus ${options.table}`,
    );
    this.#events = events;
    const cluster = new Cluster({
      ...options,
      silenceTimeout: options.silenceTimeout ?? Math.max(timeout, 5000),
    }, events);
    this.#router = new TableRouter(cluster, options.table, timeout, instrumenter);
    this.#convert = (options.decode ? utf8Decode : (b: Uint8Array) => b) as (b: Uint8Array) => V;
  }

  /**
   * Listens to the client's events ({@link PegasusEvents}): each session's connection events
   * and the table's partition reconfigurations. Returns the function that stops listening.
   *
   * @example
   * ```ts
   * import { PegasusClient } from "@kvwire/kvwire/pegasus";
   * const client = new PegasusClient({ metaServers: ["127.0.0.1:34601"], table: "temp" });
   * const stop = client.on("partitionUpdate", (e) => console.info(e.reason, e.partitions));
   * stop();
   * await client.close();
   * ```
   */
  on<Name extends keyof PegasusEvents & string>(
    name: Name,
    listener: (event: PegasusEvents[Name]) => void,
  ): () => void {
    return this.#events.on(name, listener);
  }

  /**
   * Counters of every session (meta servers and replicas, by `host:port`) and their sums.
   *
   * @example
   * ```ts
   * import { PegasusClient } from "@kvwire/kvwire/pegasus";
   * await using client = await PegasusClient.connect({
   *   metaServers: ["127.0.0.1:34601"], table: "temp",
   * });
   * const { state, members } = client.stats();
   * console.log(state, members.map((m) => `${m.address} ${m.state} ${m.bytesIn}`));
   * ```
   */
  stats(): ClientStats {
    return this.#router.cluster.stats();
  }

  /** The table's cached partition count, once known. */
  get partitionCount(): number | undefined {
    return this.#router.config?.partitionCount;
  }

  /** The value of (hashKey, sortKey), or `undefined` when missing or expired. */
  async get(hashKey: Bytes, sortKey: Bytes, options?: CallOptions): Promise<V | undefined> {
    return this.#value(await this.#router.call(readOperation("get", hashKey, sortKey), options));
  }

  #value(reply: unknown): V | undefined {
    const r = reply as ReadResponse;
    return r.error === RocksStatus.NotFound ? undefined : this.#convert(r.value);
  }

  /** Stores a value, optionally with a TTL in seconds. */
  async set(
    hashKey: Bytes,
    sortKey: Bytes,
    value: Bytes,
    options: WriteOptions = {},
  ): Promise<void> {
    await this.#router.call(setOperation(hashKey, sortKey, value, options.ttl), options);
  }

  /** Whether (hashKey, sortKey) exists. */
  async exist(hashKey: Bytes, sortKey: Bytes, options?: CallOptions): Promise<boolean> {
    const op = readOperation("ttl", hashKey, sortKey, "exist");
    return ((await this.#router.call(op, options)) as ReadResponse).error === RocksStatus.Ok;
  }

  /** Remaining seconds to live: -1 = no TTL, `undefined` = missing. */
  async ttl(hashKey: Bytes, sortKey: Bytes, options?: CallOptions): Promise<number | undefined> {
    const r = await this.#router.call(readOperation("ttl", hashKey, sortKey), options);
    return (r as ReadResponse).error === RocksStatus.Ok
      ? (r as ReadResponse).ttlSeconds
      : undefined;
  }

  /** Removes (hashKey, sortKey); removing a missing record is not an error. */
  async remove(hashKey: Bytes, sortKey: Bytes, options?: CallOptions): Promise<void> {
    await this.#router.call(removeOperation(hashKey, sortKey), options);
  }

  /** Stores several sort keys of one hash key at once (one TTL for all). */
  async multiSet(
    hashKey: Bytes,
    entries: Iterable<readonly [Bytes, Bytes]> | Record<string, Bytes>,
    options: WriteOptions = {},
  ): Promise<void> {
    await this.#router.call(multiSetOperation(hashKey, entries, options.ttl), options);
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
    const op = multiGetOperation(hashKey, sortKeys, start, stop, o);
    const r = await this.#router.call(op, o) as KvsResponse;
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
    const r = await this.#router.call(multiDelOperation(hashKey, sortKeys), options);
    return (r as CountResponse).count;
  }

  /** How many sort keys a hash key has. */
  async sortKeyCount(hashKey: Bytes, options?: CallOptions): Promise<bigint> {
    const r = await this.#router.call(sortKeyCountOperation(hashKey), options);
    return (r as CountResponse).count;
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
    const targets = hashKeyScanTargets(hashKey, startSortKey, stopSortKey, options);
    return new PegasusScanner(this.#router, targets, this.#convert, options);
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
    return unorderedScanTargets(config.partitionCount, maxSplitCount, options).map((targets) =>
      new PegasusScanner(this.#router, targets, this.#convert, options)
    );
  }

  /** Adds `increment` to an integer value (missing = 0); resolves with the new value. */
  async incr(
    hashKey: Bytes,
    sortKey: Bytes,
    increment: bigint | number = 1n,
    options: WriteOptions & { ttl?: number } = {},
  ): Promise<bigint> {
    const r = await this.#router.call(
      incrOperation(hashKey, sortKey, increment, options.ttl),
      options,
    );
    return (r as CountResponse).count;
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
    const op = checkAndSetOperation(hashKey, {
      checkSortKey,
      checkType,
      checkOperand,
      setSortKey,
      setValue,
      ttl: options.ttl,
      returnCheckValue: options.returnCheckValue,
    });
    return this.#checkResult(await this.#router.call(op, options) as CheckResponse);
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
    const op = checkAndMutateOperation(
      hashKey,
      checkSortKey,
      checkType,
      checkOperand,
      mutations,
      options.returnCheckValue ?? false,
    );
    return this.#checkResult(await this.#router.call(op, options) as CheckResponse);
  }

  #checkResult(r: CheckResponse): CheckResult<V> {
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
    return this.#batch(
      "batch_get",
      keys,
      async ([h, s], batch) =>
        this.#value(await this.#router.call(readOperation("get", h, s), options, batch)),
    );
  }

  /** Writes many records across partitions, in parallel. */
  async batchSet(
    items: readonly (readonly [Bytes, Bytes, Bytes])[],
    options: WriteOptions = {},
  ): Promise<void> {
    await this.#batch(
      "batch_set",
      items,
      ([h, s, v], batch) => this.#router.call(setOperation(h, s, v, options.ttl), options, batch),
    );
  }

  /** Removes many records across partitions, in parallel. */
  async batchDel(keys: readonly (readonly [Bytes, Bytes])[], options?: CallOptions): Promise<void> {
    await this.#batch(
      "batch_del",
      keys,
      ([h, s], batch) => this.#router.call(removeOperation(h, s), options, batch),
    );
  }

  /** Runs `each` for every item in parallel as one operation (`batchSize` = the item count). */
  async #batch<T, R>(
    name: string,
    items: readonly T[],
    each: (item: T, batch: Operation | undefined) => Promise<R>,
  ): Promise<R[]> {
    const batch = this.#router.trace(name, "request", items.length);
    try {
      const results = await Promise.all(items.map((item) => each(item, batch)));
      this.#router.finish(batch);
      return results;
    } catch (error) {
      this.#router.finish(batch, error);
      throw error;
    }
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

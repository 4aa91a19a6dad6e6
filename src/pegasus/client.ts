// PegasusClient: the user-facing Apache Pegasus client: pypegasus's whole API in TypeScript
// idiom plus the Java client's (incr, check-and-set/mutate, compareExchange, delRange, batches
// with a result per item, several tables), observable (events, stats, one operation per call).
// Long, but one short method per call kept together so that the API reads in one place.

import { utf8Decode } from "../core/bytes.ts";
import type { EventHub, Observable } from "../core/events.ts";
import type { Instrumenter } from "../core/instrument.ts";
import { observability } from "../core/observability.ts";
import type { ClientStats } from "../core/observe.ts";
import { Cluster } from "./cluster.ts";
import {
  backupDelayOf,
  type Bytes,
  bytes,
  type CheckOptions,
  type CheckResult,
  type CompareExchangeResult,
  type DelRangeOptions,
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
import { CheckType } from "./requests.ts";
import type { CheckResponse, CountResponse, KvsResponse, ReadResponse } from "./responses.ts";
import { type CallOptions, type RoutedOperation, TableRouter } from "./router.ts";
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
  readonly #instrumenter: Instrumenter;
  readonly #options: PegasusClientOptions;
  /** The client that owns the sessions (this one unless it is a `table()` view). */
  readonly #owner: PegasusClient<V> | undefined;
  readonly #views = new Map<string, PegasusClient<V>>();

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

  /**
   * Creates a client that queries meta on its first operation. Prefer `connect`. `shared` is
   * how {@link table} makes a view over another client's sessions; leave it unset.
   */
  constructor(options: PegasusClientOptions, shared?: SharedSessions) {
    if (typeof options?.table !== "string" || options.table === "") {
      throw new TypeError("Pegasus needs a table name");
    }
    if ("tls" in options) {
      throw new TypeError("Pegasus has no TLS: its rDSN sessions are plaintext (no `tls` option)");
    }
    const timeout = options.timeout ?? 1000;
    const backupDelay = backupDelayOf(options);
    this.#options = options;
    this.#convert = (options.decode ? utf8Decode : (b: Uint8Array) => b) as (b: Uint8Array) => V;
    if (shared) {
      this.#owner = shared.owner as PegasusClient<V>;
      this.#events = shared.cluster.events;
      this.#instrumenter = shared.instrumenter;
      this.#router = new TableRouter(
        shared.cluster,
        options.table,
        timeout,
        shared.instrumenter,
        backupDelay,
      );
      return;
    }
    const { events, instrumenter } = observability<PegasusEvents>(
      options,
      `pegasus ${options.table}`,
    );
    this.#events = events;
    this.#instrumenter = instrumenter;
    const cluster = new Cluster({
      ...options,
      silenceTimeout: options.silenceTimeout ?? Math.max(timeout, 5000),
    }, events);
    this.#router = new TableRouter(cluster, options.table, timeout, instrumenter, backupDelay);
  }

  /** The table this client reads and writes. */
  get tableName(): string {
    return this.#router.table;
  }

  /**
   * A client for another table of the same cluster (the Java client's `openTable`): it shares
   * this client's meta and replica sessions, events, hooks and options; one view per table.
   * Closing a view leaves the sessions open; closing the client that made it closes them all.
   *
   * @example
   * ```ts
   * import { PegasusClient } from "@kvwire/kvwire/pegasus";
   * await using client = await PegasusClient.connect({
   *   metaServers: ["127.0.0.1:34601"], table: "temp", decode: true,
   * });
   * const users = client.table("users");
   * await users.set("u:1", "name", "Ada");
   * ```
   */
  table(name: string): PegasusClient<V> {
    if (typeof name !== "string" || name === "") {
      throw new TypeError(`A table name must be a non-empty string, got ${JSON.stringify(name)}`);
    }
    const owner = this.#owner ?? this;
    if (owner !== this) return owner.table(name);
    if (name === this.tableName) return this;
    let view = this.#views.get(name);
    if (!view) {
      view = new PegasusClient<V>({ ...this.#options, table: name }, {
        owner: this,
        cluster: this.#router.cluster,
        instrumenter: this.#instrumenter,
      });
      this.#views.set(name, view);
    }
    return view;
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

  /**
   * Replaces the value with `desiredValue` when it equals `expectedValue` byte for byte (the
   * Java client's compareExchange: one check_and_set on the server); otherwise resolves with
   * the value found. A missing record never equals anything.
   *
   * @example
   * ```ts
   * import { PegasusClient } from "@kvwire/kvwire/pegasus";
   * await using client = await PegasusClient.connect({
   *   metaServers: ["127.0.0.1:34601"], table: "temp", decode: true,
   * });
   * await client.set("job:1", "state", "queued");
   * const r = await client.compareExchange("job:1", "state", "queued", "running");
   * console.log(r.succeeded); // true
   * ```
   */
  async compareExchange(
    hashKey: Bytes,
    sortKey: Bytes,
    expectedValue: Bytes,
    desiredValue: Bytes,
    options: WriteOptions = {},
  ): Promise<CompareExchangeResult<V>> {
    if (options.ttl !== undefined && !(options.ttl >= 0)) {
      throw new RangeError(`compareExchange ttl must be ≥ 0 seconds, got ${options.ttl}`);
    }
    const r = await this.checkAndSet(
      hashKey,
      sortKey,
      CheckType.BytesEqual,
      expectedValue,
      sortKey,
      desiredValue,
      { ...options, returnCheckValue: true },
    );
    return r.succeeded ? { succeeded: true } : { succeeded: false, actualValue: r.checkValue };
  }

  /**
   * Removes every sort key of `hashKey` in a range (empty stop = to the end), reading the keys
   * with a keys-only scanner and removing them `batchSize` at a time; resolves with how many
   * were removed. It stops at the first error (the batches before it are removed), as the Java
   * client's delRange.
   *
   * @example
   * ```ts
   * import { PegasusClient } from "@kvwire/kvwire/pegasus";
   * await using client = await PegasusClient.connect({
   *   metaServers: ["127.0.0.1:34601"], table: "temp",
   * });
   * console.log(await client.delRange("user:1", "session:", "session;")); // e.g. 42
   * ```
   */
  async delRange(
    hashKey: Bytes,
    startSortKey: Bytes,
    stopSortKey: Bytes,
    options: DelRangeOptions = {},
  ): Promise<number> {
    const batchSize = options.batchSize ?? 100;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`delRange batchSize must be a whole number ≥ 1, got ${batchSize}`);
    }
    const scan = { ...options, batchSize, noValue: true };
    const targets = hashKeyScanTargets(hashKey, startSortKey, stopSortKey, scan);
    const scanner = new PegasusScanner(this.#router, targets, (b: Uint8Array) => b, scan);
    let removed = 0;
    let batch: Uint8Array[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await this.multiDel(hashKey, batch, options);
      removed += batch.length;
      batch = [];
    };
    for await (const { sortKey } of scanner) {
      batch.push(sortKey);
      if (batch.length >= batchSize) await flush();
    }
    await flush();
    return removed;
  }

  #checkResult(r: CheckResponse): CheckResult<V> {
    const out: CheckResult<V> = { succeeded: r.error === 0 };
    if (r.checkValueReturned) {
      out.checkValueExist = r.checkValueExist;
      if (r.checkValueExist) out.checkValue = this.#convert(r.checkValue);
    }
    return out;
  }

  /**
   * Reads many (hashKey, sortKey) pairs across partitions, in parallel; missing = undefined.
   * Every key is checked before anything is sent; rejects with the first failure once all
   * settled (see {@link batchGetSettled} for a result per key).
   */
  async batchGet(
    keys: readonly (readonly [Bytes, Bytes])[],
    options?: CallOptions,
  ): Promise<(V | undefined)[]> {
    return valuesOrFirstError(await this.batchGetSettled(keys, options));
  }

  /**
   * Reads many (hashKey, sortKey) pairs across partitions, in parallel: one settled result per
   * key, in order, so one failure does not hide the others (the Java client's batchGet2).
   *
   * @example
   * ```ts
   * import { PegasusClient } from "@kvwire/kvwire/pegasus";
   * await using client = await PegasusClient.connect({
   *   metaServers: ["127.0.0.1:34601"], table: "temp", decode: true,
   * });
   * for (const r of await client.batchGetSettled([["u:1", "name"], ["u:2", "name"]])) {
   *   console.log(r.status === "fulfilled" ? r.value : r.reason.message);
   * }
   * ```
   */
  async batchGetSettled(
    keys: readonly (readonly [Bytes, Bytes])[],
    options?: CallOptions,
  ): Promise<PromiseSettledResult<V | undefined>[]> {
    const ops = keys.map(([h, s]) => readOperation("get", h, s));
    return await this.#batch("batch_get", ops, options, (reply) => this.#value(reply));
  }

  /** Writes many records across partitions, in parallel; rejects with the first failure. */
  async batchSet(
    items: readonly (readonly [Bytes, Bytes, Bytes])[],
    options: WriteOptions = {},
  ): Promise<void> {
    valuesOrFirstError(await this.batchSetSettled(items, options));
  }

  /** Writes many records across partitions, in parallel: one settled result per record. */
  async batchSetSettled(
    items: readonly (readonly [Bytes, Bytes, Bytes])[],
    options: WriteOptions = {},
  ): Promise<PromiseSettledResult<void>[]> {
    const ops = items.map(([h, s, v]) => setOperation(h, s, v, options.ttl));
    return await this.#batch("batch_set", ops, options, () => undefined);
  }

  /** Removes many records across partitions, in parallel; rejects with the first failure. */
  async batchDel(keys: readonly (readonly [Bytes, Bytes])[], options?: CallOptions): Promise<void> {
    valuesOrFirstError(await this.batchDelSettled(keys, options));
  }

  /** Removes many records across partitions, in parallel: one settled result per key. */
  async batchDelSettled(
    keys: readonly (readonly [Bytes, Bytes])[],
    options?: CallOptions,
  ): Promise<PromiseSettledResult<void>[]> {
    const ops = keys.map(([h, s]) => removeOperation(h, s));
    return await this.#batch("batch_del", ops, options, () => undefined);
  }

  /**
   * Sends `ops` (all validated already) in parallel as one operation (`batchSize` = the count)
   * and waits for every one: the operation ends with the first failure, if any.
   */
  async #batch<R>(
    name: string,
    ops: RoutedOperation[],
    options: CallOptions | undefined,
    result: (reply: unknown) => R,
  ): Promise<PromiseSettledResult<R>[]> {
    const batch = this.#router.trace(name, "request", ops.length);
    const settled = await Promise.allSettled(
      ops.map(async (op) => result(await this.#router.call(op, options, batch))),
    );
    const failure = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
    this.#router.finish(batch, failure?.reason);
    return settled;
  }

  /**
   * Closes every session after the requests in flight complete (a `table()` view: nothing, the
   * sessions belong to the client that made it).
   */
  async close(): Promise<void> {
    if (!this.#owner) await this.#router.cluster.close();
  }

  /** Closes at once; pending operations fail (a `table()` view: nothing). */
  destroy(): void {
    if (!this.#owner) this.#router.cluster.destroy();
  }

  /** Closes gracefully at the end of an `await using` scope, as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The values of settled results, or the first failure thrown. */
function valuesOrFirstError<R>(results: PromiseSettledResult<R>[]): R[] {
  const values: R[] = [];
  for (const r of results) {
    if (r.status === "rejected") throw r.reason;
    values.push(r.value);
  }
  return values;
}

/** What a `table()` view shares with the client that made it. */
export interface SharedSessions {
  /** The client that owns the sessions. */
  owner: PegasusClient<unknown>;
  /** Its sessions and event hub. */
  cluster: Cluster;
  /** Its instrumentation hooks. */
  instrumenter: Instrumenter;
}

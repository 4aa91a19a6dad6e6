// PegasusClient: the user-facing Apache Pegasus client: pypegasus's API plus the Java client's
// (incr, check-and-set/mutate, compareExchange, delRange, batches, several tables), observable.
// One short method per call, so the API reads in one place; the longer ones are in client_*.ts.

import type { Observable } from "../core/events.ts";
import type { Instrumenter } from "../core/instrument.ts";
import type { ClientStats } from "../core/observe.ts";
import { batchDels, batchGets, batchSets, valuesOrFirstError } from "./client_batch.ts";
import { compareExchange, runCheck } from "./client_check.ts";
import {
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
  type WriteOptions,
} from "./client_options.ts";
import { multiGet, readValue } from "./client_reads.ts";
import { delRange, unorderedScanners } from "./client_scan.ts";
import { type ClientParts, clientParts, TableViews } from "./client_setup.ts";
import type { Cluster } from "./cluster.ts";
import { RocksStatus } from "./errors.ts";
import {
  checkAndMutateOperation,
  checkAndSetOperation,
  multiDelOperation,
  multiSetOperation,
  sortKeyCountOperation,
} from "./hash_key_operations.ts";
import { incrOperation, readOperation, removeOperation, setOperation } from "./key_operations.ts";
import type { PegasusEvents } from "./observe.ts";
import type { CheckType } from "./requests.ts";
import type { CountResponse, ReadResponse } from "./responses.ts";
import type { CallOptions } from "./router.ts";
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
  /** The router, value conversion, events and hooks the calls run on. */
  readonly #parts: ClientParts<V>;
  /** The client that owns the sessions (this one unless it is a `table()` view). */
  readonly #owner: PegasusClient<V> | undefined;
  /** The views this client made (unused in a view). */
  readonly #views: TableViews<PegasusClient<V>>;

  /** Connects: queries the meta servers for the table's partitions. */
  static connect(options: PegasusClientOptions & { decode: true }): Promise<PegasusClient<string>>;
  /** Connects: queries the meta servers for the table's partitions. */
  static connect(options: PegasusClientOptions): Promise<PegasusClient<Uint8Array>>;
  static async connect(
    options: PegasusClientOptions,
  ): Promise<PegasusClient<string> | PegasusClient<Uint8Array>> {
    const client = new PegasusClient<Uint8Array>(options);
    try {
      await client.#parts.router.refresh(performance.now() + (options.metaTimeout ?? 5000));
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
    this.#parts = clientParts<V>(options, shared);
    this.#views = new TableViews(options);
    this.#owner = shared?.owner as PegasusClient<V> | undefined;
  }

  /** The table this client reads and writes. */
  get tableName(): string {
    return this.#parts.router.table;
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
    if (this.#owner) return this.#owner.table(name);
    if (name === this.tableName) return this;
    return this.#views.of(name, (options) =>
      new PegasusClient<V>(options, {
        owner: this,
        cluster: this.#parts.router.cluster,
        instrumenter: this.#parts.instrumenter,
      }));
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
    return this.#parts.events.on(name, listener);
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
    return this.#parts.router.cluster.stats();
  }

  /** The table's cached partition count, once known. */
  get partitionCount(): number | undefined {
    return this.#parts.router.config?.partitionCount;
  }

  /** The value of (hashKey, sortKey), or `undefined` when missing or expired. */
  async get(hashKey: Bytes, sortKey: Bytes, options?: CallOptions): Promise<V | undefined> {
    const reply = await this.#parts.router.call(readOperation("get", hashKey, sortKey), options);
    return readValue(reply, this.#parts.convert);
  }

  /** Stores a value, optionally with a TTL in seconds. */
  async set(
    hashKey: Bytes,
    sortKey: Bytes,
    value: Bytes,
    options: WriteOptions = {},
  ): Promise<void> {
    await this.#parts.router.call(setOperation(hashKey, sortKey, value, options.ttl), options);
  }

  /** Whether (hashKey, sortKey) exists. */
  async exist(hashKey: Bytes, sortKey: Bytes, options?: CallOptions): Promise<boolean> {
    const op = readOperation("ttl", hashKey, sortKey, "exist");
    return ((await this.#parts.router.call(op, options)) as ReadResponse).error === RocksStatus.Ok;
  }

  /** Remaining seconds to live: -1 = no TTL, `undefined` = missing. */
  async ttl(hashKey: Bytes, sortKey: Bytes, options?: CallOptions): Promise<number | undefined> {
    const r = await this.#parts.router.call(readOperation("ttl", hashKey, sortKey), options);
    return (r as ReadResponse).error === RocksStatus.Ok
      ? (r as ReadResponse).ttlSeconds
      : undefined;
  }

  /** Removes (hashKey, sortKey); removing a missing record is not an error. */
  async remove(hashKey: Bytes, sortKey: Bytes, options?: CallOptions): Promise<void> {
    await this.#parts.router.call(removeOperation(hashKey, sortKey), options);
  }

  /** Stores several sort keys of one hash key at once (one TTL for all). */
  async multiSet(
    hashKey: Bytes,
    entries: Iterable<readonly [Bytes, Bytes]> | Record<string, Bytes>,
    options: WriteOptions = {},
  ): Promise<void> {
    await this.#parts.router.call(multiSetOperation(hashKey, entries, options.ttl), options);
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
    const keys = sortKeys.map((k) => bytes(k, "Sort key"));
    return multiGet(this.#parts, hashKey, keys, NONE, NONE, options);
  }

  /** Reads a sort-key range of a hash key: [start, stop) by default; empty stop = to the end. */
  multiGetOpt(
    hashKey: Bytes,
    startSortKey: Bytes,
    stopSortKey: Bytes,
    options: MultiGetOptions = {},
  ): Promise<MultiGetResult<V>> {
    return multiGet(
      this.#parts,
      hashKey,
      [],
      bytes(startSortKey, "Start sort key"),
      bytes(stopSortKey, "Stop sort key"),
      options,
    );
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
    const r = await this.#parts.router.call(multiDelOperation(hashKey, sortKeys), options);
    return (r as CountResponse).count;
  }

  /** How many sort keys a hash key has. */
  async sortKeyCount(hashKey: Bytes, options?: CallOptions): Promise<bigint> {
    const r = await this.#parts.router.call(sortKeyCountOperation(hashKey), options);
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
    return new PegasusScanner(this.#parts.router, targets, this.#parts.convert, options);
  }

  /** Splits a full-table scan into at most `maxSplitCount` scanners over disjoint partitions. */
  async getUnorderedScanners(
    maxSplitCount: number,
    options: ScanOptions = {},
  ): Promise<PegasusScanner<V>[]> {
    return await unorderedScanners(this.#parts, maxSplitCount, options);
  }

  /** Adds `increment` to an integer value (missing = 0); resolves with the new value. */
  async incr(
    hashKey: Bytes,
    sortKey: Bytes,
    increment: bigint | number = 1n,
    options: WriteOptions & { ttl?: number } = {},
  ): Promise<bigint> {
    const r = await this.#parts.router.call(
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
    return await runCheck(this.#parts, op, options);
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
    return await runCheck(this.#parts, op, options);
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
    return await compareExchange(
      this.#parts,
      hashKey,
      sortKey,
      expectedValue,
      desiredValue,
      options,
    );
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
    return await delRange(this.#parts.router, hashKey, startSortKey, stopSortKey, options);
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
    return await batchGets(this.#parts, keys, options);
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
    return await batchSets(this.#parts.router, items, options);
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
    return await batchDels(this.#parts.router, keys, options);
  }

  /**
   * Closes every session after the requests in flight complete (a `table()` view: nothing, the
   * sessions belong to the client that made it).
   */
  async close(): Promise<void> {
    if (!this.#owner) await this.#parts.router.cluster.close();
  }

  /** Closes at once; pending operations fail (a `table()` view: nothing). */
  destroy(): void {
    if (!this.#owner) this.#parts.router.cluster.destroy();
  }

  /** Closes gracefully at the end of an `await using` scope, as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
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

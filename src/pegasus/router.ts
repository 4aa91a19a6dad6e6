// The routing of the Pegasus client (pegasus.md §5.2-§5.4): a partition config cache per table,
// routing by partition hash, the retry / re-query policy with one deadline per operation, and
// the instrumentation of each operation.

import {
  ConnectError,
  ConnectionClosedError,
  KvError,
  ServerError,
  TimeoutError,
} from "../core/errors.ts";
import type { Instrumenter, Operation, OperationStart } from "../core/instrument.ts";
import { parseHostPort } from "../core/url.ts";
import { check } from "./client_options.ts";
import { type Cluster, sleep, type TableConfig } from "./cluster.ts";
import { PegasusError } from "./errors.ts";
import { partitionIndex } from "./key_schema.ts";
import { operationName, type PegasusEvents } from "./observe.ts";
import type { ArgsWriter } from "./requests.ts";
import type { ThriftReader } from "./thrift.ts";

/** One routed operation. */
export interface RoutedOperation {
  /** The operation's name in errors, such as `"get"`. */
  name: string;
  /** RPC name, such as `"RPC_RRDB_RRDB_GET"`. */
  rpc: string;
  /** Writes the request's args. */
  args: ArgsWriter;
  /** Reads the response struct of an ERR_OK reply. */
  decode?: (r: ThriftReader) => unknown;
  /** The partition hash (crc64 of the hash key, or of the sort key for an empty hash key). */
  hash: bigint;
  /** A fixed partition (unordered scans); the header's hash is then the index. */
  partition?: number;
  /** Safe to send again after an unknown outcome (reads, put, remove). */
  idempotent: boolean;
  /** One-way: no reply; the operation completes once written. */
  oneWay?: boolean;
  /**
   * RocksDB statuses of the response's `error` that are answers (0 always is); any other one
   * fails the operation with a {@link PegasusError}. Unset: the caller reads the status.
   */
  accept?: readonly number[];
  /** The operation's name in instrumentation. Default: by its RPC (`get`, `multi_set`, …). */
  operation?: string;
}

/** Deadline and cancellation of one operation. */
export interface CallOptions {
  /** Deadline in milliseconds, retries included. Default: the router's `defaultTimeout`. */
  timeout?: number;
  /** Aborts the operation. */
  signal?: AbortSignal;
}

/** Frame errors after which the routing is stale: re-query meta, then retry. */
const REQUERY = new Set([
  "ERR_OBJECT_NOT_FOUND",
  "ERR_INVALID_STATE",
  "ERR_PARENT_PARTITION_MISUSED",
  "ERR_SESSION_RESET",
]);
/** Transient frame errors: retry with backoff until the deadline. */
const RETRY = new Set(["ERR_NOT_ENOUGH_MEMBER", "ERR_CAPACITY_EXCEEDED", "ERR_SPLITTING"]);

/**
 * A table's routing: caches its configuration, sends each operation to the primary of its
 * partition, re-queries meta when told the routing is stale, and retries within one deadline.
 * A write whose outcome is unknown (the connection dropped after it was sent) is retried only
 * when idempotent; otherwise it fails with `ConnectionClosedError` (`sent: true`). After any
 * session loss in the cluster the next operation re-queries meta first (the lost server is
 * presumed down until meta names it again). Each call is one instrumented operation (unless it
 * is part of a caller's: a batch or a scanner), and a configuration that differs from the last
 * one is announced as `partitionUpdate` on the cluster's events.
 *
 * @example
 * ```ts
 * import { Cluster, TableRouter } from "@kvwire/kvwire/pegasus";
 * const router = new TableRouter(new Cluster({ metaServers: ["127.0.0.1:34601"] }), "temp", 1000);
 * await router.refresh(performance.now() + 5000);
 * ```
 */
export class TableRouter {
  /** The sessions and meta state it routes through. */
  readonly cluster: Cluster;
  /** The table's name. */
  readonly table: string;
  /** Timeout of an operation in milliseconds when none is given. */
  readonly defaultTimeout: number;
  readonly #instrumenter: Instrumenter | undefined;
  #config: TableConfig | undefined;
  /** The last configuration learned (kept when the cache is dropped), to tell what changed. */
  #known: TableConfig | undefined;
  /** Why the cache was dropped, for the next `partitionUpdate`. */
  #stale: { reason: string; address?: string } | undefined;
  /** `cluster.losses` when the configuration was asked for. */
  #configLosses = 0;
  #refreshing: Promise<TableConfig> | undefined;

  /** Routes operations on `table` with a default per-operation timeout in ms. */
  constructor(
    cluster: Cluster,
    table: string,
    defaultTimeout: number,
    instrumenter?: Instrumenter,
  ) {
    this.cluster = cluster;
    this.table = table;
    this.defaultTimeout = defaultTimeout;
    this.#instrumenter = instrumenter;
  }

  /** The cached configuration, if any. */
  get config(): TableConfig | undefined {
    return this.#config;
  }

  /** Re-reads the configuration (concurrent callers share one query). */
  refresh(deadline: number, signal?: AbortSignal): Promise<TableConfig> {
    if (!this.#refreshing) this.#configLosses = this.cluster.losses;
    this.#refreshing ??= this.cluster.queryConfig(this.table, deadline, signal).then(
      (config) => {
        this.#learned(config);
        this.#config = config;
        return config;
      },
    ).finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  /** Announces a configuration that differs from the last one. */
  #learned(config: TableConfig): void {
    const previous = this.#known;
    const why = this.#stale ?? { reason: previous ? "refresh" : "connect" };
    this.#known = config;
    this.#stale = undefined;
    const events = this.cluster.events;
    if (!events.has("partitionUpdate")) return;
    const update: PegasusEvents["partitionUpdate"] = {
      table: this.table,
      partitionCount: config.partitionCount,
      reason: why.reason,
    };
    if (previous) {
      const changed = changedPartitions(previous, config);
      if (changed.length === 0) return;
      update.partitions = changed;
    }
    if (why.address !== undefined) update.address = why.address;
    events.emit("partitionUpdate", update);
  }

  /**
   * Starts an instrumented operation on this table, or returns undefined when no hook listens
   * (nothing is built then). End it with {@link finish}.
   */
  trace(
    operation: string,
    kind: "request" | "stream" = "request",
    batchSize?: number,
  ): Operation | undefined {
    if (!this.#instrumenter?.enabled) return undefined;
    const info: OperationStart = { protocol: "pegasus", operation, kind, namespace: this.table };
    if (batchSize !== undefined) info.batchSize = batchSize;
    return this.#instrumenter.start(info);
  }

  /** Ends an operation started by {@link trace} (a no-op for undefined). */
  finish(trace: Operation | undefined, error?: unknown): void {
    if (trace !== undefined) this.#instrumenter!.end(trace, error);
  }

  /**
   * Runs one operation with routing and retries; resolves with the decoded response. `parent`:
   * the caller's operation (a batch, a scanner) this call is part of, which it then counts in.
   */
  async call(
    op: RoutedOperation,
    options: CallOptions = {},
    parent?: Operation,
  ): Promise<unknown> {
    const trace = parent ??
      (this.#instrumenter?.enabled ? this.trace(op.operation ?? operationName(op.rpc)) : undefined);
    if (trace === undefined || parent !== undefined) {
      return await this.#route(op, options, trace, parent !== undefined);
    }
    try {
      const value = await this.#route(op, options, trace, false);
      this.finish(trace);
      return value;
    } catch (error) {
      this.finish(trace, error);
      throw error;
    }
  }

  async #route(
    op: RoutedOperation,
    options: CallOptions,
    trace: Operation | undefined,
    shared: boolean,
  ): Promise<unknown> {
    const timeout = options.timeout ?? this.defaultTimeout;
    const deadline = performance.now() + timeout;
    let lastError: Error | undefined;
    for (let attempt = 0;; attempt++) {
      if (deadline - performance.now() <= 0) {
        throw timedOut(op.name, timeout, lastError);
      }
      // A session lost since the configuration was read: its server may be down or demoted.
      if (this.#config && this.#configLosses !== this.cluster.losses) {
        this.#config = undefined;
        this.#stale ??= { reason: "sessionLost" };
      }
      // A re-query cut short by this call's deadline reports why the call was retrying.
      const config = this.#config ??
        await this.refresh(deadline, options.signal).catch((error) => {
          throw lastError && error instanceof TimeoutError
            ? timedOut(op.name, timeout, lastError)
            : error;
        });
      let index = op.partition ?? partitionIndex(op.hash, config.partitionCount);
      // A split child that is not ready yet (ballot < 0) is served by its parent.
      if (config.partitions[index]?.ballot < 0n) index -= config.partitionCount / 2;
      const primary = config.partitions[index]?.primary;
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        throw timedOut(op.name, timeout, lastError);
      }
      try {
        if (!primary) {
          throw new PegasusError("ERR_OBJECT_NOT_FOUND", `Partition ${index} has no primary`);
        }
        // Its own operation names the replica of its last attempt; a batch the first one.
        if (trace !== undefined && !(shared && trace.serverAddress !== undefined)) {
          where(trace, primary);
        }
        const reply = await this.cluster.session(primary).request(
          {
            rpc: op.rpc,
            args: op.args,
            decode: op.decode,
            appId: config.appId,
            partitionIndex: index,
            partitionHash: op.partition === undefined ? op.hash : BigInt(op.partition),
            timeoutMs: Math.ceil(remaining),
            oneWay: op.oneWay,
          },
          { timeout: remaining, signal: options.signal },
          op.name,
        );
        if (op.accept !== undefined) {
          const status = (reply.value as { error: number }).error;
          if (status !== 0 && !op.accept.includes(status)) check(status, op.name);
        }
        return reply.value;
      } catch (error) {
        if (!this.#retryable(error, op)) {
          // A retry that ran out of time: say what made the earlier attempts fail.
          if (error instanceof TimeoutError && lastError) {
            throw new TimeoutError(
              `${op.name} timed out after ${timeout} ms (last error: ${lastError.message})`,
              { cause: lastError, sent: error.sent },
            );
          }
          throw error;
        }
        lastError = error as Error;
        const stale = error instanceof PegasusError && REQUERY.has(error.serverCode);
        if (trace !== undefined) stale ? trace.redirections++ : trace.retries++;
        if (this.#config === config) {
          this.#config = undefined; // re-query before the retry
          this.#stale = stale
            ? { reason: (error as PegasusError).serverCode, address: primary }
            : { reason: codeOf(error) };
        }
        if (error instanceof PegasusError && RETRY.has(error.serverCode) || attempt > 0) {
          await sleep(Math.min(Math.min(500, 5 * 2 ** attempt), deadline - performance.now()));
        }
      }
    }
  }

  #retryable(error: unknown, op: RoutedOperation): boolean {
    if (error instanceof PegasusError) {
      return error.status === undefined &&
        (REQUERY.has(error.serverCode) || RETRY.has(error.serverCode));
    }
    if (error instanceof ConnectionClosedError) return !error.sent || op.idempotent;
    return error instanceof ConnectError;
  }
}

/** Where an attempt goes: the replica's host and port. */
function where(trace: Operation, primary: string): void {
  const { host, port } = parseHostPort(primary, 34801);
  trace.serverAddress = host;
  trace.serverPort = port;
}

/** The rDSN error name of a server error, else the kvwire code, else the error's name. */
function codeOf(error: unknown): string {
  if (error instanceof ServerError) return error.serverCode;
  if (error instanceof KvError) return error.code;
  return error instanceof Error ? error.name : "Error";
}

/** Indexes whose primary or ballot differ (all of them when the table itself changed). */
function changedPartitions(before: TableConfig, after: TableConfig): number[] {
  const same = before.appId === after.appId && before.partitionCount === after.partitionCount;
  const changed: number[] = [];
  after.partitions.forEach((p, i) => {
    const q = before.partitions[i];
    if (!same || p.ballot !== q.ballot || p.primary !== q.primary) changed.push(i);
  });
  return changed;
}

/** The TimeoutError of a call whose deadline passed, with the error it was retrying after. */
function timedOut(name: string, timeout: number, lastError: Error | undefined): TimeoutError {
  return new TimeoutError(
    `${name} timed out after ${timeout} ms` +
      (lastError ? ` (last error: ${lastError.message})` : ""),
    { cause: lastError },
  );
}

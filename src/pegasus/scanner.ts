// Pegasus scanners (pegasus.md §5.6): get_scanner then scan(context) batches, restart from the
// last key when the server dropped the context, one-way clear_scanner on early close. Each
// scanner is one `scan` stream operation, from its first `next()` to its end or close.

import type { Operation } from "../core/instrument.ts";
import { crc64 } from "./crc64.ts";
import type { ScanOptions, ScanRestart } from "./client_options.ts";
import { decodeKey } from "./key_schema.ts";
import { PegasusError } from "./errors.ts";
import { clearScannerArgs, getScannerArgs, type GetScannerRequest, scanArgs } from "./requests.ts";
import { decodeKvsResponse, type KeyValue, type KvsResponse } from "./responses.ts";
import type { CallOptions, TableRouter } from "./router.ts";

/** One record a scanner yields. */
export interface ScanEntry<V> {
  /** The record's hash key. */
  hashKey: V;
  /** The record's sort key. */
  sortKey: V;
  /** The record's value (empty with `noValue`). */
  value: V;
}

/** Where one scanner reads: a partition (hash-key scan: by hash) and a key range. */
export interface ScanTarget {
  /** The get_scanner request: key range, filters and batch size. */
  request: GetScannerRequest;
  /** Routing: the hash key's crc64, or a fixed partition for full scans. */
  hash?: bigint;
  /** A fixed partition index (full scans). */
  partition?: number;
}

const GET_SCANNER = "RPC_RRDB_RRDB_GET_SCANNER";
const SCAN = "RPC_RRDB_RRDB_SCAN";
const CLEAR_SCANNER = "RPC_RRDB_RRDB_CLEAR_SCANNER";
const COMPLETED = -1n;

/**
 * Iterates records of one or more partitions, fetching a batch when the consumer pulls.
 * Use it with `for await`, or call `next()` until it returns `undefined`.
 *
 * @example
 * ```ts
 * import { PegasusClient } from "@kvwire/kvwire/pegasus";
 * await using client = await PegasusClient.connect({
 *   metaServers: ["127.0.0.1:34601"], table: "temp", decode: true,
 * });
 * for await (const { sortKey, value } of client.getScanner("user:1", "", "")) {
 *   console.log(sortKey, value);
 * }
 * ```
 */
export class PegasusScanner<V> implements AsyncIterable<ScanEntry<V>> {
  readonly #router: TableRouter;
  readonly #targets: ScanTarget[];
  readonly #convert: (bytes: Uint8Array) => V;
  readonly #options: CallOptions;
  #buffer: KeyValue[] = [];
  #context = COMPLETED;
  #started = false;
  #lastKey: Uint8Array | undefined;
  #closed = false;
  readonly #onRestart: ((restart: ScanRestart) => void) | undefined;
  #restarts = 0;
  /** The scan's stream operation, once started (undefined while no hook listens). */
  #trace: Operation | undefined;
  #traced = false;

  /** Scans `targets` in order; created by the client (`timeout` per round trip, default 5000). */
  constructor(
    router: TableRouter,
    targets: ScanTarget[],
    convert: (bytes: Uint8Array) => V,
    options: ScanOptions,
  ) {
    this.#onRestart = options.onRestart;
    this.#router = router;
    this.#targets = targets;
    this.#convert = convert;
    this.#options = { timeout: options.timeout ?? 5000, signal: options.signal };
  }

  /** The next record, or `undefined` at the end. */
  async next(): Promise<ScanEntry<V> | undefined> {
    if (!this.#traced) {
      this.#traced = true;
      if (!this.#closed) this.#trace = this.#router.trace("scan", "stream");
    }
    try {
      const entry = await this.#next();
      if (entry === undefined) this.#router.finish(this.#trace);
      return entry;
    } catch (error) {
      this.#router.finish(this.#trace, error);
      throw error;
    }
  }

  async #next(): Promise<ScanEntry<V> | undefined> {
    for (;;) {
      const kv = this.#buffer.shift();
      if (kv) {
        this.#lastKey = kv.key;
        const key = decodeKey(kv.key);
        if (!key) continue;
        return {
          hashKey: this.#convert(key.hashKey),
          sortKey: this.#convert(key.sortKey),
          value: this.#convert(kv.value),
        };
      }
      if (this.#closed || this.#targets.length === 0) return undefined;
      await this.#fetch();
    }
  }

  async #fetch(): Promise<void> {
    const target = this.#targets[0];
    let reply: KvsResponse;
    if (!this.#started) {
      reply = await this.#call(target, GET_SCANNER, getScannerArgs(target.request));
      this.#started = true;
    } else if (this.#context >= 0n) {
      reply = await this.#call(target, SCAN, scanArgs(this.#context));
      if (reply.error === 1 && this.#lastKey) {
        // The server dropped the context: start again after the last key delivered, and say so.
        this.#onRestart?.({ afterKey: this.#lastKey, attempt: ++this.#restarts });
        const request = { ...target.request, startKey: this.#lastKey, startInclusive: false };
        reply = await this.#call(target, GET_SCANNER, getScannerArgs(request));
      }
    } else {
      this.#targets.shift();
      this.#started = false;
      this.#lastKey = undefined;
      return;
    }
    if (reply.error !== 0) {
      this.#context = COMPLETED;
      throw new PegasusError("ERR_OK", "Pegasus scan failed", reply.error);
    }
    this.#context = reply.contextId;
    this.#buffer = reply.kvs;
  }

  async #call(
    target: ScanTarget,
    rpc: string,
    args: ReturnType<typeof scanArgs>,
  ): Promise<KvsResponse> {
    return await this.#router.call(
      {
        name: rpc === SCAN ? "scan" : "getScanner",
        rpc,
        args,
        decode: (r) => decodeKvsResponse(true, r),
        hash: target.hash ?? 0n,
        partition: target.partition,
        idempotent: true,
      },
      this.#options,
      this.#trace,
    ) as KvsResponse;
  }

  /** Stops the scan; a live server-side context is released with a one-way clear_scanner. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#buffer = [];
    const target = this.#targets[0];
    if (target && this.#context >= 0n) {
      const context = this.#context;
      this.#context = COMPLETED;
      await this.#router.call(
        {
          name: "clearScanner",
          rpc: CLEAR_SCANNER,
          args: clearScannerArgs(context),
          hash: target.hash ?? 0n,
          partition: target.partition,
          idempotent: true,
          oneWay: true,
        },
        this.#options,
        this.#trace,
      ).catch(() => {});
    }
    this.#router.finish(this.#trace);
  }

  /** Yields every record, then closes the scanner (also when the loop ends early). */
  async *[Symbol.asyncIterator](): AsyncIterator<ScanEntry<V>> {
    try {
      for (let e = await this.next(); e; e = await this.next()) yield e;
    } finally {
      await this.close();
    }
  }
}

/** The partition hash of a hash-key scan. */
export function scanHash(hashKey: Uint8Array): bigint {
  return crc64(hashKey);
}

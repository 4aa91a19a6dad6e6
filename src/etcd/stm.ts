// Software transactional memory over etcd transactions (the isolation levels of etcd's
// `concurrency` package): reads are recorded, writes buffered, and the commit is one txn whose
// compares fail when a read (or, for snapshots, a write) conflicts; the function then reruns.

import { base64Encode } from "./base64.ts";
import type { CallOptions } from "./channel.ts";
import { EtcdError } from "./errors.ts";
import {
  type Bytes,
  type KeyRange,
  type KeyValue,
  type RangeOptions,
  type RangeResult,
  text,
  toBytes,
} from "./kv.ts";
import type { Compare, TxnOp, TxnRequest, TxnResult } from "./txn.ts";

/** Isolation levels, strongest first (etcd's `concurrency` package). */
export const Isolation = {
  /** Reads at the revision of the first read; commit also fails if a written key changed since. */
  SerializableSnapshot: "SerializableSnapshot",
  /** Reads at the revision of the first read; commit fails if a read key changed. */
  Serializable: "Serializable",
  /** Each key is read once (later reads see the same value); commit fails if one changed. */
  RepeatableReads: "RepeatableReads",
  /** Reads see the latest committed values; commit never conflicts. */
  ReadCommitted: "ReadCommitted",
} as const;

/** The transaction a function of {@link runStm} reads and writes through. */
export interface Stm {
  /** The value of `key` as UTF-8 text (this transaction's own write first), or undefined. */
  get(key: Bytes): Promise<string | undefined>;
  /** The value of `key` as bytes (this transaction's own write first), or undefined. */
  getBytes(key: Bytes): Promise<Uint8Array | undefined>;
  /** Buffers a put of `key` (applied at commit). */
  put(key: Bytes, value: Bytes): void;
  /** Buffers a delete of `key` (applied at commit). */
  delete(key: Bytes): void;
}

/** Options of {@link runStm}. */
export interface StmOptions extends CallOptions {
  /** Default `SerializableSnapshot`. */
  isolation?: keyof typeof Isolation;
  /** Runs of the function before giving up with an `ABORTED` `EtcdError`. Default 16. */
  maxAttempts?: number;
}

/** What {@link runStm} returns. */
export interface StmResult<T> {
  /** What the function returned on the run that committed. */
  value: T;
  /** The store revision of the commit. */
  revision: bigint;
  /** Runs of the function (1 when nothing conflicted). */
  attempts: number;
}

/** The calls an STM needs: the client's reads and transactions (namespace applied). */
export interface StmBackend {
  /** A range read. */
  range(range: KeyRange, options: RangeOptions & CallOptions): Promise<RangeResult>;
  /** A transaction. */
  txn(txn: TxnRequest, options: CallOptions): Promise<TxnResult>;
}

/** Runs `apply` in a transaction until it commits without conflict (see {@link Isolation}). */
export async function runStm<T>(
  backend: StmBackend,
  apply: (stm: Stm) => Promise<T> | T,
  options: StmOptions = {},
): Promise<StmResult<T>> {
  const isolation = options.isolation ?? "SerializableSnapshot";
  if (!(isolation in Isolation)) throw new RangeError(`Unknown isolation ${String(isolation)}`);
  const maxAttempts = options.maxAttempts ?? 16;
  if (!(Number.isSafeInteger(maxAttempts) && maxAttempts > 0)) {
    throw new RangeError(`maxAttempts must be a positive integer, got ${maxAttempts}`);
  }
  const call: CallOptions = { timeout: options.timeout, signal: options.signal };
  for (let attempt = 1;; attempt++) {
    const run = new StmRun(backend, isolation, call);
    const value = await apply(run);
    const result = await backend.txn(run.commit(), call);
    if (result.succeeded) return { value, revision: result.revision, attempts: attempt };
    if (attempt >= maxAttempts) {
      throw new EtcdError(
        `The STM did not commit in ${maxAttempts} attempts: every commit conflicted`,
        10, // ABORTED
      );
    }
  }
}

/** One run of the function: its reads (key → revision seen) and buffered writes. */
class StmRun implements Stm {
  readonly #backend: StmBackend;
  readonly #isolation: keyof typeof Isolation;
  readonly #call: CallOptions;
  readonly #reads = new Map<string, { key: Uint8Array; kv?: KeyValue; revision: bigint }>();
  readonly #writes = new Map<string, { key: Uint8Array; value?: Uint8Array }>();
  #snapshot: bigint | undefined; // the revision of the first read (Serializable levels)

  constructor(backend: StmBackend, isolation: keyof typeof Isolation, call: CallOptions) {
    this.#backend = backend;
    this.#isolation = isolation;
    this.#call = call;
  }

  async get(key: Bytes): Promise<string | undefined> {
    const bytes = await this.getBytes(key);
    return bytes === undefined ? undefined : text(bytes);
  }

  async getBytes(key: Bytes): Promise<Uint8Array | undefined> {
    const k = toBytes(key, "key");
    const id = base64Encode(k);
    const written = this.#writes.get(id);
    if (written) return written.value;
    if (this.#isolation === "ReadCommitted") {
      return (await this.#backend.range({ key: k }, this.#call)).kvs[0]?.value;
    }
    const cached = this.#reads.get(id);
    if (cached) return cached.kv?.value;
    const serializable = this.#isolation !== "RepeatableReads";
    const at = serializable && this.#snapshot !== undefined
      ? { revision: this.#snapshot, serializable: true }
      : {};
    const { kvs: [kv], revision } = await this.#backend.range({ key: k }, { ...this.#call, ...at });
    this.#snapshot ??= revision;
    this.#reads.set(id, { key: k, kv, revision: at.revision ?? revision });
    return kv?.value;
  }

  put(key: Bytes, value: Bytes): void {
    const k = toBytes(key, "key");
    this.#writes.set(base64Encode(k), { key: k, value: toBytes(value) });
  }

  delete(key: Bytes): void {
    const k = toBytes(key, "key");
    this.#writes.set(base64Encode(k), { key: k });
  }

  /** The commit: compares of the isolation level, then the buffered writes. */
  commit(): TxnRequest {
    const compare: Compare[] = [];
    if (this.#isolation !== "ReadCommitted") {
      for (const { key, revision } of this.#reads.values()) {
        compare.push({ key, target: "modRevision", op: "<", value: revision + 1n });
      }
    }
    if (this.#isolation === "SerializableSnapshot" && this.#snapshot !== undefined) {
      for (const { key } of this.#writes.values()) {
        compare.push({ key, target: "modRevision", op: "<", value: this.#snapshot + 1n });
      }
    }
    const success: TxnOp[] = [...this.#writes.values()].map(({ key, value }) =>
      value === undefined ? { delete: { key } } : { put: { key, value } }
    );
    return { compare, success };
  }
}

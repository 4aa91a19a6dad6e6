// Read coalescing for the v3 gateway (DataLoader-style): range reads made in the same microtask
// turn go out as one read-only Txn (etcdserverpb TxnRequest without compares), which etcd serves
// as a single read without going through raft. One HTTP request instead of many.

import { RemoteProtocolError, TimeoutError } from "../core/errors.ts";
import type { Decode, EtcdChannel } from "./channel.ts";
import { expectKind } from "./kv.ts";

/** The most operations etcd accepts in one txn by default (its `--max-txn-ops`). */
const MAX_TXN_OPS = 128;

type Json = Record<string, unknown>;

interface PendingRead {
  /** The RangeRequest JSON, keys already namespaced. */
  request: Json;
  /** Decodes its RangeResponse (and checks it answers this request). */
  decode: Decode<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Settings of a {@link ReadCoalescer}. */
export interface ReadCoalescerOptions {
  /** Deadline of one read in milliseconds, the batch and its fallback included. Default 30,000. */
  requestTimeout?: number;
  /** Most ranges in one txn. Default 128, etcd's default `--max-txn-ops`. */
  maxOps?: number;
}

/**
 * Batches range reads into read-only transactions.
 *
 * Theory of operation: {@link range} queues a RangeRequest in one of two queues, linearizable
 * or serializable (etcd serves a read-only txn as a serializable read only when every range in
 * it is serializable), and schedules one flush per microtask turn. The flush cuts each queue
 * into chunks of at most `maxOps`. A chunk of one is sent as a plain `/v3/kv/range`; a larger
 * one as `/v3/kv/txn` with `success: [{request_range}, ...]`, and read `i` is answered with
 * `responses[i].response_range` under the txn's header — what the plain range would have
 * answered, at one revision for the whole chunk — decoded by read `i`'s own decoder inside the
 * txn's (a malformed or misattributed answer fails the txn). When the txn fails for any reason (one key
 * the user may not read, a compacted revision in one range, a request too large, a timeout),
 * each read of the chunk is sent again on its own within what is left of its deadline: reads
 * are idempotent, and so each caller gets exactly its own answer or its own error. Invariant:
 * every queued read settles exactly once.
 *
 * @example
 * ```ts
 * import { EtcdClient } from "@kvwire/kvwire/etcd";
 * await using etcd = new EtcdClient({ endpoints: ["127.0.0.1:2379"] }); // coalesceReads: true
 * // One HTTP request (a read-only txn) carries both reads.
 * const [a, b] = await Promise.all([etcd.get("a"), etcd.get("b")]);
 * ```
 */
export class ReadCoalescer {
  readonly #channel: EtcdChannel;
  readonly #timeout: number;
  readonly #maxOps: number;
  /** Reads waiting for the flush: [linearizable, serializable]. */
  #queues: [PendingRead[], PendingRead[]] = [[], []];
  #scheduled = false;

  /** Creates a coalescer sending through `channel`. */
  constructor(channel: EtcdChannel, options: ReadCoalescerOptions = {}) {
    this.#channel = channel;
    this.#timeout = options.requestTimeout ?? 30_000;
    this.#maxOps = Math.max(1, options.maxOps ?? MAX_TXN_OPS);
  }

  /**
   * Queues a RangeRequest (gateway JSON) for the next flush and resolves with its
   * RangeResponse JSON passed through `decode` (e.g. `rangeResult`).
   */
  range<T>(request: Json, decode: Decode<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const read: PendingRead = {
        request,
        decode,
        resolve: resolve as (v: unknown) => void,
        reject,
      };
      this.#queues[request.serializable === true ? 1 : 0].push(read);
      if (this.#scheduled) return;
      this.#scheduled = true;
      queueMicrotask(() => this.#flush());
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const queues = this.#queues;
    this.#queues = [[], []];
    for (const queue of queues) {
      for (let i = 0; i < queue.length; i += this.#maxOps) {
        void this.#send(queue.slice(i, i + this.#maxOps));
      }
    }
  }

  async #send(reads: PendingRead[]): Promise<void> {
    if (reads.length === 1) return this.#sendAlone(reads[0], this.#timeout);
    const deadline = Date.now() + this.#timeout;
    let answers: unknown[];
    try {
      answers = await this.#channel.call(
        "/v3/kv/txn",
        { success: reads.map((read) => ({ request_range: read.request })) },
        { idempotent: true, timeout: this.#timeout },
        (json) => rangeResponses(json, reads.length).map((r, i) => reads[i].decode(r)),
        { operation: "Range", batchSize: reads.length },
      );
    } catch (error) {
      const left = deadline - Date.now();
      for (const read of reads) {
        if (left > 0) this.#sendAlone(read, left);
        else read.reject(timedOut(this.#timeout, error));
      }
      return;
    }
    for (let i = 0; i < reads.length; i++) reads[i].resolve(answers[i]);
  }

  #sendAlone(read: PendingRead, timeout: number): void {
    this.#channel.call("/v3/kv/range", read.request, { idempotent: true, timeout }, read.decode)
      .then(read.resolve, read.reject);
  }
}

/** The `n` RangeResponses of a read-only TxnResponse, each under the txn's header. */
function rangeResponses(json: Json, n: number): Json[] {
  expectKind(json, "txn");
  const responses = json.responses;
  if (json.succeeded !== true || !Array.isArray(responses) || responses.length !== n) {
    throw new RemoteProtocolError(
      `etcd answered a txn of ${n} ranges with ${JSON.stringify(json)}`,
    );
  }
  return responses.map((r: { response_range?: Json }) => {
    if (typeof r?.response_range !== "object" || r.response_range === null) {
      throw new RemoteProtocolError(`etcd answered a range in a txn with ${JSON.stringify(r)}`);
    }
    return { ...r.response_range, header: json.header };
  });
}

/** A caller's own error for a batch that failed once its deadline had passed. */
function timedOut(timeout: number, cause: unknown): TimeoutError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new TimeoutError(`/v3/kv/range did not succeed within ${timeout} ms: ${message}`, {
    cause,
    sent: true,
  });
}

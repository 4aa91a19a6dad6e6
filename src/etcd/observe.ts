// Election observation (etcd's Election.Observe) over a prefix watch of the election's keys
// `<name>/…`: the candidate key with the lowest create revision is the leader.

import type { Operation } from "../core/instrument.ts";
import { StreamQueue } from "../core/stream_queue.ts";
import { base64Encode } from "./base64.ts";
import type { EtcdChannel } from "./channel.ts";
import { EtcdCompactedError } from "./errors.ts";
import { Keys, type KeyValue, rangeRequest, rangeResult } from "./kv.ts";
import type { Leader } from "./lock.ts";
import { Watcher, type WatchRestart } from "./watch.ts";

/** Options of {@link Election.observe}. */
export interface ObserveOptions {
  /**
   * Called each time the observation restarts: its watch was re-established (as
   * `WatchOptions.onRestart`), or the history it needed was compacted and the candidates
   * are read again (`reason` is then an `EtcdCompactedError`). An exception thrown here
   * ends the observation with that error.
   */
  onRestart?: (restart: WatchRestart) => void;
  /** Leader changes buffered before the watch stops being read. Default 1024. */
  highWaterMark?: number;
  /** Ends the observation. */
  signal?: AbortSignal;
}

const RAW = new Keys();

/**
 * A running observation of an election: an async iterable of leaders. It yields the current
 * leader, then every change of leader or of the leader's value (a proclaim), never the same
 * one twice; it stays silent while nobody leads.
 *
 * Theory of operation: the candidates are read with one range at revision R, then followed
 * with a {@link Watcher} on the election's prefix from R + 1, so no change is missed; after
 * each event the leader is the candidate with the lowest create revision. The watch resumes
 * after reconnects and failover and renews an expired token; if the history it needs was
 * compacted the candidates are read again. Other errors (the first read failing within the
 * request timeout, the server cancelling the watch) end the iteration with that error. Every
 * restart is reported to `onRestart`.
 *
 * @example
 * ```ts
 * import { EtcdClient, text } from "@kvwire/kvwire/etcd";
 * await using etcd = new EtcdClient();
 * const election = etcd.election("scheduler");
 * await using observer = election.observe();
 * await using term = await election.campaign("node-1");
 * for await (const leader of observer) {
 *   console.log(text(leader.value)); // "node-1"
 *   break;
 * }
 * ```
 */
export class ElectionObserver implements AsyncIterableIterator<Leader> {
  readonly #queue: StreamQueue<Leader>;
  readonly #channel: EtcdChannel;
  readonly #name: Uint8Array;
  readonly #options: ObserveOptions;
  #watcher: Watcher | undefined;
  #last = ""; // identity (key and mod revision) of the leader yielded last
  #closed = false;
  #drained: (() => void) | undefined;
  #reconnects = 0;
  #unhook: () => void = () => {};
  /** The `Observe` stream operation, ended with the observation. */
  readonly #op: Operation | undefined;

  /** Starts observing at once. Prefer `Election.observe`. */
  constructor(channel: EtcdChannel, name: Uint8Array, options: ObserveOptions = {}) {
    this.#op = channel.startOperation("Observe", "stream");
    this.#channel = channel;
    this.#name = name;
    this.#options = options;
    this.#queue = new StreamQueue<Leader>({
      highWaterMark: options.highWaterMark,
      onDrain: () => this.#drained?.(),
      onCancel: () => this.close(),
    });
    options.signal?.addEventListener("abort", () => this.close(), { once: true });
    this.#unhook = channel.onClose(() => this.close());
    this.#run().catch((error) => this.#fail(error));
  }

  /** How many times the watch underneath was re-established (reconnects, resyncs). */
  get reconnects(): number {
    return this.#reconnects + (this.#watcher?.reconnects ?? 0);
  }

  /** Stops observing; iteration ends after the buffered leaders. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#channel.endOperation(this.#op);
    this.#unhook();
    this.#watcher?.close();
    this.#queue.end();
    this.#drained?.();
  }

  /** Waits for the next leader change. */
  next(): Promise<IteratorResult<Leader>> {
    return this.#queue.next();
  }

  /** Stops observing and ends iteration. */
  return(): Promise<IteratorResult<Leader>> {
    this.close();
    return this.#queue.return();
  }

  /** Returns itself: an observer is iterated once. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Stops observing at the end of an `await using` scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  #fail(error: unknown): void {
    if (this.#closed) return;
    if (this.#channel.isClosed) return this.close();
    this.#closed = true;
    this.#channel.endOperation(this.#op, error);
    this.#unhook();
    this.#watcher?.close();
    this.#queue.end(error);
  }

  async #run(): Promise<void> {
    const prefix = new Uint8Array(this.#name.length + 1);
    prefix.set(this.#name);
    prefix[this.#name.length] = 0x2f; // "/": etcd's election keys are <name>/<lease id>
    const range = { key: prefix, prefix: true };
    let compacted: Error | undefined;
    while (!this.#closed) {
      if (compacted !== undefined) {
        this.#reconnects++;
        const events = this.#channel.events;
        if (events.has("watchRestart")) {
          events.emit("watchRestart", { reason: compacted, attempt: this.reconnects });
        }
        this.#options.onRestart?.({
          reason: compacted,
          revision: undefined,
          attempt: this.reconnects,
        });
      }
      const request = rangeRequest(RAW, range);
      const state = await this.#channel.call("/v3/kv/range", request, {
        idempotent: true,
        signal: this.#options.signal,
      }, (json) => rangeResult(RAW, json, request));
      const candidates = new Map<string, KeyValue>();
      for (const kv of state.kvs) candidates.set(base64Encode(kv.key), kv);
      if (this.#closed) return;
      this.#publish(candidates);
      const watcher = new Watcher(this.#channel, RAW, range, {
        startRevision: state.revision + 1n,
        signal: this.#options.signal,
        onRestart: this.#options.onRestart === undefined
          ? undefined
          : (restart) => this.#options.onRestart?.({ ...restart, attempt: this.reconnects }),
      }, this.#op ?? null);
      this.#watcher = watcher;
      if (this.#closed) return watcher.close();
      try {
        for await (const event of watcher) {
          const id = base64Encode(event.kv.key);
          if (event.type === "put") candidates.set(id, event.kv);
          else candidates.delete(id);
          this.#publish(candidates);
          while (this.#queue.size >= (this.#options.highWaterMark ?? 1024) && !this.#closed) {
            await new Promise<void>((resolve) => (this.#drained = resolve));
          }
          if (this.#closed) return;
        }
        return this.close(); // the watch ended: closed here, by the signal or with the client
      } catch (error) {
        if (!(error instanceof EtcdCompactedError)) throw error;
        compacted = error;
      } finally {
        watcher.close();
        this.#reconnects += watcher.reconnects;
        this.#watcher = undefined;
      }
    }
  }

  /** Queues the leader among `candidates` if it differs from the one queued last. */
  #publish(candidates: Map<string, KeyValue>): void {
    let leader: KeyValue | undefined;
    for (const kv of candidates.values()) {
      if (!leader || kv.createRevision < leader.createRevision) leader = kv;
    }
    if (!leader) return;
    const id = `${base64Encode(leader.key)} ${leader.modRevision}`;
    if (id === this.#last) return;
    this.#last = id;
    this.#queue.push({
      key: { name: this.#name, key: leader.key, rev: leader.createRevision, lease: leader.lease },
      value: leader.value,
      modRevision: leader.modRevision,
    });
  }
}

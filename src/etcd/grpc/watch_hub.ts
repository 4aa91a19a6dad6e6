// Every watch of a client on ONE `/etcdserverpb.Watch/Watch` bidi stream (rpc.proto): creates
// matched to their `created` replies in order, cancel by watch id, progress requests, fragment
// reassembly, and re-creation of every live watch from its next revision when the stream is lost.

import { Backoff } from "../../core/backoff.ts";
import { utf8Decode } from "../../core/bytes.ts";
import { FifoTable } from "../../core/correlation.ts";
import { ConnectionClosedError, RemoteProtocolError } from "../../core/errors.ts";
import { GrpcError } from "../../grpc/status.ts";
import { base64Decode } from "../base64.ts";
import { EtcdError, watchCancelError } from "../errors.ts";
import { type KeyRange, type Keys, type KeyValue, Within } from "../kv.ts";
import * as M from "../proto/messages.ts";
import { encodeProto } from "../proto/wire.ts";
import { decodeWatchResponse } from "../proto/watch_response.ts";
import { sleep } from "../wait.ts";
import type { WatchEvent } from "../watch.ts";
import { HubWatch } from "./hub_watch.ts";
import { Entry, type EntryOwner, type HubWatchOptions, type WatchReport } from "./watch_entry.ts";
import { type BidiStream, isRetryableStreamError, type OpenBidi } from "./bidi.ts";

export type { HubWatchOptions, WatchReport } from "./watch_entry.ts";

/** Options of a {@link WatchHub}. */
export interface WatchHubOptions {
  /** Opens the Watch stream (on the channel's current endpoint, failing over). */
  open: OpenBidi;
  /** Maps the stored keys of events back to user keys (a namespace). */
  keys: Keys;
  /** Largest total size of the fragments of one response. Default 64 MiB. */
  maxFragmentBytes?: number;
  /**
   * With auth: called when etcd refuses the stream's token (a create cancelled with
   * "code = Unauthenticated", or the stream ending UNAUTHENTICATED). It resolves true once a
   * new token was fetched: the stream is then reopened at once and every watch created again.
   * A new token refused again before any watch was created ends every watch with the refusal;
   * without this option (or when it resolves false) the refused watch ends with it.
   */
  renewToken?: (refusal: Error) => Promise<boolean>;
  /** Maps the error that ends every watch (such as a status to the client's error). */
  fatal?: (error: unknown) => unknown;
}

interface ProgressWaiter {
  resolve: (revision: bigint) => void;
  reject: (error: unknown) => void;
}

/**
 * Multiplexes watches over one Watch stream.
 *
 * Theory of operation. The stream is opened with the first watch and closed as soon as the
 * last one stops (no idle period). Each watch sends a `WatchCreateRequest`; etcd answers
 * creates in the order it received them, so the `created` replies are matched first in,
 * first out (this works whether or not the server honours client-chosen ids) and give the
 * server's watch id; later responses are routed by that id. A response for an id no watch
 * owns (other than one being cancelled) is a `RemoteProtocolError`, as is a malformed
 * message or an event key outside the watch's range: the stream is dropped and reopened.
 * Responses marked `fragment` are collected and delivered as one when the last arrives.
 * `compact_revision` ends that watch with `EtcdCompactedError`, a server cancel with
 * `EtcdError` (the errors of the gateway watcher). When the stream ends for any other reason
 * it is reopened through `open` (which fails over) after a backoff, and every live watch is
 * created again from its next revision (last delivered + 1): events already delivered are
 * dropped, so each is seen once and in order. A stream status that retrying cannot fix
 * (PERMISSION_DENIED, INVALID_ARGUMENT, ...) ends every watch with it.
 *
 * Backpressure: a watch whose queue reaches its `highWaterMark` (default 1024) is cancelled
 * on the server and its further events dropped (they are past its next revision); when the
 * consumer has drained it to half, it is created again from its next revision. A slow
 * consumer thus holds at most `highWaterMark` events plus one response, never stalls the
 * other watches, and loses nothing (unless that history is compacted meanwhile: then it ends
 * with `EtcdCompactedError`, as after a long disconnect).
 *
 * @example
 * ```ts
 * import { WatchHub } from "./watch_hub.ts";
 * import { Keys } from "../kv.ts";
 * import type { OpenBidi } from "./bidi.ts";
 * declare const open: OpenBidi;
 * const hub = new WatchHub({ open, keys: new Keys() });
 * const watcher = hub.watch({ key: "jobs/", prefix: true });
 * for await (const event of watcher) console.log(event.type, event.kv.modRevision);
 * ```
 */
export class WatchHub {
  readonly #open: OpenBidi;
  readonly #keys: Keys;
  readonly #maxFragmentBytes: number;
  readonly #renewToken: ((refusal: Error) => Promise<boolean>) | undefined;
  readonly #fatal: (error: unknown) => unknown;
  /** A token was renewed since a watch was last created. */
  #reauthed = false;
  readonly #entries = new Set<Entry>();
  readonly #owner: EntryOwner = {
    resume: (entry) => this.#resume(entry),
    stop: (entry) => this.#stop(entry),
  };
  #byId = new Map<bigint, Entry>();
  #cancelling = new Set<bigint>();
  #creating = new FifoTable<Entry>();
  #progress = new FifoTable<ProgressWaiter>();
  #stream: BidiStream | undefined;
  #running = false;
  #closed = false;
  #abort = new AbortController();
  #streams = 0;

  /** Creates a hub; nothing is opened before the first watch. */
  constructor(options: WatchHubOptions) {
    this.#open = options.open;
    this.#keys = options.keys;
    this.#maxFragmentBytes = options.maxFragmentBytes ?? 64 * 1024 * 1024;
    this.#renewToken = options.renewToken;
    this.#fatal = options.fatal ?? ((error) => error);
  }

  /** Live watches. */
  get size(): number {
    return this.#entries.size;
  }

  /** Watch streams opened so far (1 while no stream was lost). */
  get streamsOpened(): number {
    return this.#streams;
  }

  /** Starts a watch of `range`, told to `report`; it is created on the shared stream at once. */
  watch(range: KeyRange, options: HubWatchOptions = {}, report?: WatchReport): HubWatch {
    if (this.#closed) throw new ConnectionClosedError("The watch hub is closed");
    const json = this.#keys.range(range);
    const create: M.WatchCreateRequestMsg = { key: base64Decode(json.key) };
    if (json.range_end !== undefined) create.rangeEnd = base64Decode(json.range_end);
    if (options.prevKv) create.prevKv = true;
    if (options.progressNotify) create.progressNotify = true;
    if (options.fragment) create.fragment = true;
    if (options.filters?.length) create.filters = options.filters.map((f) => f === "noPut" ? 0 : 1);
    const entry = new Entry(this.#owner, options, report, create);
    const watch = new HubWatch(entry);
    this.#entries.add(entry);
    if (options.signal?.aborted) this.#stop(entry);
    options.signal?.addEventListener("abort", () => this.#stop(entry), { once: true });
    if (this.#stream) this.#sendCreate(entry);
    else if (!this.#running) this.#start();
    return watch;
  }

  /**
   * Asks the server for a progress notification on the stream and resolves with the store
   * revision it reports. It does not advance any watch's next revision: etcd 3.4 answers it
   * from its control channel, which may overtake events still buffered for a watch.
   */
  requestProgress(): Promise<bigint> {
    const stream = this.#stream;
    if (!stream) return Promise.reject(new ConnectionClosedError("No watch stream is open"));
    return new Promise((resolve, reject) => {
      this.#progress.push({ resolve, reject });
      stream.write(encodeProto(M.WatchRequest, { progressRequest: {} }));
    });
  }

  /** Ends every watch (their iteration ends after the buffered events) and the stream. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const entry of [...this.#entries]) this.#stop(entry);
    this.#abort.abort();
  }

  #start(): void {
    this.#running = true;
    this.#run().catch((error) => this.#failAll(this.#fatal(error))).finally(() => {
      this.#running = false;
      if (this.#entries.size > 0 && !this.#closed) this.#start();
    });
  }

  async #run(): Promise<void> {
    const backoff = new Backoff({ initialDelay: 50, maxDelay: 2000 });
    let reason: Error | undefined;
    let now = false; // reopen without waiting: a new token was just fetched
    while (this.#entries.size > 0 && !this.#closed) {
      if (reason !== undefined) {
        for (const entry of [...this.#entries]) this.#restarted(entry, reason);
        if (!now) await sleep(backoff.next(), this.#abort.signal);
        now = false;
        if (this.#entries.size === 0 || this.#closed) return;
      }
      let stream: BidiStream;
      try {
        stream = await this.#open(M.Method.Watch, { signal: this.#abort.signal });
      } catch (error) {
        if (this.#closed || this.#entries.size === 0) return;
        if (!isRetryableStreamError(error)) throw error;
        reason = error as Error;
        continue;
      }
      if (this.#entries.size === 0 || this.#closed) return stream.close();
      this.#streams++;
      this.#stream = stream;
      reason = undefined;
      try {
        for (const entry of this.#entries) if (!entry.suspended) this.#sendCreate(entry);
        for await (const message of stream.items) {
          this.#receive(message);
          backoff.reset();
        }
        // Closed here once the last watch stopped (then a new watch reopens it at once).
        if (this.#stream === stream) reason = new ConnectionClosedError("The watch stream ended");
      } catch (error) {
        const refused = error instanceof TokenRefused
          ? error
          : error instanceof GrpcError && error.status === "UNAUTHENTICATED"
          ? new TokenRefused(error, undefined)
          : undefined;
        if (refused) {
          stream.close();
          reason = refused.error;
          now = await this.#reauth(refused);
        } else if (!isRetryableStreamError(error)) throw error;
        else reason = error as Error;
      } finally {
        this.#endStream(stream, reason);
      }
    }
  }

  /** Forgets the stream's per-stream state; live watches are created again on the next. */
  #endStream(stream: BidiStream, reason: Error | undefined): void {
    stream.close();
    if (this.#stream === stream) this.#stream = undefined;
    for (const entry of this.#entries) {
      entry.id = undefined;
      entry.fragments = undefined;
      entry.fragmentBytes = 0;
    }
    this.#byId = new Map();
    this.#cancelling = new Set();
    this.#creating = new FifoTable<Entry>();
    const lost = reason ?? new ConnectionClosedError("The watch stream was closed");
    for (let w = this.#progress.shift(); w; w = this.#progress.shift()) w.reject(lost);
  }

  /** After a token refusal: true when a new token was fetched (reopen at once). */
  async #reauth(refused: TokenRefused): Promise<boolean> {
    if (this.#renewToken) {
      if (this.#reauthed) throw refused.error; // a fresh token was refused too: all end
      this.#reauthed = true;
      try {
        if (await this.#renewToken(refused.error)) return true;
      } catch (error) {
        if (!isRetryableStreamError(error)) throw error;
        this.#reauthed = false; // no token yet: try again on the next stream
        return false;
      }
    }
    if (refused.entry === undefined) throw refused.error;
    this.#stop(refused.entry, refused.error);
    return false;
  }

  #restarted(entry: Entry, reason: Error): void {
    entry.reconnects++;
    try {
      const restart = { reason, revision: entry.next, attempt: entry.reconnects };
      entry.report?.restarting(restart);
      entry.options.onRestart?.(restart);
    } catch (error) {
      this.#stop(entry, error);
    }
  }

  #sendCreate(entry: Entry): void {
    const create = entry.next === undefined
      ? entry.create
      : { ...entry.create, startRevision: entry.next };
    this.#creating.push(entry);
    this.#stream!.write(encodeProto(M.WatchRequest, { createRequest: create }));
  }

  #sendCancel(id: bigint): void {
    this.#cancelling.add(id);
    this.#stream?.write(encodeProto(M.WatchRequest, { cancelRequest: { watchId: id } }));
  }

  /** Stops a watch: cancels it on the server, or closes the stream when it was the last. */
  #stop(entry: Entry, error?: unknown): void {
    if (!this.#entries.delete(entry)) return;
    entry.queue.end(error);
    entry.rejectCreated(error ?? new EtcdError("The watch was closed before it was created", 1));
    entry.report?.ended(error);
    this.#detach(entry);
    if (this.#entries.size === 0) {
      const stream = this.#stream;
      this.#stream = undefined; // a watch from now on waits for the next stream
      stream?.close();
      this.#abort.abort();
      this.#abort = new AbortController();
    }
  }

  /** Takes the entry off the current stream (cancelling its server watch). */
  #detach(entry: Entry): void {
    if (entry.id !== undefined) {
      this.#byId.delete(entry.id);
      if (this.#entries.size > 0) this.#sendCancel(entry.id);
      entry.id = undefined;
    }
    entry.fragments = undefined;
    entry.fragmentBytes = 0;
  }

  #failAll(error: unknown): void {
    for (const entry of [...this.#entries]) this.#stop(entry, error);
  }

  /** The consumer drained a suspended watch: create it again from its next revision. */
  #resume(entry: Entry): void {
    if (!entry.suspended || !this.#entries.has(entry)) return;
    entry.suspended = false;
    if (this.#stream) this.#sendCreate(entry);
  }

  #receive(message: Uint8Array): void {
    const r = decodeWatchResponse(message);
    const revision = r.header?.revision ?? 0n;
    if (r.created) return this.#created(r, revision);
    if (r.watchId === -1n && !r.canceled && r.events.length === 0) {
      const waiter = this.#progress.shift();
      if (!waiter) throw new RemoteProtocolError("etcd sent a progress response nobody asked for");
      waiter.resolve(revision);
      return;
    }
    const entry = this.#byId.get(r.watchId);
    if (!entry) {
      if (this.#cancelling.has(r.watchId)) {
        if (r.canceled) this.#cancelling.delete(r.watchId);
        return;
      }
      throw new RemoteProtocolError(`etcd sent a response for watch ${r.watchId}, not open`);
    }
    if (r.canceled || r.compactRevision > 0n) {
      this.#byId.delete(r.watchId);
      entry.id = undefined;
      const error = watchCancelError(r.compactRevision, r.cancelReason);
      if (error.grpcCode === 16) throw new TokenRefused(error, entry);
      return this.#stop(entry, error);
    }
    if (r.fragment) {
      entry.fragmentBytes += message.length;
      if (entry.fragmentBytes > this.#maxFragmentBytes) {
        return this.#stop(
          entry,
          new RemoteProtocolError(
            `Watch response fragments exceed ${this.#maxFragmentBytes} bytes`,
            { sent: true },
          ),
        );
      }
      entry.fragments ??= [];
      for (const e of r.events) entry.fragments.push(e);
      return;
    }
    const events = entry.fragments ? [...entry.fragments, ...r.events] : r.events;
    entry.fragments = undefined;
    entry.fragmentBytes = 0;
    if (events.length === 0) return this.#progressed(entry, revision);
    this.#deliver(entry, events);
  }

  #created(r: M.WatchResponseMsg, revision: bigint): void {
    const entry = this.#creating.shift();
    if (!entry) throw new RemoteProtocolError("etcd confirmed a watch nobody created");
    // A watch stops or is suspended only while it has a server id, or before its reply.
    const live = this.#entries.has(entry) && !entry.suspended;
    if (r.canceled) {
      if (!live) return;
      const error = watchCancelError(r.compactRevision, r.cancelReason);
      if (error.grpcCode === 16) throw new TokenRefused(error, entry);
      return this.#stop(entry, error);
    }
    if (!live) return this.#sendCancel(r.watchId);
    if (this.#byId.has(r.watchId)) {
      throw new RemoteProtocolError(`etcd created watch ${r.watchId} twice on one stream`);
    }
    this.#reauthed = false;
    entry.id = r.watchId;
    this.#byId.set(r.watchId, entry);
    entry.next ??= revision + 1n;
    entry.resolveCreated(entry.next - 1n);
    entry.report?.created(this.#stream!.endpoint, entry.reconnects);
  }

  #progressed(entry: Entry, revision: bigint): void {
    if (entry.next !== undefined && revision + 1n > entry.next) entry.next = revision + 1n;
    try {
      entry.options.onProgress?.(revision);
    } catch (error) {
      this.#stop(entry, error);
    }
  }

  #deliver(entry: Entry, events: M.EventMsg[]): void {
    // Every event is checked before any is delivered: a bad one drops the stream, and the
    // watch is created again from the same next revision.
    const converted: WatchEvent[] = [];
    const next = entry.next;
    for (const e of events) {
      const kv = this.#kv(e.kv, entry.within);
      if (next !== undefined && kv.modRevision < next) continue; // seen already
      const type = e.type === 1 ? "delete" : "put";
      converted.push(e.prevKv ? { type, kv, prevKv: this.#kv(e.prevKv) } : { type, kv });
    }
    let open = true;
    for (const event of converted) open = entry.queue.push(event) && open;
    const last = events[events.length - 1].kv!.modRevision;
    if (entry.next === undefined || last + 1n > entry.next) entry.next = last + 1n;
    if (!open && entry.queue.size > 0) {
      entry.suspended = true;
      this.#detach(entry);
    }
  }

  /**
   * A KeyValue of an event: the decoded message itself, its key stripped of the namespace;
   * with `within`, a key outside the watched range is refused.
   */
  #kv(msg: M.KeyValueMsg | undefined, within?: Within): KeyValue {
    if (!msg) throw new RemoteProtocolError("etcd sent a watch event without a key-value");
    if (within && !within.has(msg.key)) {
      throw new RemoteProtocolError(
        `etcd sent an event for key ${JSON.stringify(utf8Decode(msg.key))} ` +
          "outside the watched range",
        { sent: true },
      );
    }
    msg.key = this.#keys.strip(msg.key);
    return msg;
  }
}

/** The server refused the stream's token (for `entry`'s create, when known). */
class TokenRefused extends Error {
  constructor(readonly error: Error, readonly entry: Entry | undefined) {
    super(error.message);
  }
}

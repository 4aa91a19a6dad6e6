// v3 watch over a channel's /v3/watch stream (one JSON WatchResponse per line: the gateway's
// streamed answer on a dedicated connection, or a gRPC Watch call of its own), resumed after
// reconnects and failover from the last revision seen, with a new auth token when the server
// refuses the one the stream was opened with; and the surface every watch shares.

import { Backoff } from "../core/backoff.ts";
import { ConnectionClosedError } from "../core/errors.ts";
import type { Operation } from "../core/instrument.ts";
import { StreamQueue } from "../core/stream_queue.ts";
import type { EtcdChannel } from "./channel.ts";
import { invalidAnswer, parseJson } from "./answer.ts";
import { sleep } from "./wait.ts";
import { EtcdError, etcdErrorFromJson, watchCancelError } from "./errors.ts";
import {
  headerRevision,
  int,
  type JsonKv,
  type KeyRange,
  type Keys,
  type KeyValue,
  list,
  Within,
} from "./kv.ts";

/** Options of a watch. */
export interface WatchOptions {
  /** First revision to report (older history must not be compacted). Default: now. */
  startRevision?: bigint;
  /** Attach the previous key-value to each event. */
  prevKv?: boolean;
  /** Leave out put or delete events. */
  filters?: ("noPut" | "noDelete")[];
  /** Ask the server for periodic progress notifications (they advance `nextRevision`). */
  progressNotify?: boolean;
  /**
   * Called with the store revision of each progress notification: every change up to that
   * revision has been delivered to the watcher's queue. Needs `progressNotify` (the server's
   * interval is `--experimental-watch-progress-notify-interval`, 10 minutes by default). An
   * exception thrown here ends the watch with that error.
   *
   * @example
   * ```ts
   * import { EtcdClient } from "@kvwire/kvwire/etcd";
   * await using etcd = new EtcdClient();
   * await using watcher = etcd.watch("quiet", {
   *   progressNotify: true,
   *   onProgress: (revision) => console.log("up to date at", revision),
   * });
   * ```
   */
  onProgress?: (revision: bigint) => void;
  /**
   * Called each time the watch is about to be re-established after its stream was lost
   * (connection dropped or unresponsive, endpoint failover, a malformed message, a refused
   * token), with the reason and the revision it resumes from: events are neither lost nor
   * repeated, but this is how a consumer learns that a restart happened (e.g. to log it, or
   * to treat the gap in time as suspicious). An exception thrown here ends the watch with
   * that error.
   *
   * @example
   * ```ts
   * import { EtcdClient } from "@kvwire/kvwire/etcd";
   * await using etcd = new EtcdClient();
   * await using watcher = etcd.watch("jobs/", {
   *   prefix: true,
   *   onRestart: ({ reason, revision }) => console.log("watch resumes at", revision, reason),
   * });
   * ```
   */
  onRestart?: (restart: WatchRestart) => void;
  /** Events buffered before the connection stops being read. Default 1024. */
  highWaterMark?: number;
  /** Ends the watch. */
  signal?: AbortSignal;
}

/** What {@link WatchOptions.onRestart} is told. */
export interface WatchRestart {
  /** Why the previous stream ended (or could not be opened). */
  reason: Error;
  /** The revision the new stream starts at; undefined when the watch was never created. */
  revision: bigint | undefined;
  /** Restarts so far, this one included (the same as `Watcher.reconnects` afterwards). */
  attempt: number;
}

/** One change. */
export interface WatchEvent {
  /** Whether the key was put or deleted. */
  type: "put" | "delete";
  /** The key-value after the change (only the key and revision for a delete). */
  kv: KeyValue;
  /** The key-value before the change, when the watch asked for it. */
  prevKv?: KeyValue;
}

/**
 * What `EtcdClient.watch` returns on either protocol (a {@link Watcher} on the gateway, a
 * watch of the client's one shared Watch stream on gRPC): an async iterable of events, each
 * seen once and in order across reconnects.
 *
 * @example
 * ```ts
 * import { EtcdClient, type WatchStream } from "@kvwire/kvwire/etcd";
 * async function firstChange(watch: WatchStream) {
 *   for await (const event of watch) return event;
 * }
 * await using etcd = new EtcdClient();
 * await using watch = etcd.watch("k");
 * await watch.created;
 * ```
 */
export interface WatchStream extends AsyncIterableIterator<WatchEvent>, AsyncDisposable {
  /** Resolves with the revision the watch started after, once the server confirmed it. */
  readonly created: Promise<bigint>;
  /** The next revision the watch will report (last delivered + 1). */
  readonly nextRevision: bigint | undefined;
  /** How many times the watch was re-established. */
  readonly reconnects: number;
  /** Stops the watch; iteration ends after the buffered events. */
  close(): void;
  /** Stops the watch and ends iteration. */
  return(): Promise<IteratorResult<WatchEvent>>;
}

/**
 * A running watch: an async iterable of events. It reconnects (to another endpoint when
 * needed) and resumes at the revision after the last one delivered, dropping any event it
 * already delivered, so consumers see every change exactly once and in order. It ends with
 * `EtcdCompactedError` when the revision to resume from was compacted, and with
 * `EtcdError` when the server cancels it. With `auth`, a watch (or its resumption) refused
 * because the token is invalid or expired fetches a new token once and tries again. Each
 * restart is reported to `onRestart` (see {@link WatchOptions.onRestart}); a malformed
 * message, or an event for a key outside the watched range, is a `RemoteProtocolError`
 * that drops the stream and restarts it.
 *
 * @example
 * ```ts
 * import { EtcdClient } from "@kvwire/kvwire/etcd";
 * await using etcd = new EtcdClient();
 * await using watcher = etcd.watch("k");
 * await watcher.created;
 * await etcd.put("k", "v");
 * for await (const event of watcher) {
 *   console.log(event.type, new TextDecoder().decode(event.kv.value)); // put v
 *   break;
 * }
 * ```
 */
export class Watcher implements WatchStream {
  /** Resolves with the revision the watch started after, once the server confirmed it. */
  readonly created: Promise<bigint>;
  readonly #queue: StreamQueue<WatchEvent>;
  readonly #channel: EtcdChannel;
  readonly #keys: Keys;
  readonly #range: KeyRange;
  readonly #options: WatchOptions;
  #next: bigint | undefined;
  #resolveCreated!: (revision: bigint) => void;
  #rejectCreated!: (error: unknown) => void;
  #closed = false;
  #closeStream: (() => void) | undefined;
  #drained: (() => void) | undefined;
  #reconnects = 0;
  #reauthed = false; // a token was renewed for this watch since it was last created
  #unhook: () => void = () => {};
  #within: Within | undefined;
  /** The `Watch` stream operation (ended with the watch), when this watcher owns it. */
  readonly #op: Operation | undefined;
  readonly #ownsOp: boolean;
  /** `host:port` of the endpoint of the latest stream. */
  #endpoint: string | undefined;

  /**
   * Starts watching at once. Prefer `EtcdClient.watch`. `operation`: the stream operation the
   * watch belongs to (an election observation's), `null` for none; by default it is one
   * `Watch` operation of its own.
   */
  constructor(
    channel: EtcdChannel,
    keys: Keys,
    range: KeyRange,
    options: WatchOptions = {},
    operation?: Operation | null,
  ) {
    this.#ownsOp = operation === undefined;
    this.#op = operation === undefined
      ? channel.startOperation("Watch", "stream")
      : operation ?? undefined;
    this.#channel = channel;
    this.#keys = keys;
    this.#range = range;
    this.#options = options;
    this.#next = options.startRevision;
    this.created = new Promise((resolve, reject) => {
      this.#resolveCreated = resolve;
      this.#rejectCreated = reject;
    });
    this.created.catch(() => {});
    this.#queue = new StreamQueue<WatchEvent>({
      highWaterMark: options.highWaterMark,
      onDrain: () => this.#drained?.(),
      onCancel: () => this.close(),
    });
    options.signal?.addEventListener("abort", () => this.close(), { once: true });
    this.#unhook = channel.onClose(() => this.close());
    this.#run().catch((error) => this.#fail(error));
  }

  /** The next revision the watch will report (last delivered + 1). */
  get nextRevision(): bigint | undefined {
    return this.#next;
  }

  /** How many times the watch was re-established. */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** Stops the watch; iteration ends after the buffered events. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsOp) this.#channel.endOperation(this.#op);
    this.#unhook();
    this.#closeStream?.();
    this.#queue.end();
    this.#drained?.();
    this.#rejectCreated(new EtcdError("The watch was closed before it was created", 1));
  }

  /** Waits for the next event. */
  next(): Promise<IteratorResult<WatchEvent>> {
    return this.#queue.next();
  }

  /** Stops the watch and ends iteration. */
  return(): Promise<IteratorResult<WatchEvent>> {
    this.close();
    return this.#queue.return();
  }

  /** Returns itself: a watcher is iterated once. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Stops the watch at the end of an `await using` scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  #fail(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsOp) this.#channel.endOperation(this.#op, error);
    this.#unhook();
    this.#closeStream?.();
    this.#rejectCreated(error);
    this.#queue.end(error);
  }

  #request(): object {
    const o = this.#options;
    const create: Record<string, unknown> = { ...this.#keys.range(this.#range) };
    if (this.#next !== undefined) create.start_revision = String(this.#next);
    if (o.prevKv) create.prev_kv = true;
    if (o.progressNotify) create.progress_notify = true;
    if (o.filters?.length) {
      create.filters = o.filters.map((f) => (f === "noPut" ? "NOPUT" : "NODELETE"));
    }
    return { create_request: create };
  }

  async #run(): Promise<void> {
    const backoff = new Backoff({ initialDelay: 50, maxDelay: 2000 });
    let now = false; // reconnect without waiting (a new token was just fetched)
    let reason: Error = new ConnectionClosedError("The watch stream ended");
    for (let first = true; !this.#closed; first = false) {
      if (!first) {
        this.#reconnects++;
        this.#restarted(reason);
        if (!now) await sleep(backoff.next(), this.#options.signal);
        now = false;
        if (this.#closed) return;
      }
      let stream;
      try {
        stream = await this.#channel.openStream("/v3/watch", this.#request(), {
          signal: this.#options.signal,
          operation: this.#op,
          resumed: !first,
        });
      } catch (error) {
        if (this.#channel.isClosed) return this.close();
        if (isFatal(error)) throw error;
        reason = error as Error;
        continue;
      }
      if (this.#closed) return stream.close();
      this.#closeStream = stream.close;
      this.#endpoint = `${stream.endpoint.host}:${stream.endpoint.port}`;
      reason = new ConnectionClosedError("The watch stream ended");
      try {
        for await (const line of stream.items) {
          if (this.#handle(line)) backoff.reset();
          while (this.#queue.size >= (this.#options.highWaterMark ?? 1024) && !this.#closed) {
            await new Promise<void>((resolve) => (this.#drained = resolve));
          }
          if (this.#closed) return;
        }
      } catch (error) {
        reason = error instanceof TokenRefused ? error.error : error as Error;
        const refused = error instanceof TokenRefused
          ? error.error
          : this.#channel.isTokenRejection(error)
          ? error
          : undefined;
        if (refused === undefined) {
          if (isFatal(error)) throw error;
        } else {
          if (this.#reauthed) throw refused; // a fresh token was refused too
          this.#reauthed = true;
          stream.close();
          now = await this.#renewToken(stream.tokenGeneration);
        }
      } finally {
        stream.close();
        this.#closeStream = undefined;
      }
    }
  }

  /**
   * Tells `onRestart` and the `watchRestart` event; an exception in `onRestart` ends the watch
   * (it propagates out of `#run`).
   */
  #restarted(reason: Error): void {
    const events = this.#channel.events;
    if (events.has("watchRestart")) {
      events.emit("watchRestart", {
        address: this.#endpoint,
        revision: this.#next === undefined ? undefined : String(this.#next),
        reason,
        attempt: this.#reconnects,
      });
    }
    this.#options.onRestart?.({ reason, revision: this.#next, attempt: this.#reconnects });
  }

  /** Fetches a new token; true when the watch can reconnect at once. */
  async #renewToken(generation: number): Promise<boolean> {
    try {
      await this.#channel.renewToken(generation, { signal: this.#options.signal });
      return true;
    } catch (error) {
      if (this.#closed || this.#channel.isClosed) return false;
      if (isFatal(error)) throw error;
      return false;
    }
  }

  /**
   * Handles one WatchResponse line; true when it carried news. Throws fatal errors, and a
   * `RemoteProtocolError` for a malformed message (the stream then restarts).
   */
  #handle(line: Uint8Array): boolean {
    try {
      return this.#decode(line);
    } catch (error) {
      if (error instanceof Fatal || error instanceof TokenRefused) throw error;
      if (error instanceof EtcdError) throw error;
      throw invalidAnswer("/v3/watch", error);
    }
  }

  #decode(line: Uint8Array): boolean {
    const msg = parseJson(line);
    if (msg.error !== undefined) {
      const error = etcdErrorFromJson(msg);
      if (this.#channel.isTokenRejection(error)) throw new TokenRefused(error);
      throw error.grpcCode === 14 ? error : new Fatal(error);
    }
    const r = (msg.result ?? {}) as Record<string, unknown>;
    const compact = int(r.compact_revision as string | undefined);
    if (compact > 0n || r.canceled === true) {
      const error = watchCancelError(compact, r.cancel_reason as string | undefined);
      throw this.#channel.isTokenRejection(error) ? new TokenRefused(error) : new Fatal(error);
    }
    const revision = headerRevision(r as { header?: { revision?: string } });
    if (r.created === true) {
      this.#reauthed = false;
      this.#next ??= revision + 1n;
      this.#resolveCreated(this.#next - 1n);
      return true;
    }
    const events = list<Record<string, unknown>>(r.events);
    if (events.length === 0) {
      // A progress notification: every event up to `revision` was sent.
      if (this.#next !== undefined && revision + 1n > this.#next) this.#next = revision + 1n;
      try {
        this.#options.onProgress?.(revision);
      } catch (error) {
        throw new Fatal(error instanceof Error ? error : new Error(String(error)));
      }
      return true;
    }
    let last = 0n;
    this.#within ??= new Within(this.#keys.range(this.#range));
    for (const e of events) {
      const kv = this.#keys.kv(e.kv as JsonKv, this.#within);
      last = kv.modRevision;
      if (this.#next !== undefined && kv.modRevision < this.#next) continue; // seen already
      const event: WatchEvent = { type: e.type === "DELETE" ? "delete" : "put", kv };
      if (e.prev_kv) event.prevKv = this.#keys.kv(e.prev_kv as JsonKv);
      this.#queue.push(event);
    }
    if (this.#next === undefined || last + 1n > this.#next) this.#next = last + 1n;
    return true;
  }
}

/** Wraps an error that must end the watch instead of causing a reconnect. */
class Fatal extends Error {
  constructor(readonly error: Error) {
    super(error.message);
  }
}

/** The server refused the stream's auth token: renew it and reconnect (once). */
class TokenRefused extends Error {
  constructor(readonly error: EtcdError) {
    super(error.message);
  }
}

function isFatal(error: unknown): boolean {
  if (error instanceof Fatal) throw error.error;
  return error instanceof EtcdError && error.grpcCode !== 14 && !/token/.test(error.message);
}

// Every lease keep-alive of a client on ONE `/etcdserverpb.Lease/LeaseKeepAlive` bidi stream
// (rpc.proto): requests and responses matched by lease ID, resent on a new stream when it is lost.

import { Backoff } from "../../core/backoff.ts";
import { FifoTable } from "../../core/correlation.ts";
import {
  AbortedError,
  ConnectionClosedError,
  RemoteProtocolError,
  TimeoutError,
} from "../../core/errors.ts";
import * as M from "../proto/messages.ts";
import { decodeProto, encodeProto } from "../proto/wire.ts";
import { sleep } from "../wait.ts";
import { type BidiStream, isRetryableStreamError, type OpenBidi } from "./bidi.ts";

/** Options of a {@link LeaseKeepAliveStream}. */
export interface LeaseKeepAliveStreamOptions {
  /** Opens the LeaseKeepAlive stream (on the channel's current endpoint, failing over). */
  open: OpenBidi;
  /** Milliseconds without a pending keep-alive after which the stream is closed. Default 30000. */
  idleTimeout?: number;
  /** Deadline of a keep-alive without its own `timeout`, in milliseconds. Default 5000. */
  timeout?: number;
}

/** Options of one keep-alive. */
export interface KeepAliveOptions {
  /** Milliseconds until it fails with `TimeoutError` (it may have reached the server). */
  timeout?: number;
  /** Abandons it with `AbortedError`. */
  signal?: AbortSignal;
}

interface Waiter {
  readonly id: bigint;
  readonly resolve: (ttl: bigint) => void;
  readonly reject: (error: unknown) => void;
  settled: boolean;
  /** Written on the current stream (its answer is awaited there). */
  written: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The keep-alives of every lease of a client, on one LeaseKeepAlive stream.
 *
 * Theory of operation. `keepAlive(id)` writes a `LeaseKeepAliveRequest` on the stream (opened
 * on demand); etcd answers each request of a stream in order, so the answers of one lease ID
 * are matched first in, first out against that ID's requests. An answer for an ID with no
 * request outstanding, or a malformed one, is a `RemoteProtocolError`: the stream is
 * dropped. A keep-alive that timed out or was aborted stays in its ID's line as settled, so
 * that its late answer is recognised. When the stream ends, every keep-alive not yet answered
 * is written again on the next stream (a keep-alive is idempotent), after a backoff; a
 * status that retrying cannot fix fails them instead. The stream is closed after
 * `idleTimeout` without an outstanding keep-alive, and by `close`.
 *
 * @example
 * ```ts
 * import { LeaseKeepAliveStream } from "./lease_stream.ts";
 * import type { OpenBidi } from "./bidi.ts";
 * declare const open: OpenBidi;
 * const leases = new LeaseKeepAliveStream({ open });
 * const ttl = await leases.keepAlive(0x1234n); // 0n: the lease expired or does not exist
 * leases.close();
 * ```
 */
export class LeaseKeepAliveStream {
  readonly #open: OpenBidi;
  readonly #idleTimeout: number;
  readonly #timeout: number;
  #lines = new Map<bigint, FifoTable<Waiter>>();
  #unanswered = 0;
  #stream: BidiStream | undefined;
  #running = false;
  #closed = false;
  #abort = new AbortController();
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #streams = 0;

  /** Creates the stream owner; nothing is opened before the first keep-alive. */
  constructor(options: LeaseKeepAliveStreamOptions) {
    this.#open = options.open;
    this.#idleTimeout = options.idleTimeout ?? 30_000;
    this.#timeout = options.timeout ?? 5000;
  }

  /** LeaseKeepAlive streams opened so far. */
  get streamsOpened(): number {
    return this.#streams;
  }

  /** True while a stream is open. */
  get isOpen(): boolean {
    return this.#stream !== undefined;
  }

  /** Refreshes lease `id` once; resolves with its new TTL in seconds (0n: it expired). */
  keepAlive(id: bigint, options: KeepAliveOptions = {}): Promise<bigint> {
    if (typeof id !== "bigint" || id <= 0n) {
      return Promise.reject(new TypeError(`Lease id must be a positive bigint, got ${id}`));
    }
    if (this.#closed) {
      return Promise.reject(new ConnectionClosedError("The keep-alive stream is closed"));
    }
    if (options.signal?.aborted) {
      return Promise.reject(new AbortedError(`Keep-alive of lease ${id} was aborted`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        id,
        resolve,
        reject,
        settled: false,
        written: false,
        timer: undefined,
      };
      const timeout = options.timeout ?? this.#timeout;
      waiter.timer = setTimeout(
        () =>
          this.#settle(
            waiter,
            new TimeoutError(`Keep-alive of lease ${id} timed out`, {
              sent: waiter.written,
            }),
          ),
        timeout,
      );
      options.signal?.addEventListener(
        "abort",
        () => this.#settle(waiter, new AbortedError(`Keep-alive of lease ${id} was aborted`)),
        { once: true },
      );
      this.#unanswered++;
      this.#clearIdle();
      if (this.#stream) this.#write(waiter);
      else {
        this.#line(id).push(waiter); // written by the next stream's #resend
        if (!this.#running) this.#start();
      }
    });
  }

  /** Closes the stream; outstanding keep-alives fail with `ConnectionClosedError`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearIdle();
    this.#abort.abort();
    this.#stream?.close();
    this.#failAll(new ConnectionClosedError("The keep-alive stream was closed"));
  }

  #line(id: bigint): FifoTable<Waiter> {
    let line = this.#lines.get(id);
    if (!line) this.#lines.set(id, line = new FifoTable<Waiter>());
    return line;
  }

  /** Writes a waiter's request on the stream; it joins its ID's line (it is not in it yet). */
  #write(waiter: Waiter): void {
    this.#line(waiter.id).push(waiter);
    waiter.written = true;
    this.#stream!.write(encodeProto(M.LeaseId, { id: waiter.id }));
  }

  /** Settles a waiter; with `error` it failed (it stays in its line until answered or lost). */
  #settle(waiter: Waiter, error: Error | undefined, ttl = 0n): void {
    if (waiter.settled) return;
    waiter.settled = true;
    clearTimeout(waiter.timer);
    this.#unanswered--;
    if (error) waiter.reject(error);
    else waiter.resolve(ttl);
    if (!waiter.written) this.#drop(waiter);
    if (this.#unanswered === 0 && this.#stream) this.#armIdle();
  }

  /** Removes a waiter that was never written from its line. */
  #drop(waiter: Waiter): void {
    const line = this.#lines.get(waiter.id);
    if (!line) return;
    const rest = line.drain().filter((w) => w !== waiter);
    for (const w of rest) line.push(w);
    if (line.size === 0) this.#lines.delete(waiter.id);
  }

  #armIdle(): void {
    this.#clearIdle();
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      const stream = this.#stream;
      if (this.#unanswered > 0 || !stream) return;
      this.#stream = undefined; // a keep-alive from now on waits for the next stream
      stream.close();
    }, this.#idleTimeout);
  }

  #clearIdle(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #failAll(error: Error): void {
    for (const line of this.#lines.values()) {
      for (const w of line.drain()) this.#settle(w, error);
    }
    this.#lines = new Map();
  }

  #start(): void {
    this.#running = true;
    this.#run().catch((error) => this.#failAll(error)).finally(() => {
      this.#running = false;
      if (this.#unanswered > 0 && !this.#closed) this.#start();
    });
  }

  async #run(): Promise<void> {
    const backoff = new Backoff({ initialDelay: 50, maxDelay: 2000 });
    let lost = false;
    while (this.#unanswered > 0 && !this.#closed) {
      if (lost) await sleep(backoff.next(), this.#abort.signal);
      if (this.#unanswered === 0 || this.#closed) return;
      lost = true;
      let stream: BidiStream;
      try {
        stream = await this.#open(M.Method.LeaseKeepAlive, { signal: this.#abort.signal });
      } catch (error) {
        if (this.#closed) return;
        if (!isRetryableStreamError(error)) throw error;
        continue;
      }
      if (this.#closed) return stream.close();
      this.#streams++;
      this.#stream = stream;
      try {
        this.#resend();
        if (this.#unanswered === 0) this.#armIdle();
        for await (const message of stream.items) {
          this.#receive(message);
          backoff.reset();
        }
        if (this.#stream !== stream) lost = false; // closed while idle: reopen at once
      } catch (error) {
        if (!isRetryableStreamError(error)) throw error;
      } finally {
        stream.close();
        if (this.#stream === stream) this.#stream = undefined;
        this.#clearIdle();
      }
    }
  }

  /** On a new stream: forgets answers owed by the old one, writes every outstanding request. */
  #resend(): void {
    const outstanding: Waiter[] = [];
    for (const line of this.#lines.values()) {
      for (const w of line.drain()) if (!w.settled) outstanding.push(w);
    }
    this.#lines = new Map();
    for (const w of outstanding) this.#write(w);
  }

  #receive(message: Uint8Array): void {
    const r = decodeProto<M.LeaseKeepAliveResponseMsg>(M.LeaseKeepAliveResponse, message);
    const line = this.#lines.get(r.id);
    const waiter = line?.shift();
    if (!line || !waiter) {
      throw new RemoteProtocolError(`etcd sent a keep-alive answer for lease ${r.id}, not asked`);
    }
    if (line.size === 0) this.#lines.delete(r.id);
    if (!waiter.settled) this.#settle(waiter, undefined, r.ttl > 0n ? r.ttl : 0n);
  }
}

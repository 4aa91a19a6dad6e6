// TStorageClient: the user-facing TStorage client (the reference tstorage_client's Channel and
// AsyncChannel): put, puta, getAcq, get, getIter, getStream over a self-healing connection;
// observable (connection events, stats, one instrumented operation per call).

import { defaultConnect } from "../core/default_connect.ts";
import type { RequestOptions } from "../core/driver.ts";
import { ConnectionClosedError } from "../core/errors.ts";
import type { EventHub, Observable } from "../core/events.ts";
import type { Instrumenter, Operation } from "../core/instrument.ts";
import { ManagedConnection } from "../core/managed_connection.ts";
import { observability } from "../core/observability.ts";
import {
  type ClientStats,
  type ConnectionEvents,
  type ConnectionStats,
  summarizeStats,
} from "../core/observe.ts";
import { INSPECT_NODE, redactedRendering } from "../core/redact.ts";
import type { StreamQueue } from "../core/stream_queue.ts";
import { formatAddress } from "../core/transport.ts";
import {
  checkMemoryLimit,
  type ResolvedTStorageOptions,
  resolveTStorageOptions,
  type TStorageClientOptions,
} from "./client_options.ts";
import {
  type GetItem,
  TStorageConnection,
  type TStorageReply,
  type TStorageRequest,
} from "./connection.ts";
import { attachPartialData } from "./partial.ts";
import { BytesPayloadType, type PayloadType } from "./payload.ts";
import { Key, type TStorageRecord } from "./record.ts";
import { RecordIterator } from "./record_iterator.ts";
import { Turnstile } from "./turnstile.ts";
import { verifyInStep } from "./verify.ts";

/** Per-call options. */
export interface CallOptions {
  /** Milliseconds the call may take, waiting for its turn included. */
  timeout?: number;
  /** Cancels the call (`AbortedError`); a GET in flight then closes the connection. */
  signal?: AbortSignal;
}

/** Options of put/puta. */
export interface PutOptions extends CallOptions {
  /** Largest cid batch body in bytes; a larger single record goes alone. Default 2^31 − 1. */
  maxBatchSize?: number;
  /**
   * Leave out records whose key is not valid and report them in `skipped`; the valid ones are
   * written. Otherwise an invalid record throws `RangeError` and nothing is sent. Default false.
   */
  skipInvalid?: boolean;
}

/** Options of the GET calls. */
export interface GetOptions extends CallOptions {
  /** Overrides the client's `memoryLimit` for this call; `null` for no limit. */
  memoryLimit?: number | null;
}

/** What put/puta resolve with. */
export interface PutResult<T> {
  /** The server's acqMin (for PUT, the first acq it assigned). */
  acqMin: bigint;
  /** The server's acqMax. */
  acqMax: bigint;
  /** Records sent. */
  written: number;
  /** Records left out by `skipInvalid`, in input order. */
  skipped: TStorageRecord<T>[];
}

/** What `get` resolves with (the reference client's ResponseGet). */
export interface GetResult<T> {
  /** The records, in the server's order. */
  data: TStorageRecord<T>[];
  /** ACQ0 of the range: records with a smaller acq will not change any more. */
  acq: bigint;
}

/** Receives one batch of `getStream` (a fresh array each time); may return a Promise. */
export type GetCallback<T> = (batch: TStorageRecord<T>[]) => void | Promise<void>;

type Conn = ManagedConnection<TStorageRequest, TStorageReply, GetItem>;

/**
 * The events of a {@link TStorageClient}: its connection's (`address` = `host:port`).
 *
 * @example
 * ```ts
 * import { TStorageClient } from "@kvwire/kvwire/tstorage";
 * const client = new TStorageClient({ port: 62025 });
 * client.on("disconnect", (e) => console.warn(e.address, e.error?.message, e.willReconnect));
 * await client.close();
 * ```
 */
export type TStorageEvents = ConnectionEvents;

/** Where an operation's bytes are counted from: the connection's counters when it began. */
type Baseline = ConnectionStats | undefined;

/**
 * A TStorage client. Calls run one at a time on one connection (the protocol has no
 * pipelining); concurrent calls wait their turn. Failures reject with kvwire errors whose
 * reference-client status `responseStatusOf(error)` gives; a GET that fails closes the
 * connection as the reference client does, and the next call reconnects. Observable: `on()`
 * ({@link TStorageEvents}), `stats()`, and one instrumented operation per call, named by the
 * protocol's request (`PUT`, `PUTA`, `GET_ACQ`, `GET`; a `stream` for getIter and getStream),
 * with the bytes it moved.
 *
 * @example
 * ```ts
 * import { Key, StructPayloadType, TStorageClient } from "@kvwire/kvwire/tstorage";
 * await using client = await TStorageClient.connect({
 *   port: 62025,
 *   payloadType: new StructPayloadType<number>("<i"),
 * });
 * await client.put([{ key: new Key(1, 2n, 3, 4n), value: 42 }]);
 * const { data, acq } = await client.get(Key.min(), Key.max());
 * console.log(data.map((r) => r.value), acq);
 * ```
 */
export class TStorageClient<T = Uint8Array> implements Observable<TStorageEvents> {
  readonly #options: ResolvedTStorageOptions<T>;
  readonly #payloadType: PayloadType<T>;
  readonly #conn: Conn;
  readonly #events: EventHub<TStorageEvents>;
  readonly #instrumenter: Instrumenter;
  readonly #turnstile = new Turnstile();
  #memoryLimit: number | undefined;
  #timeout: number | undefined;

  /** Connects and resolves once the connection is open. */
  static async connect<T = Uint8Array>(
    options: TStorageClientOptions<T> | string,
  ): Promise<TStorageClient<T>> {
    const client = new TStorageClient<T>(options);
    try {
      await client.#conn.open();
    } catch (error) {
      client.destroy();
      throw error;
    }
    return client;
  }

  /** Creates a client that connects on its first call. Prefer `TStorageClient.connect`. */
  constructor(options: TStorageClientOptions<T> | string) {
    const resolved = resolveTStorageOptions(
      typeof options === "string" ? { url: options } : options,
    );
    this.#options = resolved;
    this.#payloadType = resolved.payloadType ??
      (new BytesPayloadType() as unknown as PayloadType<T>);
    this.#memoryLimit = resolved.memoryLimit;
    this.#timeout = resolved.timeout;
    const connect = resolved.connect ?? defaultConnect;
    const connectOptions = {
      timeout: resolved.connectTimeout ?? 10_000,
      tls: resolved.tls,
      readSize: resolved.receiveBufferSize,
    };
    const { events, instrumenter } = observability<TStorageEvents>(resolved, resolved.label);
    this.#events = events;
    this.#instrumenter = instrumenter;
    this.#conn = new ManagedConnection<TStorageRequest, TStorageReply, GetItem>({
      label: resolved.label,
      connect: () => connect(resolved.address, connectOptions),
      createMachine: () => new TStorageConnection({ label: resolved.label }),
      reconnect: resolved.reconnect,
      offlineQueueSize: resolved.offlineQueueSize,
      onConnect: resolved.verifyConnection !== false
        ? (driver) => verifyInStep(driver, resolved)
        : undefined,
      events,
      address: formatAddress(resolved.address),
    });
  }

  /**
   * Listens to the connection's events ({@link TStorageEvents}); returns the remover.
   *
   * @example
   * ```ts
   * import { TStorageClient } from "@kvwire/kvwire/tstorage";
   * await using client = await TStorageClient.connect({ port: 62025 });
   * const stop = client.on("reconnecting", (e) => console.info(e.attempt, e.delay));
   * stop();
   * ```
   */
  on<Name extends keyof TStorageEvents & string>(
    name: Name,
    listener: (event: TStorageEvents[Name]) => void,
  ): () => void {
    return this.#events.on(name, listener);
  }

  /**
   * The connection's counters (state, in flight, queued, reconnects, bytes).
   *
   * @example
   * ```ts
   * import { TStorageClient } from "@kvwire/kvwire/tstorage";
   * await using client = await TStorageClient.connect({ port: 62025 });
   * console.log(client.stats().state); // "ready"
   * ```
   */
  stats(): ClientStats {
    return summarizeStats([this.#conn.stats()], this.#conn.isClosed);
  }

  /** The resolved options; a TLS client key shows as `"[redacted]"`. */
  get options(): ResolvedTStorageOptions<T> {
    const tls = this.#options.tls;
    return typeof tls === "object" && tls.key !== undefined
      ? { ...this.#options, tls: { ...tls, key: "[redacted]" } }
      : { ...this.#options };
  }

  /** A safe summary for `JSON.stringify` and `console.log`: no TLS key or certificate. */
  toJSON(): { server: string; tls: boolean; connected: boolean } {
    return { server: this.#options.label, tls: !!this.#options.tls, connected: this.connected };
  }

  /** Node's and Bun's inspect: the {@link toJSON} summary. */
  [INSPECT_NODE](): string {
    return redactedRendering("TStorageClient", this.toJSON());
  }

  /** The payload type values are converted with. */
  get payloadType(): PayloadType<T> {
    return this.#payloadType;
  }

  /** The GET memory limit in bytes (undefined: none). Settable, like the reference client's. */
  get memoryLimit(): number | undefined {
    return this.#memoryLimit;
  }

  set memoryLimit(limit: number | undefined) {
    this.#memoryLimit = checkMemoryLimit(limit ?? undefined);
  }

  /** The default call timeout in milliseconds (undefined: none). Settable. */
  get timeout(): number | undefined {
    return this.#timeout;
  }

  set timeout(ms: number | undefined) {
    if (ms !== undefined && !(ms >= 0)) throw new RangeError(`Invalid timeout ${ms}`);
    this.#timeout = ms;
  }

  /** True while a connection is open. */
  get connected(): boolean {
    return this.#conn.driver !== undefined;
  }

  /**
   * Stores records (PUT): the server assigns each record's acq; the keys' acq is not sent.
   * Records are grouped by cid into batches of at most `maxBatchSize` bytes.
   */
  put(records: Iterable<TStorageRecord<T>>, options: PutOptions = {}): Promise<PutResult<T>> {
    return this.#put(records, options, false);
  }

  /** Stores records with the acq you give (PUTA), for maintenance and copying data. */
  puta(records: Iterable<TStorageRecord<T>>, options: PutOptions = {}): Promise<PutResult<T>> {
    return this.#put(records, options, true);
  }

  async #put(
    input: Iterable<TStorageRecord<T>>,
    options: PutOptions,
    withAcq: boolean,
  ): Promise<PutResult<T>> {
    const records = Array.isArray(input) ? input as TStorageRecord<T>[] : [...input];
    const name = withAcq ? "PUTA" : "PUT";
    const reply = await this.#exclusive(name, options, (call) =>
      this.#conn.request(
        {
          type: "put",
          records,
          payloadType: this.#payloadType as PayloadType<unknown>,
          withAcq,
          maxBatchSize: options.maxBatchSize ?? this.#options.maxBatchSize,
          skipInvalid: options.skipInvalid,
        },
        call,
        name,
      ));
    if (reply.type !== "put") throw new TypeError(`Unexpected ${reply.type} reply to ${name}`);
    return {
      acqMin: reply.acqMin,
      acqMax: reply.acqMax,
      written: reply.written,
      skipped: reply.skipped.map((i) => records[i]),
    };
  }

  /** ACQ0 of the range: the acquisition time below which its records are final (GET_ACQ). */
  async getAcq(keyMin: Key, keyMax: Key, options: CallOptions = {}): Promise<bigint> {
    const reply = await this.#exclusive(
      "GET_ACQ",
      options,
      (call) => this.#conn.request({ type: "getAcq", keyMin, keyMax }, call, "GET_ACQ"),
    );
    if (reply.type !== "acq") throw new TypeError(`Unexpected ${reply.type} reply to GET_ACQ`);
    return reply.acq;
  }

  /**
   * The records with `keyMin.x ≤ key.x < keyMax.x` in every field, and the range's ACQ0. The
   * whole response must fit `memoryLimit`; over it the call fails with `MemoryLimitError`, and
   * `partialData(error)` holds the records received within the limit (so for every failure).
   */
  get(keyMin: Key, keyMax: Key, options: GetOptions = {}): Promise<GetResult<T>> {
    return this.#exclusive("GET", options, async (call) => {
      const queue = await this.#openGet(keyMin, keyMax, "total", options, call, 1024);
      const data: TStorageRecord<T>[] = [];
      try {
        for await (const item of queue) {
          if (item.type === "records") {
            for (const record of item.records) data.push(record as TStorageRecord<T>);
          } else if (item.type === "done") return { data, acq: item.acq };
          else throw item.error;
        }
        throw new ConnectionClosedError(
          `${this.#options.label}: GET ended without its confirmation`,
        );
      } catch (error) {
        attachPartialData(error, data);
        throw error;
      }
    });
  }

  /**
   * The records of a GET as they arrive. Like `get`, the whole response counts against
   * `memoryLimit` (as the reference client's get_iter); records already yielded stay yours
   * when it fails. Check `acq` afterwards; see {@link RecordIterator}.
   */
  getIter(keyMin: Key, keyMax: Key, options: GetOptions = {}): RecordIterator<T> {
    return new RecordIterator<T>((done) => this.#iterate(keyMin, keyMax, options, done));
  }

  async *#iterate(
    keyMin: Key,
    keyMax: Key,
    options: GetOptions,
    done: (acq: bigint) => void,
  ): AsyncGenerator<TStorageRecord<T>, void, undefined> {
    const trace = this.#instrumenter.enabled ? this.#trace("GET", "stream") : undefined;
    let base: Baseline;
    try {
      const timeout = options.timeout ?? this.#timeout;
      const turn = await this.#turnstile.acquire("GET", timeout, options.signal);
      try {
        if (trace !== undefined) base = this.#conn.stats();
        const call = { timeout: turn.remaining, signal: options.signal };
        const queue = await this.#openGet(keyMin, keyMax, "total", options, call, 2);
        for await (const item of queue) {
          if (item.type === "records") yield* item.records as TStorageRecord<T>[];
          else if (item.type === "done") return done(item.acq);
          else throw item.error;
        }
        throw new ConnectionClosedError(
          `${this.#options.label}: GET ended without its confirmation`,
        );
      } finally {
        turn.release();
      }
    } catch (error) {
      this.#end(trace, base, error);
      throw error;
    } finally {
      this.#end(trace, base); // also when the consumer stops early
    }
  }

  /**
   * Streams a GET to `callback` in batches of at most `memoryLimit` wire bytes each (the first
   * batch also counts the response's 12-byte head), awaiting the callback before reading on:
   * memory stays bounded by the limit. A record that cannot fit a batch of its own fails the
   * call with `MemoryLimitError` after the batches before it. Without a limit there is one
   * callback with everything, as in the reference client. Resolves with ACQ0.
   */
  getStream(
    keyMin: Key,
    keyMax: Key,
    callback: GetCallback<T>,
    options: GetOptions = {},
  ): Promise<bigint> {
    if (typeof callback !== "function") throw new TypeError("getStream needs a callback");
    return this.#exclusive("GET", options, async (call) => {
      const queue = await this.#openGet(keyMin, keyMax, "batch", options, call, 1);
      for await (const item of queue) {
        if (item.type === "records") await callback(item.records as TStorageRecord<T>[]);
        else if (item.type === "done") return item.acq;
        else throw item.error;
      }
      throw new ConnectionClosedError(`${this.#options.label}: GET ended without its confirmation`);
    }, "stream");
  }

  #openGet(
    keyMin: Key,
    keyMax: Key,
    limitMode: "total" | "batch",
    options: GetOptions,
    call: RequestOptions,
    highWaterMark: number,
  ): Promise<StreamQueue<GetItem>> {
    const memoryLimit = options.memoryLimit === null
      ? undefined
      : checkMemoryLimit(options.memoryLimit ?? this.#memoryLimit);
    const request: TStorageRequest = {
      type: "get",
      keyMin,
      keyMax,
      payloadType: this.#payloadType as PayloadType<unknown>,
      memoryLimit,
      limitMode,
    };
    return this.#conn.stream(request, { ...call, highWaterMark }, "GET");
  }

  /**
   * Runs `fn` holding the connection's turn, with the time left of the call's timeout, as one
   * instrumented operation `name`.
   */
  async #exclusive<R>(
    name: string,
    options: CallOptions,
    fn: (call: RequestOptions) => Promise<R>,
    kind: "request" | "stream" = "request",
  ): Promise<R> {
    const trace = this.#instrumenter.enabled ? this.#trace(name, kind) : undefined;
    let base: Baseline;
    try {
      const turn = await this.#turnstile.acquire(
        name,
        options.timeout ?? this.#timeout,
        options.signal,
      );
      try {
        if (trace !== undefined) base = this.#conn.stats();
        return await fn({ timeout: turn.remaining, signal: options.signal });
      } finally {
        turn.release();
      }
    } catch (error) {
      this.#end(trace, base, error);
      throw error;
    } finally {
      this.#end(trace, base);
    }
  }

  #trace(operation: string, kind: "request" | "stream"): Operation | undefined {
    const { host, port } = this.#options.address;
    return this.#instrumenter.start({
      protocol: "tstorage",
      operation,
      kind,
      serverAddress: host,
      serverPort: port,
    });
  }

  /** Ends an operation (once), with the bytes the connection moved since `base`. */
  #end(trace: Operation | undefined, base: Baseline, error?: unknown): void {
    if (trace === undefined || trace.endTime !== undefined) return;
    if (base !== undefined) {
      const now = this.#conn.stats();
      trace.bytesOut = now.bytesOut - base.bytesOut;
      trace.bytesIn = now.bytesIn - base.bytesIn;
    }
    this.#instrumenter.end(trace, error);
  }

  /** Closes gracefully: waits for the call in flight, then closes the connection. */
  close(): Promise<void> {
    return this.#conn.close();
  }

  /** Closes at once: pending calls fail with `ConnectionClosedError`. */
  destroy(): void {
    this.#conn.destroy();
  }

  /** Closes gracefully at the end of an `await using` scope, as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

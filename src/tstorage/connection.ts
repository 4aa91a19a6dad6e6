// TStorageConnection: the sans-I/O TStorage machine (DESIGN.md §3; shared/protocols/tstorage.md
// §1.11-§1.12): one request at a time, GET streamed as items, memory limits, statuses, deadlines.
// One file over 500 lines: the GET limit bookkeeping reads and writes the machine's private
// outbox, events and decoder on every record; split, that state would be passed per call.

import type { ConnectionEvent, ProtocolConnection, SendOptions } from "../core/connection.ts";
import { FifoTable } from "../core/correlation.ts";
import { DeadlineHeap } from "../core/deadline_heap.ts";
import {
  ConnectionClosedError,
  type KvError,
  LocalProtocolError,
  RemoteProtocolError,
} from "../core/errors.ts";
import { Command, encodeGetRequest, encodePutRequest } from "./codec.ts";
import {
  MemoryLimitError,
  ResponseStatus,
  TStorageError,
  UnparseableEntityError,
} from "./errors.ts";
import type { PayloadType } from "./payload.ts";
import type { Key, TStorageRecord } from "./record.ts";
import type {
  GetItem,
  TStorageConnectionOptions,
  TStorageReply,
  TStorageRequest,
} from "./requests.ts";

export type {
  GetItem,
  TStorageConnectionOptions,
  TStorageReply,
  TStorageRequest,
} from "./requests.ts";
import { type DecodedItem, ResponseDecoder, type ResponseKind } from "./response_decoder.ts";

interface GetState {
  payloadType: PayloadType<unknown>;
  limit: number | undefined;
  batchMode: boolean;
  records: TStorageRecord<unknown>[];
  /** Batch mode: wire bytes of the current batch (the first includes the response head). */
  batchBytes: number;
  count: number;
}

interface Entry {
  id: number;
  kind: ResponseKind;
  name: string;
  bytes: Uint8Array;
  sentBytes: number;
  transmitted: boolean;
  /** Answered, timed out or cancelled before transmission: skipped. */
  settled: boolean;
  put?: { written: number; skipped: number[] };
  get?: GetState;
}

type Event = ConnectionEvent<TStorageReply, GetItem>;

const EMPTY = new Uint8Array(0);

/**
 * The TStorage protocol machine. Feed it bytes, pull events and bytes.
 *
 * Theory of operation. TStorage answers one request at a time, so requests wait in an outbox
 * and the next is transmitted only when the previous response is complete. PUT/PUTA and
 * GET_ACQ end in a `reply`, or a `serverError` for a refused status, after which the machine
 * closes cleanly: the vendor mock closes after refusing, and a request written behind the
 * refusal would meet that close with an unknown outcome. A GET is a stream: `streamItem` events carry `records` groups, then `done` with the
 * confirmation's acq, or `failed`; then `streamEnd`. A failed GET (refused first header →
 * BAD_REQUEST, refused confirmation → ERROR, a bad record → UNPARSEABLE_ENTITY, over the
 * memory limit → NO_MEMORY, peer EOF → DISCONNECTED) closes the machine, as the reference
 * client closes its channel; so do a protocol violation, and any request cancelled or timed out
 * while in flight: with one request at a time, a response that may never come (or a GET's
 * remaining records) would hold up every later request, so a fresh connection is cheaper.
 *
 * @example
 * ```ts
 * import { Key, TStorageConnection } from "@kvwire/kvwire/tstorage";
 * const conn = new TStorageConnection();
 * const id = conn.send({ type: "getAcq", keyMin: Key.min(), keyMax: Key.max() });
 * conn.pollTransmit(); // 76 bytes
 * conn.receive(new Uint8Array([0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0]));
 * conn.nextEvent(); // { type: "reply", id, value: { type: "acq", acq: 15n } }
 * ```
 */
export class TStorageConnection
  implements ProtocolConnection<TStorageRequest, TStorageReply, GetItem> {
  readonly #decoder = new ResponseDecoder();
  readonly #label: string;
  readonly #recordsPerItem: number;
  #nextId = 1;
  /** Requests go out in id order, one at a time: ids up to this one were written. */
  #lastTransmitted = 0;
  #outbox = new FifoTable<Entry>();
  #current: Entry | undefined;
  #byId = new Map<number, Entry>();
  #deadlines = new DeadlineHeap<Entry>((e) => !e.settled);
  #events = new FifoTable<Event>();
  #closed = false;
  #closedReported = false;
  #eof = false;

  /** Creates an idle machine. */
  constructor(options: TStorageConnectionOptions = {}) {
    this.#label = options.label ?? "TStorage";
    this.#recordsPerItem = options.recordsPerItem ?? 1024;
  }

  get inFlight(): number {
    return this.#byId.size;
  }

  get canSend(): boolean {
    return !this.#closed;
  }

  get wantsRead(): boolean {
    return !this.#closed;
  }

  /** Encodes the request (throwing before anything is queued) and queues it. */
  send(request: TStorageRequest, options: SendOptions = {}): number {
    if (this.#closed) throw new LocalProtocolError(`${this.#label} connection is closed`);
    const entry: Entry = {
      id: this.#nextId++,
      kind: "getAcq",
      name: "GET_ACQ",
      bytes: new Uint8Array(0),
      sentBytes: 0,
      transmitted: false,
      settled: false,
    };
    switch (request.type) {
      case "put": {
        const put = encodePutRequest(request.records, request.payloadType, request);
        entry.kind = "put";
        entry.name = request.withAcq ? "PUTA" : "PUT";
        entry.bytes = put.bytes;
        entry.put = { written: put.written, skipped: put.skipped };
        break;
      }
      case "getAcq":
        entry.bytes = encodeGetRequest(Command.GET_ACQ, request.keyMin, request.keyMax);
        break;
      case "get": {
        const limit = request.memoryLimit;
        if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
          throw new RangeError(`memoryLimit must be a positive integer, got ${limit}`);
        }
        entry.kind = "get";
        entry.name = "GET";
        entry.bytes = encodeGetRequest(Command.GET, request.keyMin, request.keyMax);
        entry.get = {
          payloadType: request.payloadType,
          limit,
          batchMode: request.limitMode === "batch",
          records: [],
          batchBytes: 0,
          count: 0,
        };
        break;
      }
      default:
        throw new TypeError(`Unknown TStorage request type ${(request as { type: unknown }).type}`);
    }
    this.#byId.set(entry.id, entry);
    this.#outbox.push(entry);
    if (options.deadline !== undefined) this.#deadlines.push(options.deadline, entry);
    return entry.id;
  }

  /** Whether request `id` was handed to `pollTransmit` (requests wait in the outbox until then). */
  wasSent(id: number): boolean {
    return id <= this.#lastTransmitted;
  }

  cancel(id: number): void {
    const entry = this.#byId.get(id);
    if (!entry) return;
    this.#byId.delete(id);
    entry.settled = true;
    if (entry === this.#current) {
      this.#shutDown(new ConnectionClosedError(`${entry.name} was cancelled while in flight`));
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const entry of this.#byId.values()) entry.settled = true;
    this.#byId.clear();
    this.#deadlines.clear();
    this.#decoder.reset();
    this.#current = undefined;
  }

  pollTransmit(maxBytes = Infinity): Uint8Array | undefined {
    if (this.#closed) return undefined;
    let entry = this.#current;
    if (!entry) {
      for (entry = this.#outbox.shift(); entry?.settled; entry = this.#outbox.shift());
      if (!entry) return undefined;
      this.#current = entry;
      entry.transmitted = true;
      this.#lastTransmitted = entry.id;
      this.#decoder.expect(entry.kind);
    }
    if (entry.sentBytes >= entry.bytes.length) return undefined;
    const end = Math.min(entry.bytes.length, entry.sentBytes + Math.max(1, maxBytes));
    const chunk = entry.sentBytes === 0 && end === entry.bytes.length
      ? entry.bytes
      : entry.bytes.subarray(entry.sentBytes, end);
    entry.sentBytes = end;
    if (end === entry.bytes.length) entry.bytes = EMPTY; // sentBytes ≥ 0: nothing more to send
    return chunk;
  }

  receive(chunk: Uint8Array): void {
    if (!this.#closed && !this.#eof) this.#decoder.push(chunk);
  }

  receiveEof(): void {
    this.#eof = true;
  }

  pollTimeout(): number | undefined {
    return this.#deadlines.peek();
  }

  handleTimeout(now: number): void {
    for (const entry of this.#deadlines.popExpired(now)) {
      entry.settled = true;
      this.#byId.delete(entry.id);
      this.#events.push({ type: "timeout", id: entry.id, sent: entry.transmitted });
      if (entry === this.#current && !this.#closed) {
        this.#shutDown(new ConnectionClosedError(`${entry.name} timed out while in flight`));
      }
    }
  }

  nextEvent(): ConnectionEvent<TStorageReply, GetItem> | undefined {
    for (;;) {
      const queued = this.#events.shift();
      if (queued) return queued;
      if (this.#closedReported || this.#closed) return undefined;
      const entry = this.#current;
      if (!entry) {
        if (this.#decoder.buffered > 0) {
          this.#violation(
            undefined,
            new RemoteProtocolError(
              `${this.#label} sent ${this.#decoder.buffered} byte(s) while no request was waiting`,
            ),
          );
          continue;
        }
        if (this.#eof) this.#shutDown(undefined);
        else return undefined;
        continue;
      }
      let item: DecodedItem | undefined;
      try {
        item = this.#decoder.next();
      } catch (error) {
        this.#violation(entry, error as RemoteProtocolError);
        continue;
      }
      if (item === undefined) {
        if (entry.get && this.#checkPending(entry, entry.get)) continue;
        if (entry.get && !entry.get.batchMode) this.#flushRecords(entry, entry.get);
        if (this.#eof) {
          if (entry.get) this.#flushRecords(entry, entry.get);
          this.#failGet(
            entry,
            new ConnectionClosedError(
              `${this.#label} closed the connection before the ${entry.name} response was ` +
                `complete`,
              { sent: true },
            ),
          );
        }
        if (this.#events.size === 0) return undefined;
        continue;
      }
      this.#handle(entry, item);
    }
  }

  #handle(entry: Entry, item: DecodedItem): void {
    const get = entry.get;
    const last = item.type === "put" || item.type === "acq" || item.type === "getDone";
    if (last && this.#decoder.buffered > 0) {
      // The next request goes out only after this response: bytes past it were never asked for.
      this.#violation(
        entry,
        new RemoteProtocolError(
          `${this.#label} sent ${this.#decoder.buffered} byte(s) beyond the ${entry.name} ` +
            `response; the connection is out of step`,
        ),
      );
      return;
    }
    switch (item.type) {
      case "put":
        this.#finish(entry);
        if (!entry.settled) {
          const { written, skipped } = entry.put!;
          const value = { type: "put", acqMin: item.acqMin, acqMax: item.acqMax, written, skipped };
          this.#events.push({ type: "reply", id: entry.id, value } as Event);
        }
        break;
      case "acq":
        this.#finish(entry);
        if (!entry.settled) {
          this.#events.push({ type: "reply", id: entry.id, value: { type: "acq", acq: item.acq } });
        }
        break;
      case "refused":
        if (!get) {
          this.#finish(entry);
          const error = new TStorageError(
            `${this.#label} refused ${entry.name} with status ${item.status}`,
            ResponseStatus.ERROR,
            item.status,
          );
          if (!entry.settled) this.#events.push({ type: "serverError", id: entry.id, error });
          // The vendor mock closes after refusing: a request written behind the refusal would
          // meet that close with an unknown outcome, so the next call gets a new connection.
          this.#shutDown(undefined);
          break;
        }
        this.#flushRecords(entry, get);
        this.#failGet(
          entry,
          item.phase === "initial"
            ? new TStorageError(
              `${this.#label} refused GET with status ${item.status} (BAD_REQUEST)`,
              ResponseStatus.BAD_REQUEST,
              item.status,
            )
            : new TStorageError(
              `${this.#label} failed GET with status ${item.status} after ${get.count} records`,
              ResponseStatus.ERROR,
              item.status,
            ),
        );
        break;
      case "getStart":
        if (get?.limit !== undefined && this.#decoder.responseBytes > get.limit) {
          this.#overLimit(entry, get, this.#decoder.responseBytes);
        }
        if (get) get.batchBytes = this.#decoder.responseBytes;
        break;
      case "record":
        if (get) this.#record(entry, get, item.key, item.payload, item.size);
        break;
      case "getDone":
        if (!get) break;
        if (get.limit !== undefined && !get.batchMode && this.#decoder.responseBytes > get.limit) {
          this.#overLimit(entry, get, this.#decoder.responseBytes);
          break;
        }
        this.#flushRecords(entry, get);
        this.#finish(entry);
        this.#events.push({
          type: "streamItem",
          id: entry.id,
          item: { type: "done", acq: item.acq },
        });
        this.#events.push({ type: "streamEnd", id: entry.id });
        break;
    }
  }

  #record(entry: Entry, get: GetState, key: Key, payload: Uint8Array, size: number): void {
    if (get.limit !== undefined) {
      if (get.batchMode) {
        if (!this.#admit(entry, get, size)) return;
        get.batchBytes += size;
      } else if (this.#decoder.responseBytes > get.limit) {
        this.#overLimit(entry, get, this.#decoder.responseBytes);
        return;
      }
    }
    let value: unknown;
    let cause: unknown;
    try {
      value = get.payloadType.fromBytes(payload);
    } catch (error) {
      cause = error;
    }
    if (value === undefined) {
      const type = get.payloadType.name ?? "the payload type";
      this.#flushRecords(entry, get);
      this.#failGet(
        entry,
        new UnparseableEntityError(
          `Payload of ${key} (${payload.length} bytes) does not decode as ${type}`,
          { cause },
        ),
      );
      return;
    }
    get.records.push({ key, value });
    get.count++;
    if (!get.batchMode && get.records.length >= this.#recordsPerItem) {
      this.#flushRecords(entry, get);
    }
  }

  /** Early limit checks while a GET item is incomplete; true when they produced events. */
  #checkPending(entry: Entry, get: GetState): boolean {
    if (get.limit === undefined) return false;
    if (get.batchMode) {
      const size = this.#decoder.pendingRecordBytes;
      if (size === 0 || get.batchBytes + size <= get.limit) return false;
      const before = this.#events.size;
      this.#admit(entry, get, size);
      return this.#events.size > before;
    }
    const needed = this.#decoder.responseBytes + this.#decoder.pendingBytes;
    if (needed <= get.limit) return false;
    this.#overLimit(entry, get, needed);
    return true;
  }

  /** Batch mode: makes room for a record of `size` wire bytes; false after failing the GET. */
  #admit(entry: Entry, get: GetState, size: number): boolean {
    const limit = get.limit!;
    if (get.batchBytes + size <= limit) return true;
    if (get.records.length > 0) {
      this.#flushRecords(entry, get);
      get.batchBytes = 0;
      if (size <= limit) return true;
    }
    this.#failGet(
      entry,
      new MemoryLimitError(
        `A GET record of ${size} bytes does not fit in a batch within the memory limit of ` +
          `${limit} bytes` + (get.batchBytes > 0 ? ` (with the ${get.batchBytes}-byte head)` : ""),
        limit,
      ),
    );
    return false;
  }

  #overLimit(entry: Entry, get: GetState, needed: number): void {
    this.#flushRecords(entry, get);
    this.#failGet(
      entry,
      new MemoryLimitError(
        `GET response is over the memory limit of ${get.limit} bytes (${needed} bytes so far); ` +
          `${get.count} records within the limit were kept`,
        get.limit!,
      ),
    );
  }

  #flushRecords(entry: Entry, get: GetState): void {
    if (get.records.length === 0) return;
    const records = get.records;
    get.records = [];
    if (!entry.settled) {
      this.#events.push({ type: "streamItem", id: entry.id, item: { type: "records", records } });
    }
  }

  /** Ends a GET (or any in-flight request) with `error` and closes the machine. */
  #failGet(entry: Entry, error: KvError): void {
    if (entry.get && !entry.settled) {
      this.#events.push({ type: "streamItem", id: entry.id, item: { type: "failed", error } });
      this.#events.push({ type: "streamEnd", id: entry.id });
    }
    this.#finish(entry);
    this.#shutDown(
      error instanceof ConnectionClosedError ? error : new ConnectionClosedError(
        `${this.#label} connection closed after ${entry.name} failed: ${error.message}`,
        { cause: error },
      ),
    );
  }

  #violation(entry: Entry | undefined, error: RemoteProtocolError): void {
    if (entry?.get) {
      this.#flushRecords(entry, entry.get);
      if (!entry.settled) {
        this.#events.push({ type: "streamItem", id: entry.id, item: { type: "failed", error } });
        this.#events.push({ type: "streamEnd", id: entry.id });
      }
    }
    if (entry) this.#finish(entry);
    this.#shutDown(error);
  }

  #finish(entry: Entry): void {
    this.#byId.delete(entry.id);
    if (this.#current === entry) this.#current = undefined;
  }

  /** Closes the machine and reports `closed` once (after the events already queued). */
  #shutDown(error: KvError | undefined): void {
    if (this.#closedReported) return;
    this.close();
    this.#closedReported = true;
    this.#events.push(error ? { type: "closed", error } : { type: "closed" });
  }
}

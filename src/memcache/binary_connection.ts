// BinaryConnection: the sans-I/O machine for memcached's binary protocol, replies matched by
// opaque, quiet opcodes ended by NOOP for multi-key requests, SASL PLAIN before anything else.

import type { ConnectionEvent, ProtocolConnection, SendOptions } from "../core/connection.ts";
import {
  ByteWriter,
  readBigUint64BE,
  readUint32BE,
  utf8Decode,
  utf8Encode,
} from "../core/bytes.ts";
import { FifoTable, KeyedTable } from "../core/correlation.ts";
import { LocalProtocolError, RemoteProtocolError } from "../core/errors.ts";
import { ReceiveBuffer } from "../core/receive_buffer.ts";
import {
  HEADER_LENGTH,
  Opcode,
  readResponseHeader,
  type ResponseHeader,
  saslPlain,
  Status,
  statusName,
  writeRequestHeader,
} from "./binary_codec.ts";
import { PendingRequests } from "../core/pending_requests.ts";
import { closedAfterTimeouts, CoarseDeadlines } from "./deadlines.ts";
import { DEFAULT_MAX_VALUE_LENGTH, type MemcacheEvent } from "./line_connection.ts";
import { MemcacheError } from "./errors.ts";
import { type BinaryKind, planBinaryRequest } from "./binary_request.ts";
import { Outbox, type OutboxEntry } from "../core/outbox.ts";
import {
  type MemcacheItem,
  type MemcacheReply,
  type MemcacheRequest,
  type MemcacheStatus,
  requestName,
  type StoreMode,
} from "./types.ts";

/** Options of a {@link BinaryConnection}. */
export interface BinaryConnectionOptions {
  /** Authenticate with SASL PLAIN before any request. */
  sasl?: { username: string; password: string };
  /**
   * Largest value accepted from the server, in bytes, checked on its header before the body
   * is buffered. Default {@link DEFAULT_MAX_VALUE_LENGTH} (1 MiB).
   */
  maxValueLength?: number;
  /**
   * The opaque of the first frame. Default random, so that bytes a server sends before any
   * request (a stale reply, a frame that swallows the next ones) cannot pass for a reply.
   */
  firstOpaque?: number;
}

interface Entry extends OutboxEntry {
  id: number;
  name: string;
  kind: BinaryKind;
  batch: boolean;
  /** Opaques of this entry's frames still in the table. */
  opaques: number[];
  wantCas: boolean;
  mode?: StoreMode;
  items?: (MemcacheItem | null)[];
  statuses?: (MemcacheStatus | MemcacheError | undefined)[];
  stats?: Map<string, string>;
  error?: MemcacheError;
}

interface Frame {
  entry: Entry;
  /** Position in a batch; -1 for a single request or a batch's closing NOOP. */
  index: number;
}

type Event = ConnectionEvent<MemcacheReply>;

/**
 * The binary protocol machine. Feed it bytes, pull events and bytes.
 *
 * Theory of operation. Phases: `handshake` (SASL PLAIN in flight, requests held back) →
 * `ready` → `closed`. Every frame carries an opaque from a keyed table; replies are matched
 * by it, so order does not matter. A multi-key request is quiet frames (GetQ answers hits,
 * SetQ/DeleteQ answer failures) closed by a NOOP whose answer completes it. A request
 * cancelled after it was sent keeps its opaques until its reply arrives and is discarded; one
 * that times out after it was sent closes the machine (python-memcached's rule: a server
 * that let a request time out is dropped, and marked dead by the pool); one never sent is cut
 * from the outbox and its opaques freed. A reply with an
 * unknown opaque or a bad magic byte fails the machine (`RemoteProtocolError`).
 *
 * @example
 * ```ts
 * import { BinaryConnection } from "@kvwire/kvwire/memcache";
 * const conn = new BinaryConnection();
 * conn.send({ op: "version" });
 * conn.pollTransmit()?.length; // 24: one header
 * ```
 */
export class BinaryConnection implements ProtocolConnection<MemcacheRequest, MemcacheReply> {
  readonly #outbox = new Outbox<Entry, ByteWriter>(new ByteWriter(16 * 1024));
  readonly #buffer = new ReceiveBuffer();
  readonly #frames: KeyedTable<Frame>;
  readonly #pending = new PendingRequests<Entry>(new CoarseDeadlines<Entry>());
  readonly #events = new FifoTable<Event>();
  readonly #maxValue: number;
  #phase: "handshake" | "ready" | "closed" = "ready";
  #handshake: Uint8Array | undefined;
  #nextId = 1;
  #eof = false;
  #failure: Error | undefined;
  #closedReported = false;

  /** Creates a machine; with `sasl`, authentication is queued first. */
  constructor(options: BinaryConnectionOptions = {}) {
    this.#maxValue = options.maxValueLength ?? DEFAULT_MAX_VALUE_LENGTH;
    this.#frames = new KeyedTable<Frame>(
      options.firstOpaque ?? 1 + Math.floor(Math.random() * 0x40000000),
    );
    if (options.sasl) {
      const value = saslPlain(options.sasl.username, options.sasl.password);
      const entry = this.#newEntry("SASL_AUTH", "sasl");
      const w = new ByteWriter(64);
      const mech = utf8Encode("PLAIN");
      const opaque = this.#frame(entry, -1);
      writeRequestHeader(w, Opcode.SaslAuth, mech.length, 0, value.length, opaque);
      w.writeBytes(mech).writeBytes(value);
      this.#handshake = w.finish();
      entry.transmitted = true;
      this.#phase = "handshake";
    }
  }

  get inFlight(): number {
    return this.#phase === "closed" ? 0 : this.#pending.size;
  }

  get canSend(): boolean {
    return this.#phase !== "closed";
  }

  get wantsRead(): boolean {
    return this.#phase !== "closed";
  }

  #newEntry(name: string, kind: BinaryKind): Entry {
    return {
      id: 0,
      name,
      kind,
      batch: false,
      opaques: [],
      wantCas: false,
      start: 0,
      end: 0,
      settled: false,
      transmitted: false,
      mode: undefined,
      items: undefined,
      statuses: undefined,
      stats: undefined,
      error: undefined,
    };
  }

  #frame(entry: Entry, index: number): number {
    const opaque = this.#frames.add({ entry, index });
    entry.opaques.push(opaque);
    return opaque;
  }

  send(request: MemcacheRequest, options: SendOptions = {}): number {
    if (this.#phase === "closed") throw new LocalProtocolError("The memcache connection is closed");
    const plan = planBinaryRequest(request); // validates; writes nothing
    const entry = this.#newEntry(requestName(request), plan.kind);
    entry.batch = plan.batch;
    entry.wantCas = plan.wantCas;
    entry.mode = plan.mode;
    if (plan.kind === "get") entry.items = new Array(plan.count).fill(null);
    else if (plan.kind === "store" || plan.kind === "delete") {
      entry.statuses = new Array(plan.count).fill(undefined);
    } else if (plan.kind === "stats") entry.stats = new Map();
    const start = this.#outbox.writer.length;
    plan.write(this.#outbox.writer, (index) => this.#frame(entry, index));
    entry.id = this.#nextId++;
    this.#outbox.push(entry, start);
    this.#pending.add(entry, options.deadline);
    return entry.id;
  }

  cancel(id: number): void {
    this.#pending.cancel(id);
  }

  close(): void {
    if (this.#phase === "closed") return;
    this.#phase = "closed";
    this.#pending.closeAll();
    this.#outbox.clear();
    this.#frames.drain();
    this.#buffer.clear();
  }

  pollTransmit(maxBytes = Infinity): Uint8Array | undefined {
    if (this.#phase === "closed") return undefined;
    if (this.#handshake) {
      const bytes = this.#handshake;
      this.#handshake = undefined;
      return bytes;
    }
    if (this.#phase !== "ready") return undefined;
    return this.#outbox.take(maxBytes, () => {}, (entry) => this.#forget(entry));
  }

  #forget(entry: Entry): void {
    for (const opaque of entry.opaques) this.#frames.take(opaque);
    entry.opaques.length = 0;
  }

  receive(chunk: Uint8Array): void {
    if (this.#phase !== "closed" && !this.#eof) this.#buffer.push(chunk);
  }

  receiveEof(): void {
    this.#eof = true;
  }

  pollTimeout(): number | undefined {
    return this.#pending.nextDeadline();
  }

  handleTimeout(now: number): void {
    const timeouts = this.#pending.expire(now);
    for (const event of timeouts) this.#events.push(event);
    const closed = closedAfterTimeouts(timeouts);
    if (!closed || this.#phase === "closed") return;
    this.#closedReported = true;
    this.close();
    this.#events.push(closed);
  }

  nextEvent(): MemcacheEvent | undefined {
    for (;;) {
      const queued = this.#events.shift();
      if (queued) return queued;
      if (this.#failure) throw this.#failure;
      if (this.#closedReported) return undefined;
      const buffer = this.#buffer;
      if (buffer.length < HEADER_LENGTH) return this.#endOfInput();
      const header = readResponseHeader(buffer.view(HEADER_LENGTH));
      if (!header) {
        this.#fail(`Bad magic byte 0x${buffer.byteAt(0).toString(16)} in a memcache reply`);
      }
      if (header.extrasLength + header.keyLength > header.bodyLength) {
        this.#fail("memcache reply header lengths are inconsistent");
      }
      const valueLength = header.bodyLength - header.extrasLength - header.keyLength;
      if (valueLength > this.#maxValue) {
        this.#fail(
          `memcache value of ${valueLength} bytes is over the ${this.#maxValue}-byte limit ` +
            "(maxValueSize)",
        );
      }
      if (buffer.length < HEADER_LENGTH + header.bodyLength) return this.#endOfInput();
      const frame = this.#frames.get(header.opaque);
      if (!frame) this.#fail(`memcache reply with unknown opaque ${header.opaque}`);
      const packet = buffer.take(HEADER_LENGTH + header.bodyLength);
      const event = this.#handle(frame, header, packet);
      if (event) return event;
    }
  }

  #fail(message: string): never {
    this.#failure = new RemoteProtocolError(message);
    this.close();
    throw this.#failure;
  }

  #endOfInput(): Event | undefined {
    if (!this.#eof) return undefined;
    this.#closedReported = true;
    const partial = this.#buffer.length > 0;
    this.close();
    if (partial) {
      return {
        type: "closed",
        error: new RemoteProtocolError("memcached closed the connection in the middle of a reply"),
      };
    }
    return { type: "closed" };
  }

  #handle(frame: Frame, h: ResponseHeader, packet: Uint8Array): Event | undefined {
    const { entry, index } = frame;
    const body = HEADER_LENGTH + h.extrasLength + h.keyLength;
    const value = (): Uint8Array => packet.subarray(body); // a zero-copy view
    const error = (): MemcacheError => {
      const text = utf8Decode(packet.subarray(body)).trim();
      const code = statusName(h.status);
      return new MemcacheError(`memcached refused ${entry.name}: ${text || code} (${code})`, code);
    };
    if (entry.kind === "stats" && h.status === Status.NoError && h.keyLength > 0) {
      const key = utf8Decode(packet.subarray(HEADER_LENGTH + h.extrasLength, body));
      entry.stats!.set(key, utf8Decode(packet.subarray(body)));
      return undefined;
    }
    this.#frames.take(h.opaque);
    if (entry.batch && index >= 0) {
      // A quiet frame's answer: a hit (gets) or a failure (stores, deletes).
      if (entry.kind === "get") {
        if (h.status === Status.NoError) entry.items![index] = this.#item(h, packet, value());
        else if (h.status !== Status.KeyNotFound) entry.error ??= error();
      } else {
        entry.statuses![index] = this.#status(entry, h.status) ?? error();
      }
      return undefined;
    }
    this.#forget(entry); // the closing NOOP, or a single request's answer
    let result: MemcacheReply | MemcacheError | undefined;
    if (entry.batch) result = this.#finishBatch(entry);
    else if (entry.kind === "sasl") return this.#saslDone(h, error);
    else result = this.#single(entry, h, packet, value, error);
    this.#pending.finish(entry);
    if (entry.settled) return undefined;
    entry.settled = true;
    if (result instanceof MemcacheError) {
      return { type: "serverError", id: entry.id, error: result };
    }
    return { type: "reply", id: entry.id, value: result };
  }

  #item(h: ResponseHeader, packet: Uint8Array, value: Uint8Array): MemcacheItem {
    const flags = h.extrasLength >= 4 ? readUint32BE(packet, HEADER_LENGTH) : 0;
    return { value, flags, cas: readBigUint64BE(packet, 16) };
  }

  #status(entry: Entry, status: number): MemcacheStatus | undefined {
    if (status === Status.NoError) {
      return entry.kind === "delete" ? "deleted" : entry.kind === "touch" ? "touched" : "stored";
    }
    const mode = entry.mode;
    if (status === Status.KeyNotFound) {
      return mode === "replace" || mode === "append" || mode === "prepend"
        ? "notStored"
        : "notFound";
    }
    if (status === Status.KeyExists) return mode === "add" ? "notStored" : "exists";
    if (status === Status.NotStored) return "notStored";
    return undefined;
  }

  #finishBatch(entry: Entry): MemcacheReply | MemcacheError {
    if (entry.kind === "get") return entry.error ?? { type: "items", items: entry.items! };
    const quiet: MemcacheStatus = entry.kind === "delete" ? "deleted" : "stored";
    return { type: "statuses", statuses: Array.from(entry.statuses!, (s) => s ?? quiet) };
  }

  #single(
    entry: Entry,
    h: ResponseHeader,
    packet: Uint8Array,
    value: () => Uint8Array,
    error: () => MemcacheError,
  ): MemcacheReply | MemcacheError {
    const ok = h.status === Status.NoError;
    switch (entry.kind) {
      case "get":
        if (ok) {
          const item = this.#item(h, packet, value());
          if (!entry.wantCas) delete item.cas;
          return { type: "items", items: [item] };
        }
        return h.status === Status.KeyNotFound ? { type: "items", items: [null] } : error();
      case "store":
      case "delete":
      case "touch": {
        const status = this.#status(entry, h.status);
        return status ? { type: "statuses", statuses: [status] } : error();
      }
      case "counter":
        if (ok && h.bodyLength - h.extrasLength - h.keyLength === 8) {
          return {
            type: "counter",
            value: readBigUint64BE(packet, HEADER_LENGTH + h.extrasLength + h.keyLength),
          };
        }
        if (h.status === Status.KeyNotFound || h.status === Status.KeyExists) {
          return { type: "counter", value: null };
        }
        return ok ? this.#fail("memcache counter reply is not 8 bytes") : error();
      case "stats":
        return ok ? { type: "stats", stats: entry.stats! } : error();
      case "version":
        return ok ? { type: "version", version: utf8Decode(value()) } : error();
      default:
        return ok ? { type: "ok" } : error();
    }
  }

  #saslDone(h: ResponseHeader, error: () => MemcacheError): Event | undefined {
    if (h.status === Status.NoError) {
      this.#phase = "ready";
      return undefined;
    }
    const cause = error();
    this.#closedReported = true;
    this.close();
    return {
      type: "closed",
      error: new MemcacheError(`SASL authentication failed: ${cause.message}`, cause.serverCode, {
        cause,
      }),
    };
  }
}

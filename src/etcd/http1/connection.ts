// Http1Connection: the sans-I/O HTTP/1.1 client connection machine (DESIGN.md §3, RFC 9112):
// pipelined requests over keep-alive, in-order responses, streamed bodies as line items.

import type { ConnectionEvent, ProtocolConnection, SendOptions } from "../../core/connection.ts";
import { concatBytes } from "../../core/bytes.ts";
import { FifoTable } from "../../core/correlation.ts";
import { DeadlineHeap } from "../../core/deadline_heap.ts";
import { LocalProtocolError, RemoteProtocolError, ServerError } from "../../core/errors.ts";
import { ReceiveBuffer } from "../../core/receive_buffer.ts";
import { encodeRequest, type HttpRequest, type HttpResponse, ResponseReader } from "./codec.ts";

/** Options of an {@link Http1Connection}. */
export interface Http1ConnectionOptions {
  /** The `Host` header value, such as `"127.0.0.1:2379"`. */
  host: string;
  /** Largest status line plus headers. Default 64 KiB. */
  maxHeaderBytes?: number;
  /**
   * Largest (non-stream) response body, declared or received. Default 64 MiB: etcd's own
   * request limit is 1.5 MiB, but one range answer may carry many keys.
   */
  maxBodyBytes?: number;
  /** Largest line of a streamed body (one watch message), and largest chunk of it. Default 16 MiB. */
  maxItemBytes?: number;
  /** Turns a non-2xx answer to a stream request into the error that ends the stream. */
  streamError?: (response: HttpResponse) => ServerError;
}

interface Entry {
  id: number;
  stream: boolean;
  bytes: Uint8Array | undefined;
  transmitted: boolean;
  settled: boolean;
}

/** Undelivered events above which the machine stops asking for bytes. */
const EVENT_HIGH_WATER = 256;

/** The default of {@link Http1ConnectionOptions.maxItemBytes}: 16 MiB. */
const DEFAULT_MAX_ITEM_BYTES = 16 * 1024 * 1024;

/**
 * An HTTP/1.1 client connection as a machine. Feed it bytes, pull events and bytes.
 *
 * Theory of operation. Requests are encoded in `send` and transmitted in order; responses
 * match in-flight requests in order (pipelining). A normal response is buffered to its end
 * and reported as one `reply` (any status: HTTP errors are values for the client to read).
 * A request sent with `stream: true` gets its 2xx body split at `\n` into `streamItem`
 * events and a `streamEnd` at the body's end; a non-2xx answer ends the stream with
 * `streamError(response)`. While a stream request is outstanding the connection is in the
 * restricted "carrying a stream body" mode: `canSend` is false and `send` throws
 * `LocalProtocolError`. A request that timed out or was cancelled after transmission keeps
 * its place and its response is discarded; cancelling a transmitted stream leaves the
 * connection unusable (`canSend` false) because its body never ends. After a response with
 * `Connection: close` nothing more is sent. Proof of ownership: a response belongs to the
 * oldest request written and not yet answered; bytes that arrive while no written request
 * awaits its response, or that follow a response when no other request awaits one, are a
 * `RemoteProtocolError` (events completed before them are still delivered). Declared lengths
 * are checked against the limits before anything is buffered. Protocol violations fail the
 * machine for good.
 *
 * @example
 * ```ts
 * import { Http1Connection } from "@kvwire/kvwire/etcd";
 * const conn = new Http1Connection({ host: "127.0.0.1:2379" });
 * const id = conn.send({ method: "GET", path: "/version" });
 * conn.pollTransmit(); // "GET /version HTTP/1.1\r\n..."
 * conn.receive(new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"));
 * conn.nextEvent(); // { type: "reply", id, value: { status: 200, body: "{}", ... } }
 * ```
 */
export class Http1Connection implements ProtocolConnection<HttpRequest, HttpResponse, Uint8Array> {
  readonly #options: Http1ConnectionOptions;
  readonly #reader: ResponseReader;
  readonly #buf = new ReceiveBuffer();
  #nextId = 1;
  #outbox = new FifoTable<Entry>();
  #inFlight = new FifoTable<Entry>();
  #live = 0;
  #deadlines = new DeadlineHeap<Entry>((e) => !e.settled);
  #events = new FifoTable<ConnectionEvent<HttpResponse, Uint8Array>>();
  #eof = false;
  #closed = false;
  #failure: RemoteProtocolError | undefined;
  #failureReported = false;
  /** Bytes that arrived while no written request awaited a response. */
  #unsolicited = 0;
  #streamOpen = false;
  #unusable = false;
  // The response being read.
  #current: Entry | undefined;
  #status = 0;
  #reason = "";
  #headers: Record<string, string> = {};
  #parts: Uint8Array[] = [];
  #size = 0;
  #streaming = false;

  /** Creates an idle connection machine. */
  constructor(options: Http1ConnectionOptions) {
    this.#options = options;
    this.#reader = new ResponseReader({
      maxHeaderBytes: options.maxHeaderBytes,
      maxBodyBytes: options.maxBodyBytes,
    });
  }

  get inFlight(): number {
    return this.#live;
  }

  /** True while a stream request (watch) owns the connection. */
  get streaming(): boolean {
    return this.#streamOpen;
  }

  get canSend(): boolean {
    return !this.#closed && !this.#failure && !this.#streamOpen && !this.#unusable &&
      !this.#reader.closeAfter && !this.#eof;
  }

  get wantsRead(): boolean {
    return !this.#closed && !this.#failure && this.#events.size < EVENT_HIGH_WATER;
  }

  send(request: HttpRequest, options: SendOptions = {}): number {
    if (!this.canSend) {
      const why = this.#streamOpen
        ? "it carries a streamed response body"
        : "it is closed or closing";
      throw new LocalProtocolError(`Cannot send ${request.method} ${request.path}: ${why}`);
    }
    const bytes = encodeRequest(request, this.#options.host);
    const entry: Entry = {
      id: this.#nextId++,
      stream: request.stream === true,
      bytes,
      transmitted: false,
      settled: false,
    };
    if (entry.stream) this.#streamOpen = true;
    this.#outbox.push(entry);
    this.#live++;
    if (options.deadline !== undefined) this.#deadlines.push(options.deadline, entry);
    return entry.id;
  }

  cancel(id: number): void {
    for (const entry of [...this.#outbox, ...this.#inFlight]) {
      if (entry.id !== id || entry.settled) continue;
      this.#settle(entry);
      if (entry.stream && entry.transmitted) this.#unusable = true;
      else if (entry.stream) this.#streamOpen = false;
    }
  }

  close(): void {
    this.#closed = true;
  }

  pollTransmit(maxBytes = Infinity): Uint8Array | undefined {
    const parts: Uint8Array[] = [];
    let size = 0;
    while (this.#outbox.size > 0 && size < maxBytes && !this.#failure) {
      const entry = this.#outbox.shift()!;
      if (entry.settled) continue; // timed out or cancelled before it was written
      entry.transmitted = true;
      parts.push(entry.bytes!);
      size += entry.bytes!.length;
      entry.bytes = undefined;
      this.#inFlight.push(entry);
    }
    if (parts.length === 0) return undefined;
    return parts.length === 1 ? parts[0] : concatBytes(parts);
  }

  receive(chunk: Uint8Array): void {
    if (
      chunk.length > 0 && this.#inFlight.size === 0 && this.#current === undefined &&
      this.#buf.length === 0 && this.#unsolicited === 0
    ) this.#unsolicited = chunk.length;
    this.#buf.push(chunk);
  }

  receiveEof(): void {
    this.#eof = true;
  }

  pollTimeout(): number | undefined {
    return this.#deadlines.peek();
  }

  handleTimeout(now: number): void {
    for (const entry of this.#deadlines.popExpired(now)) {
      this.#settle(entry);
      this.#events.push({ type: "timeout", id: entry.id, sent: entry.transmitted });
    }
  }

  nextEvent(): ConnectionEvent<HttpResponse, Uint8Array> | undefined {
    if (this.#failure === undefined) {
      try {
        while (this.#events.size === 0 && this.#step());
      } catch (error) {
        this.#failure = error instanceof RemoteProtocolError
          ? error
          : new RemoteProtocolError(`Invalid HTTP response: ${(error as Error).message}`);
        this.#buf.clear();
        this.#parts = [];
      }
    }
    // Events completed before a violation are delivered first; then the failure, once.
    const event = this.#events.shift();
    if (event !== undefined || this.#failure === undefined) return event;
    if (this.#failureReported) return { type: "closed", error: this.#failure };
    this.#failureReported = true;
    throw this.#failure;
  }

  /** Parses one part; false when more bytes are needed. */
  #step(): boolean {
    if (this.#closed) return false;
    if (this.#unsolicited > 0) {
      throw new RemoteProtocolError(
        `${this.#unsolicited} bytes arrived while no request awaited a response`,
      );
    }
    if (this.#current === undefined && this.#buf.length === 0 && this.#reader.idle) return false;
    const part = this.#reader.next(this.#buf, this.#eof);
    if (part === undefined) return false;
    if (part.type === "head") {
      const entry = this.#inFlight.shift();
      if (!entry) throw new RemoteProtocolError(`Unexpected HTTP ${part.status} response`);
      this.#current = entry;
      this.#status = part.status;
      this.#reason = part.reason;
      this.#headers = part.headers;
      this.#parts = [];
      this.#size = 0;
      this.#streaming = entry.stream && part.status >= 200 && part.status < 300;
      if (this.#streaming) this.#reader.allowStreamBody(this.#maxItem);
      return true;
    }
    const entry = this.#current!;
    if (part.type === "data") {
      this.#size += part.bytes.length;
      this.#parts.push(part.bytes);
      if (this.#streaming) this.#splitLines(entry);
      return true;
    }
    // end of the response
    this.#current = undefined;
    if (this.#streaming) {
      if (this.#size > 0) this.#item(entry, concatBytes(this.#parts));
      if (!entry.settled) this.#events.push({ type: "streamEnd", id: entry.id });
    } else if (!entry.settled) {
      const response: HttpResponse = {
        status: this.#status,
        reason: this.#reason,
        headers: this.#headers,
        body: this.#parts.length === 1 ? this.#parts[0] : concatBytes(this.#parts),
      };
      if (entry.stream) {
        const error = this.#options.streamError?.(response) ??
          new ServerError(`HTTP ${response.status} ${response.reason}`, String(response.status));
        this.#events.push({ type: "streamEnd", id: entry.id, error });
      } else {
        this.#events.push({ type: "reply", id: entry.id, value: response });
      }
    }
    if (entry.stream) this.#streamOpen = false;
    this.#settle(entry);
    this.#parts = [];
    if (this.#inFlight.size === 0 && this.#buf.length > 0) {
      throw new RemoteProtocolError(
        `${this.#buf.length} bytes followed a complete response while no request awaited one`,
      );
    }
    return true;
  }

  #splitLines(entry: Entry): void {
    const last = this.#parts[this.#parts.length - 1];
    let nl = last.indexOf(10);
    if (nl === -1) {
      const max = this.#maxItem;
      if (this.#size > max) throw new RemoteProtocolError(`Stream item exceeds ${max} bytes`);
      return;
    }
    let line = concatBytes([...this.#parts.slice(0, -1), last.subarray(0, nl)]);
    let rest = last.subarray(nl + 1);
    for (;;) {
      this.#item(entry, line);
      nl = rest.indexOf(10);
      if (nl === -1) break;
      line = rest.subarray(0, nl);
      rest = rest.subarray(nl + 1);
    }
    this.#parts = rest.length > 0 ? [rest] : [];
    this.#size = rest.length;
  }

  get #maxItem(): number {
    return this.#options.maxItemBytes ?? DEFAULT_MAX_ITEM_BYTES;
  }

  #item(entry: Entry, line: Uint8Array): void {
    const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length;
    if (end === 0 || entry.settled) return;
    this.#events.push({ type: "streamItem", id: entry.id, item: line.subarray(0, end) });
  }

  #settle(entry: Entry): void {
    if (entry.settled) return;
    entry.settled = true;
    this.#live--;
  }
}

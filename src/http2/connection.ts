// Http2Connection: the sans-I/O HTTP/2 client connection machine (RFC 9113, h2c with prior
// knowledge): one stream per request, HPACK, flow control, SETTINGS, PING, GOAWAY, RST_STREAM.

import type { ConnectionEvent, ProtocolConnection, SendOptions } from "../core/connection.ts";
import { ByteWriter, concatBytes } from "../core/bytes.ts";
import { FifoTable } from "../core/correlation.ts";
import { DeadlineHeap } from "../core/deadline_heap.ts";
import {
  ConnectionClosedError,
  type KvError,
  LocalProtocolError,
  RemoteProtocolError,
  UnresponsiveError,
} from "../core/errors.ts";
import { ReceiveBuffer } from "../core/receive_buffer.ts";
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  encodeSettings,
  FRAME_HEADER_BYTES,
  Http2ErrorCode,
  MAX_WINDOW,
  PREFACE,
  Setting,
  uint32Payload,
  writeFrame,
} from "./frames.ts";
import { type HeaderField, HpackDecoder, HpackEncoder, latin1Encode } from "./hpack.ts";
import { Http2Inbound } from "./inbound.ts";
import { StreamState } from "./stream.ts";
import {
  type Http2Item,
  type Http2Reply,
  type Http2Request,
  type Http2Send,
  Http2StreamError,
} from "./types.ts";

/** Options of an {@link Http2Connection}. */
export interface Http2ConnectionOptions {
  /** The `:authority` of every request, such as `"127.0.0.1:2379"`. */
  authority: string;
  /** The `:scheme`. Default `"http"`. */
  scheme?: "http" | "https";
  /** The window we grant each stream (SETTINGS_INITIAL_WINDOW_SIZE). Default 1 MiB. */
  streamWindow?: number;
  /** The window we grant the whole connection. Default 16 MiB. */
  connectionWindow?: number;
  /** Largest frame we accept (SETTINGS_MAX_FRAME_SIZE). Default 16384. */
  maxFrameSize?: number;
  /** Largest decoded header list we accept (SETTINGS_MAX_HEADER_LIST_SIZE). Default 64 KiB. */
  maxHeaderListSize?: number;
  /** Largest response body of a non-stream request. Default 64 MiB. */
  maxBodyBytes?: number;
  /** Header names sent "never indexed" by HPACK (secrets). Default `authorization`, `token`. */
  sensitiveHeaders?: readonly string[];
}

/** A request settled on its own: a write into an open stream. */
interface WriteEntry {
  id: number;
  stream: StreamState;
  settled: boolean;
  transmitted: boolean;
}

type Event = ConnectionEvent<Http2Reply, Http2Item>;
type Entry = StreamState | WriteEntry;

/** Undelivered events above which the machine stops asking for bytes. */
const EVENT_HIGH_WATER = 256;

const isWrite = (req: Http2Send): req is { write: number; data: Uint8Array; end?: boolean } =>
  (req as { write?: unknown }).write !== undefined;

/**
 * An HTTP/2 client connection as a machine. Feed it bytes, pull events and bytes.
 *
 * Theory of operation. The first `pollTransmit` writes the preface, our SETTINGS and a
 * connection WINDOW_UPDATE. Each request becomes a stream: `send` queues it ("queued"), and
 * `pollTransmit` opens queued streams in order while fewer than the peer's
 * MAX_CONCURRENT_STREAMS are open (allocating the stream id and encoding HPACK then, so ids
 * and the HPACK state follow the wire order), then writes DATA round-robin within the
 * stream, connection and max-frame-size limits. Control frames (SETTINGS ACK, PING ACK,
 * WINDOW_UPDATE, RST_STREAM) go first. Received frames are parsed lazily in `nextEvent` by
 * {@link Http2Inbound}; DATA is credited back once half a window was consumed. A stream
 * request reports headers, data and trailers as items then `streamEnd`; any other request
 * one `reply` with the whole response. RST_STREAM from the peer ends its stream with an
 * {@link Http2StreamError}. A GOAWAY stops new streams (`canSend` false): streams at or below
 * its last stream id finish, the others and the queued ones fail with `sent: false`; once
 * none is left a `closed` event follows. Frames for streams we never opened are a
 * `RemoteProtocolError` (proof of ownership); frames for streams we reset are dropped.
 * Protocol violations fail the machine for good. `ping` sends a liveness PING whose missing
 * ACK closes the machine with `UnresponsiveError` at its deadline.
 *
 * @example
 * ```ts
 * import { Http2Connection } from "./connection.ts";
 * const conn = new Http2Connection({ authority: "127.0.0.1:2379" });
 * const id = conn.send({ path: "/etcdserverpb.KV/Range", body: new Uint8Array(5) });
 * conn.pollTransmit(); // preface, SETTINGS, WINDOW_UPDATE, HEADERS, DATA
 * ```
 */
export class Http2Connection implements ProtocolConnection<Http2Send, Http2Reply, Http2Item> {
  readonly #authority: string;
  readonly #scheme: string;
  readonly #streamWindow: number;
  readonly #connWindow: number;
  readonly #sensitive: ReadonlySet<string>;
  readonly #buf = new ReceiveBuffer();
  readonly #encoder = new HpackEncoder();
  readonly #inbound: Http2Inbound;
  #nextRequestId = 1;
  #nextStreamId = 1;
  readonly #byRequest = new Map<number, Entry>();
  readonly #byStream = new Map<number, StreamState>();
  readonly #queued = new FifoTable<StreamState>();
  /** Open streams with request bytes waiting. */
  readonly #sending = new Set<StreamState>();
  readonly #control: Uint8Array[] = [];
  readonly #deadlines = new DeadlineHeap<Entry>((e) => !e.settled);
  readonly #events = new FifoTable<Event>();
  #live = 0;
  #open = 0;
  #prefaceSent = false;
  // The peer's settings and our credit.
  #peerMaxStreams = Infinity;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxFrame = DEFAULT_MAX_FRAME_SIZE;
  #peerMaxHeaderList = Infinity;
  #connSendWindow = DEFAULT_WINDOW;
  #connUnacked = 0;
  #connRecvLeft: number;
  /** Streams that received DATA not yet credited back. */
  readonly #crediting = new Set<StreamState>();
  // Lifecycle.
  #goAway: { lastStreamId: number; code: string } | undefined;
  #closedReported = false;
  #closed = false;
  #eof = false;
  #failure: KvError | undefined;
  #failureReported = false;
  #pingSeq = 0;
  #pings = new Map<number, number>(); // payload counter -> deadline
  #pingsAcked = 0;

  /** Creates an idle connection machine; nothing is sent before the first `pollTransmit`. */
  constructor(options: Http2ConnectionOptions) {
    this.#authority = options.authority;
    this.#scheme = options.scheme ?? "http";
    this.#streamWindow = options.streamWindow ?? 1024 * 1024;
    this.#connWindow = options.connectionWindow ?? 16 * 1024 * 1024;
    for (
      const [name, v] of [["streamWindow", this.#streamWindow], [
        "connectionWindow",
        this.#connWindow,
      ]] as const
    ) {
      if (!Number.isInteger(v) || v < DEFAULT_WINDOW || v > MAX_WINDOW) {
        throw new RangeError(`${name} must be an integer from 65535 to 2^31-1, got ${v}`);
      }
    }
    this.#connRecvLeft = this.#connWindow;
    this.#sensitive = new Set(options.sensitiveHeaders ?? ["authorization", "token"]);
    const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    const maxHeaderListSize = options.maxHeaderListSize ?? 64 * 1024;
    this.#inbound = new Http2Inbound({
      maxFrameSize,
      maxHeaderListSize,
      maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 * 1024,
      decoder: new HpackDecoder({ maxHeaderListSize }),
      host: this,
    });
    this.#settingsPayload = encodeSettings([
      [Setting.EnablePush, 0],
      [Setting.InitialWindowSize, this.#streamWindow],
      [Setting.MaxFrameSize, maxFrameSize],
      [Setting.MaxHeaderListSize, maxHeaderListSize],
    ]);
  }

  readonly #settingsPayload: Uint8Array;

  get inFlight(): number {
    return this.#live;
  }

  get canSend(): boolean {
    return !this.#closed && !this.#failure && !this.#goAway && !this.#eof;
  }

  get wantsRead(): boolean {
    return !this.#closed && !this.#failure && this.#events.size < EVENT_HIGH_WATER;
  }

  /** Streams open on the wire now (HEADERS written, not yet closed both ways). */
  get openStreams(): number {
    return this.#open;
  }

  /** PING ACKs received for pings sent with {@link ping}. */
  get pingsAcked(): number {
    return this.#pingsAcked;
  }

  /** The peer's GOAWAY, once one arrived. */
  get goAway(): { lastStreamId: number; code: string } | undefined {
    return this.#goAway;
  }

  send(request: Http2Send, options: SendOptions = {}): number {
    if (!this.canSend) {
      const why = this.#goAway ? `the peer sent GOAWAY (${this.#goAway.code})` : "it is closed";
      throw new LocalProtocolError(`Cannot start an HTTP/2 request: ${why}`);
    }
    const id = this.#nextRequestId++;
    let entry: Entry;
    if (isWrite(request)) {
      const stream = this.#byRequest.get(request.write);
      if (!(stream instanceof StreamState) || !stream.streaming || stream.settled) {
        throw new LocalProtocolError(`Request ${request.write} is not an open stream request`);
      }
      if (stream.endQueued) {
        throw new LocalProtocolError(`Stream of request ${request.write} has ended`);
      }
      entry = { id, stream, settled: false, transmitted: false };
      stream.enqueue(request.data, request.end === true, id);
      if (stream.phase === "open") this.#sending.add(stream);
    } else {
      const headers = this.#requestHeaders(request);
      const stream = new StreamState(
        id,
        request.stream === true,
        headers,
        this.#peerInitialWindow,
        this.#streamWindow,
      );
      const body = request.body;
      if (body !== undefined && body.length > 0) stream.enqueue(body, !stream.streaming, undefined);
      else if (!stream.streaming) stream.enqueue(new Uint8Array(0), true, undefined);
      this.#queued.push(stream);
      entry = stream;
    }
    this.#byRequest.set(id, entry);
    this.#live++;
    if (options.deadline !== undefined) this.#deadlines.push(options.deadline, entry);
    return id;
  }

  #requestHeaders(request: Http2Request): HeaderField[] {
    const fields: HeaderField[] = [
      [":method", request.method ?? "POST"],
      [":scheme", this.#scheme],
      [":authority", this.#authority],
      [":path", request.path],
    ];
    let size = 0;
    for (const [name, value] of fields) size += name.length + value.length + 32;
    for (const [name, value] of request.headers ?? []) {
      if (name === "" || name !== name.toLowerCase() || name.startsWith(":")) {
        throw new TypeError(
          `Header name ${JSON.stringify(name)} must be lower-case and not a pseudo-header`,
        );
      }
      latin1Encode(value, `Header ${name}`);
      size += name.length + value.length + 32;
    }
    latin1Encode(request.path, "Path");
    if (size > this.#peerMaxHeaderList) {
      throw new RangeError(
        `Request headers of ${size} bytes exceed the peer's limit of ${this.#peerMaxHeaderList}`,
      );
    }
    return request.headers ? [...fields, ...request.headers] : fields;
  }

  cancel(id: number): void {
    const entry = this.#byRequest.get(id);
    if (!entry || entry.settled) return;
    if (entry instanceof StreamState) this.#abandon(entry, Http2ErrorCode.CANCEL);
    else this.#settle(entry);
  }

  close(): void {
    this.#closed = true;
  }

  wasSent(id: number): boolean {
    const entry = this.#byRequest.get(id);
    if (entry === undefined) return true;
    return entry instanceof StreamState ? entry.phase !== "queued" : entry.transmitted;
  }

  /**
   * Sends a liveness PING; when its ACK has not arrived by `deadline` (the clock of
   * `handleTimeout`), the machine closes with `UnresponsiveError`.
   */
  ping(deadline: number): void {
    if (!this.canSend && !this.#goAway) return;
    const seq = ++this.#pingSeq;
    const payload = new Uint8Array(8);
    new DataView(payload.buffer).setUint32(4, seq);
    this.#pings.set(seq, deadline);
    this.#queueFrame(0x6, 0, 0, payload);
  }

  pollTransmit(maxBytes = Infinity): Uint8Array | undefined {
    if (this.#closed || this.#failure) return undefined;
    const w = new ByteWriter(1024);
    if (!this.#prefaceSent) {
      this.#prefaceSent = true;
      w.writeBytes(PREFACE);
      writeFrame(w, 0x4, 0, 0, this.#settingsPayload);
      writeFrame(w, 0x8, 0, 0, uint32Payload(this.#connWindow - DEFAULT_WINDOW));
    }
    for (const frame of this.#control) w.writeBytes(frame);
    this.#control.length = 0;
    this.#writeCredit(w);
    while (this.#queued.size > 0 && this.#open < this.#peerMaxStreams && !this.#goAway) {
      const stream = this.#queued.shift()!;
      if (stream.settled) continue;
      this.#openStream(w, stream);
    }
    this.#writeData(w, maxBytes);
    return w.length === 0 ? undefined : w.finish();
  }

  #openStream(w: ByteWriter, stream: StreamState): void {
    stream.streamId = this.#nextStreamId;
    this.#nextStreamId += 2;
    stream.phase = "open";
    this.#open++;
    this.#byStream.set(stream.streamId, stream);
    const block = this.#encoder.encode(stream.headers, { sensitive: this.#sensitive });
    stream.headers = [];
    // END_STREAM on HEADERS when the request has no body.
    const head = stream.out.peek();
    let flags = 0;
    if (head && head.end && head.data.length === 0 && head.writeId === undefined) {
      stream.out.shift();
      stream.localEnded = true;
      flags |= 0x1;
    }
    const max = this.#peerMaxFrame;
    for (let start = 0, first = true; first || start < block.length; first = false) {
      const end = Math.min(block.length, start + max);
      const type = first ? 0x1 : 0x9;
      writeFrame(
        w,
        type,
        (first ? flags : 0) | (end === block.length ? 0x4 : 0),
        stream.streamId,
        block,
        start,
        end,
      );
      start = end;
    }
    if (stream.hasOutput) this.#sending.add(stream);
  }

  #writeData(w: ByteWriter, maxBytes: number): void {
    let progress = true;
    while (progress && this.#sending.size > 0 && w.length < maxBytes) {
      progress = false;
      for (const stream of this.#sending) {
        const chunk = stream.out.peek();
        if (!chunk) {
          this.#sending.delete(stream);
          continue;
        }
        const left = chunk.data.length - chunk.offset;
        const n = Math.min(left, stream.sendWindow, this.#connSendWindow, this.#peerMaxFrame);
        if (n === 0 && left > 0) continue; // no credit: wait for WINDOW_UPDATE
        const last = n === left;
        const endFlag = last && chunk.end ? 0x1 : 0;
        if (n > 0 || endFlag) {
          writeFrame(w, 0x0, endFlag, stream.streamId, chunk.data, chunk.offset, chunk.offset + n);
        }
        chunk.offset += n;
        stream.sendWindow -= n;
        this.#connSendWindow -= n;
        progress = true;
        if (last) {
          stream.out.shift();
          if (chunk.end) stream.localEnded = true;
          if (chunk.writeId !== undefined) this.#written(chunk.writeId, stream);
          if (stream.localEnded && stream.remoteEnded) this.#finish(stream);
        }
        if (!stream.hasOutput) this.#sending.delete(stream);
        if (w.length >= maxBytes) break;
      }
    }
  }

  #written(writeId: number, stream: StreamState): void {
    const entry = this.#byRequest.get(writeId) as WriteEntry | undefined;
    if (!entry) return;
    entry.transmitted = true;
    if (entry.settled) return;
    this.#settle(entry);
    this.#events.push({
      type: "reply",
      id: writeId,
      value: { type: "written", stream: stream.requestId },
    });
  }

  receive(chunk: Uint8Array): void {
    if (this.#closed || this.#eof) return;
    this.#buf.push(chunk);
  }

  receiveEof(): void {
    this.#eof = true;
  }

  pollTimeout(): number | undefined {
    let at = this.#deadlines.peek();
    for (const deadline of this.#pings.values()) {
      if (at === undefined || deadline < at) at = deadline;
    }
    return at;
  }

  handleTimeout(now: number): void {
    for (const entry of this.#deadlines.popExpired(now)) {
      const sent = entry instanceof StreamState ? entry.phase !== "queued" : entry.transmitted;
      if (entry instanceof StreamState) this.#abandon(entry, Http2ErrorCode.CANCEL);
      else this.#settle(entry);
      this.#events.push({
        type: "timeout",
        id: entry instanceof StreamState ? entry.requestId : entry.id,
        sent,
      });
    }
    for (const deadline of this.#pings.values()) {
      if (deadline <= now && !this.#failure) {
        this.#failure = new UnresponsiveError("HTTP/2 peer did not answer a PING in time");
      }
    }
  }

  nextEvent(): Event | undefined {
    if (this.#failure === undefined) {
      try {
        while (
          this.#events.size === 0 && !this.#closed && this.#inbound.step(this.#buf, this.#eof)
        );
      } catch (error) {
        this.#failure = error instanceof RemoteProtocolError
          ? error
          : new RemoteProtocolError(`Invalid HTTP/2 input: ${(error as Error).message}`);
        this.#buf.clear();
      }
      this.#maybeGoneAway();
    }
    const event = this.#events.shift();
    if (event !== undefined || this.#failure === undefined) return event;
    if (this.#failureReported || !(this.#failure instanceof RemoteProtocolError)) {
      this.#failureReported = true;
      return { type: "closed", error: this.#failure };
    }
    this.#failureReported = true;
    throw this.#failure;
  }

  #maybeGoneAway(): void {
    if (!this.#goAway || this.#closedReported || this.#open > 0 || this.#queued.size > 0) return;
    this.#closedReported = true;
    this.#failure = new ConnectionClosedError(
      `HTTP/2 peer sent GOAWAY (${this.#goAway.code}); every stream has finished`,
    );
  }

  // ---- callbacks of Http2Inbound (the frame reader) ----

  /** @internal The stream a frame names; undefined for one we reset or finished. */
  streamFor(streamId: number): StreamState | undefined {
    const stream = this.#byStream.get(streamId);
    if (stream) return stream;
    if (streamId % 2 === 1 && streamId < this.#nextStreamId) return undefined;
    throw new RemoteProtocolError(`HTTP/2 frame for stream ${streamId}, which was never opened`);
  }

  /** @internal Applies the peer's SETTINGS and acknowledges them. */
  applySettings(settings: [number, number][]): void {
    for (const [id, value] of settings) {
      if (id === Setting.HeaderTableSize) this.#encoder.setMaxTableSize(value);
      else if (id === Setting.MaxConcurrentStreams) this.#peerMaxStreams = value;
      else if (id === Setting.MaxFrameSize) this.#peerMaxFrame = value;
      else if (id === Setting.MaxHeaderListSize) this.#peerMaxHeaderList = value;
      else if (id === Setting.InitialWindowSize) {
        const delta = value - this.#peerInitialWindow;
        this.#peerInitialWindow = value;
        for (const stream of [...this.#byStream.values(), ...this.#queuedStreams()]) {
          stream.sendWindow += delta;
          if (stream.sendWindow > MAX_WINDOW) {
            throw new RemoteProtocolError("HTTP/2 SETTINGS_INITIAL_WINDOW_SIZE overflows a window");
          }
        }
        if (delta > 0) {
          for (const s of this.#byStream.values()) if (s.hasOutput) this.#sending.add(s);
        }
      }
    }
    this.#queueFrame(0x4, 0x1, 0, new Uint8Array(0));
  }

  *#queuedStreams(): Iterable<StreamState> {
    for (let i = 0; i < this.#queued.size; i++) yield this.#queued.at(i)!;
  }

  /** @internal A PING from the peer (answered) or the ACK of ours. */
  pinged(payload: Uint8Array, ack: boolean): void {
    if (!ack) {
      this.#queueFrame(0x6, 0x1, 0, payload.slice());
      return;
    }
    const seq = new DataView(payload.buffer, payload.byteOffset, 8).getUint32(4);
    if (this.#pings.delete(seq)) this.#pingsAcked++;
  }

  /** @internal WINDOW_UPDATE for the connection (stream undefined) or a stream. */
  windowUpdate(stream: StreamState | undefined, increment: number): void {
    if (stream === undefined) {
      this.#connSendWindow += increment;
      if (this.#connSendWindow > MAX_WINDOW) {
        throw new RemoteProtocolError("HTTP/2 connection window overflowed 2^31-1");
      }
      return;
    }
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) {
      this.resetByUs(stream, Http2ErrorCode.FLOW_CONTROL_ERROR, "window overflow");
    } else if (stream.hasOutput) this.#sending.add(stream);
  }

  /** @internal Counts received DATA against our windows (credit goes out in pollTransmit). */
  consumed(stream: StreamState | undefined, bytes: number): void {
    this.#connRecvLeft -= bytes;
    if (this.#connRecvLeft < 0) {
      throw new RemoteProtocolError("HTTP/2 peer sent more DATA than the connection window");
    }
    this.#connUnacked += bytes;
    if (!stream || stream.remoteEnded) return;
    stream.recvLeft -= bytes;
    if (stream.recvLeft < 0) {
      this.resetByUs(stream, Http2ErrorCode.FLOW_CONTROL_ERROR, "the peer overran its window");
      return;
    }
    stream.unacked += bytes;
    this.#crediting.add(stream);
  }

  /** WINDOW_UPDATEs for windows more than half consumed. */
  #writeCredit(w: ByteWriter): void {
    if (this.#connUnacked >= this.#connWindow / 2) {
      writeFrame(w, 0x8, 0, 0, uint32Payload(this.#connUnacked));
      this.#connRecvLeft += this.#connUnacked;
      this.#connUnacked = 0;
    }
    for (const stream of this.#crediting) {
      if (stream.phase === "closed" || stream.remoteEnded) this.#crediting.delete(stream);
      else if (stream.unacked >= stream.recvWindow / 2) {
        writeFrame(w, 0x8, 0, stream.streamId, uint32Payload(stream.unacked));
        stream.recvLeft += stream.unacked;
        stream.unacked = 0;
        this.#crediting.delete(stream);
      }
    }
  }

  /** @internal Reports a response part of a stream request. */
  item(stream: StreamState, item: Http2Item): void {
    if (!stream.settled) this.#events.push({ type: "streamItem", id: stream.requestId, item });
  }

  /** @internal END_STREAM arrived: the response is complete. */
  remoteEnd(stream: StreamState): void {
    stream.remoteEnded = true;
    if (!stream.settled) {
      this.#settle(stream);
      if (stream.streaming) this.#events.push({ type: "streamEnd", id: stream.requestId });
      else {
        const body = stream.body.length === 1 ? stream.body[0] : concatBytes(stream.body);
        this.#events.push({
          type: "reply",
          id: stream.requestId,
          value: {
            type: "response",
            status: stream.status,
            headers: stream.responseHeaders,
            body,
            trailers: stream.trailers,
          },
        });
      }
    }
    stream.body = [];
    // The peer answered before our request ended: stop sending (RFC 9113 §8.1).
    if (!stream.localEnded) this.resetByUs(stream, Http2ErrorCode.NO_ERROR, "");
    else this.#finish(stream);
  }

  /** @internal The peer reset the stream. */
  resetByPeer(stream: StreamState, code: string): void {
    const refused = code === "REFUSED_STREAM";
    this.#failStream(
      stream,
      new Http2StreamError(
        `HTTP/2 stream ${stream.streamId} was reset by the peer: ${code}`,
        code,
        { sent: !refused },
      ),
    );
    this.#finish(stream);
  }

  /** @internal We reset a stream (a stream error, or it is no longer wanted). */
  resetByUs(stream: StreamState, code: number, why: string): void {
    if (why) {
      this.#failStream(
        stream,
        new Http2StreamError(`HTTP/2 stream ${stream.streamId}: ${why}`, "PROTOCOL_ERROR", {
          sent: true,
        }),
      );
    }
    this.#queueFrame(0x3, 0, stream.streamId, uint32Payload(code));
    this.#finish(stream);
  }

  /** @internal The peer's GOAWAY: streams above its last stream id were not processed. */
  goneAway(lastStreamId: number, code: string): void {
    this.#goAway = { lastStreamId, code };
    for (const stream of [...this.#byStream.values()]) {
      if (stream.streamId <= lastStreamId) continue;
      this.#failStream(stream, this.#refusal(stream, code));
      this.#finish(stream);
    }
    for (let s = this.#queued.shift(); s; s = this.#queued.shift()) {
      this.#failStream(s, this.#refusal(s, code));
    }
  }

  #refusal(stream: StreamState, code: string): Http2StreamError {
    return new Http2StreamError(
      `HTTP/2 peer sent GOAWAY (${code}) before processing request ${stream.requestId}`,
      "REFUSED_STREAM",
      { sent: false },
    );
  }

  #failStream(stream: StreamState, error: Http2StreamError): void {
    if (stream.settled) return;
    this.#settle(stream);
    this.#events.push(
      stream.streaming
        ? { type: "streamEnd", id: stream.requestId, error }
        : { type: "serverError", id: stream.requestId, error },
    );
  }

  /** Drops a stream we no longer want: RST_STREAM when it is on the wire. */
  #abandon(stream: StreamState, code: number): void {
    this.#settle(stream);
    if (stream.phase === "open") this.resetByUs(stream, code, "");
  }

  #finish(stream: StreamState): void {
    if (stream.phase === "open") this.#open--;
    stream.phase = "closed";
    this.#byStream.delete(stream.streamId);
    this.#sending.delete(stream);
    for (let c = stream.out.shift(); c; c = stream.out.shift()) {
      if (c.writeId !== undefined) this.#settleWrite(c.writeId);
    }
  }

  #settleWrite(id: number): void {
    const entry = this.#byRequest.get(id) as WriteEntry | undefined;
    if (entry && !entry.settled) {
      this.#settle(entry);
      const error = new Http2StreamError(
        `HTTP/2 stream of request ${entry.stream.requestId} ended before write ${id}`,
        "STREAM_CLOSED",
        { sent: false },
      );
      this.#events.push({ type: "serverError", id, error });
    }
  }

  #settle(entry: Entry): void {
    if (entry.settled) return;
    entry.settled = true;
    this.#live--;
    this.#byRequest.delete(entry instanceof StreamState ? entry.requestId : entry.id);
  }

  #queueFrame(type: number, flags: number, streamId: number, payload: Uint8Array): void {
    const w = new ByteWriter(FRAME_HEADER_BYTES + payload.length);
    writeFrame(w, type, flags, streamId, payload);
    this.#control.push(w.finish());
  }
}

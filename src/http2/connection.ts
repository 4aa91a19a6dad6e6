// Http2Connection: the sans-I/O HTTP/2 client connection machine (RFC 9113, h2c with prior
// knowledge): one stream per request, HPACK, flow control, SETTINGS, PING, GOAWAY, RST_STREAM.

import type { ConnectionEvent, ProtocolConnection, SendOptions } from "../core/connection.ts";
import { concatBytes } from "../core/bytes.ts";
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
  Flag,
  FrameType,
  Http2ErrorCode,
  MAX_WINDOW,
  uint32Payload,
} from "./frames.ts";
import { HpackDecoder } from "./hpack.ts";
import { Http2Inbound } from "./inbound.ts";
import { Http2Outbound, type OutboundHooks } from "./outbound.ts";
import { requestHeaderList, StreamState } from "./stream.ts";
import {
  type Http2ConnectionOptions,
  type Http2Item,
  type Http2Reply,
  type Http2Send,
  Http2StreamError,
} from "./types.ts";

export type { Http2ConnectionOptions } from "./types.ts";

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
  readonly #buf = new ReceiveBuffer();
  readonly #inbound: Http2Inbound;
  readonly #out: Http2Outbound;
  #nextRequestId = 1;
  readonly #byRequest = new Map<number, Entry>();
  readonly #byStream = new Map<number, StreamState>();
  readonly #queued = new FifoTable<StreamState>();
  readonly #deadlines = new DeadlineHeap<Entry>((e) => !e.settled);
  readonly #events = new FifoTable<Event>();
  #live = 0;
  #open = 0;
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
    const connectionWindow = options.connectionWindow ?? 16 * 1024 * 1024;
    for (
      const [name, v] of [
        ["streamWindow", this.#streamWindow],
        ["connectionWindow", connectionWindow],
      ] as const
    ) {
      if (!Number.isInteger(v) || v < DEFAULT_WINDOW || v > MAX_WINDOW) {
        throw new RangeError(`${name} must be an integer from 65535 to 2^31-1, got ${v}`);
      }
    }
    const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    const maxHeaderListSize = options.maxHeaderListSize ?? 64 * 1024;
    this.#out = new Http2Outbound({
      streamWindow: this.#streamWindow,
      connectionWindow,
      maxFrameSize,
      maxHeaderListSize,
      sensitive: new Set(options.sensitiveHeaders ?? ["authorization", "token"]),
    });
    this.#inbound = new Http2Inbound({
      maxFrameSize,
      maxHeaderListSize,
      maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 * 1024,
      decoder: new HpackDecoder({ maxHeaderListSize }),
      host: this,
    });
  }

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
      this.#out.wake(stream);
    } else {
      const headers = requestHeaderList(
        request,
        this.#scheme,
        this.#authority,
        this.#out.peerMaxHeaderList,
      );
      const stream = new StreamState(
        id,
        request.stream === true,
        headers,
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
    this.#out.queueFrame(FrameType.Ping, 0, 0, payload);
  }

  pollTransmit(maxBytes = Infinity): Uint8Array | undefined {
    if (this.#closed || this.#failure) return undefined;
    return this.#out.transmit(maxBytes, this.#queued, () => this.#open, this.#hooks);
  }

  readonly #hooks: OutboundHooks = {
    opened: (stream) => {
      this.#open++;
      this.#byStream.set(stream.streamId, stream);
    },
    written: (writeId, stream) => {
      const entry = this.#byRequest.get(writeId) as WriteEntry | undefined;
      if (!entry) return;
      entry.transmitted = true;
      this.#settle(entry);
      this.#events.push({
        type: "reply",
        id: writeId,
        value: { type: "written", stream: stream.requestId },
      });
    },
    ended: (stream) => this.#finish(stream),
  };

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
    if (this.#out.opened(streamId)) return undefined;
    throw new RemoteProtocolError(`HTTP/2 frame for stream ${streamId}, which was never opened`);
  }

  /** @internal Applies the peer's SETTINGS and acknowledges them. */
  applySettings(settings: [number, number][]): void {
    this.#out.applySettings(settings, this.#byStream.values());
  }

  /** @internal A PING from the peer (answered) or the ACK of ours. */
  pinged(payload: Uint8Array, ack: boolean): void {
    if (!ack) {
      this.#out.queueFrame(FrameType.Ping, Flag.Ack, 0, payload.slice());
      return;
    }
    const seq = new DataView(payload.buffer, payload.byteOffset, 8).getUint32(4);
    if (this.#pings.delete(seq)) this.#pingsAcked++;
  }

  /** @internal WINDOW_UPDATE for the connection (stream undefined) or a stream. */
  windowUpdate(stream: StreamState | undefined, increment: number): void {
    if (!this.#out.windowUpdate(stream, increment)) {
      this.resetByUs(stream!, Http2ErrorCode.FLOW_CONTROL_ERROR, "window overflow");
    }
  }

  /** @internal Counts received DATA against our windows. */
  consumed(stream: StreamState | undefined, bytes: number): void {
    if (!this.#out.consumed(stream, bytes)) {
      this.resetByUs(stream!, Http2ErrorCode.FLOW_CONTROL_ERROR, "the peer overran its window");
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
    this.#out.queueFrame(FrameType.RstStream, 0, stream.streamId, uint32Payload(code));
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
    this.#out.forget(stream);
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
}

// The send side of the HTTP/2 client machine: the preface and our SETTINGS, control frames,
// HEADERS/CONTINUATION with HPACK, DATA under stream and connection flow control (RFC 9113
// §5.2, §6.9), WINDOW_UPDATE credit for what we received, and the peer's settings.

import { ByteWriter } from "../core/bytes.ts";
import { RemoteProtocolError } from "../core/errors.ts";
import type { FifoTable } from "../core/correlation.ts";
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  encodeSettings,
  Flag,
  FRAME_HEADER_BYTES,
  FrameType,
  MAX_WINDOW,
  PREFACE,
  Setting,
  uint32Payload,
  writeFrame,
} from "./frames.ts";
import { HpackEncoder } from "./hpack.ts";
import type { StreamState } from "./stream.ts";

/** What the send side tells the connection while it writes. */
export interface OutboundHooks {
  /** A queued stream got its id and its HEADERS were written. */
  opened(stream: StreamState): void;
  /** The bytes of write request `writeId` were all written. */
  written(writeId: number, stream: StreamState): void;
  /** Both sides of the stream have ended. */
  ended(stream: StreamState): void;
}

/** Our settings, as the connection's options gave them. */
export interface OutboundSettings {
  streamWindow: number;
  connectionWindow: number;
  maxFrameSize: number;
  maxHeaderListSize: number;
  sensitive: ReadonlySet<string>;
}

/**
 * Writes what the connection has to say, in order: preface (once), control frames, window
 * credit, new streams (while the peer's MAX_CONCURRENT_STREAMS allows) and DATA round-robin.
 * Stream ids and the HPACK state are assigned as HEADERS are written, so they follow the
 * wire order. Credit for received DATA is granted once half a window was consumed and counts
 * as given only when the WINDOW_UPDATE is written.
 *
 * @example
 * ```ts
 * // Used by Http2Connection; see its theory of operation.
 * ```
 */
export class Http2Outbound {
  readonly #own: OutboundSettings;
  readonly #encoder = new HpackEncoder();
  readonly #control: Uint8Array[] = [];
  /** Open streams with request bytes waiting. */
  readonly #sending = new Set<StreamState>();
  /** Streams that received DATA not yet credited back. */
  readonly #crediting = new Set<StreamState>();
  #prefaceSent = false;
  #nextStreamId = 1;
  #connSendWindow = DEFAULT_WINDOW;
  #connUnacked = 0;
  #connRecvLeft: number;
  /** The peer's settings. */
  peerMaxStreams = Infinity;
  peerInitialWindow = DEFAULT_WINDOW;
  peerMaxFrame = DEFAULT_MAX_FRAME_SIZE;
  peerMaxHeaderList = Infinity;

  /** Creates the send side with our settings. */
  constructor(own: OutboundSettings) {
    this.#own = own;
    this.#connRecvLeft = own.connectionWindow;
  }

  /** Whether `streamId` is one we opened (it may be closed since). */
  opened(streamId: number): boolean {
    return streamId % 2 === 1 && streamId < this.#nextStreamId;
  }

  /** Queues a control frame, written before anything else. */
  queueFrame(type: number, flags: number, streamId: number, payload: Uint8Array): void {
    const w = new ByteWriter(FRAME_HEADER_BYTES + payload.length);
    writeFrame(w, type, flags, streamId, payload);
    this.#control.push(w.finish());
  }

  /** Notes that `stream` has bytes to send. */
  wake(stream: StreamState): void {
    if (stream.phase === "open" && stream.hasOutput) this.#sending.add(stream);
  }

  /** Forgets a closed stream. */
  forget(stream: StreamState): void {
    this.#sending.delete(stream);
    this.#crediting.delete(stream);
  }

  /** Writes everything due; `open` is how many streams are open now. */
  transmit(
    maxBytes: number,
    queued: FifoTable<StreamState>,
    open: () => number,
    hooks: OutboundHooks,
  ): Uint8Array | undefined {
    const w = new ByteWriter(1024);
    if (!this.#prefaceSent) {
      this.#prefaceSent = true;
      w.writeBytes(PREFACE);
      writeFrame(
        w,
        FrameType.Settings,
        0,
        0,
        encodeSettings([
          [Setting.EnablePush, 0],
          [Setting.InitialWindowSize, this.#own.streamWindow],
          [Setting.MaxFrameSize, this.#own.maxFrameSize],
          [Setting.MaxHeaderListSize, this.#own.maxHeaderListSize],
        ]),
      );
      const raise = this.#own.connectionWindow - DEFAULT_WINDOW;
      if (raise > 0) writeFrame(w, FrameType.WindowUpdate, 0, 0, uint32Payload(raise));
    }
    for (const frame of this.#control) w.writeBytes(frame);
    this.#control.length = 0;
    this.#writeCredit(w);
    while (queued.size > 0 && open() < this.peerMaxStreams) {
      const stream = queued.shift()!;
      if (!stream.settled) this.#openStream(w, stream, hooks);
    }
    this.#writeData(w, maxBytes, hooks);
    return w.length === 0 ? undefined : w.finish();
  }

  #openStream(w: ByteWriter, stream: StreamState, hooks: OutboundHooks): void {
    stream.streamId = this.#nextStreamId;
    this.#nextStreamId += 2;
    stream.phase = "open";
    stream.sendWindow = this.peerInitialWindow;
    hooks.opened(stream);
    const block = this.#encoder.encode(stream.headers, { sensitive: this.#own.sensitive });
    stream.headers = [];
    // END_STREAM on HEADERS when the request has no body.
    const head = stream.out.peek();
    let flags = 0;
    if (head && head.end && head.data.length === 0 && head.writeId === undefined) {
      stream.out.shift();
      stream.localEnded = true;
      flags |= Flag.EndStream;
    }
    const max = this.peerMaxFrame;
    for (let start = 0, first = true; first || start < block.length; first = false) {
      const end = Math.min(block.length, start + max);
      const type = first ? FrameType.Headers : FrameType.Continuation;
      const f = (first ? flags : 0) | (end === block.length ? Flag.EndHeaders : 0);
      writeFrame(w, type, f, stream.streamId, block, start, end);
      start = end;
    }
    this.wake(stream);
  }

  #writeData(w: ByteWriter, maxBytes: number, hooks: OutboundHooks): void {
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
        // A lowered SETTINGS_INITIAL_WINDOW_SIZE can make a window negative (RFC 9113 §6.9.2).
        const credit = Math.min(stream.sendWindow, this.#connSendWindow);
        const n = Math.max(0, Math.min(left, credit, this.peerMaxFrame));
        if (n === 0 && left > 0) continue; // no credit: wait for WINDOW_UPDATE
        const last = n === left;
        const endFlag = last && chunk.end ? Flag.EndStream : 0;
        const { data, offset } = chunk;
        writeFrame(w, FrameType.Data, endFlag, stream.streamId, data, offset, offset + n);
        chunk.offset += n;
        stream.sendWindow -= n;
        this.#connSendWindow -= n;
        progress = true;
        if (last) {
          stream.out.shift();
          if (chunk.end) stream.localEnded = true;
          if (chunk.writeId !== undefined) hooks.written(chunk.writeId, stream);
          if (stream.localEnded && stream.remoteEnded) hooks.ended(stream);
        }
        if (!stream.hasOutput) this.#sending.delete(stream);
        if (w.length >= maxBytes) break;
      }
    }
  }

  /** WINDOW_UPDATEs for windows more than half consumed. */
  #writeCredit(w: ByteWriter): void {
    if (this.#connUnacked >= this.#own.connectionWindow / 2) {
      writeFrame(w, FrameType.WindowUpdate, 0, 0, uint32Payload(this.#connUnacked));
      this.#connRecvLeft += this.#connUnacked;
      this.#connUnacked = 0;
    }
    for (const stream of this.#crediting) {
      if (stream.phase === "closed" || stream.remoteEnded) this.#crediting.delete(stream);
      else if (stream.unacked >= stream.recvWindow / 2) {
        writeFrame(w, FrameType.WindowUpdate, 0, stream.streamId, uint32Payload(stream.unacked));
        stream.recvLeft += stream.unacked;
        stream.unacked = 0;
        this.#crediting.delete(stream);
      }
    }
  }

  /**
   * Applies the peer's SETTINGS to `open` streams, then acknowledges them. Throws
   * `RemoteProtocolError` when a new initial window overflows a stream's window.
   */
  applySettings(settings: [number, number][], open: Iterable<StreamState>): void {
    for (const [id, value] of settings) {
      if (id === Setting.HeaderTableSize) this.#encoder.setMaxTableSize(value);
      else if (id === Setting.MaxConcurrentStreams) this.peerMaxStreams = value;
      else if (id === Setting.MaxFrameSize) this.peerMaxFrame = value;
      else if (id === Setting.MaxHeaderListSize) this.peerMaxHeaderList = value;
      else if (id === Setting.InitialWindowSize) {
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const stream of open) {
          stream.sendWindow += delta;
          if (stream.sendWindow > MAX_WINDOW) {
            throw new RemoteProtocolError("HTTP/2 SETTINGS_INITIAL_WINDOW_SIZE overflows a window");
          }
          this.wake(stream);
        }
      }
    }
    this.queueFrame(FrameType.Settings, Flag.Ack, 0, new Uint8Array(0));
  }

  /** WINDOW_UPDATE for the connection (stream undefined) or a stream; false on overflow. */
  windowUpdate(stream: StreamState | undefined, increment: number): boolean {
    if (stream === undefined) {
      this.#connSendWindow += increment;
      if (this.#connSendWindow > MAX_WINDOW) {
        throw new RemoteProtocolError("HTTP/2 connection window overflowed 2^31-1");
      }
      return true;
    }
    stream.sendWindow += increment;
    this.wake(stream);
    return stream.sendWindow <= MAX_WINDOW;
  }

  /**
   * Counts received DATA against our windows; throws `RemoteProtocolError` when the
   * connection window is overrun, returns false when the stream's is.
   */
  consumed(stream: StreamState | undefined, bytes: number): boolean {
    this.#connRecvLeft -= bytes;
    if (this.#connRecvLeft < 0) {
      throw new RemoteProtocolError("HTTP/2 peer sent more DATA than the connection window");
    }
    this.#connUnacked += bytes;
    if (!stream || stream.remoteEnded) return true;
    stream.recvLeft -= bytes;
    if (stream.recvLeft < 0) return false;
    stream.unacked += bytes;
    this.#crediting.add(stream);
    return true;
  }
}

// The frame reader of the HTTP/2 client machine: parses one received frame at a time
// (RFC 9113 §4.1, §6), validates it and hands its meaning to the connection.

import { concatBytes } from "../core/bytes.ts";
import { RemoteProtocolError } from "../core/errors.ts";
import type { ReceiveBuffer } from "../core/receive_buffer.ts";
import {
  DEFAULT_MAX_FRAME_SIZE,
  errorCodeName,
  Flag,
  FRAME_HEADER_BYTES,
  FrameType,
  Http2ErrorCode,
  MAX_MAX_FRAME_SIZE,
  MAX_WINDOW,
  readFrameHeader,
  Setting,
} from "./frames.ts";
import type { HeaderField, HpackDecoder } from "./hpack.ts";
import type { StreamState } from "./stream.ts";
import type { Http2Item } from "./types.ts";

/** What the reader tells the connection (implemented by `Http2Connection`). */
export interface InboundHost {
  streamFor(streamId: number): StreamState | undefined;
  applySettings(settings: [number, number][]): void;
  pinged(payload: Uint8Array, ack: boolean): void;
  windowUpdate(stream: StreamState | undefined, increment: number): void;
  consumed(stream: StreamState | undefined, bytes: number): void;
  item(stream: StreamState, item: Http2Item): void;
  remoteEnd(stream: StreamState): void;
  resetByPeer(stream: StreamState, code: string): void;
  resetByUs(stream: StreamState, code: number, why: string): void;
  goneAway(lastStreamId: number, code: string): void;
}

/** Options of an {@link Http2Inbound}. */
export interface InboundOptions {
  maxFrameSize: number;
  maxHeaderListSize: number;
  maxBodyBytes: number;
  decoder: HpackDecoder;
  host: InboundHost;
}

const fail = (message: string): never => {
  throw new RemoteProtocolError(`HTTP/2: ${message}`);
};

/**
 * Reads frames from a receive buffer and reports them to its host. Theory of operation: a
 * frame is consumed only when it is complete; its declared length is checked against our
 * SETTINGS_MAX_FRAME_SIZE first. The first frame must be the server's SETTINGS. A header block
 * (HEADERS then CONTINUATIONs) is gathered up to a bound and decoded once complete, even for
 * a stream we reset, so that the HPACK table stays in step. Violations throw
 * `RemoteProtocolError` (connection errors).
 *
 * @example
 * ```ts
 * // Used by Http2Connection; see its theory of operation.
 * ```
 */
export class Http2Inbound {
  readonly #o: InboundOptions;
  #sawSettings = false;
  /** A header block in progress: its stream and fragments. */
  #block: { streamId: number; endStream: boolean; parts: Uint8Array[]; size: number } | undefined;

  /** Creates a reader. */
  constructor(options: InboundOptions) {
    this.#o = options;
  }

  /** Parses one frame when a whole one is buffered; false when more bytes are needed. */
  step(buf: ReceiveBuffer, eof: boolean): boolean {
    if (buf.length < FRAME_HEADER_BYTES) {
      if (eof && buf.length > 0) fail("the connection ended inside a frame header");
      return false;
    }
    const h = readFrameHeader(buf.view(FRAME_HEADER_BYTES), 0);
    if (h.length > this.#o.maxFrameSize) {
      fail(`frame of ${h.length} bytes exceeds our SETTINGS_MAX_FRAME_SIZE (FRAME_SIZE_ERROR)`);
    }
    if (buf.length < FRAME_HEADER_BYTES + h.length) {
      if (eof) fail("the connection ended inside a frame");
      return false;
    }
    buf.skip(FRAME_HEADER_BYTES);
    const payload = buf.take(h.length);
    if (!this.#sawSettings && (h.type !== FrameType.Settings || (h.flags & Flag.Ack) !== 0)) {
      fail("the server's first frame is not SETTINGS");
    }
    if (this.#block && (h.type !== FrameType.Continuation || h.streamId !== this.#block.streamId)) {
      fail("a header block was interrupted by another frame");
    }
    this.#frame(h.type, h.flags, h.streamId, payload);
    return true;
  }

  #frame(type: number, flags: number, streamId: number, p: Uint8Array): void {
    const host = this.#o.host;
    switch (type) {
      case FrameType.Data: {
        if (streamId === 0) fail("DATA on stream 0");
        const stream = host.streamFor(streamId);
        const data = this.#unpad(flags, p);
        if (stream?.remoteEnded) fail(`DATA on stream ${streamId} after END_STREAM`);
        if (stream && stream.status === 0) fail(`DATA before HEADERS on stream ${streamId}`);
        host.consumed(stream, p.length);
        if (!stream || stream.phase === "closed") return;
        if (data.length > 0) {
          if (stream.streaming) host.item(stream, { type: "data", data });
          else {
            stream.bodySize += data.length;
            if (stream.bodySize > this.#o.maxBodyBytes) {
              host.resetByUs(
                stream,
                Http2ErrorCode.ENHANCE_YOUR_CALM,
                `response body exceeds ${this.#o.maxBodyBytes} bytes`,
              );
              return;
            }
            stream.body.push(data);
          }
        }
        if (flags & Flag.EndStream) host.remoteEnd(stream);
        return;
      }
      case FrameType.Headers: {
        if (streamId === 0) fail("HEADERS on stream 0");
        let fragment = this.#unpad(flags, p);
        if (flags & Flag.Priority) {
          if (fragment.length < 5) fail("HEADERS too short for its priority fields");
          fragment = fragment.subarray(5);
        }
        this.#block = { streamId, endStream: (flags & Flag.EndStream) !== 0, parts: [], size: 0 };
        this.#fragment(fragment, flags);
        return;
      }
      case FrameType.Continuation:
        if (!this.#block) fail("CONTINUATION without a header block");
        this.#fragment(p, flags);
        return;
      case FrameType.Priority:
        if (streamId === 0 || p.length !== 5) fail("malformed PRIORITY frame");
        return;
      case FrameType.RstStream: {
        if (streamId === 0 || p.length !== 4) fail("malformed RST_STREAM frame");
        const stream = host.streamFor(streamId);
        if (stream && stream.phase !== "closed") host.resetByPeer(stream, errorCodeName(u32(p, 0)));
        return;
      }
      case FrameType.Settings: {
        if (streamId !== 0) fail("SETTINGS on a stream");
        if (flags & Flag.Ack) {
          if (p.length !== 0) fail("SETTINGS ACK with a payload");
          return;
        }
        if (p.length % 6 !== 0) fail("SETTINGS payload is not a multiple of 6 bytes");
        this.#sawSettings = true;
        const settings: [number, number][] = [];
        for (let i = 0; i < p.length; i += 6) {
          const id = (p[i] << 8) | p[i + 1];
          const value = u32(p, i + 2);
          if (id === Setting.EnablePush && value > 1) fail("SETTINGS_ENABLE_PUSH must be 0 or 1");
          if (id === Setting.InitialWindowSize && value > MAX_WINDOW) {
            fail("SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1");
          }
          if (
            id === Setting.MaxFrameSize &&
            (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE)
          ) {
            fail(`SETTINGS_MAX_FRAME_SIZE ${value} out of range`);
          }
          settings.push([id, value]);
        }
        host.applySettings(settings);
        return;
      }
      case FrameType.PushPromise:
        return fail("PUSH_PROMISE although we disabled push");
      case FrameType.Ping:
        if (streamId !== 0 || p.length !== 8) fail("malformed PING frame");
        host.pinged(p, (flags & Flag.Ack) !== 0);
        return;
      case FrameType.GoAway:
        if (streamId !== 0 || p.length < 8) fail("malformed GOAWAY frame");
        host.goneAway(u32(p, 0) & 0x7fffffff, errorCodeName(u32(p, 4)));
        return;
      case FrameType.WindowUpdate: {
        if (p.length !== 4) fail("malformed WINDOW_UPDATE frame");
        const increment = u32(p, 0) & 0x7fffffff;
        if (streamId === 0) {
          if (increment === 0) fail("WINDOW_UPDATE of 0 on the connection");
          host.windowUpdate(undefined, increment);
          return;
        }
        const stream = host.streamFor(streamId);
        if (!stream || stream.phase === "closed") return;
        if (increment === 0) {
          host.resetByUs(stream, Http2ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
        } else host.windowUpdate(stream, increment);
        return;
      }
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  #unpad(flags: number, p: Uint8Array): Uint8Array {
    if ((flags & Flag.Padded) === 0) return p;
    if (p.length < 1 || p[0] >= p.length) fail("padding is longer than the frame");
    return p.subarray(1, p.length - p[0]);
  }

  #fragment(fragment: Uint8Array, flags: number): void {
    const block = this.#block!;
    block.size += fragment.length;
    // Huffman can shrink a string to 8/30 of its coded size: allow a block 4x the list limit.
    if (block.size > 4 * this.#o.maxHeaderListSize) fail("header block exceeds the limit");
    block.parts.push(fragment.slice());
    if ((flags & Flag.EndHeaders) === 0) return;
    this.#block = undefined;
    const bytes = block.parts.length === 1 ? block.parts[0] : concatBytes(block.parts);
    const fields = this.#o.decoder.decode(bytes);
    const stream = this.#o.host.streamFor(block.streamId);
    if (!stream || stream.phase === "closed") return;
    if (stream.remoteEnded) fail(`HEADERS on stream ${block.streamId} after END_STREAM`);
    this.#headers(stream, fields, block.endStream);
  }

  #headers(stream: StreamState, fields: HeaderField[], endStream: boolean): void {
    const host = this.#o.host;
    if (stream.status === 0) {
      const statusField = fields.find(([n]) => n === ":status");
      const status = statusField ? Number(statusField[1]) : NaN;
      if (!Number.isInteger(status) || status < 100 || status > 999) {
        fail(`response on stream ${stream.streamId} has no valid :status`);
      }
      if (status < 200) {
        if (endStream) fail("an informational response ended the stream");
        return; // 1xx: the final response follows
      }
      stream.status = status;
      stream.responseHeaders = fields.filter(([n]) => !n.startsWith(":"));
      if (stream.streaming) {
        host.item(stream, { type: "headers", status, headers: stream.responseHeaders });
      }
    } else {
      if (!endStream) fail(`trailers on stream ${stream.streamId} without END_STREAM`);
      stream.trailers = fields;
      if (stream.streaming) host.item(stream, { type: "trailers", trailers: fields });
    }
    if (endStream) host.remoteEnd(stream);
  }
}

function u32(p: Uint8Array, i: number): number {
  return ((p[i] << 24) >>> 0) + ((p[i + 1] << 16) | (p[i + 2] << 8) | p[i + 3]);
}

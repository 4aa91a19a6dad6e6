// A fake HTTP/2 server peer for machine tests: parses what the client machine wrote into
// frames (HEADERS decoded with its own HPACK decoder) and builds server frames.

import { ByteWriter, concatBytes } from "../../src/core/bytes.ts";
import { FrameType, PREFACE, readFrameHeader, writeFrame } from "../../src/http2/frames.ts";
import { type HeaderField, HpackDecoder, HpackEncoder } from "../../src/http2/hpack.ts";

/** One frame the client wrote. */
export interface SeenFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Uint8Array;
  /** Decoded request headers, for a HEADERS frame that ended its block. */
  headers?: HeaderField[];
}

/** Parses client bytes (preface first) and builds server frames. */
export class FakePeer {
  #pending: Uint8Array = new Uint8Array(0);
  #sawPreface = false;
  #block: Uint8Array[] = [];
  readonly decoder = new HpackDecoder();
  readonly encoder = new HpackEncoder();

  /** Parses `bytes` (any split) into the frames completed so far. */
  read(bytes: Uint8Array | undefined): SeenFrame[] {
    if (bytes) this.#pending = concatBytes([this.#pending, bytes]);
    if (!this.#sawPreface) {
      if (this.#pending.length < PREFACE.length) return [];
      const head = this.#pending.subarray(0, PREFACE.length);
      if (!head.every((b, i) => b === PREFACE[i])) throw new Error("bad preface");
      this.#pending = this.#pending.subarray(PREFACE.length);
      this.#sawPreface = true;
    }
    const out: SeenFrame[] = [];
    while (this.#pending.length >= 9) {
      const h = readFrameHeader(this.#pending, 0);
      if (this.#pending.length < 9 + h.length) break;
      const payload = this.#pending.slice(9, 9 + h.length);
      this.#pending = this.#pending.subarray(9 + h.length);
      const frame: SeenFrame = { type: h.type, flags: h.flags, streamId: h.streamId, payload };
      if (h.type === FrameType.Headers || h.type === FrameType.Continuation) {
        this.#block.push(payload);
        if (h.flags & 0x4) {
          frame.headers = this.decoder.decode(concatBytes(this.#block));
          this.#block = [];
        }
      }
      out.push(frame);
    }
    return out;
  }

  /** One server frame. */
  frame(type: number, flags: number, streamId: number, payload: Uint8Array): Uint8Array {
    const w = new ByteWriter();
    writeFrame(w, type, flags, streamId, payload);
    return w.finish();
  }

  /** SETTINGS from `[id, value]` pairs (empty: defaults). */
  settings(pairs: [number, number][] = [], ack = false): Uint8Array {
    const w = new ByteWriter();
    for (const [id, v] of pairs) w.writeUint16BE(id).writeUint32BE(v);
    return this.frame(FrameType.Settings, ack ? 1 : 0, 0, w.finish());
  }

  /** A HEADERS frame (END_HEADERS set) encoding `fields`. */
  headers(streamId: number, fields: HeaderField[], endStream = false): Uint8Array {
    return this.frame(
      FrameType.Headers,
      0x4 | (endStream ? 1 : 0),
      streamId,
      this.encoder.encode(fields),
    );
  }

  /** A DATA frame. */
  data(streamId: number, bytes: Uint8Array, endStream = false): Uint8Array {
    return this.frame(FrameType.Data, endStream ? 1 : 0, streamId, bytes);
  }

  /** A 4-byte-payload frame (RST_STREAM, WINDOW_UPDATE). */
  u32(type: number, streamId: number, value: number): Uint8Array {
    return this.frame(
      type,
      0,
      streamId,
      new Uint8Array([value >>> 24, (value >> 16) & 255, (value >> 8) & 255, value & 255]),
    );
  }

  /** GOAWAY with a last stream id and an error code. */
  goAway(lastStreamId: number, code = 0): Uint8Array {
    const w = new ByteWriter();
    w.writeUint32BE(lastStreamId).writeUint32BE(code);
    return this.frame(FrameType.GoAway, 0, 0, w.finish());
  }
}

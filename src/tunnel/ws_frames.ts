// WebSocket framing (RFC 6455 §5), sans-I/O: an incremental decoder that streams data payloads
// as they arrive (memory stays bounded whatever the frame size) and a frame encoder.
//
// Theory of operation: the decoder holds at most one unparsed frame header plus the chunk it
// was last given. `push()` appends bytes, `next()` returns the next event or undefined (needs
// bytes). Data frames yield `data` pieces as soon as payload bytes are present; text messages
// (the tunnel's control channel) and control frames are reassembled, bounded by small limits.
// A protocol violation throws WebSocketProtocolError carrying the close code to send; the
// decoder is then failed and throws the same error again.

import { utf8Decode, utf8Encode } from "../core/bytes.ts";

/** Frame opcodes. */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/** One of the values of {@link Opcode}. */
export type Opcode = typeof Opcode[keyof typeof Opcode];

/** What the decoder produces. */
export type FrameEvent =
  | { type: "data"; bytes: Uint8Array }
  | { type: "text"; text: string }
  | { type: "ping"; payload: Uint8Array }
  | { type: "pong" }
  | { type: "close"; code: number; reason: string };

/** A framing violation; `closeCode` is the code to close with (1002, 1007, 1009). */
export class WebSocketProtocolError extends Error {
  /** The RFC 6455 close code for this violation. */
  readonly closeCode: number;

  /** Creates the error. */
  constructor(message: string, closeCode = 1002) {
    super(message);
    this.name = "WebSocketProtocolError";
    this.closeCode = closeCode;
  }
}

/** Options of {@link WebSocketFrameDecoder}. */
export interface FrameDecoderOptions {
  /** Largest data message (all its fragments) in bytes; larger fails with 1009. */
  maxMessageSize: number;
  /** Largest text message in bytes. Default 1024. */
  maxTextSize?: number;
  /** Refuse unmasked frames (a server reading a client). Default true. */
  requireMask?: boolean;
  /** Most frames (first and continuations, empty ones too) one message may have. Default 128. */
  maxFragments?: number;
}

/**
 * Decodes frames from a byte stream.
 *
 * @example
 * ```ts
 * import { encodeFrame, Opcode, WebSocketFrameDecoder } from "@kvwire/kvwire/tunnel";
 * const decoder = new WebSocketFrameDecoder({ maxMessageSize: 1 << 20, requireMask: false });
 * decoder.push(encodeFrame(Opcode.Binary, new Uint8Array([1, 2, 3])));
 * decoder.next(); // { type: "data", bytes: Uint8Array [1, 2, 3] }
 * ```
 */
export class WebSocketFrameDecoder {
  #chunks: Uint8Array[] = [];
  #at = 0; // bytes of chunks[0] already consumed (no view per frame)
  #buffered = 0;
  #maxMessage: number;
  #maxText: number;
  #maxFragments: number;
  #requireMask: boolean;
  #frames = 0;
  #fragments = 0;
  #failure: WebSocketProtocolError | undefined;
  // The frame being read, once its header is parsed.
  readonly #frame: Frame = { opcode: 0, fin: false, mask: undefined, left: 0, offset: 0 };
  #inFrame = false;
  #message: "binary" | "text" | null = null;
  #messageSize = 0;
  #text: Uint8Array[] = [];
  #control: Uint8Array[] = [];
  #closed = false;

  /** Creates a decoder with the given limits. */
  constructor(options: FrameDecoderOptions) {
    this.#maxMessage = options.maxMessageSize;
    this.#maxText = options.maxTextSize ?? 1024;
    this.#maxFragments = options.maxFragments ?? 128;
    this.#requireMask = options.requireMask ?? true;
  }

  /** Frame headers decoded so far (every frame: data, text, control, empty). */
  get frames(): number {
    return this.#frames;
  }

  /** Bytes held and not yet decoded. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Appends bytes (the decoder does not modify them). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** The next event, or undefined when more bytes are needed. */
  next(): FrameEvent | undefined {
    if (this.#failure) throw this.#failure;
    try {
      return this.#next();
    } catch (error) {
      if (error instanceof WebSocketProtocolError) this.#failure = error;
      throw error;
    }
  }

  #next(): FrameEvent | undefined {
    for (;;) {
      if (this.#closed) return undefined;
      if (!this.#inFrame && !this.#readHeader()) return undefined;
      const frame = this.#frame;
      const data = frame.opcode === Opcode.Binary || frame.opcode === Opcode.Continuation;
      if (data && this.#message === "binary" && frame.left > 0) {
        if (this.#buffered === 0) return undefined;
        return { type: "data", bytes: this.#dataRun() };
      }
      if (frame.left > this.#buffered) return undefined;
      if (frame.opcode === Opcode.Ping) return { type: "ping", payload: this.#lastPing() };
      const payload = this.#take(frame.left, frame);
      const event = this.#complete(frame, payload);
      if (event) return event;
    }
  }

  /**
   * The payload of the current binary frame and of the data frames right behind it, as far as
   * they are buffered, in one array: many tiny frames make one event, not one each.
   */
  #dataRun(): Uint8Array {
    const frame = this.#frame;
    const out = new Uint8Array(Math.min(this.#buffered, MAX_RUN)); // payload <= buffered bytes
    let filled = 0;
    for (;;) {
      const n = Math.min(frame.left, this.#buffered, out.length - filled);
      this.#takeInto(out, filled, n, frame);
      filled += n;
      if (frame.left > 0) break; // the rest has not arrived, or `out` is full
      this.#endFrame(frame);
      if (filled === out.length || !this.#nextIsData() || !this.#readHeader()) break;
    }
    if (filled === out.length) return out;
    return filled < out.length / 2 ? out.slice(0, filled) : out.subarray(0, filled);
  }

  /** Whether the next buffered frame continues the byte stream (binary, no reserved bits). */
  #nextIsData(): boolean {
    if (this.#buffered < 2) return false;
    const first = this.#byte(0);
    if ((first & 0x70) !== 0) return false;
    const opcode = first & 0x0f;
    return opcode === Opcode.Continuation
      ? this.#message === "binary"
      : opcode === Opcode.Binary && this.#message === null;
  }

  /**
   * The payload of the current ping, or of the last of the complete pings right behind it
   * (RFC 6455 §5.5.3: a pong may answer only the most recent ping).
   */
  #lastPing(): Uint8Array {
    const frame = this.#frame;
    let payload = this.#take(frame.left, frame);
    this.#inFrame = false;
    while (this.#buffered >= 2 && (this.#byte(0) & 0x7f) === Opcode.Ping) {
      if (!this.#readHeader() || frame.left > this.#buffered) break; // that one comes later
      payload = this.#take(frame.left, frame);
      this.#inFrame = false;
    }
    return payload;
  }

  /** Finishes a frame whose whole payload is in hand; returns an event or null to go on. */
  #complete(
    frame: { opcode: number; fin: boolean },
    payload: Uint8Array,
  ): FrameEvent | null {
    const opcode = frame.opcode;
    if (opcode >= 0x8) {
      this.#inFrame = false;
      if (opcode === Opcode.Pong) return { type: "pong" };
      this.#closed = true;
      if (payload.length === 0) return { type: "close", code: 1005, reason: "" };
      if (payload.length === 1) throw new WebSocketProtocolError("A close frame of one byte");
      const code = (payload[0] << 8) | payload[1];
      if (!validCloseCode(code)) throw new WebSocketProtocolError(`Invalid close code ${code}`);
      return { type: "close", code, reason: decodeUtf8Strict(payload.subarray(2)) };
    }
    if (this.#message === "text") {
      this.#text.push(payload);
      this.#endFrame(frame);
      if (!frame.fin) return null;
      const text = decodeUtf8Strict(concat(this.#text));
      this.#text = [];
      return { type: "text", text };
    }
    this.#endFrame(frame); // an empty binary frame
    return null;
  }

  #endFrame(frame: { fin: boolean }): void {
    this.#inFrame = false;
    if (frame.fin) {
      this.#message = null;
      this.#messageSize = 0;
      this.#fragments = 0;
    }
  }

  /** Parses a frame header if enough bytes are buffered. */
  #readHeader(): boolean {
    if (this.#buffered < 2) return false;
    const available = this.#buffered;
    const b0 = this.#byte(0);
    const b1 = this.#byte(1);
    const fin = (b0 & 0x80) !== 0;
    if ((b0 & 0x70) !== 0) throw new WebSocketProtocolError("Reserved bits set in a frame");
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (available < 4) return false;
      length = (this.#byte(2) << 8) | this.#byte(3);
      offset = 4;
    } else if (length === 127) {
      if (available < 10) return false;
      if (this.#byte(2) !== 0 || this.#byte(3) !== 0 || (this.#byte(4) & 0xe0) !== 0) {
        throw new WebSocketProtocolError("Frame larger than 2^53 bytes", 1009);
      }
      length = 0;
      for (let i = 2; i < 10; i++) length = length * 256 + this.#byte(i);
      offset = 10;
    }
    if (masked && available < offset + 4) return false;
    if (this.#requireMask && !masked) throw new WebSocketProtocolError("An unmasked client frame");
    const mask = masked
      ? ((this.#byte(offset) << 24) | (this.#byte(offset + 1) << 16) |
        (this.#byte(offset + 2) << 8) | this.#byte(offset + 3)) >>> 0
      : undefined;
    this.#validate(opcode, fin, length);
    this.#frames++;
    this.#skip(offset + (masked ? 4 : 0));
    const frame = this.#frame;
    frame.opcode = opcode;
    frame.fin = fin;
    frame.mask = mask;
    frame.left = length;
    frame.offset = 0;
    this.#inFrame = true;
    return true;
  }

  #validate(opcode: number, fin: boolean, length: number): void {
    if (opcode >= 0x8) {
      if (opcode > Opcode.Pong) throw new WebSocketProtocolError(`Unknown opcode ${opcode}`);
      if (!fin) throw new WebSocketProtocolError("A fragmented control frame");
      if (length > 125) throw new WebSocketProtocolError("A control frame over 125 bytes");
      return;
    }
    if (opcode === Opcode.Continuation) {
      if (!this.#message) throw new WebSocketProtocolError("A continuation with no message");
    } else if (opcode === Opcode.Text || opcode === Opcode.Binary) {
      if (this.#message) throw new WebSocketProtocolError("A new message inside a fragmented one");
      this.#message = opcode === Opcode.Text ? "text" : "binary";
    } else {
      throw new WebSocketProtocolError(`Unknown opcode ${opcode}`);
    }
    if (++this.#fragments > this.#maxFragments) {
      throw new WebSocketProtocolError(
        `A message in more than ${this.#maxFragments} fragments`,
        1009,
      );
    }
    this.#messageSize += length;
    const limit = this.#message === "text" ? this.#maxText : this.#maxMessage;
    if (this.#messageSize > limit) {
      throw new WebSocketProtocolError(
        `A ${this.#message} message of more than ${limit} bytes`,
        1009,
      );
    }
  }

  /** The buffered byte at index `i` (which must be buffered), without consuming it. */
  #byte(i: number): number {
    let index = this.#at + i;
    for (const chunk of this.#chunks) {
      if (index < chunk.length) return chunk[index];
      index -= chunk.length;
    }
    throw new RangeError("Not buffered"); // callers check #buffered first
  }

  /** Consumes `n` bytes (a frame header) without copying them. */
  #skip(n: number): void {
    this.#buffered -= n;
    while (n > 0) {
      const left = this.#chunks[0].length - this.#at;
      if (left > n) {
        this.#at += n;
        return;
      }
      n -= left;
      this.#chunks.shift();
      this.#at = 0;
    }
  }

  /** Consumes `n` bytes into a new array, unmasking payload bytes of `frame`. */
  #take(n: number, frame: Frame): Uint8Array {
    if (n === 0) return EMPTY;
    const out = new Uint8Array(n);
    this.#takeInto(out, 0, n, frame);
    return out;
  }

  /** Consumes `n` payload bytes of `frame` into `out` at `at`, unmasking them. */
  #takeInto(out: Uint8Array, at: number, n: number, frame: Frame): void {
    const end = at + n;
    for (let filled = at; filled < end;) {
      const chunk = this.#chunks[0];
      const from = this.#at;
      const count = Math.min(chunk.length - from, end - filled);
      if (count < 64) {
        for (let i = 0; i < count; i++) out[filled + i] = chunk[from + i]; // no view for a few bytes
      } else {
        out.set(chunk.subarray(from, from + count), filled);
      }
      filled += count;
      if (from + count === chunk.length) {
        this.#chunks.shift();
        this.#at = 0;
      } else {
        this.#at = from + count;
      }
    }
    this.#buffered -= n;
    const mask = frame.mask;
    if (mask !== undefined) {
      const offset = frame.offset - at;
      for (let i = at; i < end; i++) out[i] ^= mask >>> (24 - 8 * ((offset + i) & 3));
    }
    frame.offset += n;
    frame.left -= n;
  }
}

/** The frame being read: its header, and how much of its payload is still to come. */
type Frame = { opcode: number; fin: boolean; mask?: number; left: number; offset: number };

const EMPTY = new Uint8Array(0);
/** Largest data event: payload bytes of consecutive frames merged into one array. */
const MAX_RUN = 64 * 1024;

function validCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}

function decodeUtf8Strict(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new WebSocketProtocolError("Invalid UTF-8 in a text or close frame", 1007);
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * Encodes the header of one final unmasked frame with a `length`-byte payload: write it, then
 * the payload, to send a large frame without copying the payload.
 *
 * @example
 * ```ts
 * import { encodeFrameHeader, Opcode } from "@kvwire/kvwire/tunnel";
 * encodeFrameHeader(Opcode.Binary, 300); // Uint8Array [130, 126, 1, 44]
 * ```
 */
export function encodeFrameHeader(opcode: Opcode, length: number): Uint8Array {
  return writeHeader(new Uint8Array(headerSize(length, false)), opcode, length, false);
}

function headerSize(length: number, masked: boolean): number {
  return 2 + (length < 126 ? 0 : length < 65536 ? 2 : 8) + (masked ? 4 : 0);
}

function writeHeader(out: Uint8Array, opcode: Opcode, n: number, masked: boolean): Uint8Array {
  out[0] = 0x80 | opcode;
  out[1] = (masked ? 0x80 : 0) | (n < 126 ? n : n < 65536 ? 126 : 127);
  if (n >= 126 && n < 65536) {
    out[2] = n >> 8;
    out[3] = n & 0xff;
  } else if (n >= 65536) {
    let rest = n;
    for (let i = 9; i >= 2; i--) {
      out[i] = rest % 256;
      rest = Math.floor(rest / 256);
    }
  }
  return out;
}

/**
 * Encodes one final frame. Servers send unmasked frames; pass `mask` (4 bytes) to encode as a
 * client.
 *
 * @example
 * ```ts
 * import { encodeFrame, Opcode } from "@kvwire/kvwire/tunnel";
 * encodeFrame(Opcode.Text, new TextEncoder().encode("end")); // Uint8Array [129, 3, 101, 110, 100]
 * ```
 */
export function encodeFrame(opcode: Opcode, payload: Uint8Array, mask?: Uint8Array): Uint8Array {
  const n = payload.length;
  const size = headerSize(n, mask !== undefined);
  const out = writeHeader(new Uint8Array(size + n), opcode, n, mask !== undefined);
  out.set(payload, size);
  if (mask) {
    out.set(mask, size - 4);
    for (let i = 0; i < n; i++) out[size + i] ^= mask[i & 3];
  }
  return out;
}

/**
 * Encodes a close frame with a code and a reason (cut to fit 123 bytes of UTF-8).
 *
 * @example
 * ```ts
 * import { encodeCloseFrame } from "@kvwire/kvwire/tunnel";
 * encodeCloseFrame(1000, "bye").length; // 7
 * ```
 */
export function encodeCloseFrame(code: number, reason = "", mask?: Uint8Array): Uint8Array {
  let text = utf8Encode(reason);
  if (text.length > 123) {
    text = utf8Encode(utf8Decode(text.subarray(0, 120)).replace(/\uFFFD$/, ""));
  }
  const payload = new Uint8Array(2 + text.length);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(text, 2);
  return encodeFrame(Opcode.Close, payload, mask);
}

// Sans-I/O, resumable decoder of RESP2 and RESP3 replies: bytes in, RespValue out.
// Specs: https://github.com/redis/redis-specifications/blob/master/protocol/RESP3.md and
// https://redis.io/docs/latest/develop/reference/protocol-spec/ (RESP2).

import { asciiDecode, utf8Decode } from "../core/bytes.ts";
import { ChunkText } from "../core/chunk_text.ts";
import { RemoteProtocolError } from "../core/errors.ts";
import { ReceiveBuffer } from "../core/receive_buffer.ts";
import { redisErrorFromBytes } from "./errors.ts";
import { RespMap, type RespPush, type RespValue, RespVerbatim } from "./resp_types.ts";
import {
  badLength,
  BANG,
  bigInteger,
  build,
  COLON,
  COMMA,
  CR,
  DOLLAR,
  EQUALS,
  GT,
  HASH,
  invalid,
  LF,
  lineValue,
  LPAREN,
  MINUS,
  pairs,
  PERCENT,
  PIPE,
  PLUS,
  STAR,
  TILDE,
  UNDERSCORE,
} from "./resp_values.ts";

/**
 * Returned by {@link RespDecoder.next} when no complete reply is buffered yet. Distinct from
 * every reply value, including RESP `null`.
 *
 * @example
 * ```ts
 * import { NEED_MORE, RespDecoder } from "@kvwire/kvwire/redis";
 * const d = new RespDecoder();
 * d.push(new TextEncoder().encode("$5\r\nhel"));
 * d.next() === NEED_MORE; // true
 * ```
 */
export const NEED_MORE: unique symbol = Symbol("kvwire.resp.needMore");

/**
 * Limits and hooks of a {@link RespDecoder}. Every limit is checked before the bytes it
 * guards are buffered, so a hostile peer cannot make the decoder hold more than one line or
 * one bulk payload of the configured size.
 *
 * @example
 * ```ts
 * import { RespDecoder, type RespDecoderOptions } from "@kvwire/kvwire/redis";
 * const options: RespDecoderOptions = { maxBulkLength: 1024 * 1024, maxDepth: 16 };
 * new RespDecoder(options);
 * ```
 */
export interface RespDecoderOptions {
  /** Largest bulk string, bulk error or verbatim payload in bytes. Default 512 MiB. */
  maxBulkLength?: number;
  /** Deepest nesting of aggregates (a flat array is depth 1). Default 64. */
  maxDepth?: number;
  /**
   * Largest element count of an aggregate (entry count for maps and attributes). Default
   * 2^24 (16,777,216): a count reserves nothing (elements are appended as they arrive), but a
   * count past the limit fails at once instead of swallowing every later reply into one
   * aggregate that never completes.
   */
  maxAggregateLength?: number;
  /** Longest `+ - , (` line in bytes (integers are bounded by 20 digits). Default 64 KiB. */
  maxLineLength?: number;
  /** Called with each attribute map (`|`); the value that follows is returned as usual. */
  onAttribute?: (attribute: RespMap) => void;
}

/** Default {@link RespDecoderOptions.maxAggregateLength}: 2^24 elements. */
const DEFAULT_MAX_AGGREGATE_LENGTH = 2 ** 24;
const MAX_DIGITS = 20; // int64 has 19 digits; one more tolerates a leading zero
const EMPTY_ITEMS: RespValue[] = [];

/** One partly built aggregate. Frames are pooled by depth and reused. */
class Frame {
  type = 0; // its type byte: STAR, PERCENT, TILDE, GT or PIPE
  remaining = 0; // elements still to come (maps and attributes: keys and values)
  items: RespValue[] = EMPTY_ITEMS; // maps and attributes: key, value, key, value...
}

type Decoded = RespValue | RespPush | typeof NEED_MORE;

/**
 * Decodes a stream of RESP2/RESP3 replies.
 *
 * Theory of operation. Bytes sit in a {@link ReceiveBuffer}; `next()` parses lazily.
 * - Fast path: elements are parsed straight out of the first chunk (`firstChunk()`, from
 *   `firstOffset`) with a local cursor, without a view per reply; complete scalars are appended to the innermost open aggregate, and the consumed
 *   bytes are skipped in one go when the loop stops. Bulk payloads are zero-copy views.
 * - Open aggregates live on a stack of frames (depth `#depth`), so elements already parsed are
 *   consumed from the buffer and never rescanned: an array arriving in many chunks is parsed in
 *   linear time. Only an incomplete element is left in the buffer.
 * - A bulk whose payload is not all buffered is remembered (`#bulkLen >= 0`, header consumed)
 *   until `length + 2` bytes are there; then it is taken (joined once if it spans chunks).
 * - A line that spans chunks is remembered (`#lineWait`); new chunks are searched for CR as they
 *   are pushed (`#crAt`), and once the CRLF is there the line is joined into one chunk and the
 *   fast path parses it. Lines are bounded by `maxLineLength`, integers by 20 digits.
 * Invariants: the buffer starts at an element boundary, at a pending bulk's payload, or at a
 * partial line; `#bulkLen >= 0` and `#lineWait` are never both set. Any exception fails the
 * decoder for good: the buffer is dropped and every later `next()` throws the same error.
 *
 * @example
 * ```ts
 * import { NEED_MORE, RespDecoder } from "@kvwire/kvwire/redis";
 * const d = new RespDecoder();
 * d.push(new TextEncoder().encode("*2\r\n$3\r\nfoo\r\n:4"));
 * d.next(); // NEED_MORE
 * d.push(new TextEncoder().encode("2\r\n+OK\r\n"));
 * d.next(); // [Uint8Array "foo", 42]
 * d.next(); // "OK"
 * d.next() === NEED_MORE; // true
 * ```
 */
export class RespDecoder {
  #buf = new ReceiveBuffer();
  #maxBulk: number;
  #maxDepth: number;
  #maxAggregate: number;
  #maxLine: number;
  #onAttribute: ((attribute: RespMap) => void) | undefined;
  #frames: Frame[] = [];
  #depth = 0;
  #at = 0; // out-parameter of #readInt: index after the CRLF, or -1 when incomplete
  #bulkLen = -1; // payload length of a bulk whose header is consumed, else -1
  #bulkType = 0;
  #lineWait = false; // the buffer starts with a line whose CRLF has not arrived
  #crAt = -1; // while #lineWait: buffer index of the first CR after the type byte, or -1
  #attributePending = false; // a top-level attribute was read, its value not yet
  #topType = 0; // type byte of the top-level value read last
  #error: unknown = undefined;
  readonly #chunkText = new ChunkText();

  /**
   * When true, bulk strings (`$`) of the replies decoded next come out as UTF-8 strings
   * instead of byte views (push frames keep bytes). A client that decodes everything sets it;
   * it may change between replies.
   */
  bulkText = false;

  /** Creates a decoder; see {@link RespDecoderOptions} for the limits. */
  constructor(options: RespDecoderOptions = {}) {
    this.#maxBulk = options.maxBulkLength ?? 512 * 1024 * 1024;
    this.#maxDepth = options.maxDepth ?? 64;
    this.#maxAggregate = options.maxAggregateLength ?? DEFAULT_MAX_AGGREGATE_LENGTH;
    this.#maxLine = options.maxLineLength ?? 64 * 1024;
    this.#onAttribute = options.onAttribute;
  }

  /**
   * The RESP type byte of the top-level reply {@link next} returned last (`0x24` for `$`, also
   * for `$-1`): what a value alone cannot tell once bulk strings are decoded to text.
   */
  get lastType(): number {
    return this.#topType;
  }

  /** True while a reply has started and is not complete (bytes buffered or partly built). */
  get midReply(): boolean {
    return this.#buf.length > 0 || this.#depth > 0 || this.#bulkLen >= 0 ||
      this.#attributePending;
  }

  /** Bytes received and not yet consumed by a complete or partly built reply. */
  get bufferedBytes(): number {
    return this.#buf.length;
  }

  /**
   * Appends a chunk; the decoder takes ownership (bulk values may be views into it). Nothing
   * is parsed until {@link next}. Chunks pushed after a failure are dropped.
   */
  push(chunk: Uint8Array): void {
    if (this.#error !== undefined) return;
    this.#chunkText.clear(); // a chunk object pushed again may hold other bytes
    const i = this.#lineWait && this.#crAt < 0 ? chunk.indexOf(CR) : -1;
    if (i !== -1) this.#crAt = this.#buf.length + i;
    this.#buf.push(chunk);
  }

  /**
   * The next complete top-level reply, or {@link NEED_MORE}. Throws `RemoteProtocolError` on
   * malformed input or a broken limit; the decoder is then failed and rethrows that error on
   * every call. (If `onAttribute` throws, the decoder fails with that error too.)
   */
  next(): RespValue | RespPush | typeof NEED_MORE {
    if (this.#error !== undefined) throw this.#error;
    try {
      return this.#decode();
    } catch (err) {
      this.#fail(err);
      throw err;
    }
  }

  /**
   * Declares the end of the stream. Call it once {@link next} has returned `NEED_MORE`;
   * throws `RemoteProtocolError` when a reply was left unfinished (bytes buffered, an
   * aggregate partly built, or an attribute without its value).
   */
  finish(): void {
    if (this.#error !== undefined) throw this.#error;
    if (this.midReply) {
      const err = new RemoteProtocolError("Connection closed in the middle of a reply");
      this.#fail(err);
      throw err;
    }
  }

  /**
   * Drops everything buffered or partly built (the owner closed the connection), so a reply
   * that never completes holds no memory. Later pushes are still accepted.
   */
  discard(): void {
    this.#buf.clear();
    this.#frames.length = 0;
    this.#depth = 0;
    this.#bulkLen = -1;
    this.#lineWait = false;
    this.#attributePending = false;
    this.#chunkText.clear();
  }

  #fail(err: unknown): void {
    this.#error = err;
    this.discard();
  }

  #decode(): Decoded {
    const buf = this.#buf;
    const frames = this.#frames;
    outer: for (;;) {
      if (this.#bulkLen >= 0) {
        const len = this.#bulkLen;
        if (buf.length < len + 2) return NEED_MORE;
        const payload = buf.take(len);
        if (buf.byteAt(0) !== CR || buf.byteAt(1) !== LF) {
          throw new RemoteProtocolError(`RESP bulk of ${len} bytes lacks its CRLF`);
        }
        buf.skip(2);
        this.#bulkLen = -1;
        const bulk = this.#bulkType === DOLLAR && this.#textWanted()
          ? utf8Decode(payload)
          : this.#bulkValue(this.#bulkType, payload);
        const out = this.#deliver(bulk);
        if (out !== NEED_MORE) return out;
      }
      if (this.#lineWait) {
        const cr = this.#crAt;
        // Any first line may be waited for here, so allow at least an integer line.
        const limit = this.#maxLine > MAX_DIGITS + 2 ? this.#maxLine : MAX_DIGITS + 2;
        if ((cr < 0 ? buf.length : cr) - 1 > limit) {
          throw this.#lineTooLong(buf.view(Math.min(buf.length, 41)), 0);
        }
        if (cr < 0 || cr + 1 >= buf.length) return NEED_MORE;
        this.#lineWait = false;
        buf.view(cr + 2); // join the line into one chunk; the first chunk now holds all of it
      }
      const head = buf.firstChunk();
      const first = buf.firstOffset;
      const end = head.length;
      if (end === first) return NEED_MORE;
      let pos = first;
      let text = this.#textWanted();
      let value: RespValue | RespPush;
      scan: while (pos < end) {
        const type = head[pos];
        if (this.#depth === 0) this.#topType = type;
        switch (type) {
          case DOLLAR:
          case BANG:
          case EQUALS: {
            const len = this.#readInt(head, pos + 1, end);
            const at = this.#at;
            if (at < 0) break scan;
            if (len === -1 && type === DOLLAR) {
              value = null;
              pos = at;
              break;
            }
            if (typeof len !== "number" || len < 0 || len > this.#maxBulk) {
              throw badLength("bulk", len, this.#maxBulk);
            }
            const stop = at + len;
            if (stop + 2 > end) {
              buf.skip(at - first);
              this.#bulkLen = len;
              this.#bulkType = type;
              continue outer;
            }
            if (head[stop] !== CR || head[stop + 1] !== LF) {
              throw new RemoteProtocolError(`RESP bulk of ${len} bytes lacks its CRLF`);
            }
            value = type !== DOLLAR
              ? this.#bulkValue(type, head.subarray(at, stop))
              : text
              ? this.#chunkText.decode(head, at, stop)
              : head.subarray(at, stop);
            pos = stop + 2;
            break;
          }
          case STAR:
          case PERCENT:
          case TILDE:
          case GT:
          case PIPE: {
            const n = this.#readInt(head, pos + 1, end);
            const at = this.#at;
            if (at < 0) break scan;
            if (n === -1 && type === STAR) {
              value = null;
              pos = at;
              break;
            }
            if (typeof n !== "number" || n < 0 || n > this.#maxAggregate) {
              throw badLength("aggregate", n, this.#maxAggregate);
            }
            if (type === GT && this.#depth > 0) {
              throw new RemoteProtocolError("RESP push frame nested inside another value");
            }
            pos = at;
            if (n > 0) {
              this.#open(type, n);
              if (type === GT) text = false;
              continue scan;
            }
            const empty = build(type, []);
            if (empty === undefined) {
              this.#attribute(new RespMap([]));
              continue scan;
            }
            value = empty;
            break;
          }
          case COLON: {
            value = this.#readInt(head, pos + 1, end);
            if (this.#at < 0) break scan;
            pos = this.#at;
            break;
          }
          case PLUS:
          case MINUS:
          case COMMA:
          case LPAREN:
          case UNDERSCORE:
          case HASH: {
            const cr = head.indexOf(CR, pos + 1);
            if (cr === -1 || cr + 1 === end) break scan;
            if (head[cr + 1] !== LF) throw invalid("line (CR without LF)", head, pos, end);
            if (cr - pos - 1 > this.#maxLine) throw this.#lineTooLong(head, pos);
            value = lineValue(type, head, pos + 1, cr);
            pos = cr + 2;
            break;
          }
          default:
            throw new RemoteProtocolError(
              `Unknown RESP type byte 0x${type.toString(16).padStart(2, "0")}`,
            );
        }
        // Deliver the value; the common case (not the last element of an aggregate) inline.
        const depth = this.#depth;
        if (depth > 0 && frames[depth - 1].remaining > 1) {
          const f = frames[depth - 1];
          f.items.push(value as RespValue);
          f.remaining--;
          continue;
        }
        const out = this.#deliver(value);
        if (out !== NEED_MORE) {
          buf.skip(pos - first);
          return out;
        }
      }
      buf.skip(pos - first);
      if (pos < end) {
        // The element now at the buffer start is incomplete in the first chunk: wait for its
        // line.
        this.#lineWait = true;
        this.#crAt = buf.indexOf(CR, 1);
      }
    }
  }

  /** Parses `-?[0-9]+\r\n` at `head[p]` to a number (bigint past 2^53, within int64); sets
   * `#at` to the index after the LF, or -1 when the line continues past `end`. */
  #readInt(head: Uint8Array, p: number, end: number): number | bigint {
    const start = p;
    if (p < end && head[p] === MINUS) p++;
    const digits = p;
    let n = 0;
    while (p < end) {
      const c = head[p];
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      p++;
    }
    if (p - digits > MAX_DIGITS) throw invalid("integer line", head, start - 1, end);
    if (p >= end - 1) {
      if (p < end && head[p] !== CR) throw invalid("integer line", head, start - 1, end);
      this.#at = -1;
      return 0;
    }
    if (head[p] !== CR || p === digits) throw invalid("integer line", head, start - 1, end);
    if (head[p + 1] !== LF) throw invalid("line (CR without LF)", head, start - 1, end);
    this.#at = p + 2;
    if (p - digits <= 15) return digits === start ? n : 0 - n;
    return bigInteger(head, start, p, start - 1);
  }

  /** Whether a bulk string read now becomes text: asked for, and not inside a push frame. */
  #textWanted(): boolean {
    return this.bulkText && (this.#depth === 0 || this.#frames[0].type !== GT);
  }

  #open(type: number, n: number): void {
    const depth = this.#depth;
    if (depth >= this.#maxDepth) {
      throw new RemoteProtocolError(`RESP reply nested deeper than maxDepth ${this.#maxDepth}`);
    }
    const f = this.#frames[depth] ?? (this.#frames[depth] = new Frame());
    f.type = type;
    f.remaining = type === PERCENT || type === PIPE ? 2 * n : n;
    f.items = [];
    this.#depth = depth + 1;
  }

  /** Hands a complete value to the innermost open aggregate; returns a finished reply. */
  #deliver(value: RespValue | RespPush): Decoded {
    for (;;) {
      const depth = this.#depth;
      if (depth === 0) {
        this.#attributePending = false;
        return value;
      }
      const f = this.#frames[depth - 1];
      f.items.push(value as RespValue);
      if (--f.remaining > 0) return NEED_MORE;
      this.#depth = depth - 1;
      const items = f.items;
      f.items = EMPTY_ITEMS;
      const built = build(f.type, items);
      if (built !== undefined) value = built;
      else {
        this.#attribute(new RespMap(pairs(items)));
        return NEED_MORE;
      }
    }
  }

  #attribute(map: RespMap): void { // an attribute read at top level still needs its value
    if (this.#depth === 0) this.#attributePending = true;
    this.#onAttribute?.(map);
  }

  #bulkValue(type: number, payload: Uint8Array): RespValue {
    if (type === DOLLAR) return payload;
    if (type === BANG) return redisErrorFromBytes(payload);
    if (payload.length < 4 || payload[3] !== COLON) {
      throw invalid("verbatim string (no fmt: prefix)", payload, 0, payload.length);
    }
    return new RespVerbatim(asciiDecode(payload, 0, 3), payload.subarray(4));
  }

  #lineTooLong(head: Uint8Array, pos: number): RemoteProtocolError {
    return invalid(`line (longer than ${this.#maxLine} bytes)`, head, pos, head.length);
  }
}

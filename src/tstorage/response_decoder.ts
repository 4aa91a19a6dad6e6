// The resumable TStorage response decoder (shared/protocols/tstorage.md §1.5-§1.8, §1.11):
// PUT/PUTA and GET_ACQ headers, and the GET stream (head, records, end marker, confirmation).

import { RemoteProtocolError } from "../core/errors.ts";
import { ByteQueue } from "./byte_queue.ts";
import { HEADER_SIZE, MAX_PAYLOAD_SIZE } from "./codec.ts";
import { UnparseableEntityError } from "./errors.ts";
import { Key, KEY_SIZE } from "./record.ts";

/**
 * Which response a request expects.
 *
 * @example
 * ```ts
 * import { ResponseDecoder, ResponseKind } from "@kvwire/kvwire/tstorage";
 * new ResponseDecoder().expect(ResponseKind.GET);
 * ```
 */
export const ResponseKind = {
  PUT: "put",
  GET_ACQ: "getAcq",
  GET: "get",
} as const;

/** One of the values of {@link ResponseKind}. */
export type ResponseKind = typeof ResponseKind[keyof typeof ResponseKind];

/** Largest header extra data accepted (it is skipped, never buffered): 32 MiB. */
export const MAX_EXTRA_SIZE = 32 * 1024 * 1024;

/** What the decoder produces. */
export type DecodedItem =
  /** A PUT/PUTA was stored. */
  | { type: "put"; acqMin: bigint; acqMax: bigint }
  /** GET_ACQ's answer. */
  | { type: "acq"; acq: bigint }
  /** A non-zero status: in the only header (PUT, GET_ACQ), or GET's first or final header. */
  | { type: "refused"; status: number; phase: "header" | "initial" | "final" }
  /** GET's first header was OK: records follow. */
  | { type: "getStart" }
  /** One GET record; `size` is its wire length (4 + record length). `payload` is a view. */
  | { type: "record"; key: Key; payload: Uint8Array; size: number }
  /** GET's confirmation: the response is complete. */
  | { type: "getDone"; acq: bigint };

const State = {
  IDLE: 0,
  HEADER: 1,
  SKIP: 2,
  RECORD: 3,
  FINAL: 4,
} as const;
type State = typeof State[keyof typeof State];

/**
 * Decodes one response at a time, in whatever pieces the bytes arrive.
 *
 * Theory of operation: `expect(kind)` starts a response (IDLE → HEADER). A header is consumed
 * only once it is whole, together with the acq fields an OK header carries; extra header bytes
 * are skipped as they arrive (SKIP) and never buffered. GET then reads records (RECORD):
 * a length int32 (0 = end marker → FINAL), then the whole record; a negative length, one
 * shorter than a key or longer than a key plus 32 MiB, or a negative cid throws
 * `UnparseableEntityError`. Other violations (bytes with no response expected, an OK header too
 * short for its acq fields, oversized extra data) throw `RemoteProtocolError`. After a throw
 * the decoder is failed for good. `responseBytes` counts the wire bytes of the current
 * response; `pendingBytes` is the size of the item being waited for, once known.
 *
 * @example
 * ```ts
 * import { ResponseDecoder } from "@kvwire/kvwire/tstorage";
 * const d = new ResponseDecoder();
 * d.expect("getAcq");
 * d.push(new Uint8Array([0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0]));
 * d.next(); // { type: "acq", acq: 15n }
 * ```
 */
export class ResponseDecoder {
  #buf = new ByteQueue();
  #kind: ResponseKind | undefined;
  #state: State = State.IDLE;
  #skip = 0;
  #afterSkip: DecodedItem | undefined;
  #stateAfterSkip: State = State.IDLE;
  #consumed = 0;
  #pending = 0;
  #failure: RemoteProtocolError | undefined;

  /** Bytes received and not consumed. */
  get buffered(): number {
    return this.#buf.length;
  }

  /** True when no response is in progress. */
  get idle(): boolean {
    return this.#state === State.IDLE;
  }

  /** Wire bytes of the current (or last) response consumed so far. */
  get responseBytes(): number {
    return this.#consumed;
  }

  /** Bytes of the item being waited for, once its length is known; else 0. */
  get pendingBytes(): number {
    return this.#pending;
  }

  /** Wire bytes of the GET record being waited for, once its length is known; else 0. */
  get pendingRecordBytes(): number {
    return this.#state === State.RECORD && this.#pending > 4 ? this.#pending : 0;
  }

  /** Starts decoding a response of `kind`; throws `RangeError` while one is in progress. */
  expect(kind: ResponseKind): void {
    if (this.#state !== State.IDLE) throw new RangeError("A response is already in progress");
    this.#kind = kind;
    this.#state = State.HEADER;
    this.#consumed = 0;
    this.#pending = 0;
  }

  /** Appends received bytes (the decoder takes ownership). */
  push(chunk: Uint8Array): void {
    this.#buf.push(chunk);
  }

  /** The next item, or undefined when more bytes are needed. Throws on protocol violations. */
  next(): DecodedItem | undefined {
    if (this.#failure) throw this.#failure;
    try {
      return this.#next();
    } catch (error) {
      this.#failure = error instanceof RemoteProtocolError
        ? error
        : new RemoteProtocolError(`TStorage response could not be decoded: ${error}`, {
          cause: error,
        });
      this.#state = State.IDLE;
      throw this.#failure;
    }
  }

  #next(): DecodedItem | undefined {
    const buf = this.#buf;
    switch (this.#state) {
      case State.IDLE:
        if (buf.length > 0) {
          throw new RemoteProtocolError(
            `TStorage sent ${buf.length} byte(s) while no response was expected`,
          );
        }
        return undefined;
      case State.SKIP:
        return this.#skipExtra();
      case State.HEADER:
        return this.#header(this.#kind === ResponseKind.GET ? "initial" : "header");
      case State.FINAL:
        return this.#header("final");
      case State.RECORD:
        return this.#record();
    }
  }

  #header(phase: "header" | "initial" | "final"): DecodedItem | undefined {
    const buf = this.#buf;
    this.#pending = HEADER_SIZE;
    if (!buf.contiguous(HEADER_SIZE)) return undefined;
    const status = buf.view.getInt32(buf.at, true);
    const size = buf.view.getBigUint64(buf.at + 4, true);
    if (size > BigInt(MAX_EXTRA_SIZE)) {
      throw new RemoteProtocolError(
        `TStorage header announces ${size} bytes of extra data; the limit is ${MAX_EXTRA_SIZE}`,
      );
    }
    const extra = Number(size);
    if (status !== 0) {
      this.#consume(HEADER_SIZE);
      return this.#thenSkip(extra, { type: "refused", status, phase }, State.IDLE);
    }
    if (phase === "initial") {
      this.#consume(HEADER_SIZE);
      return this.#thenSkip(extra, { type: "getStart" }, State.RECORD);
    }
    const fields = this.#kind === ResponseKind.PUT && phase === "header" ? 16 : 8;
    if (extra < fields) {
      throw new RemoteProtocolError(
        `TStorage OK header announces ${extra} bytes; ${fields} are needed for its acq field(s)`,
      );
    }
    this.#pending = HEADER_SIZE + fields;
    if (!buf.contiguous(HEADER_SIZE + fields)) return undefined;
    const first = buf.view.getBigInt64(buf.at + HEADER_SIZE, true);
    const item: DecodedItem = fields === 16
      ? { type: "put", acqMin: first, acqMax: buf.view.getBigInt64(buf.at + 20, true) }
      : phase === "final"
      ? { type: "getDone", acq: first }
      : { type: "acq", acq: first };
    this.#consume(HEADER_SIZE + fields);
    return this.#thenSkip(extra - fields, item, State.IDLE);
  }

  #record(): DecodedItem | undefined {
    const buf = this.#buf;
    this.#pending = 4;
    if (!buf.contiguous(4)) return undefined;
    const length = buf.view.getInt32(buf.at, true);
    if (length === 0) {
      this.#consume(4);
      this.#pending = 0;
      this.#state = State.FINAL;
      return this.#header("final");
    }
    if (length < KEY_SIZE || length - KEY_SIZE > MAX_PAYLOAD_SIZE) {
      throw new UnparseableEntityError(
        length < KEY_SIZE
          ? `TStorage record length ${length} is shorter than a ${KEY_SIZE}-byte key`
          : `TStorage record length ${length} is over the 32 MiB payload limit`,
      );
    }
    const size = 4 + length;
    this.#pending = size;
    if (!buf.contiguous(size)) return undefined;
    const view = buf.view;
    const at = buf.at;
    const cid = view.getInt32(at + 4, true);
    if (cid < 0) throw new UnparseableEntityError(`TStorage record has a negative cid ${cid}`);
    const key = new Key(
      cid,
      view.getBigInt64(at + 8, true),
      view.getInt32(at + 16, true),
      view.getBigInt64(at + 20, true),
      view.getBigInt64(at + 28, true),
    );
    const payload = buf.bytes.subarray(at + 4 + KEY_SIZE, at + size);
    this.#consume(size);
    this.#pending = 0;
    return { type: "record", key, payload, size };
  }

  #thenSkip(extra: number, item: DecodedItem, next: State): DecodedItem | undefined {
    this.#pending = 0;
    if (extra === 0) {
      this.#state = next;
      return item;
    }
    this.#skip = extra;
    this.#afterSkip = item;
    this.#stateAfterSkip = next;
    this.#state = State.SKIP;
    return this.#skipExtra();
  }

  #skipExtra(): DecodedItem | undefined {
    const n = Math.min(this.#skip, this.#buf.length);
    this.#consume(n);
    this.#skip -= n;
    this.#pending = this.#skip;
    if (this.#skip > 0) return undefined;
    this.#state = this.#stateAfterSkip;
    const item = this.#afterSkip!;
    this.#afterSkip = undefined;
    return item;
  }

  #consume(n: number): void {
    this.#buf.skip(n);
    this.#consumed += n;
  }

  /**
   * Ends the current response early and drops every byte buffered (the machine closes after
   * GET failures; a partly received record may be large).
   */
  reset(): void {
    this.#buf = new ByteQueue();
    this.#state = State.IDLE;
    this.#kind = undefined;
    this.#pending = 0;
    this.#skip = 0;
    this.#afterSkip = undefined;
  }
}

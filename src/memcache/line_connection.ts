// The shared core of the in-order memcache machines (meta and text, doc/protocol.txt): response
// units are a CRLF line, plus a data block of a length the line states; replies match in order.

import type { ConnectionEvent, ProtocolConnection, SendOptions } from "../core/connection.ts";
import { ByteWriter } from "../core/bytes.ts";
import { FifoTable } from "../core/correlation.ts";
import { LocalProtocolError, RemoteProtocolError } from "../core/errors.ts";
import { ReceiveBuffer } from "../core/receive_buffer.ts";
import { PendingRequests } from "../core/pending_requests.ts";
import { closedAfterTimeouts, CoarseDeadlines } from "./deadlines.ts";
import { MemcacheError } from "./errors.ts";
import { Outbox, type OutboxEntry } from "../core/outbox.ts";
import type { MemcacheReply, MemcacheRequest } from "./types.ts";

/** Limits on what the server may send. */
export interface LineConnectionOptions {
  /** Longest response line accepted, in bytes. Default 8,192. */
  maxLineLength?: number;
  /**
   * Largest data block accepted, in bytes, checked on the line that announces it, before
   * anything of it is buffered. Default {@link DEFAULT_MAX_VALUE_LENGTH} (1 MiB).
   */
  maxValueLength?: number;
}

/**
 * The default limit on a received value: 1 MiB, memcached's default item size (`-I 1m`), which
 * no value it stores can exceed (the item's header and key count toward it too).
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_VALUE_LENGTH, MetaConnection } from "@kvwire/kvwire/memcache";
 * new MetaConnection({ maxValueLength: 4 * DEFAULT_MAX_VALUE_LENGTH }); // for memcached -I 4m
 * ```
 */
export const DEFAULT_MAX_VALUE_LENGTH: number = 1024 * 1024;

/** Splits a reply line on single spaces (faster than `String.prototype.split` here). */
function splitTokens(text: string): string[] {
  const tokens: string[] = [];
  let start = 0;
  for (;;) {
    const space = text.indexOf(" ", start);
    if (space < 0) {
      tokens.push(start === 0 ? text : text.slice(start));
      return tokens;
    }
    tokens.push(text.slice(start, space));
    start = space + 1;
  }
}

/** The machine events of every memcache protocol. */
export type MemcacheEvent = ConnectionEvent<MemcacheReply>;

/** A request in flight; subclasses add their own parsing state. */
export interface LineEntry extends OutboxEntry {
  /** The request's id. */
  id: number;
  /** The command name, for messages. */
  name: string;
  /** Set by the subclass when the reply is complete. */
  result?: MemcacheReply | MemcacheError;
}

/** One response unit: the line split on spaces and, for value replies, the data block. */
export interface ResponseUnit {
  /** The line split on spaces. */
  tokens: string[];
  /** The data block of a value reply. */
  data?: Uint8Array;
}

/**
 * Reads a decimal token (from `start`) as a non-negative safe integer, or -1.
 *
 * @example
 * ```ts
 * import { parseCount } from "@kvwire/kvwire/memcache";
 * parseCount("f16", 1); // 16
 * parseCount("x"); // -1
 * ```
 */
export function parseCount(token: string | undefined, start = 0): number {
  if (token === undefined) return -1;
  const end = token.length;
  if (end <= start || end - start > 15) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = token.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * Bytes as a string of the same code units (latin1): lossless for any byte, so keys echoed by
 * the server compare equal to the keys sent.
 *
 * @example
 * ```ts
 * import { latin1 } from "@kvwire/kvwire/memcache";
 * latin1(new Uint8Array([0x56, 0x41])); // "VA"
 * ```
 */
export function latin1(bytes: Uint8Array, start = 0, end: number = bytes.length): string {
  let text = "";
  for (let at = start; at < end; at += 4096) {
    const stop = Math.min(end, at + 4096);
    text += String.fromCharCode.apply(null, bytes.subarray(at, stop) as unknown as number[]);
  }
  return text;
}

/**
 * The error reply a line stands for, if it is one (`ERROR`, `CLIENT_ERROR`, `SERVER_ERROR`).
 *
 * @example
 * ```ts
 * import { errorFromTokens } from "@kvwire/kvwire/memcache";
 * errorFromTokens(["SERVER_ERROR", "out", "of", "memory"])?.serverCode; // "SERVER_ERROR"
 * ```
 */
export function errorFromTokens(tokens: string[]): MemcacheError | undefined {
  const code = tokens[0];
  if (code !== "ERROR" && code !== "CLIENT_ERROR" && code !== "SERVER_ERROR") return undefined;
  const text = tokens.join(" ");
  return new MemcacheError(
    code === "ERROR" ? "ERROR (the server does not know the command)" : text,
    code,
  );
}

/**
 * Base class of the meta and text machines.
 *
 * Theory of operation: `send` has the subclass validate and encode a request into the outbox
 * (throwing before anything is queued), then the entry waits there; `pollTransmit` moves it
 * in flight. Responses are read a unit at a time (a line, and for value replies exactly the
 * announced number of bytes and a CRLF); each unit goes to the oldest entry in flight, whose
 * subclass `consume` says when its reply is complete. An entry cancelled after it was sent
 * stays in line and its reply is read and discarded; one that was never sent is cut from the
 * outbox. An entry that times out after it was sent closes the machine (a `closed` event
 * after its `timeout`): whether its reply will ever come is unknown, and if it never does,
 * each later reply would be taken for the one before (python-memcached likewise drops the
 * socket on a timeout). A malformed unit, or bytes nobody waits for, fail the machine for good
 * (`RemoteProtocolError`).
 *
 * @example
 * ```ts
 * import { LineConnection, MetaConnection } from "@kvwire/kvwire/memcache";
 * console.log(new MetaConnection() instanceof LineConnection); // true
 * ```
 */
export abstract class LineConnection<E extends LineEntry>
  implements ProtocolConnection<MemcacheRequest, MemcacheReply> {
  /** Encoded requests waiting to be written. */
  protected readonly outbox: Outbox<E, ByteWriter> = new Outbox<E, ByteWriter>(
    new ByteWriter(16 * 1024),
  );
  readonly #buffer = new ReceiveBuffer();
  readonly #inFlight = new FifoTable<E>();
  readonly #requests = new PendingRequests<E>(new CoarseDeadlines<E>());
  readonly #events = new FifoTable<MemcacheEvent>();
  readonly #maxLine: number;
  readonly #maxValue: number;
  #nextId = 1;
  #closed = false;
  #eof = false;
  #failure: Error | undefined;
  #closedReported = false;
  readonly #lastLine = new Uint8Array(48);
  #lastLength = -1;
  #lastTokens: string[] = [];
  /** A value reply whose line was read while its data block is still arriving. */
  #pending: { lineLength: number; dataLength: number; tokens: string[] } | undefined;

  /** Creates the machine. */
  constructor(options: LineConnectionOptions = {}) {
    this.#maxLine = options.maxLineLength ?? 8192;
    this.#maxValue = options.maxValueLength ?? DEFAULT_MAX_VALUE_LENGTH;
  }

  /** Validates `request`, writes its bytes to `this.outbox.writer` and returns its entry. */
  protected abstract encode(request: MemcacheRequest): E;

  /** The data block length a line announces, or -1 when it has none. */
  protected abstract dataLength(tokens: string[]): number;

  /** Feeds one unit to the head entry; returns true when that entry's reply is complete. */
  protected abstract consume(entry: E, unit: ResponseUnit): boolean;

  get inFlight(): number {
    return this.#closed ? 0 : this.#requests.size;
  }

  get canSend(): boolean {
    return !this.#closed;
  }

  get wantsRead(): boolean {
    return !this.#closed;
  }

  send(request: MemcacheRequest, options: SendOptions = {}): number {
    if (this.#closed) throw new LocalProtocolError("The memcache connection is closed");
    const start = this.outbox.writer.length;
    const entry = this.encode(request);
    entry.id = this.#nextId++;
    this.outbox.push(entry, start);
    this.#requests.add(entry, options.deadline);
    return entry.id;
  }

  cancel(id: number): void {
    this.#requests.cancel(id);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#requests.closeAll();
    this.outbox.clear();
    this.#buffer.clear();
    this.#pending = undefined;
  }

  pollTransmit(maxBytes = Infinity): Uint8Array | undefined {
    if (this.#closed) return undefined;
    return this.outbox.take(maxBytes, (entry) => this.#inFlight.push(entry));
  }

  receive(chunk: Uint8Array): void {
    if (!this.#closed && !this.#eof) this.#buffer.push(chunk);
  }

  receiveEof(): void {
    this.#eof = true;
  }

  pollTimeout(): number | undefined {
    return this.#requests.nextDeadline();
  }

  handleTimeout(now: number): void {
    const timeouts = this.#requests.expire(now);
    for (const event of timeouts) this.#events.push(event);
    const closed = closedAfterTimeouts(timeouts);
    if (!closed || this.#closed) return;
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
      const head = this.#inFlight.peek();
      if (!head) {
        if (this.#buffer.length > 0) {
          this.#fail(new RemoteProtocolError("memcached sent a reply while no request waited"));
        }
        return this.#endOfInput();
      }
      let done: boolean;
      try {
        const unit = this.#readUnit();
        if (unit === undefined) return this.#endOfInput();
        done = this.consume(head, unit);
      } catch (error) {
        this.#fail(error as Error);
      }
      if (!done) continue;
      this.#inFlight.shift();
      this.#requests.finish(head);
      const result = head.result!;
      if (head.settled) continue;
      head.settled = true;
      if (result instanceof MemcacheError) {
        return { type: "serverError", id: head.id, error: result };
      }
      return { type: "reply", id: head.id, value: result };
    }
  }

  #fail(error: Error): never {
    this.#failure = error instanceof RemoteProtocolError
      ? error
      : new RemoteProtocolError(`Malformed memcache reply: ${error.message}`, { cause: error });
    this.close();
    throw this.#failure;
  }

  #endOfInput(): MemcacheEvent | undefined {
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

  /**
   * The tokens of a line. The last short line is remembered: replies often repeat their line
   * exactly (`VA 100 f0`, `HD`, `END`), and comparing a few bytes is much cheaper than decoding
   * and splitting them again. Token arrays are shared, so nobody may change them.
   */
  #tokens(line: Uint8Array, length: number): string[] {
    const last = this.#lastLine;
    if (length === this.#lastLength) {
      let i = 0;
      while (i < length && line[i] === last[i]) i++;
      if (i === length) return this.#lastTokens;
    }
    const tokens = splitTokens(latin1(line, 0, length));
    if (length <= last.length) {
      for (let i = 0; i < length; i++) last[i] = line[i];
      this.#lastLength = length;
      this.#lastTokens = tokens;
    }
    return tokens;
  }

  #readUnit(): ResponseUnit | undefined {
    const buffer = this.#buffer;
    let pending = this.#pending;
    if (!pending) {
      const newline = buffer.indexOf(10);
      if (newline < 0) {
        if (buffer.length > this.#maxLine) {
          throw new RemoteProtocolError(`memcache reply line longer than ${this.#maxLine} bytes`);
        }
        return undefined;
      }
      if (newline === 0 || buffer.byteAt(newline - 1) !== 13) {
        throw new RemoteProtocolError("memcache reply line does not end with CRLF");
      }
      const tokens = this.#tokens(buffer.view(newline + 1), newline - 1);
      const dataLength = this.dataLength(tokens);
      if (dataLength < 0) {
        buffer.skip(newline + 1);
        return { tokens };
      }
      if (dataLength > this.#maxValue) {
        throw new RemoteProtocolError(
          `memcache value of ${dataLength} bytes is over the ${this.#maxValue}-byte limit ` +
            "(maxValueSize)",
        );
      }
      pending = { lineLength: newline + 1, dataLength, tokens };
    }
    if (buffer.length < pending.lineLength + pending.dataLength + 2) {
      this.#pending = pending;
      return undefined;
    }
    this.#pending = undefined;
    buffer.skip(pending.lineLength);
    const data = buffer.take(pending.dataLength);
    if (buffer.byteAt(0) !== 13 || buffer.byteAt(1) !== 10) {
      throw new RemoteProtocolError("memcache data block is not followed by CRLF");
    }
    buffer.skip(2);
    // A zero-copy view into the network chunk, as the Redis decoder's bulk strings.
    return { tokens: pending.tokens, data };
  }
}

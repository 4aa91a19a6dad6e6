// PegasusConnection: the sans-I/O machine of one session to a meta or replica server
// (DESIGN.md §3): THFT frames out, response frames in, matched by Thrift seqid (pegasus.md §1).

import type { ConnectionEvent, ProtocolConnection, SendOptions } from "../core/connection.ts";
import { KeyedTable } from "../core/correlation.ts";
import { DeadlineHeap } from "../core/deadline_heap.ts";
import { FifoTable } from "../core/correlation.ts";
import { LocalProtocolError, RemoteProtocolError } from "../core/errors.ts";
import { concatBytes, readUint32BE } from "../core/bytes.ts";
import { ReceiveBuffer } from "../core/receive_buffer.ts";
import { PegasusError } from "./errors.ts";
import {
  decodeResponseFrame,
  decodeResponseHeader,
  decodeResult,
  encodeRequestFrame,
  MAX_RESPONSE_HEADER,
} from "./frame.ts";
import type { ArgsWriter } from "./requests.ts";
import { MessageType, type ThriftReader } from "./thrift.ts";

/** One RPC for the machine. */
export interface PegasusRequest {
  /** RPC name, such as `"RPC_RRDB_RRDB_GET"`. */
  rpc: string;
  /** Writes the request's args. */
  args: ArgsWriter;
  /** Reads the response struct of an ERR_OK reply. */
  decode?: (r: ThriftReader) => unknown;
  /** The table's app id in the header. Default 0. */
  appId?: number;
  /** The partition index in the header. Default 0. */
  partitionIndex?: number;
  /** The partition hash in the header. Default 0n. */
  partitionHash?: bigint;
  /** client_timeout in the header, milliseconds. Default 0. */
  timeoutMs?: number;
  /** One-way (clear_scanner): no reply; the request completes once written. */
  oneWay?: boolean;
  /** Send a v1 header marked as a backup request (a secondary may serve the read). */
  backupRequest?: boolean;
}

/** The reply to an RPC whose frame said ERR_OK: the decoded response struct. */
export interface PegasusReply {
  /** The RPC name of the request. */
  rpc: string;
  /** The decoded response struct (undefined without `decode` and for one-way requests). */
  value: unknown;
}

/** Options of a {@link PegasusConnection}. */
export interface PegasusConnectionOptions {
  /**
   * Largest response frame accepted, in bytes; every length inside a frame is bounded by the
   * frame. A larger declared length fails the session before anything is buffered.
   * Default 64 MiB ({@link DEFAULT_MAX_FRAME_LENGTH}).
   */
  maxFrameLength?: number;
  /**
   * The first seqid (1 to 2^31 − 1). Default 1; clients start each session at a random one, so
   * that a reply the server sends blindly (not echoing a request) matches no request.
   */
  firstSeqid?: number;
}

/**
 * Default {@link PegasusConnectionOptions.maxFrameLength}: 64 MiB.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_FRAME_LENGTH } from "@kvwire/kvwire/pegasus";
 * DEFAULT_MAX_FRAME_LENGTH; // 67108864
 * ```
 */
export const DEFAULT_MAX_FRAME_LENGTH: number = 64 * 1024 * 1024;

/** Seqids of abandoned requests remembered, so that their late replies are dropped. */
const MAX_ABANDONED = 4096;

interface Entry {
  seqid: number;
  request: PegasusRequest;
  transmitted: boolean;
  settled: boolean;
}

/**
 * The Pegasus session machine.
 *
 * Theory of operation. One state besides `closed`: requests are encoded in `send` (errors
 * throw before anything is queued) under a fresh seqid from a {@link KeyedTable}, appended to
 * the outbound bytes, and pulled by `pollTransmit`. Response frames (u32 total length first)
 * are cut from the receive buffer lazily in `nextEvent` and become `reply` (ERR_OK, decoded
 * struct) or `serverError` (any other error name, a {@link PegasusError}). One-way requests
 * complete through `handleTimeout` once written: `pollTimeout` returns 0 while one waits.
 *
 * Proof of ownership: a frame's declared length is checked against `maxFrameLength` and its
 * header (error name, strict REPLY word, RPC name, seqid) as soon as its bytes arrive, before
 * the rest is buffered. The seqid must name a request in flight (whose RPC the reply must
 * echo) or one abandoned after it was written (timed out, cancelled, one-way: the reply is
 * dropped; the last 4096 are remembered); a result struct must end exactly at the frame's end.
 * Bytes while no request was ever sent, an unknown or repeated seqid, or a malformed frame
 * throw `RemoteProtocolError` and fail the machine for good: the session is replaced.
 *
 * @example
 * ```ts
 * import { blobArgs, PegasusConnection } from "@kvwire/kvwire/pegasus";
 * const conn = new PegasusConnection();
 * const id = conn.send({ rpc: "RPC_RRDB_RRDB_GET", args: blobArgs(new Uint8Array([0, 1, 104])) });
 * conn.pollTransmit(); // the THFT frame
 * ```
 */
export class PegasusConnection implements ProtocolConnection<PegasusRequest, PegasusReply> {
  readonly #maxFrame: number;
  readonly #table: KeyedTable<Entry>;
  /** Seqids of requests written and then abandoned, oldest first. */
  #abandoned = new Set<number>();
  #out: Uint8Array[] = [];
  #outEntries: Entry[] = [];
  #oneWay = new FifoTable<Entry>();
  #deadlines = new DeadlineHeap<Entry>((e) => !e.settled);
  #input = new ReceiveBuffer();
  #events = new FifoTable<ConnectionEvent<PegasusReply>>();
  #closed = false;
  #eof = false;
  #closedReported = false;
  #failure: Error | undefined;

  /** Creates an idle machine. */
  constructor(options: PegasusConnectionOptions = {}) {
    const max = options.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH;
    if (!Number.isSafeInteger(max) || max < MAX_RESPONSE_HEADER) {
      throw new RangeError(
        `maxFrameLength must be an integer ≥ ${MAX_RESPONSE_HEADER}, got ${max}`,
      );
    }
    const first = options.firstSeqid ?? 1;
    if (!Number.isInteger(first) || first < 1 || first > 0x7fffffff) {
      throw new RangeError(`firstSeqid must be an integer from 1 to 2^31 − 1, got ${first}`);
    }
    this.#maxFrame = max;
    this.#table = new KeyedTable<Entry>(first);
  }

  get inFlight(): number {
    return this.#table.size;
  }

  get canSend(): boolean {
    return !this.#closed;
  }

  get wantsRead(): boolean {
    return !this.#closed;
  }

  send(request: PegasusRequest, options: SendOptions = {}): number {
    if (this.#closed) throw new LocalProtocolError("The Pegasus connection is closed");
    const entry: Entry = { seqid: 0, request, transmitted: false, settled: false };
    const seqid = this.#table.add(entry);
    entry.seqid = seqid;
    let bytes: Uint8Array;
    try {
      bytes = encodeRequestFrame({
        rpc: request.rpc,
        seqid,
        args: request.args,
        appId: request.appId ?? 0,
        partitionIndex: request.partitionIndex ?? 0,
        timeoutMs: request.timeoutMs ?? 0,
        partitionHash: request.partitionHash ?? 0n,
        headerVersion: request.backupRequest ? 1 : 0,
        isBackupRequest: request.backupRequest,
        messageType: request.oneWay ? MessageType.ONEWAY : MessageType.CALL,
      });
    } catch (error) {
      this.#table.take(seqid);
      throw error;
    }
    this.#out.push(bytes);
    this.#outEntries.push(entry);
    if (request.oneWay) this.#oneWay.push(entry);
    if (options.deadline !== undefined) this.#deadlines.push(options.deadline, entry);
    return seqid;
  }

  cancel(id: number): void {
    const entry = this.#table.take(id);
    if (!entry) return;
    entry.settled = true;
    if (entry.transmitted) this.#abandon(id);
  }

  /** Remembers a written request's seqid so that its late reply is dropped, not refused. */
  #abandon(seqid: number): void {
    if (this.#abandoned.size >= MAX_ABANDONED) {
      this.#abandoned.delete(this.#abandoned.values().next().value!);
    }
    this.#abandoned.add(seqid);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const entry of this.#table.drain()) entry.settled = true;
    this.#deadlines.clear();
    this.#out.length = 0;
    this.#outEntries.length = 0;
    this.#input.clear(); // a partly received frame may be large: let it go with the session
    this.#abandoned.clear();
  }

  pollTransmit(maxBytes = Infinity): Uint8Array | undefined {
    if (this.#closed || this.#out.length === 0) return undefined;
    let n = 0;
    let size = 0;
    while (n < this.#out.length && (n === 0 || size + this.#out[n].length <= maxBytes)) {
      size += this.#out[n].length;
      this.#outEntries[n].transmitted = true;
      n++;
    }
    const parts = this.#out.splice(0, n);
    this.#outEntries.splice(0, n);
    return parts.length === 1 ? parts[0] : concatBytes(parts);
  }

  receive(chunk: Uint8Array): void {
    if (!this.#closed && !this.#eof) this.#input.push(chunk);
  }

  receiveEof(): void {
    this.#eof = true;
  }

  pollTimeout(): number | undefined {
    if (this.#closed) return undefined;
    for (let e = this.#oneWay.peek(); e; e = this.#oneWay.peek()) {
      if (!e.settled) return 0;
      this.#oneWay.shift();
    }
    return this.#deadlines.peek();
  }

  handleTimeout(now: number): void {
    if (this.#closed) return;
    // One-way requests complete once written; unwritten ones wait for the next flush.
    while (this.#oneWay.peek()?.transmitted || this.#oneWay.peek()?.settled) {
      const entry = this.#oneWay.shift()!;
      if (entry.settled) continue;
      entry.settled = true;
      this.#table.take(entry.seqid);
      this.#abandon(entry.seqid); // an rDSN error reply may still come
      this.#events.push({
        type: "reply",
        id: entry.seqid,
        value: { rpc: entry.request.rpc, value: undefined },
      });
    }
    for (const entry of this.#deadlines.popExpired(now)) {
      entry.settled = true;
      this.#table.take(entry.seqid);
      if (entry.transmitted) this.#abandon(entry.seqid);
      this.#events.push({ type: "timeout", id: entry.seqid, sent: entry.transmitted });
    }
  }

  nextEvent(): ConnectionEvent<PegasusReply> | undefined {
    for (;;) {
      const queued = this.#events.shift();
      if (queued) return queued;
      if (this.#failure) throw this.#failure;
      if (this.#closedReported) return undefined;
      let event: ConnectionEvent<PegasusReply> | undefined | null;
      try {
        event = this.#parse();
      } catch (error) {
        this.#failure = error instanceof RemoteProtocolError
          ? error
          : new RemoteProtocolError(`Malformed Pegasus reply: ${(error as Error).message}`, {
            cause: error,
          });
        this.close();
        throw this.#failure;
      }
      if (event === null) return this.#endOfInput();
      if (event) return event;
    }
  }

  #endOfInput(): ConnectionEvent<PegasusReply> | undefined {
    if (!this.#eof) return undefined;
    this.#closedReported = true;
    const partial = this.#input.length > 0;
    this.close();
    if (partial) {
      return { type: "closed", error: new RemoteProtocolError("Pegasus reply cut off by EOF") };
    }
    return { type: "closed" };
  }

  /** One frame's event; `undefined` when the frame was dropped, `null` when bytes are short. */
  #parse(): ConnectionEvent<PegasusReply> | undefined | null {
    const input = this.#input;
    if (input.length === 0) return null;
    if (this.#table.size === 0 && this.#abandoned.size === 0) {
      throw new RemoteProtocolError(
        `Pegasus server sent ${input.length} byte(s) while no request was waiting`,
      );
    }
    if (input.length < 4) return null;
    const total = readUint32BE(input.view(4), 0);
    if (total < 16 || total > this.#maxFrame) {
      throw new RemoteProtocolError(
        `Pegasus reply frame length ${total} is out of range (16 to ${this.#maxFrame})`,
      );
    }
    const head = decodeResponseHeader(
      input.view(Math.min(input.length, total, MAX_RESPONSE_HEADER)),
      total,
    );
    if (!head) return null;
    const entry = this.#table.get(head.seqid);
    if (!entry && !this.#abandoned.has(head.seqid)) {
      throw new RemoteProtocolError(
        `Pegasus reply ${head.rpc} with seqid ${head.seqid} matches no request`,
      );
    }
    if (entry && head.rpc !== `${entry.request.rpc}_ACK`) {
      throw new RemoteProtocolError(
        `Pegasus reply for seqid ${head.seqid} is ${head.rpc}, expected ${entry.request.rpc}_ACK`,
      );
    }
    if (input.length < total) return null;
    const frame = decodeResponseFrame(input.take(total));
    if (!entry || entry.request.oneWay) {
      // A late reply to an abandoned request, or an error reply to clear_scanner: drop it.
      this.#abandoned.delete(frame.seqid);
      if (entry) this.#table.take(frame.seqid);
      return undefined;
    }
    this.#table.take(frame.seqid);
    entry.settled = true;
    if (frame.errorName !== "ERR_OK") {
      return {
        type: "serverError",
        id: entry.seqid,
        error: new PegasusError(frame.errorName, `${entry.request.rpc} failed`),
      };
    }
    let value: unknown;
    if (entry.request.decode) {
      const body = frame.body;
      if (!body) throw new RemoteProtocolError(`${frame.rpc} with ERR_OK has no body`);
      value = decodeResult(body, entry.request.decode);
      if (body.remaining !== 0) {
        throw new RemoteProtocolError(
          `Pegasus reply ${frame.rpc} has ${body.remaining} byte(s) past its result`,
        );
      }
    }
    return { type: "reply", id: entry.seqid, value: { rpc: entry.request.rpc, value } };
  }
}

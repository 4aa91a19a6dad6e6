// One HTTP/2 stream of the client machine: its request bytes waiting for flow-control credit,
// its windows and the response being assembled (RFC 9113 §5.1 states, §5.2 flow control).

import { FifoTable } from "../core/correlation.ts";
import type { HeaderField } from "./hpack.ts";

/** A piece of request body waiting to go out; `writeId` is replied once it has. */
export interface OutChunk {
  data: Uint8Array;
  offset: number;
  end: boolean;
  writeId: number | undefined;
}

/** Where a stream is: waiting for a concurrency slot, open, or finished. */
export type StreamPhase = "queued" | "open" | "closed";

/**
 * The state of one request's stream. The connection machine owns and mutates it.
 *
 * @example
 * ```ts
 * import { StreamState } from "./stream.ts";
 * const s = new StreamState(1, false, [[":method", "POST"]], 65535, 65535);
 * s.phase; // "queued"
 * ```
 */
export class StreamState {
  /** The request id `send` returned. */
  readonly requestId: number;
  /** True for the bidirectional shape (items and streamEnd), false for one reply. */
  readonly streaming: boolean;
  /** The request header list, encoded when the stream opens. */
  headers: readonly HeaderField[];
  /** 0 until HEADERS were written. */
  streamId = 0;
  phase: StreamPhase = "queued";
  /** Request settled (replied, failed, timed out, cancelled): no more events for it. */
  settled = false;
  /** Request bytes not yet written, oldest first. */
  readonly out: FifoTable<OutChunk> = new FifoTable<OutChunk>();
  /** END_STREAM written. */
  localEnded = false;
  /** END_STREAM received. */
  remoteEnded = false;
  /** Credit the peer gave us for DATA on this stream. */
  sendWindow: number;
  /** DATA bytes received and not yet credited back by WINDOW_UPDATE. */
  unacked = 0;
  /** The window we granted (our SETTINGS_INITIAL_WINDOW_SIZE). */
  readonly recvWindow: number;
  /** Bytes the peer may still send before our next WINDOW_UPDATE. */
  recvLeft: number;
  /** Response status once final headers arrived (0 before). */
  status = 0;
  responseHeaders: HeaderField[] = [];
  trailers: HeaderField[] = [];
  body: Uint8Array[] = [];
  bodySize = 0;

  /** Creates a queued stream for request `requestId`. */
  constructor(
    requestId: number,
    streaming: boolean,
    headers: readonly HeaderField[],
    sendWindow: number,
    recvWindow: number,
  ) {
    this.requestId = requestId;
    this.streaming = streaming;
    this.headers = headers;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
    this.recvLeft = recvWindow;
  }

  /** Queues request bytes; `end` closes the request side after them. */
  enqueue(data: Uint8Array, end: boolean, writeId: number | undefined): void {
    this.out.push({ data, offset: 0, end, writeId });
  }

  /** Whether bytes (or an END_STREAM) are waiting. */
  get hasOutput(): boolean {
    return this.out.size > 0;
  }

  /** True once the request side ended or will end with the queued bytes. */
  get endQueued(): boolean {
    if (this.localEnded) return true;
    for (let i = 0; i < this.out.size; i++) if (this.out.at(i)!.end) return true;
    return false;
  }
}

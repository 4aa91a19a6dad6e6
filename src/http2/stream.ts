// One HTTP/2 stream of the client machine: its request bytes waiting for flow-control credit,
// its windows, the response being assembled (RFC 9113 §5.1, §5.2) and its request headers.

import { FifoTable } from "../core/correlation.ts";
import { type HeaderField, latin1Encode } from "./hpack.ts";
import type { Http2Request } from "./types.ts";

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
 * const s = new StreamState(1, false, [[":method", "POST"]], 65535);
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
  /** Credit the peer gave us for DATA on this stream (set when the stream opens). */
  sendWindow = 0;
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
    recvWindow: number,
  ) {
    this.requestId = requestId;
    this.streaming = streaming;
    this.headers = headers;
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

/**
 * The header list of a request: pseudo-headers then `request.headers`, validated (lower-case
 * names, no pseudo-headers, octet values, within the peer's SETTINGS_MAX_HEADER_LIST_SIZE)
 * before anything is queued: `TypeError` or `RangeError` naming the header, never its value.
 *
 * @example
 * ```ts
 * import { requestHeaderList } from "./stream.ts";
 * requestHeaderList({ path: "/" }, "http", "h:1", Infinity).length; // 4
 * ```
 */
export function requestHeaderList(
  request: Http2Request,
  scheme: string,
  authority: string,
  peerMaxHeaderList: number,
): HeaderField[] {
  const fields: HeaderField[] = [
    [":method", request.method ?? "POST"],
    [":scheme", scheme],
    [":authority", authority],
    [":path", request.path],
  ];
  let size = 0;
  for (const [name, value] of fields) size += name.length + value.length + 32;
  for (const [name, value] of request.headers ?? []) {
    if (name === "" || name !== name.toLowerCase() || name.startsWith(":")) {
      throw new TypeError(
        `Header name ${JSON.stringify(name)} must be lower-case and not a pseudo-header`,
      );
    }
    latin1Encode(value, `Header ${name}`);
    size += name.length + value.length + 32;
  }
  latin1Encode(request.path, "Path");
  if (size > peerMaxHeaderList) {
    throw new RangeError(
      `Request headers of ${size} bytes exceed the peer's limit of ${peerMaxHeaderList}`,
    );
  }
  return request.headers ? [...fields, ...request.headers] : fields;
}

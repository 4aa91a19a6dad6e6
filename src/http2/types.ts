// Requests, replies, stream items and the stream error of the HTTP/2 client machine
// (src/http2/connection.ts).

import { ServerError } from "../core/errors.ts";
import type { RequestId } from "../core/connection.ts";
import type { HeaderField } from "./hpack.ts";

/** A request: it opens one HTTP/2 stream. */
export interface Http2Request {
  /** Default `"POST"`. */
  method?: string;
  /** The `:path`, such as `"/etcdserverpb.KV/Range"`. */
  path: string;
  /** Regular headers (lower-case names, no pseudo-headers), in order. */
  headers?: readonly HeaderField[];
  /** The request body, sent as DATA frames under flow control. */
  body?: Uint8Array;
  /**
   * Keep the request side open for {@link Http2Write}s and report the response as
   * `streamItem`s (headers, data, trailers) then `streamEnd`: the bidirectional shape.
   * Without it the stream ends after `body` and the whole response is one `reply`.
   */
  stream?: boolean;
}

/** More request body for an open `stream` request; its reply arrives once it was written. */
export interface Http2Write {
  /** The id `send` returned for the stream request. */
  write: RequestId;
  /** Bytes to send (may be empty, e.g. only to end the stream). */
  data: Uint8Array;
  /** End the request side after these bytes (END_STREAM). */
  end?: boolean;
}

/** What `send` accepts: a new stream, or bytes for an open one. */
export type Http2Send = Http2Request | Http2Write;

/** A complete response to a request without `stream`. */
export interface Http2Response {
  type: "response";
  status: number;
  headers: HeaderField[];
  body: Uint8Array;
  /** Trailing headers, empty when the response had none. */
  trailers: HeaderField[];
}

/** The reply to an {@link Http2Write}: its bytes were handed to `pollTransmit`. */
export interface Http2Written {
  type: "written";
  stream: RequestId;
}

/** What `reply` events carry. */
export type Http2Reply = Http2Response | Http2Written;

/** One part of the response to a `stream` request, in order. */
export type Http2Item =
  | { type: "headers"; status: number; headers: HeaderField[] }
  | { type: "data"; data: Uint8Array }
  | { type: "trailers"; trailers: HeaderField[] };

/**
 * A stream ended by the peer with RST_STREAM, or refused by GOAWAY: `http2Code` is the error
 * code's name. `sent` is false when the peer says it did not process the request
 * (REFUSED_STREAM, or a stream above the GOAWAY's last stream id): it may go elsewhere.
 *
 * @example
 * ```ts
 * import { Http2StreamError } from "./types.ts";
 * const err = new Http2StreamError("Stream 3 was reset: CANCEL", "CANCEL", { sent: true });
 * console.log(err.http2Code, err.sent); // "CANCEL" true
 * ```
 */
export class Http2StreamError extends ServerError {
  /** The HTTP/2 error code name, such as `"REFUSED_STREAM"`. */
  readonly http2Code: string;

  /** Creates the error. */
  constructor(message: string, http2Code: string, options?: { sent?: boolean; cause?: unknown }) {
    super(message, http2Code, options);
    this.http2Code = http2Code;
  }
}

/** Options of an {@link Http2Connection}. */
export interface Http2ConnectionOptions {
  /** The `:authority` of every request, such as `"127.0.0.1:2379"`. */
  authority: string;
  /** The `:scheme`. Default `"http"`. */
  scheme?: "http" | "https";
  /** The window we grant each stream (SETTINGS_INITIAL_WINDOW_SIZE). Default 1 MiB. */
  streamWindow?: number;
  /** The window we grant the whole connection. Default 16 MiB. */
  connectionWindow?: number;
  /** Largest frame we accept (SETTINGS_MAX_FRAME_SIZE). Default 16384. */
  maxFrameSize?: number;
  /** Largest decoded header list we accept (SETTINGS_MAX_HEADER_LIST_SIZE). Default 64 KiB. */
  maxHeaderListSize?: number;
  /** Largest response body of a non-stream request. Default 64 MiB. */
  maxBodyBytes?: number;
  /** Header names sent "never indexed" by HPACK (secrets). Default `authorization`, `token`. */
  sensitiveHeaders?: readonly string[];
}

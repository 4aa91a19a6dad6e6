// HTTP/1.1 message codec without I/O (RFC 9112): a request writer and an incremental response
// reader for content-length, chunked and read-until-close bodies, with size limits.

import { asciiDecode, utf8Encode } from "../../core/bytes.ts";
import { RemoteProtocolError } from "../../core/errors.ts";
import type { ReceiveBuffer } from "../../core/receive_buffer.ts";

/** An HTTP request as the etcd clients build it. */
export interface HttpRequest {
  /** The request method. */
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path and query, starting with `/`. */
  path: string;
  /** Extra headers (`Host`, `Content-Length` are added). */
  headers?: Record<string, string>;
  /** The request body; a string is sent as UTF-8. */
  body?: Uint8Array | string;
  /**
   * The response body never ends (watch): deliver it line by line as stream items. The
   * connection then carries nothing else.
   */
  stream?: boolean;
}

/** A complete response. Header names are lower case; repeated headers are joined by ", ". */
export interface HttpResponse {
  /** The status code. */
  status: number;
  /** The reason phrase of the status line. */
  reason: string;
  /** The headers by lower-case name. */
  headers: Record<string, string>;
  /** The whole body. */
  body: Uint8Array;
}

/** The parts of a response as the reader finds them. */
export type ResponsePart =
  | { type: "head"; status: number; reason: string; headers: Record<string, string> }
  | { type: "data"; bytes: Uint8Array }
  | { type: "end" };

/** Limits of a {@link ResponseReader}, checked before anything is buffered. */
export interface ResponseReaderLimits {
  /** Largest status line plus headers. Default 64 KiB. */
  maxHeaderBytes?: number;
  /**
   * Largest body: a declared `Content-Length`, the sum of the chunk sizes of a chunked body,
   * or a body read until EOF. Default 64 MiB. {@link ResponseReader.allowStreamBody} lifts it
   * for one response.
   */
  maxBodyBytes?: number;
}

/** The default of {@link ResponseReaderLimits.maxBodyBytes}: 64 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

const CRLF2 = [13, 10, 13, 10];
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Encodes a request with `Host` and `Content-Length` (always sent, also when 0).
 *
 * @example
 * ```ts
 * import { encodeRequest } from "@kvwire/kvwire/etcd";
 * const bytes = encodeRequest({ method: "POST", path: "/v3/kv/range", body: "{}" }, "h:2379");
 * new TextDecoder().decode(bytes).startsWith("POST /v3/kv/range HTTP/1.1\r\n"); // true
 * ```
 */
export function encodeRequest(request: HttpRequest, host: string): Uint8Array {
  if (!request.path.startsWith("/") || hasControl(request.path, true)) {
    throw new TypeError(`Invalid request path ${JSON.stringify(request.path)}`);
  }
  const body = typeof request.body === "string"
    ? utf8Encode(request.body)
    : request.body ?? new Uint8Array(0);
  let head = `${request.method} ${request.path} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (!TOKEN.test(name) || hasControl(value, false)) {
      throw new TypeError(`Invalid header ${JSON.stringify(name)}`);
    }
    head += `${name}: ${value}\r\n`;
  }
  head += `Content-Length: ${body.length}\r\n\r\n`;
  const headBytes = utf8Encode(head);
  const out = new Uint8Array(headBytes.length + body.length);
  out.set(headBytes);
  out.set(body, headBytes.length);
  return out;
}

/** True when `text` has a control character (or, with `space`, a space). */
function hasControl(text: string, space: boolean): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 || c === 127 || (space && c === 32)) {
      if (!space && c === 9) continue; // a tab is allowed in a header value
      return true;
    }
  }
  return false;
}

type State =
  | "head"
  | "length"
  | "chunkSize"
  | "chunkData"
  | "chunkEnd"
  | "trailers"
  | "untilEof"
  | "done";

/**
 * Reads responses one after another from a {@link ReceiveBuffer}.
 *
 * Theory of operation: states head → (length | chunkSize ⇄ chunkData → chunkEnd … →
 * trailers | untilEof) → head. `next` returns one part or `undefined` when it needs more
 * bytes; data parts are views of the received chunks, handed out as they arrive (a body is
 * never accumulated here). 1xx responses are skipped. Every declared length (Content-Length,
 * chunk size) is checked against the limits when it is read, before its bytes are awaited.
 * Any violation throws `RemoteProtocolError`, after which the reader must not be used again.
 *
 * @example
 * ```ts
 * import { ReceiveBuffer } from "@kvwire/kvwire";
 * import { ResponseReader } from "@kvwire/kvwire/etcd";
 * const buf = new ReceiveBuffer();
 * buf.push(new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
 * const reader = new ResponseReader();
 * reader.next(buf, false); // { type: "head", status: 200, ... }
 * reader.next(buf, false); // { type: "data", bytes: "hi" }
 * reader.next(buf, false); // { type: "end" }
 * ```
 */
export class ResponseReader {
  #state: State = "head";
  #remaining = 0;
  #scanFrom = 0;
  #closeAfter = false;
  /** Body bytes the current response may still declare or carry. */
  #bodyLeft = 0;
  /** Largest chunk of the current response. */
  #chunkMax = 0;
  readonly #maxHeaderBytes: number;
  readonly #maxBodyBytes: number;

  /** Creates a reader expecting a status line. */
  constructor(limits: ResponseReaderLimits = {}) {
    this.#maxHeaderBytes = limits.maxHeaderBytes ?? 64 * 1024;
    this.#maxBodyBytes = limits.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  }

  /**
   * Call right after a `head` part whose body is an endless stream (a watch): the body as a
   * whole is then unbounded, but each chunk may carry at most `maxChunkBytes`.
   */
  allowStreamBody(maxChunkBytes: number): void {
    this.#bodyLeft = Infinity;
    this.#chunkMax = maxChunkBytes;
  }

  /** True after a response that said `Connection: close` (or an HTTP/1.0 one) ended. */
  get closeAfter(): boolean {
    return this.#closeAfter;
  }

  /** True between responses. */
  get idle(): boolean {
    return this.#state === "head" && this.#scanFrom === 0;
  }

  /** The next part, or undefined when more bytes are needed. `eof`: no more bytes will come. */
  next(buf: ReceiveBuffer, eof: boolean): ResponsePart | undefined {
    for (;;) {
      switch (this.#state) {
        case "head": {
          const head = this.#readHead(buf, eof);
          if (head === undefined || head.type === "head") return head;
          continue; // a 1xx response was skipped
        }
        case "length": {
          if (this.#remaining === 0) return this.#end();
          if (this.#remaining > this.#bodyLeft) {
            throw new RemoteProtocolError(
              `Content-Length ${this.#remaining} exceeds the limit of ${this.#maxBodyBytes} bytes`,
            );
          }
          if (buf.length === 0) return this.#needMore(eof);
          const n = Math.min(this.#remaining, buf.head().length);
          this.#remaining -= n;
          this.#bodyLeft -= n;
          return { type: "data", bytes: buf.take(n) };
        }
        case "untilEof": {
          if (buf.length > 0) {
            const n = buf.head().length;
            this.#bodyLeft -= n;
            if (this.#bodyLeft < 0) {
              throw new RemoteProtocolError(`Response body exceeds ${this.#maxBodyBytes} bytes`);
            }
            return { type: "data", bytes: buf.take(n) };
          }
          if (eof) return this.#end();
          return undefined;
        }
        case "chunkSize": {
          const line = this.#readLine(buf, 1024, "chunk size line", eof);
          if (line === undefined) return undefined;
          const digits = line.split(";")[0].trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(digits)) {
            throw new RemoteProtocolError(`Invalid chunk size ${JSON.stringify(line)}`);
          }
          this.#remaining = parseInt(digits, 16);
          if (this.#remaining > this.#chunkMax || this.#remaining > this.#bodyLeft) {
            const limit = Math.min(this.#chunkMax, this.#maxBodyBytes);
            throw new RemoteProtocolError(
              `Chunk size ${this.#remaining} exceeds the limit of ${limit} bytes`,
            );
          }
          this.#bodyLeft -= this.#remaining;
          this.#state = this.#remaining === 0 ? "trailers" : "chunkData";
          continue;
        }
        case "chunkData": {
          if (buf.length === 0) return this.#needMore(eof);
          const n = Math.min(this.#remaining, buf.head().length);
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = "chunkEnd";
          return { type: "data", bytes: buf.take(n) };
        }
        case "chunkEnd": {
          if (buf.length < 2) return this.#needMore(eof);
          if (buf.byteAt(0) !== 13 || buf.byteAt(1) !== 10) {
            throw new RemoteProtocolError("Chunk data is not followed by CRLF");
          }
          buf.skip(2);
          this.#state = "chunkSize";
          continue;
        }
        case "trailers": {
          const line = this.#readLine(buf, this.#maxHeaderBytes, "trailer", eof);
          if (line === undefined) return undefined;
          if (line === "") return this.#end();
          continue;
        }
        case "done":
          if (buf.length === 0) return undefined;
          throw new RemoteProtocolError("Data after a response that closes the connection");
      }
    }
  }

  #needMore(eof: boolean): undefined {
    if (eof) throw new RemoteProtocolError("Connection closed in the middle of a response body");
    return undefined;
  }

  #end(): ResponsePart {
    this.#state = this.#closeAfter ? "done" : "head";
    return { type: "end" };
  }

  #readLine(buf: ReceiveBuffer, max: number, what: string, eof: boolean): string | undefined {
    const lf = buf.indexOf(10);
    if (lf === -1 || lf > max) {
      if (buf.length > max) throw new RemoteProtocolError(`The ${what} is too long`);
      return this.#needMore(eof);
    }
    const bytes = buf.take(lf + 1);
    const end = lf > 0 && bytes[lf - 1] === 13 ? lf - 1 : lf;
    return asciiDecode(bytes, 0, end);
  }

  #readHead(buf: ReceiveBuffer, eof: boolean): ResponsePart | { type: "info" } | undefined {
    const end = this.#findHeadEnd(buf);
    if (end === -1) {
      if (buf.length > this.#maxHeaderBytes) {
        throw new RemoteProtocolError(`Response head exceeds ${this.#maxHeaderBytes} bytes`);
      }
      if (eof && buf.length > 0) {
        throw new RemoteProtocolError("Connection closed in the middle of a response head");
      }
      return undefined;
    }
    this.#scanFrom = 0;
    if (end > this.#maxHeaderBytes) {
      throw new RemoteProtocolError(`Response head exceeds ${this.#maxHeaderBytes} bytes`);
    }
    const text = asciiDecode(buf.take(end + 4), 0, end);
    const lines = text.split("\r\n");
    const m = /^HTTP\/1\.([01]) ([1-5]\d\d)(?: (.*))?$/.exec(lines[0]);
    if (!m) throw new RemoteProtocolError(`Invalid status line ${JSON.stringify(lines[0])}`);
    const status = Number(m[2]);
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(":");
      const name = lines[i].slice(0, colon).toLowerCase();
      if (colon <= 0 || !TOKEN.test(name)) {
        throw new RemoteProtocolError(`Invalid header line ${JSON.stringify(lines[i])}`);
      }
      const value = lines[i].slice(colon + 1).trim();
      headers[name] = Object.hasOwn(headers, name) ? `${headers[name]}, ${value}` : value;
    }
    if (status < 200) return { type: "info" };
    this.#bodyLeft = this.#maxBodyBytes;
    this.#chunkMax = this.#maxBodyBytes;
    const connection = (headers["connection"] ?? "").toLowerCase();
    this.#closeAfter = connection.includes("close") ||
      (m[1] === "0" && !connection.includes("keep-alive"));
    const te = headers["transfer-encoding"];
    const cl = headers["content-length"];
    if (te !== undefined) {
      if (te.toLowerCase().split(",").map((s) => s.trim()).at(-1) !== "chunked") {
        throw new RemoteProtocolError(`Unsupported transfer-encoding ${JSON.stringify(te)}`);
      }
      this.#state = "chunkSize";
    } else if (status === 204 || status === 304) {
      this.#state = "length";
      this.#remaining = 0;
    } else if (cl !== undefined) {
      if (!/^\d{1,15}$/.test(cl)) {
        throw new RemoteProtocolError(`Invalid content-length ${JSON.stringify(cl)}`);
      }
      this.#state = "length";
      this.#remaining = Number(cl);
    } else {
      this.#state = "untilEof";
      this.#closeAfter = true;
    }
    return { type: "head", status, reason: m[3] ?? "", headers };
  }

  /** Index of the CRLFCRLF ending the head, or -1; resumes scanning where it stopped. */
  #findHeadEnd(buf: ReceiveBuffer): number {
    const limit = Math.min(buf.length, this.#maxHeaderBytes + 4);
    for (
      let at = buf.indexOf(13, this.#scanFrom);
      at !== -1 && at + 3 < limit;
      at = buf.indexOf(13, at + 1)
    ) {
      let k = 1;
      while (k < 4 && buf.byteAt(at + k) === CRLF2[k]) k++;
      if (k === 4) return at;
    }
    this.#scanFrom = Math.max(0, Math.min(buf.length, limit) - 3);
    return -1;
  }
}

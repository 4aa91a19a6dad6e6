// GrpcConnection: gRPC calls over the HTTP/2 client machine (grpc/doc/PROTOCOL-HTTP2.md):
// unary calls and bidirectional streams of length-prefixed messages, statuses from trailers.

import type { ConnectionEvent, ProtocolConnection, SendOptions } from "../core/connection.ts";
import { FifoTable } from "../core/correlation.ts";
import { LocalProtocolError, RemoteProtocolError } from "../core/errors.ts";
import { Http2Connection, type Http2ConnectionOptions } from "../http2/connection.ts";
import type { HeaderField } from "../http2/hpack.ts";
import type { Http2Item, Http2Reply, Http2Written } from "../http2/types.ts";
import {
  DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
  encodeGrpcMessage,
  GrpcMessageReader,
  grpcTimeout,
} from "./framing.ts";
import { GrpcError, GrpcStatus, percentDecode, statusFromHttp } from "./status.ts";

/** A call: unary (one message each way) or, with `stream`, bidirectional. */
export interface GrpcCall {
  /** `/package.Service/Method`, such as `"/etcdserverpb.KV/Range"`. */
  path: string;
  /** The (first) request message, already encoded. A unary call needs one. */
  message?: Uint8Array;
  /** Keep the call open: more messages go as {@link GrpcWrite}s, replies arrive as items. */
  stream?: boolean;
  /** Custom metadata (lower-case names), such as `[["token", "..."]]`. */
  metadata?: readonly HeaderField[];
  /** Milliseconds the server may take, sent as `grpc-timeout`. */
  timeout?: number;
  /**
   * A handle for later {@link GrpcWrite}s (`to`), for callers that do not see the request id
   * (a `Driver.stream` caller). Compared by identity; forgotten when the call ends.
   */
  tag?: object;
}

/** Another request message on an open stream call (`end` half-closes it). */
export interface GrpcWrite {
  /** The id `send` returned for the stream call, or the call's `tag`. */
  write: number | object;
  message?: Uint8Array;
  end?: boolean;
}

/** What `send` accepts. */
export type GrpcSend = GrpcCall | GrpcWrite;

/** A unary call's response message, or the acknowledgement that a write went out. */
export type GrpcReply = Uint8Array | Http2Written;

/** Options of a {@link GrpcConnection}: the HTTP/2 ones plus the message size limit. */
export interface GrpcConnectionOptions extends Http2ConnectionOptions {
  /** Largest message received. Default 4 MiB (etcd's client default). */
  maxReceiveMessageBytes?: number;
}

interface CallState {
  stream: boolean;
  tag: object | undefined;
  reader: GrpcMessageReader | undefined;
  status: GrpcError | undefined;
  /** A grpc-status arrived (trailers, or a trailers-only answer). */
  final: boolean;
}

type Event = ConnectionEvent<GrpcReply, Uint8Array>;

/**
 * A gRPC client connection as a machine, wrapping an {@link Http2Connection}.
 *
 * Theory of operation. `send` turns a call into an HTTP/2 POST with `content-type:
 * application/grpc`, `te: trailers` and `grpc-timeout` (from `timeout`), its message framed.
 * Events of the HTTP/2 machine are translated in `nextEvent`: a unary response is checked
 * (HTTP 200, a gRPC content type, `grpc-status` in the trailers or a trailers-only answer)
 * and becomes one `reply` with the message, or a `serverError` with a {@link GrpcError}. A
 * stream call's DATA is split into messages (`streamItem`s); its trailers' status ends it
 * (`streamEnd`, with a `GrpcError` unless OK). A message over the size limit or compressed
 * fails the call with RESOURCE_EXHAUSTED / INTERNAL and resets its stream (the connection
 * stays usable). Everything else (timeouts, closes, HTTP/2 stream errors) passes through.
 *
 * @example
 * ```ts
 * import { GrpcConnection } from "./connection.ts";
 * const conn = new GrpcConnection({ authority: "127.0.0.1:2379" });
 * conn.send({ path: "/etcdserverpb.Maintenance/Status", message: new Uint8Array(0) });
 * conn.pollTransmit(); // preface, SETTINGS, WINDOW_UPDATE, HEADERS, DATA
 * ```
 */
export class GrpcConnection implements ProtocolConnection<GrpcSend, GrpcReply, Uint8Array> {
  /** The HTTP/2 machine underneath (for `ping`, `goAway`, `openStreams`). */
  readonly http2: Http2Connection;
  readonly #maxMessage: number;
  readonly #calls = new Map<number, CallState>();
  readonly #tags = new WeakMap<object, number>();
  readonly #events = new FifoTable<Event>();

  /** Creates an idle connection machine. */
  constructor(options: GrpcConnectionOptions) {
    this.#maxMessage = options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES;
    this.http2 = new Http2Connection({
      ...options,
      maxBodyBytes: options.maxBodyBytes ?? this.#maxMessage + 5,
    });
  }

  get inFlight(): number {
    return this.http2.inFlight;
  }

  get canSend(): boolean {
    return this.http2.canSend;
  }

  get wantsRead(): boolean {
    return this.http2.wantsRead;
  }

  send(request: GrpcSend, options?: SendOptions): number {
    if ("write" in request) {
      const target = typeof request.write === "number"
        ? request.write
        : this.#tags.get(request.write);
      if (target === undefined) throw new LocalProtocolError("No open gRPC call has this tag");
      const data = request.message ? encodeGrpcMessage(request.message) : new Uint8Array(0);
      return this.http2.send({ write: target, data, end: request.end }, options);
    }
    if (!request.stream && request.message === undefined) {
      throw new TypeError(`Unary call ${request.path} needs a message`);
    }
    const headers: HeaderField[] = [["content-type", "application/grpc"], ["te", "trailers"]];
    if (request.timeout !== undefined) headers.push(["grpc-timeout", grpcTimeout(request.timeout)]);
    if (request.metadata) headers.push(...request.metadata);
    const id = this.http2.send({
      path: request.path,
      headers,
      body: request.message ? encodeGrpcMessage(request.message) : undefined,
      stream: request.stream,
    }, options);
    if (request.tag) this.#tags.set(request.tag, id);
    this.#calls.set(id, {
      stream: request.stream === true,
      tag: request.tag,
      reader: request.stream ? new GrpcMessageReader(this.#maxMessage) : undefined,
      status: undefined,
      final: false,
    });
    return id;
  }

  cancel(id: number): void {
    this.#forget(id);
    this.http2.cancel(id);
  }

  close(): void {
    this.http2.close();
    for (const id of [...this.#calls.keys()]) this.#forget(id);
  }

  pollTransmit(maxBytes?: number): Uint8Array | undefined {
    return this.http2.pollTransmit(maxBytes);
  }

  receive(chunk: Uint8Array): void {
    this.http2.receive(chunk);
  }

  receiveEof(): void {
    this.http2.receiveEof();
  }

  pollTimeout(): number | undefined {
    return this.http2.pollTimeout();
  }

  handleTimeout(now: number): void {
    this.http2.handleTimeout(now);
  }

  wasSent(id: number): boolean {
    return this.http2.wasSent(id);
  }

  nextEvent(): Event | undefined {
    while (this.#events.size === 0) {
      const e = this.http2.nextEvent();
      if (e === undefined) break;
      this.#translate(e);
    }
    return this.#events.shift();
  }

  #translate(e: ConnectionEvent<Http2Reply, Http2Item>): void {
    switch (e.type) {
      case "reply": {
        if (e.value.type === "written") {
          this.#events.push({ type: "reply", id: e.id, value: e.value });
          return;
        }
        this.#forget(e.id);
        const r = e.value;
        const error = responseError(r.status, r.headers) ??
          trailerStatus(r.trailers.length > 0 ? r.trailers : r.headers);
        if (error) {
          this.#events.push({ type: "serverError", id: e.id, error });
          return;
        }
        const reader = new GrpcMessageReader(this.#maxMessage);
        reader.push(r.body);
        let message: Uint8Array | undefined;
        try {
          message = reader.next();
        } catch (cause) {
          this.#events.push({ type: "serverError", id: e.id, error: framingError(cause) });
          return;
        }
        if (message === undefined || reader.buffered > 0) {
          const error = new GrpcError(
            GrpcStatus.INTERNAL,
            "unary response has not exactly one message",
          );
          this.#events.push({ type: "serverError", id: e.id, error });
          return;
        }
        this.#events.push({ type: "reply", id: e.id, value: message });
        return;
      }
      case "streamItem": {
        const call = this.#calls.get(e.id);
        if (!call) return;
        const item = e.item;
        if (item.type === "headers") {
          const error = responseError(item.status, item.headers);
          if (error) this.#fail(e.id, error);
          else if (item.headers.some(([n]) => n === "grpc-status")) {
            // A trailers-only answer carries grpc-status in these headers.
            call.final = true;
            call.status = trailerStatus(item.headers);
          }
        } else if (item.type === "data") {
          call.reader!.push(item.data);
          try {
            for (let m = call.reader!.next(); m; m = call.reader!.next()) {
              this.#events.push({ type: "streamItem", id: e.id, item: m });
            }
          } catch (cause) {
            this.#fail(e.id, framingError(cause));
          }
        } else {
          call.final = true;
          call.status = trailerStatus(item.trailers);
        }
        return;
      }
      case "streamEnd": {
        const call = this.#calls.get(e.id);
        if (!call) return;
        this.#forget(e.id);
        const error = e.error ?? call.status ??
          (call.final
            ? undefined
            : new GrpcError(GrpcStatus.UNKNOWN, "stream ended without grpc-status"));
        this.#events.push({ type: "streamEnd", id: e.id, error });
        return;
      }
      case "serverError":
      case "timeout":
        this.#forget(e.id);
        this.#events.push(e);
        return;
      default:
        this.#events.push(e as Event);
    }
  }

  #forget(id: number): void {
    const call = this.#calls.get(id);
    if (call?.tag) this.#tags.delete(call.tag);
    this.#calls.delete(id);
  }

  #fail(id: number, error: GrpcError): void {
    this.#forget(id);
    this.http2.cancel(id);
    this.#events.push({ type: "streamEnd", id, error });
  }
}

/** The error of a response that is not a gRPC answer (HTTP status, content type). */
function responseError(status: number, headers: readonly HeaderField[]): GrpcError | undefined {
  if (status !== 200) {
    return new GrpcError(statusFromHttp(status), `HTTP status ${status} from the server`);
  }
  const type = headers.find(([n]) => n === "content-type")?.[1] ?? "";
  if (!type.startsWith("application/grpc")) {
    return new GrpcError(GrpcStatus.UNKNOWN, `response content-type ${JSON.stringify(type)}`);
  }
  return undefined;
}

/** The status in trailers: undefined when OK; a GrpcError otherwise (missing: UNKNOWN). */
function trailerStatus(fields: readonly HeaderField[]): GrpcError | undefined {
  const raw = fields.find(([n]) => n === "grpc-status")?.[1];
  if (raw === undefined) return new GrpcError(GrpcStatus.UNKNOWN, "no grpc-status in trailers");
  const code = /^\d+$/.test(raw) ? Number(raw) : GrpcStatus.UNKNOWN;
  if (code === GrpcStatus.OK) return undefined;
  const message = fields.find(([n]) => n === "grpc-message")?.[1] ?? "";
  return new GrpcError(code, percentDecode(message));
}

function framingError(cause: unknown): GrpcError {
  const message = (cause as Error).message;
  const code = /exceeds the limit/.test(message)
    ? GrpcStatus.RESOURCE_EXHAUSTED
    : GrpcStatus.INTERNAL;
  if (!(cause instanceof RemoteProtocolError)) throw cause;
  return new GrpcError(code, message, { cause });
}

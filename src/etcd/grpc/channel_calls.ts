// The calls of the gRPC etcd channel (channel.ts) on one connection's driver: gateway paths to
// gRPC methods and messages, unary calls, a stream's first answer, and streams relayed to the
// gateway's JSON lines with backpressure.

import type { Driver } from "../../core/driver.ts";
import { ConnectionClosedError, RemoteProtocolError } from "../../core/errors.ts";
import { StreamQueue } from "../../core/stream_queue.ts";
import type { GrpcReply, GrpcSend } from "../../grpc/connection.ts";
import type { HeaderField } from "../../http2/hpack.ts";
import { Http2StreamError } from "../../http2/types.ts";
import { invalidAnswer } from "../answer.ts";
import { decodeProto, encodeProto } from "../proto/wire.ts";
import { jsonFromProto, protoFromJson } from "./json.ts";
import { GRPC_METHODS, type GrpcMethod } from "./methods.ts";

/** A driver of a gRPC connection machine. */
export type GrpcDriver = Driver<GrpcSend, GrpcReply, Uint8Array>;

const UTF8 = new TextEncoder();

/**
 * The method of a gateway path; a path with no gRPC method is a `TypeError`.
 *
 * @example
 * ```ts
 * import { methodOf } from "./channel_calls.ts";
 * methodOf("/v3/kv/range").path; // "/etcdserverpb.KV/Range"
 * ```
 */
export function methodOf(path: string): GrpcMethod {
  const method = GRPC_METHODS[path];
  if (method === undefined) {
    throw new TypeError(`${path} has no gRPC method in kvwire's etcd client`);
  }
  return method;
}

/**
 * The protobuf request of `method` from the gateway's JSON `body` (a `TypeError` before
 * sending when it is not an object).
 *
 * @example
 * ```ts
 * import { methodOf, requestMessage } from "./channel_calls.ts";
 * requestMessage(methodOf("/v3/kv/range"), { key: "YQ==" }); // Uint8Array [10, 1, 97]
 * ```
 */
export function requestMessage(method: GrpcMethod, body: unknown): Uint8Array {
  if (typeof body !== "object" || body === null) {
    throw new TypeError(`${method.path} needs an object body`);
  }
  return encodeProto(
    method.request,
    protoFromJson(method.request, body as Record<string, unknown>),
  );
}

/**
 * Watch and LeaseKeepAlive take more requests; the others one, then the client half-closes.
 *
 * @example
 * ```ts
 * import { isBidi, methodOf } from "./channel_calls.ts";
 * isBidi(methodOf("/v3/watch")); // true
 * ```
 */
export function isBidi(method: GrpcMethod): boolean {
  return method.path.endsWith("/Watch") || method.path.endsWith("/LeaseKeepAlive");
}

/**
 * Ends the client's side of the stream tagged `tag` (no more requests).
 *
 * @example
 * ```ts
 * import { halfClose, type GrpcDriver } from "./channel_calls.ts";
 * declare const driver: GrpcDriver;
 * const tag = {};
 * halfClose(driver, tag);
 * ```
 */
export function halfClose(driver: GrpcDriver, tag: object): void {
  // A failure here ends the stream too, with the error the consumer sees.
  driver.request({ write: tag, end: true }).catch(() => {});
}

/**
 * One unary call: its answer's message bytes (a call answered without one is a
 * `RemoteProtocolError`, `sent: true`).
 *
 * @example
 * ```ts
 * import { methodOf, requestMessage, unary, type GrpcDriver } from "./channel_calls.ts";
 * declare const driver: GrpcDriver;
 * const method = methodOf("/v3/maintenance/status");
 * await unary(driver, method, requestMessage(method, {}), undefined, 5000, undefined);
 * ```
 */
export async function unary(
  driver: GrpcDriver,
  method: GrpcMethod,
  message: Uint8Array,
  metadata: HeaderField[] | undefined,
  timeout: number,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const reply = await driver.request(
    { path: method.path, message, metadata, timeout },
    { timeout, signal },
    method.path,
  );
  if (!(reply instanceof Uint8Array)) {
    throw new RemoteProtocolError(`${method.path} got no message`, { sent: true });
  }
  return reply;
}

/**
 * The first answer of a stream method used as one call (a single lease keep-alive).
 *
 * @example
 * ```ts
 * import { firstMessage, methodOf, requestMessage, type GrpcDriver } from "./channel_calls.ts";
 * declare const driver: GrpcDriver;
 * const method = methodOf("/v3/lease/keepalive");
 * await firstMessage(driver, method, requestMessage(method, { ID: "1" }), undefined, 5000, undefined);
 * ```
 */
export async function firstMessage(
  driver: GrpcDriver,
  method: GrpcMethod,
  message: Uint8Array,
  metadata: HeaderField[] | undefined,
  timeout: number,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const tag = {};
  const items = driver.stream(
    { path: method.path, stream: true, tag, message, metadata, timeout },
    { timeout, signal },
    method.path,
  );
  halfClose(driver, tag);
  try {
    const first = await items.next();
    if (first.done) {
      throw new RemoteProtocolError(`${method.path} ended without an answer`, { sent: true });
    }
    return first.value;
  } finally {
    await items.return();
  }
}

/**
 * A failure of a bidi stream: a stream the server refused or reset as a
 * `ConnectionClosedError` with the same `sent`; others (a `GrpcError` status) unchanged.
 *
 * @example
 * ```ts
 * import { streamError } from "./channel_calls.ts";
 * streamError(new Error("x")); // the same error
 * ```
 */
export function streamError(error: unknown): unknown {
  if (error instanceof Http2StreamError) {
    return new ConnectionClosedError(error.message, { sent: error.sent, cause: error });
  }
  return error;
}

/**
 * A stream message as the gateway's JSON line; a malformed one drops the connection.
 *
 * @example
 * ```ts
 * import { jsonLine, methodOf, type GrpcDriver } from "./channel_calls.ts";
 * declare const driver: GrpcDriver;
 * const line = jsonLine(methodOf("/v3/watch"), driver); // (message) => bytes of {"result": ...}
 * ```
 */
export function jsonLine(method: GrpcMethod, driver: GrpcDriver): (m: Uint8Array) => Uint8Array {
  return (m) => {
    try {
      const result = jsonFromProto(method.response, decodeProto(method.response, m));
      return UTF8.encode(JSON.stringify({ result }));
    } catch (error) {
      const failure = invalidAnswer(method.path, error);
      driver.destroy(failure);
      throw failure;
    }
  };
}

/** A relayed stream: its queue, and `close` (the consumer then sees a closed-stream error). */
export interface Relayed {
  items: StreamQueue<Uint8Array>;
  close: () => void;
}

/**
 * A queue fed from `source` through `map`, with backpressure; it ends with the source (its
 * error through `fail`), and leaving it early or `close` cancels the source (RST_STREAM).
 *
 * @example
 * ```ts
 * import { relay } from "./channel_calls.ts";
 * import { StreamQueue } from "../../core/stream_queue.ts";
 * const source = new StreamQueue<Uint8Array>();
 * const { items, close } = relay(source, (m) => m, (e) => e, () => {});
 * close();
 * ```
 */
export function relay(
  source: StreamQueue<Uint8Array>,
  map: (m: Uint8Array) => Uint8Array,
  fail: (error: unknown) => unknown,
  ended: () => void,
): Relayed {
  let drained: (() => void) | undefined;
  const stop = (): void => {
    drained?.();
    void source.return();
  };
  const items = new StreamQueue<Uint8Array>({
    highWaterMark: 64,
    onDrain: () => drained?.(),
    onCancel: stop,
  });
  (async () => {
    try {
      for await (const m of source) {
        if (items.ended) return;
        if (!items.push(map(m))) await new Promise<void>((resolve) => (drained = resolve));
      }
      items.end();
    } catch (error) {
      items.end(fail(error));
    } finally {
      ended();
    }
  })();
  const close = (): void => {
    items.end(new ConnectionClosedError("The etcd stream was closed"));
    stop();
  };
  return { items, close };
}

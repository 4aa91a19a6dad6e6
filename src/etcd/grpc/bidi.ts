// The seam between the etcd gRPC channel and the streams that share its connection (the one
// Watch stream of a client, the one LeaseKeepAlive stream): a bidirectional gRPC call whose
// messages are already protobuf-encoded.

import { KvError } from "../../core/errors.ts";
import type { StreamQueue } from "../../core/stream_queue.ts";
import { GrpcError } from "../../grpc/status.ts";
import type { Address } from "../channel_options.ts";

/**
 * An open bidirectional gRPC call on an etcd endpoint.
 *
 * `items` yields the response messages and ends with the call: normally (the server closed
 * it), or with an error (a `GrpcError` status, the connection dropped). `write` sends one more
 * request message; `close` cancels the call (RST_STREAM) and ends `items`.
 *
 * @example
 * ```ts
 * import type { BidiStream } from "./bidi.ts";
 * function cancelAll(stream: BidiStream): void {
 *   stream.close();
 * }
 * ```
 */
export interface BidiStream {
  /** The response messages, protobuf-encoded. */
  readonly items: StreamQueue<Uint8Array>;
  /** The endpoint the call runs on. */
  readonly endpoint: Address;
  /** Sends another request message on the call. */
  write(message: Uint8Array): void;
  /** Cancels the call; `items` ends. */
  close(): void;
}

/**
 * Opens a bidirectional call (`path` such as `"/etcdserverpb.Watch/Watch"`) on the channel's
 * current endpoint, with the channel's auth token as metadata, failing over as unary calls do.
 *
 * @example
 * ```ts
 * import type { OpenBidi } from "./bidi.ts";
 * async function openWatch(open: OpenBidi) {
 *   return await open("/etcdserverpb.Watch/Watch", { signal: AbortSignal.timeout(5000) });
 * }
 * ```
 */
export type OpenBidi = (path: string, options?: { signal?: AbortSignal }) => Promise<BidiStream>;

const RETRYABLE = new Set(["UNAVAILABLE", "UNKNOWN", "INTERNAL", "CANCELLED", "DEADLINE_EXCEEDED"]);

/**
 * True when opening the stream again may help after `error` ended (or failed to open) it: the
 * connection failed or was unresponsive (a `KvError` that is not a server answer), or the
 * server ended the call with a transient status (UNAVAILABLE such as "no leader", UNKNOWN,
 * INTERNAL, CANCELLED, DEADLINE_EXCEEDED). Any other status (PERMISSION_DENIED,
 * INVALID_ARGUMENT, UNAUTHENTICATED after the channel renewed its token, ...) and any other
 * error (a `TypeError`) would only repeat.
 *
 * @example
 * ```ts
 * import { isRetryableStreamError } from "./bidi.ts";
 * import { GrpcError } from "../../grpc/status.ts";
 * isRetryableStreamError(new GrpcError(14, "etcdserver: no leader")); // true
 * isRetryableStreamError(new GrpcError(7, "etcdserver: permission denied")); // false
 * ```
 */
export function isRetryableStreamError(error: unknown): boolean {
  if (error instanceof GrpcError) return RETRYABLE.has(error.status);
  return error instanceof KvError && error.code !== "SERVER";
}

// The seam between the etcd gRPC channel and the streams that share its connection (the one
// Watch stream of a client, the one LeaseKeepAlive stream): a bidirectional gRPC call whose
// messages are already protobuf-encoded.

import type { StreamQueue } from "../../core/stream_queue.ts";
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

// gRPC message framing over HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md): each message is a 1-byte
// compressed flag, a 4-byte big-endian length and the bytes; plus the `grpc-timeout` header.

import { RemoteProtocolError } from "../core/errors.ts";
import { ReceiveBuffer } from "../core/receive_buffer.ts";
import { readUint32BE } from "../core/bytes.ts";

/** The default largest message received: 4 MiB, as etcd's and grpc-go's clients. */
export const DEFAULT_MAX_RECEIVE_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * Frames one message (uncompressed).
 *
 * @example
 * ```ts
 * import { encodeGrpcMessage } from "./framing.ts";
 * encodeGrpcMessage(new Uint8Array([8, 1])); // Uint8Array [0, 0, 0, 0, 2, 8, 1]
 * ```
 */
export function encodeGrpcMessage(message: Uint8Array): Uint8Array {
  if (message.length > 0xffffffff) throw new RangeError("gRPC message is larger than 4 GiB");
  const out = new Uint8Array(5 + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

/**
 * Splits received DATA into messages. A declared length over the limit is refused before
 * anything is buffered; a set compressed flag is refused (we never offer an encoding).
 *
 * @example
 * ```ts
 * import { GrpcMessageReader } from "./framing.ts";
 * const r = new GrpcMessageReader(1024);
 * r.push(new Uint8Array([0, 0, 0, 0, 1, 42, 0, 0]));
 * r.next(); // Uint8Array [42]
 * r.next(); // undefined (need more bytes)
 * ```
 */
export class GrpcMessageReader {
  readonly #buf = new ReceiveBuffer();
  readonly #max: number;

  /** Creates a reader refusing messages larger than `maxMessageBytes`. */
  constructor(maxMessageBytes: number = DEFAULT_MAX_RECEIVE_MESSAGE_BYTES) {
    this.#max = maxMessageBytes;
  }

  /** Bytes buffered and not yet returned as a message. */
  get buffered(): number {
    return this.#buf.length;
  }

  /** Adds DATA bytes. */
  push(bytes: Uint8Array): void {
    this.#buf.push(bytes);
  }

  /** The next complete message, or undefined; throws `RemoteProtocolError` on bad framing. */
  next(): Uint8Array | undefined {
    if (this.#buf.length < 5) return undefined;
    const head = this.#buf.view(5);
    if (head[0] !== 0) {
      throw new RemoteProtocolError(
        head[0] === 1
          ? "gRPC message is compressed although no encoding was offered"
          : `gRPC message has an invalid flags byte ${head[0]}`,
      );
    }
    const length = readUint32BE(head, 1);
    if (length > this.#max) {
      throw new RemoteProtocolError(
        `gRPC message of ${length} bytes exceeds the limit of ${this.#max} bytes`,
      );
    }
    if (this.#buf.length < 5 + length) return undefined;
    this.#buf.skip(5);
    return this.#buf.take(length).slice();
  }
}

/**
 * The `grpc-timeout` value for a timeout in milliseconds: at most 8 digits and a unit
 * (rounded up, so the server's deadline is never earlier than ours).
 *
 * @example
 * ```ts
 * import { grpcTimeout } from "./framing.ts";
 * grpcTimeout(1500); // "1500m"
 * grpcTimeout(0.25); // "250u"
 * ```
 */
export function grpcTimeout(ms: number): string {
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`Invalid timeout ${ms} ms`);
  if (ms < 1) return `${Math.ceil(ms * 1000)}u`;
  for (const [unit, size] of [["m", 1], ["S", 1e3], ["M", 6e4], ["H", 3.6e6]] as const) {
    const value = Math.ceil(ms / size);
    if (value <= 99_999_999) return `${value}${unit}`;
  }
  return "99999999H";
}

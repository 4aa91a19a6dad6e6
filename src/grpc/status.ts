// gRPC status codes and the error a non-OK status becomes (grpc/doc/statuscodes.md), the
// `grpc-message` percent-decoding and the HTTP-to-gRPC mapping of doc/http-grpc-status-mapping.md.

import { utf8Decode } from "../core/bytes.ts";
import { ServerError } from "../core/errors.ts";

/** gRPC status codes by name. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** One of the names of {@link GrpcStatus}. */
export type GrpcStatusName = keyof typeof GrpcStatus;

const NAMES = Object.keys(GrpcStatus) as GrpcStatusName[];

/**
 * The name of a status code; codes outside 0..16 count as UNKNOWN.
 *
 * @example
 * ```ts
 * import { grpcStatusName } from "./status.ts";
 * grpcStatusName(11); // "OUT_OF_RANGE"
 * ```
 */
export function grpcStatusName(code: number): GrpcStatusName {
  return NAMES[code] ?? "UNKNOWN";
}

/** Statuses after which the call may have run on the server (its outcome is unknown). */
const OUTCOME_UNKNOWN: ReadonlySet<GrpcStatusName> = new Set([
  "CANCELLED",
  "UNKNOWN",
  "DEADLINE_EXCEEDED",
  "INTERNAL",
  "DATA_LOSS",
]);

/**
 * A call ended with a non-OK gRPC status. `status` is the code's name (also `serverCode`),
 * `code` stays kvwire's `"SERVER"`. `sent` is true for the statuses after which the call may
 * have run (CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, INTERNAL, DATA_LOSS), false for the ones
 * that say it was refused; `retryable` is true for UNAVAILABLE (no leader, shutting down:
 * another endpoint may answer).
 *
 * @example
 * ```ts
 * import { GrpcError } from "./status.ts";
 * const err = new GrpcError(11, "etcdserver: mvcc: required revision has been compacted");
 * console.log(err.status, err.grpcCode, err.sent); // "OUT_OF_RANGE" 11 false
 * ```
 */
export class GrpcError extends ServerError {
  /** The numeric status code. */
  readonly grpcCode: number;
  /** The status code's name, such as `"UNAVAILABLE"`. */
  readonly status: GrpcStatusName;
  /** The server's `grpc-message`, percent-decoded. */
  readonly grpcMessage: string;
  /** True when another endpoint (or a later attempt) may succeed: UNAVAILABLE. */
  readonly retryable: boolean;

  /** Creates the error from a status code and the decoded message. */
  constructor(grpcCode: number, grpcMessage: string, options?: { cause?: unknown }) {
    const status = grpcStatusName(grpcCode);
    super(
      grpcMessage ? `gRPC ${status}: ${grpcMessage}` : `gRPC ${status}`,
      status,
      { ...options, sent: OUTCOME_UNKNOWN.has(status) },
    );
    this.grpcCode = grpcCode;
    this.status = status;
    this.grpcMessage = grpcMessage;
    this.retryable = status === "UNAVAILABLE";
  }
}

/**
 * Decodes a `grpc-message` value: `%XX` escapes are UTF-8 bytes; malformed escapes stay as
 * they are (the gRPC spec asks receivers not to fail on them).
 *
 * @example
 * ```ts
 * import { percentDecode } from "./status.ts";
 * percentDecode("caf%C3%A9 %25"); // "café %"
 * ```
 */
export function percentDecode(text: string): string {
  if (!text.includes("%")) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return utf8Decode(new Uint8Array(bytes));
}

/**
 * The gRPC status a non-200 HTTP answer stands for (gRPC's HTTP-to-status mapping).
 *
 * @example
 * ```ts
 * import { statusFromHttp } from "./status.ts";
 * statusFromHttp(503); // 14 (UNAVAILABLE)
 * ```
 */
export function statusFromHttp(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

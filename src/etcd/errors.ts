// etcd's error answers as ServerError values: v3 gateway errors (gRPC status code and message,
// https://etcd.io/docs/v3.4/dev-guide/api_grpc_gateway/) and v2 keys API errors (errorCode).

import { KvError, type KvErrorOptions, ServerError } from "../core/errors.ts";

/** gRPC status code names, as the gateway reports them in `code`. */
export const GrpcCode = {
  0: "OK",
  1: "CANCELLED",
  2: "UNKNOWN",
  3: "INVALID_ARGUMENT",
  4: "DEADLINE_EXCEEDED",
  5: "NOT_FOUND",
  6: "ALREADY_EXISTS",
  7: "PERMISSION_DENIED",
  8: "RESOURCE_EXHAUSTED",
  9: "FAILED_PRECONDITION",
  10: "ABORTED",
  11: "OUT_OF_RANGE",
  12: "UNIMPLEMENTED",
  13: "INTERNAL",
  14: "UNAVAILABLE",
  15: "DATA_LOSS",
  16: "UNAUTHENTICATED",
} as const;

/**
 * An error answer of the v3 API. `serverCode` is the gRPC code name (`"NOT_FOUND"`),
 * `grpcCode` its number. `sent` (as on every `KvError`) is true when the request may have
 * been applied (the leader changed, or it timed out, during a write): kvwire never repeats
 * such a write itself.
 *
 * @example
 * ```ts
 * import { EtcdError } from "@kvwire/kvwire/etcd";
 * const err = new EtcdError("etcdserver: requested lease not found", 5);
 * err.serverCode; // "NOT_FOUND"
 * ```
 */
export class EtcdError extends ServerError {
  /** The gRPC status code. */
  readonly grpcCode: number;
  /** The HTTP status of the answer, when it came as one. */
  readonly httpStatus: number | undefined;

  /** Creates the error from the server's message and gRPC code. */
  constructor(
    message: string,
    grpcCode: number,
    options?: KvErrorOptions & { httpStatus?: number },
  ) {
    super(message, GrpcCode[grpcCode as keyof typeof GrpcCode] ?? String(grpcCode), options);
    this.grpcCode = grpcCode;
    this.httpStatus = options?.httpStatus;
  }
}

/**
 * The error a watch ends with when the server cancels it: `EtcdCompactedError` when it reports
 * a compact revision, else an `EtcdError` with the server's reason (code 16 when the reason
 * says the caller is unauthenticated, else 1).
 *
 * @example
 * ```ts
 * import { watchCancelError } from "./errors.ts";
 * watchCancelError(0n, "etcdserver: permission denied").message; // "etcdserver: permission denied"
 * ```
 */
export function watchCancelError(compactRevision: bigint, reason: string | undefined): EtcdError {
  if (compactRevision > 0n) return new EtcdCompactedError(compactRevision);
  const text = reason || "the server cancelled the watch";
  return new EtcdError(text, /code = Unauthenticated/.test(text) ? 16 : 1);
}

/**
 * A watch asked for a revision that was compacted away. Start again at `compactRevision`
 * (or later) after reading the current state.
 *
 * @example
 * ```ts
 * import { EtcdCompactedError } from "@kvwire/kvwire/etcd";
 * const err = new EtcdCompactedError(42n);
 * err.compactRevision; // 42n
 * ```
 */
export class EtcdCompactedError extends EtcdError {
  /** The oldest revision still available. */
  readonly compactRevision: bigint;

  /** Creates the error. */
  constructor(compactRevision: bigint) {
    super(
      `etcdserver: mvcc: required revision has been compacted (compact revision ${compactRevision})`,
      11,
    );
    this.compactRevision = compactRevision;
  }
}

/**
 * A lease could not be kept alive: it expired on the server or its TTL ran out while the
 * cluster could not be reached.
 *
 * @example
 * ```ts
 * import { EtcdLeaseLostError } from "@kvwire/kvwire/etcd";
 * const err = new EtcdLeaseLostError(7n, "it expired on the server");
 * err.leaseId; // 7n
 * ```
 */
export class EtcdLeaseLostError extends KvError {
  /** The lease's id. */
  readonly leaseId: bigint;

  /** Creates the error; `why` completes "Lease N was lost: ...". */
  constructor(leaseId: bigint, why: string, options?: { cause?: unknown }) {
    super("SERVER", `Lease ${leaseId} was lost: ${why}`, options);
    this.leaseId = leaseId;
  }
}

/** Server messages saying a request may or may not have been applied. */
const OUTCOME_UNKNOWN = /etcdserver: (leader changed|request timed out|server stopped)/;

/** Parses the gateway's error body (`{"error","message","code"}` or a stream's `{"error":{}}`). */
export function etcdErrorFromJson(json: unknown, httpStatus?: number): EtcdError {
  const obj = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
  const inner = typeof obj.error === "object" && obj.error !== null
    ? obj.error as Record<string, unknown>
    : obj;
  const message = String(inner.message ?? inner.error ?? `HTTP ${httpStatus}`);
  const parsed = Number(inner.code ?? inner.grpc_code ?? 2);
  const code = Number.isInteger(parsed) ? parsed : 2;
  return new EtcdError(message, code, { httpStatus, sent: OUTCOME_UNKNOWN.test(message) });
}

/** v2 keys API error codes (https://etcd.io/docs/v2.3/errorcode/). */
export const V2ErrorCode = {
  KeyNotFound: 100,
  TestFailed: 101,
  NotFile: 102,
  NotDir: 104,
  NodeExist: 105,
  RootReadOnly: 107,
  DirNotEmpty: 108,
  PrevValueRequired: 201,
  TtlNaN: 202,
  IndexNaN: 203,
  InvalidField: 209,
  InvalidForm: 210,
  RaftInternal: 300,
  LeaderElect: 301,
  WatcherCleared: 400,
  EventIndexCleared: 401,
} as const;

/**
 * An error answer of the v2 keys API. `errorCode` is etcd's number (see {@link V2ErrorCode}),
 * `index` the etcd index at the time, `key` the `cause` field (usually the key). `sent` is
 * true when the write may have been applied (a Raft internal error saying the request timed
 * out or the leader changed).
 *
 * @example
 * ```ts
 * import { EtcdV2Error } from "@kvwire/kvwire/etcd";
 * const err = EtcdV2Error.from({ errorCode: 100, message: "Key not found", cause: "/a", index: 9 });
 * err instanceof EtcdV2Error; // true
 * err.errorCode; // 100
 * ```
 */
export class EtcdV2Error extends ServerError {
  /** etcd's v2 error code. */
  readonly errorCode: number;
  /** The `cause` field: the key or value concerned. */
  readonly key: string;
  /** The etcd index when the error happened. */
  readonly index: number;

  /** Creates the error. */
  constructor(message: string, errorCode: number, key = "", index = 0, options?: KvErrorOptions) {
    super(key ? `${message} (${key})` : message, String(errorCode), options);
    this.errorCode = errorCode;
    this.key = key;
    this.index = index;
  }

  /** Builds the most specific error class for a v2 error body. */
  static from(
    body: { errorCode?: number; message?: string; cause?: string; index?: number },
  ): EtcdV2Error {
    const code = Number(body.errorCode ?? 0);
    const message = String(body.message ?? "etcd error");
    const cause = String(body.cause ?? "");
    const index = Number(body.index ?? 0);
    const sent = OUTCOME_UNKNOWN.test(`${message} ${cause}`);
    const args = [message, code, cause, index, { sent }] as const;
    switch (code) {
      case V2ErrorCode.KeyNotFound:
        return new EtcdKeyNotFoundError(...args);
      case V2ErrorCode.TestFailed:
        return new EtcdCompareFailedError(...args);
      case V2ErrorCode.NodeExist:
        return new EtcdAlreadyExistError(...args);
      case V2ErrorCode.NotFile:
      case V2ErrorCode.NotDir:
      case V2ErrorCode.DirNotEmpty:
        return new EtcdNotFileOrDirError(...args);
      case V2ErrorCode.WatcherCleared:
      case V2ErrorCode.EventIndexCleared:
        return new EtcdEventIndexClearedError(...args);
      default:
        return new EtcdV2Error(...args);
    }
  }
}

/**
 * v2: the key does not exist (code 100).
 *
 * @example
 * ```ts
 * import { EtcdKeyNotFoundError } from "@kvwire/kvwire/etcd";
 * new EtcdKeyNotFoundError("Key not found", 100, "/a").errorCode; // 100
 * ```
 */
export class EtcdKeyNotFoundError extends EtcdV2Error {}

/**
 * v2: a compare-and-swap condition (prevValue, prevIndex) did not hold (code 101).
 *
 * @example
 * ```ts
 * import { EtcdCompareFailedError } from "@kvwire/kvwire/etcd";
 * new EtcdCompareFailedError("Compare failed", 101, "[1 != 2]").errorCode; // 101
 * ```
 */
export class EtcdCompareFailedError extends EtcdV2Error {}

/**
 * v2: the key exists though `prevExist=false` was asked (code 105).
 *
 * @example
 * ```ts
 * import { EtcdAlreadyExistError } from "@kvwire/kvwire/etcd";
 * new EtcdAlreadyExistError("Key already exists", 105, "/a").errorCode; // 105
 * ```
 */
export class EtcdAlreadyExistError extends EtcdV2Error {}

/**
 * v2: a file was treated as a directory or the reverse, or a directory is not empty.
 *
 * @example
 * ```ts
 * import { EtcdNotFileOrDirError } from "@kvwire/kvwire/etcd";
 * new EtcdNotFileOrDirError("Not a file", 102, "/d").errorCode; // 102
 * ```
 */
export class EtcdNotFileOrDirError extends EtcdV2Error {}

/**
 * v2: the watch's `waitIndex` is older than the event history kept (codes 400, 401).
 *
 * @example
 * ```ts
 * import { EtcdEventIndexClearedError } from "@kvwire/kvwire/etcd";
 * new EtcdEventIndexClearedError("The event in requested index is outdated", 401).errorCode;
 * ```
 */
export class EtcdEventIndexClearedError extends EtcdV2Error {}

/**
 * v2: the server does not serve the v2 API (off by default since etcd 3.4, gone in 3.6): it
 * answered HTTP 404 without a v2 error body. Start etcd with `--enable-v2=true` or use the v3
 * `EtcdClient`.
 *
 * @example
 * ```ts
 * import { EtcdV2DisabledError } from "@kvwire/kvwire/etcd";
 * new EtcdV2DisabledError("GET /v2/keys/a").errorCode; // 404
 * ```
 */
export class EtcdV2DisabledError extends EtcdV2Error {
  /** `request`: what was asked (`GET /v2/keys/a`), quoted in the message. */
  constructor(request: string) {
    super(
      `etcd's v2 API is not enabled on this server (${request} answered HTTP 404): start ` +
        "etcd with --enable-v2=true (off by default since 3.4, removed in 3.6) or use the v3 " +
        "EtcdClient",
      404,
    );
  }
}

/**
 * v2: the server answered with a redirect (HTTP 301, 302, 307 or 308) that was not followed:
 * the client was made with `allowRedirect: false`, the `Location` is missing or leads outside
 * the cluster, or the redirect limit was reached. `errorCode` is the HTTP status, `location`
 * the `Location` header (`""` when absent). The request was not carried out (`sent: false`).
 *
 * @example
 * ```ts
 * import { EtcdV2RedirectError } from "@kvwire/kvwire/etcd";
 * const err = new EtcdV2RedirectError("PUT /v2/keys/a was redirected", 307, "http://m2:2379/v2/keys/a");
 * err.location; // "http://m2:2379/v2/keys/a"
 * ```
 */
export class EtcdV2RedirectError extends EtcdV2Error {
  /** The `Location` header of the answer. */
  readonly location: string;

  /** Creates the error. */
  constructor(message: string, status: number, location: string, options?: KvErrorOptions) {
    super(message, status, "", 0, options);
    this.location = location;
  }
}

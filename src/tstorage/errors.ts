// TStorage failures as kvwire errors, each with the reference client's ResponseStatus value
// (shared/protocols/tstorage.md §1.11, §3), and the partial data a failed GET keeps.

import {
  AbortedError,
  ConnectError,
  ConnectionClosedError,
  ErrorCode,
  KvError,
  RemoteProtocolError,
  ServerError,
  TimeoutError,
  TlsError,
} from "../core/errors.ts";
import type { TStorageRecord } from "./record.ts";
import { partials } from "./partial.ts";

/**
 * The reference client's status codes (`tstorage_client.response.ResponseStatus`).
 *
 * @example
 * ```ts
 * import { ResponseStatus } from "@kvwire/kvwire/tstorage";
 * ResponseStatus.NO_MEMORY; // 131
 * ```
 */
export const ResponseStatus = {
  OK: 0,
  ERROR: -1,
  DISCONNECTED: 128,
  BAD_REQUEST: 129,
  UNPARSEABLE_ENTITY: 130,
  NO_MEMORY: 131,
} as const;

/** One of the values of {@link ResponseStatus}. */
export type ResponseStatus = typeof ResponseStatus[keyof typeof ResponseStatus];

/**
 * The server refused a request: a non-zero status header. `status` is `ERROR` (a refused PUT,
 * PUTA or GET_ACQ, or a GET whose final header failed) or `BAD_REQUEST` (a GET refused in its
 * first header); `wireStatus` is the int32 the server sent (usually −1).
 *
 * @example
 * ```ts
 * import { ResponseStatus, TStorageError } from "@kvwire/kvwire/tstorage";
 * const err = new TStorageError("GET was refused", ResponseStatus.BAD_REQUEST, -1);
 * err.serverCode; // "BAD_REQUEST"
 * ```
 */
export class TStorageError extends ServerError {
  /** `ResponseStatus.ERROR` or `ResponseStatus.BAD_REQUEST`. */
  readonly status: typeof ResponseStatus.ERROR | typeof ResponseStatus.BAD_REQUEST;
  /** The status int32 the server sent. */
  readonly wireStatus: number;

  /** Creates the error. */
  constructor(
    message: string,
    status: typeof ResponseStatus.ERROR | typeof ResponseStatus.BAD_REQUEST,
    wireStatus: number,
    options?: { cause?: unknown },
  ) {
    super(message, status === ResponseStatus.ERROR ? "ERROR" : "BAD_REQUEST", options);
    this.status = status;
    this.wireStatus = wireStatus;
  }
}

/**
 * A GET response record could not be parsed: a bad record length, a negative cid, or a payload
 * the payload type refused (`UNPARSEABLE_ENTITY`). The connection is closed.
 *
 * @example
 * ```ts
 * import { UnparseableEntityError } from "@kvwire/kvwire/tstorage";
 * new UnparseableEntityError("Record length 7 is shorter than a key").status; // 130
 * ```
 */
export class UnparseableEntityError extends RemoteProtocolError {
  /** Always `ResponseStatus.UNPARSEABLE_ENTITY`. */
  readonly status: typeof ResponseStatus.UNPARSEABLE_ENTITY = ResponseStatus.UNPARSEABLE_ENTITY;
}

/**
 * A GET response went over `memoryLimit` (`NO_MEMORY`). The records received within the limit
 * are kept (see {@link partialData}); the connection is closed, as the reference client does.
 * Its `code` is `MEMORY_LIMIT`.
 *
 * @example
 * ```ts
 * import { MemoryLimitError } from "@kvwire/kvwire/tstorage";
 * const err = new MemoryLimitError("GET response is over the memory limit of 75 bytes", 75);
 * err.status; // 131
 * ```
 */
export class MemoryLimitError extends KvError {
  /** Always `ResponseStatus.NO_MEMORY`. */
  readonly status: typeof ResponseStatus.NO_MEMORY = ResponseStatus.NO_MEMORY;
  /** The limit in bytes that was exceeded. */
  readonly limit: number;

  /** Creates the error. */
  constructor(message: string, limit: number, options?: { cause?: unknown }) {
    super(ErrorCode.MemoryLimit, message, options);
    this.limit = limit;
  }
}

/**
 * The reference client's status for any error a TStorage call rejects with: its own status for
 * the TStorage errors, `DISCONNECTED` for a lost, timed-out, aborted or failed connection,
 * `ERROR` for anything else (such as a malformed response header).
 *
 * @example
 * ```ts
 * import { ConnectionClosedError } from "@kvwire/kvwire";
 * import { responseStatusOf } from "@kvwire/kvwire/tstorage";
 * responseStatusOf(new ConnectionClosedError("gone")); // 128 (DISCONNECTED)
 * responseStatusOf(undefined); // 0 (OK)
 * ```
 */
export function responseStatusOf(error: unknown): ResponseStatus {
  if (error === undefined || error === null) return ResponseStatus.OK;
  if (
    error instanceof TStorageError || error instanceof UnparseableEntityError ||
    error instanceof MemoryLimitError
  ) {
    return error.status;
  }
  if (
    error instanceof ConnectionClosedError || error instanceof TimeoutError ||
    error instanceof AbortedError || error instanceof ConnectError || error instanceof TlsError
  ) {
    return ResponseStatus.DISCONNECTED;
  }
  return ResponseStatus.ERROR;
}

/**
 * The records a failed `get` received before it failed, as the reference client returns them
 * in `ResponseGet.data`; empty for other errors.
 *
 * @example
 * ```ts
 * import { Key, MemoryLimitError, partialData, TStorageClient } from "@kvwire/kvwire/tstorage";
 * await using client = await TStorageClient.connect({ port: 62025, memoryLimit: 1024 });
 * try {
 *   await client.get(Key.min(), Key.max());
 * } catch (err) {
 *   if (err instanceof MemoryLimitError) console.log(partialData(err).length, "records kept");
 * }
 * ```
 */
export function partialData<T = unknown>(error: unknown): readonly TStorageRecord<T>[] {
  if (typeof error !== "object" || error === null) return [];
  return (partials.get(error) ?? []) as readonly TStorageRecord<T>[];
}

// Pegasus server errors (pegasus.md §3.1, §3.2): rDSN error names from the frame or the meta
// response, and RocksDB status codes from rrdb responses.

import { ServerError } from "../core/errors.ts";

/** RocksDB status codes carried in the `error` field of rrdb responses. */
export const RocksStatus = {
  Ok: 0,
  NotFound: 1,
  Corruption: 2,
  NotSupported: 3,
  InvalidArgument: 4,
  IOError: 5,
  MergeInProgress: 6,
  Incomplete: 7,
  ShutdownInProgress: 8,
  TimedOut: 9,
  Aborted: 10,
  Busy: 11,
  Expired: 12,
  TryAgain: 13,
} as const;

const STATUS_NAMES = Object.fromEntries(Object.entries(RocksStatus).map(([k, v]) => [v, k]));

/**
 * An error reported by a Pegasus server: `serverCode` is the rDSN error name (such as
 * `ERR_INVALID_STATE`, or `ERR_OK` when the operation itself failed) and `status` the
 * RocksDB status of an rrdb response, when there was one.
 *
 * @example
 * ```ts
 * import { PegasusError } from "@kvwire/kvwire/pegasus";
 * const err = new PegasusError("ERR_OK", "incr failed", 4);
 * console.log(err.serverCode, err.status); // "ERR_OK" 4
 * ```
 */
export class PegasusError extends ServerError {
  /** The RocksDB status (§3.2) when the server ran the operation; undefined otherwise. */
  readonly status: number | undefined;

  /** Creates the error from an rDSN error name, a description and an optional status. */
  constructor(errorName: string, what: string, status?: number, options?: { cause?: unknown }) {
    const detail = status === undefined
      ? errorName
      : `status ${status} (${STATUS_NAMES[status] ?? "unknown"})`;
    super(`${what}: ${detail}`, errorName, options);
    this.status = status;
  }
}

// The checks every connector makes before it opens anything: a valid high-water mark and
// timeout, an abort signal not yet fired. A private helper, not a package entry point.

import { AbortedError } from "../src/core/errors.ts";
import {
  type Address,
  type ConnectOptions,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_KEEPALIVE_DELAY,
  formatAddress,
  type TlsOptions,
} from "./types.ts";

/** What the checks give back: the address for messages, the high-water mark, keepalive. */
export interface CheckedConnect {
  /** The address as messages name it. */
  where: string;
  /** The write high-water mark in bytes. */
  hwm: number;
  /** Idle ms before TCP keepalive probes, or undefined for no keepalive. */
  keepAliveDelay: number | undefined;
  /** Largest chunk a read hands over, or undefined for the runtime's read size. */
  readSize: number | undefined;
}

/**
 * Validates the options shared by all connectors; throws `RangeError` on a bad high-water
 * mark, timeout, keepalive delay or read size and `AbortedError` when the signal already fired.
 *
 * @example
 * ```ts
 * const { where, hwm } = checkConnectOptions({ host: "127.0.0.1", port: 6379 }, {});
 * // where === "127.0.0.1:6379", hwm === 65536, keepAliveDelay === 30000, readSize undefined
 * ```
 */
export function checkConnectOptions(address: Address, options: ConnectOptions): CheckedConnect {
  const where = formatAddress(address);
  const hwm = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  if (!(hwm > 0)) throw new RangeError(`highWaterMark must be positive, got ${hwm}`);
  const timeout = options.timeout;
  if (timeout !== undefined && !(timeout >= 0)) {
    throw new RangeError(`timeout must be a non-negative number of ms, got ${timeout}`);
  }
  const keepAlive = options.keepAlive ?? true;
  if (typeof keepAlive === "number" && !(keepAlive >= 0 && keepAlive < 2 ** 31)) {
    throw new RangeError(`keepAlive must be true, false or a delay in ms, got ${keepAlive}`);
  }
  const keepAliveDelay = keepAlive === true
    ? DEFAULT_KEEPALIVE_DELAY
    : keepAlive === false
    ? undefined
    : keepAlive;
  const readSize = options.readSize;
  if (readSize !== undefined && !(Number.isSafeInteger(readSize) && readSize > 0)) {
    throw new RangeError(`readSize must be a positive integer number of bytes, got ${readSize}`);
  }
  const signal = options.signal;
  if (signal?.aborted) {
    throw new AbortedError(`Connecting to ${where} was aborted`, { cause: signal.reason });
  }
  return { where, hwm, keepAliveDelay, readSize };
}

/**
 * The TLS settings of a connect call: `undefined` for plain TCP, `{}` for `tls: true`. Throws
 * `TypeError` for a client certificate without its key or a key without its certificate
 * (a runtime would otherwise connect without either).
 *
 * @example
 * ```ts
 * tlsSettings({ tls: true }); // {}
 * ```
 */
export function tlsSettings(options: ConnectOptions): TlsOptions | undefined {
  const tls = options.tls === true ? {} : options.tls || undefined;
  if (tls && (tls.cert === undefined) !== (tls.key === undefined)) {
    throw new TypeError(
      `tls.${tls.cert === undefined ? "key" : "cert"} was given without tls.${
        tls.cert === undefined ? "cert" : "key"
      }: a client certificate needs both`,
    );
  }
  return tls;
}

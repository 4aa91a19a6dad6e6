// TStorage timestamps (shared/protocols/tstorage.md §2; tstorage_client.timestamp): the epoch
// is 2001-01-01T00:00:00Z; conversions in seconds and bigint nanoseconds, correct before 1970.

/** The TStorage epoch (2001-01-01T00:00:00Z) in Unix seconds. */
export const TSTORAGE_EPOCH_UNIX_SECONDS = 978_307_200;

/** The TStorage epoch in Unix nanoseconds. */
export const TSTORAGE_EPOCH_UNIX_NS = 978_307_200_000_000_000n;

const NS_PER_S = 1_000_000_000n;
const NS_PER_MS = 1_000_000n;

/** Floor division and its non-negative remainder, for bigint. */
function floorDivMod(a: bigint, b: bigint): [bigint, bigint] {
  const q = a / b;
  const r = a % b;
  return r < 0n ? [q - 1n, r + b] : [q, r];
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Nanoseconds as seconds: one division while exact, else whole seconds plus the fraction. */
function nsToSeconds(ns: bigint): number {
  if (ns >= -SAFE && ns <= SAFE) return Number(ns) / 1e9;
  const [s, r] = floorDivMod(ns, NS_PER_S);
  return Number(s) + Number(r) / 1e9;
}

/**
 * TStorage seconds to Unix seconds (a number stays a number, a bigint stays a bigint).
 *
 * @example
 * ```ts
 * import { toUnix } from "@kvwire/kvwire/tstorage";
 * toUnix(0); // 978307200
 * ```
 */
export function toUnix(timestamp: number): number;
/** TStorage seconds to Unix seconds, as a bigint. */
export function toUnix(timestamp: bigint): bigint;
export function toUnix(timestamp: number | bigint): number | bigint {
  return typeof timestamp === "bigint"
    ? timestamp + BigInt(TSTORAGE_EPOCH_UNIX_SECONDS)
    : timestamp + TSTORAGE_EPOCH_UNIX_SECONDS;
}

/**
 * Unix seconds to TStorage seconds.
 *
 * @example
 * ```ts
 * import { fromUnix } from "@kvwire/kvwire/tstorage";
 * fromUnix(978307200.5); // 0.5
 * ```
 */
export function fromUnix(timestamp: number): number;
/** Unix seconds to TStorage seconds, as a bigint. */
export function fromUnix(timestamp: bigint): bigint;
export function fromUnix(timestamp: number | bigint): number | bigint {
  return typeof timestamp === "bigint"
    ? timestamp - BigInt(TSTORAGE_EPOCH_UNIX_SECONDS)
    : timestamp - TSTORAGE_EPOCH_UNIX_SECONDS;
}

/**
 * TStorage nanoseconds to Unix nanoseconds.
 *
 * @example
 * ```ts
 * import { toUnixNs } from "@kvwire/kvwire/tstorage";
 * toUnixNs(521_692_800_123_456_789n); // 1_500_000_000_123_456_789n
 * ```
 */
export function toUnixNs(timestamp: bigint): bigint {
  return timestamp + TSTORAGE_EPOCH_UNIX_NS;
}

/**
 * Unix nanoseconds to TStorage nanoseconds.
 *
 * @example
 * ```ts
 * import { fromUnixNs } from "@kvwire/kvwire/tstorage";
 * fromUnixNs(1_500_000_000_123_456_789n); // 521_692_800_123_456_789n
 * ```
 */
export function fromUnixNs(timestamp: bigint): bigint {
  return timestamp - TSTORAGE_EPOCH_UNIX_NS;
}

/**
 * The current time in TStorage seconds (wall clock, millisecond resolution).
 *
 * @example
 * ```ts
 * import { now } from "@kvwire/kvwire/tstorage";
 * now() > 7e8; // true (after 2023)
 * ```
 */
export function now(): number {
  return fromUnix(Date.now() / 1000);
}

/**
 * The current time in TStorage nanoseconds, for `cap` and `acq`. JavaScript's wall clock has
 * millisecond resolution, so the last six digits are zero.
 *
 * @example
 * ```ts
 * import { nowNs } from "@kvwire/kvwire/tstorage";
 * typeof nowNs(); // "bigint"
 * ```
 */
export function nowNs(): bigint {
  return fromUnixNs(BigInt(Date.now()) * NS_PER_MS);
}

/**
 * A nanosecond-precise instant: a `Date` (milliseconds) plus the 0–999,999 nanoseconds below
 * its millisecond, like the reference client's Tstoragedatetime (which splits at the
 * microsecond). Held as Unix nanoseconds with floor division, so instants before 1970
 * round-trip exactly (the reference client's `from_unix_ns(-1).to_unix_ns()` gives 999999999).
 *
 * @example
 * ```ts
 * import { TStorageDateTime } from "@kvwire/kvwire/tstorage";
 * const t = TStorageDateTime.fromTStorageNs(521_692_800_123_456_789n);
 * t.toISOString(); // "2017-07-14T02:40:00.123456789Z"
 * t.date.getTime(); // 1500000000123
 * t.nanoseconds; // 456789
 * TStorageDateTime.fromUnixNs(-1n).toUnixNs(); // -1n
 * ```
 */
export class TStorageDateTime {
  readonly #unixNs: bigint;

  /** Creates the instant from Unix nanoseconds. */
  constructor(unixNs: bigint) {
    if (typeof unixNs !== "bigint") {
      throw new TypeError("TStorageDateTime takes bigint nanoseconds");
    }
    this.#unixNs = unixNs;
  }

  /** From Unix nanoseconds. */
  static fromUnixNs(timestamp: bigint): TStorageDateTime {
    return new TStorageDateTime(timestamp);
  }

  /** From TStorage nanoseconds (a `cap` or `acq`). */
  static fromTStorageNs(timestamp: bigint): TStorageDateTime {
    return new TStorageDateTime(toUnixNs(timestamp));
  }

  /** From Unix seconds; the fraction is rounded to the nearest nanosecond. */
  static fromUnix(seconds: number): TStorageDateTime {
    if (!Number.isFinite(seconds)) throw new RangeError(`Invalid timestamp ${seconds}`);
    const whole = Math.floor(seconds);
    const fraction = BigInt(Math.round((seconds - whole) * 1e9));
    return new TStorageDateTime(BigInt(whole) * NS_PER_S + fraction);
  }

  /** From TStorage seconds. */
  static fromTStorage(seconds: number): TStorageDateTime {
    const shifted = TStorageDateTime.fromUnix(seconds);
    return new TStorageDateTime(shifted.#unixNs + TSTORAGE_EPOCH_UNIX_NS);
  }

  /** From a Date plus nanoseconds below its millisecond (0–999,999). */
  static fromDate(date: Date, nanoseconds = 0): TStorageDateTime {
    const ms = date.getTime();
    if (!Number.isFinite(ms)) throw new RangeError("Invalid Date");
    if (!Number.isInteger(nanoseconds) || nanoseconds < 0 || nanoseconds > 999_999) {
      throw new RangeError(`nanoseconds must be an integer in 0…999999, got ${nanoseconds}`);
    }
    return new TStorageDateTime(BigInt(ms) * NS_PER_MS + BigInt(nanoseconds));
  }

  /** The current instant (millisecond resolution). */
  static now(): TStorageDateTime {
    return new TStorageDateTime(BigInt(Date.now()) * NS_PER_MS);
  }

  /** The instant as a Date, floored to the millisecond. */
  get date(): Date {
    return new Date(Number(floorDivMod(this.#unixNs, NS_PER_MS)[0]));
  }

  /** Nanoseconds below `date`'s millisecond: 0–999,999. */
  get nanoseconds(): number {
    return Number(floorDivMod(this.#unixNs, NS_PER_MS)[1]);
  }

  /** Unix nanoseconds. */
  toUnixNs(): bigint {
    return this.#unixNs;
  }

  /** TStorage nanoseconds. */
  toTStorageNs(): bigint {
    return fromUnixNs(this.#unixNs);
  }

  /** Unix seconds with the fraction (a number: sub-microsecond digits may round). */
  toUnix(): number {
    return nsToSeconds(this.#unixNs);
  }

  /** TStorage seconds with the fraction. */
  toTStorage(): number {
    return nsToSeconds(this.toTStorageNs());
  }

  /** ISO 8601 in UTC with nine fraction digits. */
  toISOString(): string {
    const iso = this.date.toISOString(); // ...ss.mmmZ
    return `${iso.slice(0, -1)}${String(this.nanoseconds).padStart(6, "0")}Z`;
  }

  /** Order: −1, 0 or 1. */
  compare(other: TStorageDateTime): -1 | 0 | 1 {
    const a = this.#unixNs;
    const b = other.#unixNs;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  /** Same instant. */
  equals(other: TStorageDateTime): boolean {
    return this.#unixNs === other.#unixNs;
  }

  /** The ISO form. */
  toString(): string {
    return this.toISOString();
  }
}

// Argument checks shared by the memcache encoders: TTLs, client flags, 64-bit counters and CAS
// tokens, stats groups. Each throws TypeError or RangeError before anything is queued.

const U64_MAX = (1n << 64n) - 1n;

/**
 * Longest relative TTL: memcached reads a larger one as a Unix time (30 days, in seconds).
 *
 * @example
 * ```ts
 * import { MAX_RELATIVE_TTL } from "@kvwire/kvwire/memcache";
 * const ttl = 90 * 86400 > MAX_RELATIVE_TTL ? Math.floor(Date.now() / 1000) + 90 * 86400 : 90 * 86400;
 * ```
 */
export const MAX_RELATIVE_TTL = 60 * 60 * 24 * 30;

/**
 * Largest TTL memcached reads correctly: it parses TTLs as signed 32-bit integers.
 *
 * @example
 * ```ts
 * import { checkTtl, MAX_TTL } from "@kvwire/kvwire/memcache";
 * checkTtl(MAX_TTL); // 2147483647, a Unix time in 2038
 * ```
 */
export const MAX_TTL = 0x7fffffff;

/**
 * Checks a TTL as memcached reads it: 0 never expires, -1 expires at once, up to 30 days
 * (2,592,000) is seconds from now, above that a Unix time in seconds, at most 2^31-1. A TTL
 * the server would misread is a `RangeError` naming it: above 2^31-1 (memcached would store
 * it as already expired), or above 30 days yet in the past (a duration meant as relative,
 * which memcached would take for a Unix time long gone).
 *
 * @example
 * ```ts
 * import { checkTtl } from "@kvwire/kvwire/memcache";
 * checkTtl(60); // 60
 * checkTtl(Math.floor(Date.now() / 1000) + 90 * 86400); // 90 days from now, as a Unix time
 * ```
 */
export function checkTtl(ttl: number | undefined, what = "TTL"): number {
  if (ttl === undefined) return 0;
  if (!Number.isInteger(ttl) || ttl < -1) {
    throw new RangeError(`Invalid memcache ${what} ${ttl}: expected an integer of seconds`);
  }
  if (ttl > MAX_TTL) {
    throw new RangeError(
      `Invalid memcache ${what} ${ttl}: memcached reads it as a signed 32-bit number ` +
        `(at most ${MAX_TTL}) and the item would expire at once`,
    );
  }
  if (ttl > MAX_RELATIVE_TTL && ttl * 1000 <= Date.now()) {
    throw new RangeError(
      `Invalid memcache ${what} ${ttl}: over 30 days (${MAX_RELATIVE_TTL} s) memcached reads ` +
        "it as a Unix time, and that time is past; pass Math.floor(Date.now() / 1000) + seconds",
    );
  }
  return ttl;
}

/**
 * Checks client flags: an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import { checkFlags } from "@kvwire/kvwire/memcache";
 * checkFlags(5); // 5
 * ```
 */
export function checkFlags(flags: number | undefined): number {
  if (flags === undefined) return 0;
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) {
    throw new RangeError(`Invalid memcache client flags ${flags}: expected 0 to 2^32-1`);
  }
  return flags;
}

/**
 * Checks an unsigned 64-bit integer (a counter delta or value, a CAS token).
 *
 * @example
 * ```ts
 * import { checkU64 } from "@kvwire/kvwire/memcache";
 * checkU64(5n, "delta"); // 5n
 * ```
 */
export function checkU64(value: bigint, what: string): bigint {
  if (typeof value !== "bigint") {
    throw new TypeError(`The memcache ${what} must be a bigint, got ${typeof value}`);
  }
  if (value < 0n || value > U64_MAX) {
    throw new RangeError(`Invalid memcache ${what} ${value}: expected 0 to 2^64-1`);
  }
  return value;
}

/**
 * Checks a stats group (`"settings"`, `"items"`, `"slabs"`...): printable ASCII only.
 *
 * @example
 * ```ts
 * import { checkStatsGroup } from "@kvwire/kvwire/memcache";
 * checkStatsGroup("settings"); // "settings"
 * ```
 */
export function checkStatsGroup(group: string | undefined): string {
  if (group === undefined || group === "") return "";
  if (!/^[\x21-\x7e]+( [\x21-\x7e]+)*$/.test(group) || group.length > 200) {
    throw new TypeError(`Invalid memcache stats group ${JSON.stringify(group)}`);
  }
  return group;
}

/**
 * Checks the hold time of a delete (`delete <key> <time>`): 0 or absent everywhere, other
 * values only on the text protocol (memcached before 1.4 honoured it; 1.4 and later answer
 * `CLIENT_ERROR`). Returns the time, 0 when absent; `RangeError` naming `time` otherwise.
 *
 * @example
 * ```ts
 * import { checkDeleteTime } from "@kvwire/kvwire/memcache";
 * checkDeleteTime(10, "text"); // 10
 * checkDeleteTime(10, "meta"); // throws RangeError
 * ```
 */
export function checkDeleteTime(time: number | undefined, protocol: string): number {
  const seconds = checkTtl(time, "delete time");
  if (seconds !== 0 && protocol !== "text") {
    throw new RangeError(
      `A delete with a time (time: ${seconds}) needs the text protocol; the ${protocol} ` +
        "protocol has none (memcached 1.4 and later refuse it on text too)",
    );
  }
  return seconds;
}

/**
 * Reads an unsigned decimal 64-bit counter, or undefined.
 *
 * @example
 * ```ts
 * import { parseU64 } from "@kvwire/kvwire/memcache";
 * parseU64("18446744073709551615"); // 18446744073709551615n
 * ```
 */
export function parseU64(text: string): bigint | undefined {
  if (!/^\d{1,20}$/.test(text)) return undefined;
  const value = BigInt(text);
  return value <= U64_MAX ? value : undefined;
}

/**
 * Turns a counter argument into an unsigned bigint; `RangeError` for negatives and fractions.
 *
 * @example
 * ```ts
 * import { toU64 } from "@kvwire/kvwire/memcache";
 * toU64(5, "delta"); // 5n
 * ```
 */
export function toU64(value: number | bigint, what: string): bigint {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`The memcache ${what} must be a non-negative integer, got ${value}`);
    }
    return BigInt(value);
  }
  return checkU64(value, what);
}

// Argument checks shared by the memcache encoders: TTLs, client flags, 64-bit counters and CAS
// tokens, stats groups. Each throws TypeError or RangeError before anything is queued.

const U64_MAX = (1n << 64n) - 1n;

/**
 * Checks a TTL in seconds (or a Unix time over 30 days); negative expires at once.
 *
 * @example
 * ```ts
 * import { checkTtl } from "@kvwire/kvwire/memcache";
 * checkTtl(60); // 60
 * ```
 */
export function checkTtl(ttl: number | undefined, what = "TTL"): number {
  if (ttl === undefined) return 0;
  if (!Number.isInteger(ttl) || ttl < -1 || ttl > 0xffffffff) {
    throw new RangeError(`Invalid memcache ${what} ${ttl}: expected an integer of seconds`);
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

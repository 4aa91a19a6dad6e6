// CRC-64 as rDSN computes it (pegasus.md §4.2): reflected, polynomial 0x9A6C9329AC4BC9B5
// (Jones), init and xorout all ones. Pegasus routes every key by this hash.

const POLY_HI = 0x9a6c9329;
const POLY_LO = 0xac4bc9b5;

/** The 256-entry table split in high and low 32-bit halves (no bigint on the hot path). */
const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let hi = 0;
  let lo = i;
  for (let bit = 0; bit < 8; bit++) {
    const carry = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (carry) {
      hi = (hi ^ POLY_HI) >>> 0;
      lo = (lo ^ POLY_LO) >>> 0;
    }
  }
  TABLE_HI[i] = hi;
  TABLE_LO[i] = lo;
}

/**
 * The rDSN CRC-64 of `bytes` (a sub-range with `start`/`end`), as an unsigned bigint.
 *
 * @example
 * ```ts
 * import { crc64 } from "@kvwire/kvwire/pegasus";
 * crc64(new TextEncoder().encode("123456789")); // 0xae8b14860a799888n
 * ```
 */
export function crc64(bytes: Uint8Array, start = 0, end: number = bytes.length): bigint {
  let hi = 0xffffffff;
  let lo = 0xffffffff;
  for (let i = start; i < end; i++) {
    const index = (lo ^ bytes[i]) & 0xff;
    lo = (((lo >>> 8) | (hi << 24)) ^ TABLE_LO[index]) >>> 0;
    hi = ((hi >>> 8) ^ TABLE_HI[index]) >>> 0;
  }
  hi = (hi ^ 0xffffffff) >>> 0;
  lo = (lo ^ 0xffffffff) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

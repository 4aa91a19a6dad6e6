// IEEE 754 binary16 ("half", Python struct code "e") to and from a number, as CPython packs it:
// round half to even, a value too large for a half is a RangeError (CPython: OverflowError).

const HALF_MAX_EXCLUSIVE = 65520; // from here on a value rounds to infinity

/**
 * Writes `value` as a half float at `offset`.
 *
 * @example
 * ```ts
 * import { readFloat16, writeFloat16 } from "@kvwire/kvwire/tstorage";
 * const view = new DataView(new ArrayBuffer(2));
 * writeFloat16(view, 0, 1.5, true); // bytes 00 3e
 * readFloat16(view, 0, true); // 1.5
 * ```
 */
export function writeFloat16(
  view: DataView,
  offset: number,
  value: number,
  littleEndian: boolean,
): void {
  view.setUint16(offset, halfBits(value), littleEndian);
}

/** Reads the half float at `offset` (see {@link writeFloat16}). */
export function readFloat16(view: DataView, offset: number, littleEndian: boolean): number {
  const bits = view.getUint16(offset, littleEndian);
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (0x400 + fraction) * 2 ** (exponent - 25);
}

function halfBits(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const a = Math.abs(value);
  if (a === Infinity) return sign | 0x7c00;
  if (a >= HALF_MAX_EXCLUSIVE) {
    throw new RangeError(`${value} is too large for a half float (struct code e)`);
  }
  let exponent = Math.floor(Math.log2(a || 1));
  if (2 ** exponent > a) exponent--; // log2 may be off by one next to powers of two
  else if (2 ** (exponent + 1) <= a) exponent++;
  if (a === 0 || exponent < -14) return sign | roundHalfEven(a / 2 ** -24); // subnormal (1024 = smallest normal)
  let mantissa = roundHalfEven(a / 2 ** (exponent - 10)); // in [1024, 2048]
  if (mantissa === 0x800) {
    mantissa = 0x400;
    exponent++;
  }
  return sign | ((exponent + 15) << 10) | (mantissa - 0x400);
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor;
  return rest > 0.5 || (rest === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
}

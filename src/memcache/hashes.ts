// The key hashes other memcache clients place keys with: CRC-32 (python-memcached's
// `binascii.crc32`) and Bob Jenkins' one-at-a-time (libmemcached's default hash).

let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/**
 * CRC-32 (IEEE 802.3, as zlib and Python's `binascii.crc32`), unsigned.
 *
 * @example
 * ```ts
 * import { crc32 } from "@kvwire/kvwire/memcache";
 * crc32(new TextEncoder().encode("123456789")); // 0xcbf43926
 * ```
 */
export function crc32(bytes: Uint8Array): number {
  const t = crcTable();
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * python-memcached's default server hash (`cmemcache_hash`): bits 16–30 of the CRC-32, or 1
 * when they are all zero.
 *
 * @example
 * ```ts
 * import { pythonMemcacheHash } from "@kvwire/kvwire/memcache";
 * pythonMemcacheHash(new TextEncoder().encode("123456789")); // 0x4bf4
 * ```
 */
export function pythonMemcacheHash(bytes: Uint8Array): number {
  return ((crc32(bytes) >>> 16) & 0x7fff) || 1;
}

/**
 * libmemcached's one-at-a-time hash (its default, `MEMCACHED_HASH_DEFAULT`). Bytes are widened
 * as a signed `char` is on x86 and most ARM Linux builds, so keys with bytes ≥ 0x80 hash as
 * there.
 *
 * @example
 * ```ts
 * import { oneAtATime } from "@kvwire/kvwire/memcache";
 * oneAtATime(new TextEncoder().encode("a")); // 0xca2e9442
 * ```
 */
export function oneAtATime(bytes: Uint8Array): number {
  let h = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    h = (h + (b >= 0x80 ? b - 0x100 : b)) >>> 0;
    h = (h + (h << 10)) >>> 0;
    h = (h ^ (h >>> 6)) >>> 0;
  }
  h = (h + (h << 3)) >>> 0;
  h = (h ^ (h >>> 11)) >>> 0;
  return (h + (h << 15)) >>> 0;
}

// The Pegasus key schema (pegasus.md §4): composite keys u16_be(len(hash_key)) || hash_key ||
// sort_key, the "next key" of a hash key, and the partition hash and index of a key.

import { crc64 } from "./crc64.ts";

/** Hash keys must be shorter than this many bytes (the server asserts it). */
export const MAX_HASH_KEY_LENGTH = 0xffff;

/**
 * Builds the composite key `u16_be(len(hashKey)) || hashKey || sortKey`. Throws `RangeError`
 * when the hash key has 65535 bytes or more.
 *
 * @example
 * ```ts
 * import { encodeKey } from "@kvwire/kvwire/pegasus";
 * const te = new TextEncoder();
 * encodeKey(te.encode("h"), te.encode("s")); // Uint8Array [0, 1, 104, 115]
 * ```
 */
export function encodeKey(hashKey: Uint8Array, sortKey: Uint8Array): Uint8Array {
  if (hashKey.length >= MAX_HASH_KEY_LENGTH) {
    throw new RangeError(
      `Hash key is ${hashKey.length} bytes; Pegasus allows at most ${MAX_HASH_KEY_LENGTH - 1}`,
    );
  }
  const out = new Uint8Array(2 + hashKey.length + sortKey.length);
  out[0] = hashKey.length >>> 8;
  out[1] = hashKey.length & 0xff;
  out.set(hashKey, 2);
  out.set(sortKey, 2 + hashKey.length);
  return out;
}

/**
 * Splits a composite key into hash key and sort key (views into `key`), or returns
 * `undefined` when the key is malformed (hash length 0xFFFF or past the end).
 *
 * @example
 * ```ts
 * import { decodeKey } from "@kvwire/kvwire/pegasus";
 * decodeKey(new Uint8Array([0, 1, 104, 115])); // { hashKey: [104], sortKey: [115] }
 * ```
 */
export function decodeKey(
  key: Uint8Array,
): { hashKey: Uint8Array; sortKey: Uint8Array } | undefined {
  if (key.length < 2) return undefined;
  const length = (key[0] << 8) | key[1];
  if (length === 0xffff || 2 + length > key.length) return undefined;
  return { hashKey: key.subarray(2, 2 + length), sortKey: key.subarray(2 + length) };
}

/**
 * The smallest key greater than every key of `hashKey` (an exclusive scan stop): the prefix
 * `u16_be(len) || hashKey` with its last non-0xFF byte incremented and the rest cut off.
 * `undefined` when no such key exists (every byte is 0xFF).
 *
 * @example
 * ```ts
 * import { nextKeyAfterHashKey } from "@kvwire/kvwire/pegasus";
 * nextKeyAfterHashKey(new TextEncoder().encode("h")); // Uint8Array [0, 1, 105]
 * ```
 */
export function nextKeyAfterHashKey(hashKey: Uint8Array): Uint8Array | undefined {
  return nextKeyAfterPrefix(encodeKey(hashKey, new Uint8Array(0)));
}

/**
 * The smallest byte string greater than every string starting with `prefix`, or `undefined`.
 *
 * @example
 * ```ts
 * import { nextKeyAfterPrefix } from "@kvwire/kvwire/pegasus";
 * nextKeyAfterPrefix(new Uint8Array([1, 0xff])); // Uint8Array [2]
 * ```
 */
export function nextKeyAfterPrefix(prefix: Uint8Array): Uint8Array | undefined {
  let i = prefix.length - 1;
  while (i >= 0 && prefix[i] === 0xff) i--;
  if (i < 0) return undefined;
  const out = prefix.slice(0, i + 1);
  out[i]++;
  return out;
}

/**
 * The partition hash of a single-key operation: crc64 of the hash key, or of the sort key
 * when the hash key is empty (the server's `pegasus_key_hash`).
 *
 * @example
 * ```ts
 * import { keyHash } from "@kvwire/kvwire/pegasus";
 * const te = new TextEncoder();
 * keyHash(te.encode("h"), te.encode("s")); // 0x555d9839ecea8b30n
 * ```
 */
export function keyHash(hashKey: Uint8Array, sortKey: Uint8Array): bigint {
  return crc64(hashKey.length > 0 ? hashKey : sortKey);
}

/**
 * The partition of a hash, taking it as unsigned 64-bit: `hash mod partitionCount`.
 *
 * @example
 * ```ts
 * import { partitionIndex } from "@kvwire/kvwire/pegasus";
 * partitionIndex(0x555d9839ecea8b30n, 8); // 0
 * ```
 */
export function partitionIndex(hash: bigint, partitionCount: number): number {
  if ((partitionCount & (partitionCount - 1)) === 0) {
    return Number(BigInt.asUintN(32, hash) & BigInt(partitionCount - 1));
  }
  return Number(BigInt.asUintN(64, hash) % BigInt(partitionCount));
}

// Redis Cluster key slots: CRC16 (XMODEM) of the key, or of its `{hash tag}`, modulo 16384.
// Spec: https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#key-distribution-model

import { utf8Encode } from "../../core/bytes.ts";
import type { RedisArg } from "../resp_encoder.ts";

/** Number of hash slots in a Redis Cluster. */
export const SLOT_COUNT = 16384;

const TABLE = /* @__PURE__ */ (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = crc & 0xffff;
  }
  return table;
})();

/**
 * CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0) of `bytes[start, end)`.
 *
 * @example
 * ```ts
 * import { crc16 } from "@kvwire/kvwire/redis";
 * crc16(new TextEncoder().encode("123456789")).toString(16); // "31c3"
 * ```
 */
export function crc16(bytes: Uint8Array, start = 0, end: number = bytes.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) ^ TABLE[((crc >> 8) ^ bytes[i]) & 0xff]) & 0xffff;
  }
  return crc;
}

/**
 * The hash slot of a key. When the key holds a `{...}` with at least one byte between the
 * first `{` and the next `}`, only those bytes are hashed, so `{user1000}.following` and
 * `{user1000}.followers` share a slot.
 *
 * @example
 * ```ts
 * import { keySlot } from "@kvwire/kvwire/redis";
 * keySlot("{user1000}.following") === keySlot("{user1000}.followers"); // true
 * ```
 */
export function keySlot(key: RedisArg): number {
  if (typeof key === "string") {
    const ascii = asciiSlot(key);
    if (ascii !== -1) return ascii;
  }
  const bytes = key instanceof Uint8Array ? key : utf8Encode(String(key));
  const open = bytes.indexOf(0x7b); // {
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) return crc16(bytes, open + 1, close) & (SLOT_COUNT - 1);
  }
  return crc16(bytes) & (SLOT_COUNT - 1);
}

/**
 * The slot of an ASCII string without encoding it, in one pass while no `{` shows; -1 when
 * the characters it hashes are not all ASCII.
 */
function asciiSlot(key: string): number {
  let crc = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c > 0x7f) return -1;
    if (c === 0x7b) return taggedAsciiSlot(key, i); // {
    crc = ((crc << 8) & 0xff00) ^ TABLE[(crc >> 8) ^ c];
  }
  return crc & (SLOT_COUNT - 1);
}

/** {@link asciiSlot} of a key whose first `{` stands at `open`. */
function taggedAsciiSlot(key: string, open: number): number {
  const close = key.indexOf("}", open + 1);
  const [start, end] = close > open + 1 ? [open + 1, close] : [0, key.length];
  let crc = 0;
  for (let i = start; i < end; i++) {
    const c = key.charCodeAt(i);
    if (c > 0x7f) return -1;
    crc = ((crc << 8) & 0xff00) ^ TABLE[(crc >> 8) ^ c];
  }
  return crc & (SLOT_COUNT - 1);
}

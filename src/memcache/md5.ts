// MD5 (RFC 1321), synchronous, for ketama consistent hashing only (not for security): the ring
// must be computed without awaiting, and crypto.subtle has no MD5. Keys are hashed per request,
// so the block function works on a reused buffer with no allocation but the digest.

const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];

const K = new Int32Array(64);
for (let i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0;

const SHIFT = new Uint8Array(64);
const INDEX = new Uint8Array(64);
for (let i = 0; i < 64; i++) {
  SHIFT[i] = S[(i >> 4) * 4 + (i & 3)];
  INDEX[i] = i < 16 ? i : i < 32 ? (5 * i + 1) & 15 : i < 48 ? (3 * i + 5) & 15 : (7 * i) & 15;
}

const block = new Uint8Array(64);
const words = new Int32Array(16);
const state = new Int32Array(4);

function compress(): void {
  for (let i = 0; i < 16; i++) {
    const o = i * 4;
    words[i] = block[o] | (block[o + 1] << 8) | (block[o + 2] << 16) | (block[o + 3] << 24);
  }
  let a = state[0];
  let b = state[1];
  let c = state[2];
  let d = state[3];
  for (let i = 0; i < 64; i++) {
    let f: number;
    if (i < 16) f = (b & c) | (~b & d);
    else if (i < 32) f = (d & b) | (~d & c);
    else if (i < 48) f = b ^ c ^ d;
    else f = c ^ (b | ~d);
    const sum = (a + f + K[i] + words[INDEX[i]]) | 0;
    const shift = SHIFT[i];
    a = d;
    d = c;
    c = b;
    b = (b + ((sum << shift) | (sum >>> (32 - shift)))) | 0;
  }
  state[0] = (state[0] + a) | 0;
  state[1] = (state[1] + b) | 0;
  state[2] = (state[2] + c) | 0;
  state[3] = (state[3] + d) | 0;
}

function digest(bytes: Uint8Array): void {
  state[0] = 0x67452301;
  state[1] = 0xefcdab89 | 0;
  state[2] = 0x98badcfe | 0;
  state[3] = 0x10325476;
  const length = bytes.length;
  let offset = 0;
  for (; offset + 64 <= length; offset += 64) {
    block.set(bytes.subarray(offset, offset + 64));
    compress();
  }
  const rest = length - offset;
  for (let i = 0; i < rest; i++) block[i] = bytes[offset + i];
  block[rest] = 0x80;
  block.fill(0, rest + 1);
  if (rest >= 56) {
    compress();
    block.fill(0);
  }
  const low = (length * 8) >>> 0;
  const high = Math.floor(length / 0x20000000);
  block[56] = low & 255;
  block[57] = (low >>> 8) & 255;
  block[58] = (low >>> 16) & 255;
  block[59] = low >>> 24;
  block[60] = high & 255;
  block[61] = (high >>> 8) & 255;
  block[62] = (high >>> 16) & 255;
  block[63] = high >>> 24;
  compress();
}

/**
 * The first four bytes of the MD5 digest of `bytes` as a little-endian unsigned integer (the
 * ketama hash), without allocating.
 *
 * @example
 * ```ts
 * import { md5First32 } from "@kvwire/kvwire/memcache";
 * md5First32(new TextEncoder().encode("abc")); // 0x98500190
 * ```
 */
export function md5First32(bytes: Uint8Array): number {
  digest(bytes);
  return state[0] >>> 0;
}

/**
 * The MD5 digest of `bytes` (16 bytes).
 *
 * @example
 * ```ts
 * import { md5 } from "@kvwire/kvwire/memcache";
 * md5(new TextEncoder().encode("abc")); // 90 01 50 98 3c d2 4f b0 d6 96 3f 7d 28 e1 7f 72
 * ```
 */
export function md5(bytes: Uint8Array): Uint8Array {
  digest(bytes);
  const out = new Uint8Array(16);
  for (let i = 0; i < 4; i++) {
    const v = state[i];
    out[i * 4] = v & 255;
    out[i * 4 + 1] = (v >>> 8) & 255;
    out[i * 4 + 2] = (v >>> 16) & 255;
    out[i * 4 + 3] = v >>> 24;
  }
  return out;
}

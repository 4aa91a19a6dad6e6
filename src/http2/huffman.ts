// The HPACK Huffman code (RFC 7541 §5.2, Appendix B). The code is canonical, so the table is
// kept as the bit length of each of the 257 symbols and the codes are rebuilt from it at load.

import { RemoteProtocolError } from "../core/errors.ts";

/** Bit lengths of symbols 0..256 (256 = EOS), in symbol order, from RFC 7541 Appendix B. */
const LENGTHS: readonly number[] = [
  // 0-31: control characters
  13,
  23,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  24,
  30,
  28,
  28,
  30,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  30,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  28,
  // 32-63: " !\"#$%&'()*+,-./0123456789:;<=>?"
  6,
  10,
  10,
  12,
  13,
  6,
  8,
  11,
  10,
  10,
  8,
  11,
  8,
  6,
  6,
  6,
  5,
  5,
  5,
  6,
  6,
  6,
  6,
  6,
  6,
  6,
  7,
  8,
  15,
  6,
  12,
  10,
  // 64-95: "@A-Z[\\]^_"
  13,
  6,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  7,
  8,
  7,
  8,
  13,
  19,
  13,
  14,
  6,
  // 96-127: "`a-z{|}~" and DEL
  15,
  5,
  6,
  5,
  6,
  5,
  6,
  6,
  6,
  5,
  7,
  7,
  6,
  6,
  6,
  5,
  6,
  7,
  6,
  5,
  5,
  6,
  7,
  7,
  7,
  7,
  7,
  15,
  11,
  14,
  13,
  28,
  // 128-255
  20,
  22,
  20,
  20,
  22,
  22,
  22,
  23,
  22,
  23,
  23,
  23,
  23,
  23,
  24,
  23,
  24,
  24,
  22,
  23,
  24,
  23,
  23,
  23,
  23,
  21,
  22,
  23,
  22,
  23,
  23,
  24,
  22,
  21,
  20,
  22,
  22,
  23,
  23,
  21,
  23,
  22,
  22,
  24,
  21,
  22,
  23,
  23,
  21,
  21,
  22,
  21,
  23,
  22,
  23,
  23,
  20,
  22,
  22,
  22,
  23,
  22,
  22,
  23,
  26,
  26,
  20,
  19,
  22,
  23,
  22,
  25,
  26,
  26,
  26,
  27,
  27,
  26,
  24,
  25,
  19,
  21,
  26,
  27,
  27,
  26,
  27,
  24,
  21,
  21,
  26,
  26,
  28,
  27,
  27,
  27,
  20,
  24,
  20,
  21,
  22,
  21,
  21,
  23,
  22,
  22,
  25,
  25,
  24,
  24,
  26,
  23,
  26,
  27,
  26,
  26,
  27,
  27,
  27,
  27,
  27,
  28,
  27,
  27,
  27,
  27,
  27,
  26,
  // 256: EOS
  30,
];

const EOS = 256;
const MAX_BITS = 30;
/** codes[s]: the code of symbol s, right-aligned in LENGTHS[s] bits. */
const CODES = new Uint32Array(257);
/** For each bit length: the first code, the index into SORTED of its symbol, and the count. */
const FIRST_CODE = new Int32Array(MAX_BITS + 2);
const FIRST_INDEX = new Int32Array(MAX_BITS + 2);
const COUNT = new Int32Array(MAX_BITS + 2);
/** Symbols sorted by (length, symbol): canonical order. */
const SORTED = new Uint16Array(257);

(function buildCanonical(): void {
  for (const len of LENGTHS) COUNT[len]++;
  let code = 0;
  let index = 0;
  for (let len = 1; len <= MAX_BITS; len++) {
    FIRST_CODE[len] = code;
    FIRST_INDEX[len] = index;
    let next = code;
    for (let s = 0; s < LENGTHS.length; s++) {
      if (LENGTHS[s] !== len) continue;
      CODES[s] = next++;
      SORTED[index++] = s;
    }
    code = (code + COUNT[len]) * 2;
  }
})();

/**
 * The Huffman code of a symbol and its bit length, for tests and tools.
 *
 * @example
 * ```ts
 * import { huffmanCode } from "./huffman.ts";
 * huffmanCode(47); // { code: 0x18, bits: 6 } ("/")
 * ```
 */
export function huffmanCode(symbol: number): { code: number; bits: number } {
  return { code: CODES[symbol], bits: LENGTHS[symbol] };
}

/**
 * The length in bytes of `bytes` once Huffman-encoded (padding included).
 *
 * @example
 * ```ts
 * import { huffmanEncodedLength } from "./huffman.ts";
 * huffmanEncodedLength(new TextEncoder().encode("no-cache")); // 6
 * ```
 */
export function huffmanEncodedLength(bytes: Uint8Array): number {
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) bits += LENGTHS[bytes[i]];
  return (bits + 7) >> 3;
}

/**
 * Huffman-encodes `bytes`, padding the last byte with the most significant bits of EOS (ones).
 *
 * @example
 * ```ts
 * import { huffmanEncode } from "./huffman.ts";
 * huffmanEncode(new TextEncoder().encode("no-cache")); // a8 eb 10 64 9c bf
 * ```
 */
export function huffmanEncode(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(huffmanEncodedLength(bytes));
  let acc = 0; // pending bits, right-aligned; never more than 7 + 30 bits (kept under 2^53)
  let pending = 0;
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    const s = bytes[i];
    acc = acc * (1 << LENGTHS[s]) + CODES[s];
    pending += LENGTHS[s];
    while (pending >= 8) {
      pending -= 8;
      const div = 2 ** pending;
      out[o++] = Math.floor(acc / div) & 0xff;
      acc %= div;
    }
  }
  if (pending > 0) out[o] = ((acc << (8 - pending)) | (0xff >> pending)) & 0xff;
  return out;
}

/**
 * Decodes a Huffman-encoded string literal. Throws `RemoteProtocolError` on an EOS symbol,
 * padding longer than 7 bits or padding that is not the prefix of EOS (RFC 7541 §5.2).
 *
 * @example
 * ```ts
 * import { huffmanDecode } from "./huffman.ts";
 * huffmanDecode(new Uint8Array([0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf])); // "no-cache" as bytes
 * ```
 */
export function huffmanDecode(bytes: Uint8Array): Uint8Array {
  // Every symbol takes at least 5 bits, so the output is at most 8/5 of the input.
  const out = new Uint8Array(Math.ceil((bytes.length * 8) / 5));
  let o = 0;
  let code = 0;
  let len = 0;
  let allOnes = true;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      code = code * 2 + bit;
      len++;
      allOnes &&= bit === 1;
      const offset = code - FIRST_CODE[len];
      if (offset >= 0 && offset < COUNT[len]) {
        const symbol = SORTED[FIRST_INDEX[len] + offset];
        if (symbol === EOS) throw new RemoteProtocolError("HPACK Huffman string contains EOS");
        out[o++] = symbol;
        code = 0;
        len = 0;
        allOnes = true;
      } else if (len >= MAX_BITS) {
        throw new RemoteProtocolError("Invalid HPACK Huffman code");
      }
    }
  }
  if (len > 7) throw new RemoteProtocolError("HPACK Huffman padding is longer than 7 bits");
  if (!allOnes) throw new RemoteProtocolError("HPACK Huffman padding is not the EOS prefix");
  return out.subarray(0, o);
}

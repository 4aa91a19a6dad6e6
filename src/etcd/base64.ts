// Standard base64 (RFC 4648 §4, with padding) for Uint8Array, as etcd's JSON gateway encodes
// keys and values. No Buffer, no btoa/atob (they work on strings only).

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) DECODE[ALPHABET.charCodeAt(i)] = i;
DECODE["-".charCodeAt(0)] = 62; // base64url, accepted on input
DECODE["_".charCodeAt(0)] = 63;

/**
 * Encodes bytes as padded standard base64.
 *
 * @example
 * ```ts
 * import { base64Encode } from "@kvwire/kvwire/etcd";
 * base64Encode(new Uint8Array([102, 111, 111])); // "Zm9v"
 * ```
 */
export function base64Encode(bytes: Uint8Array): string {
  let out = "";
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += ALPHABET[v >> 18] + ALPHABET[(v >> 12) & 63] + ALPHABET[(v >> 6) & 63] +
      ALPHABET[v & 63];
  }
  if (i < n) {
    const v = (bytes[i] << 16) | (i + 1 < n ? bytes[i + 1] << 8 : 0);
    out += ALPHABET[v >> 18] + ALPHABET[(v >> 12) & 63] +
      (i + 1 < n ? ALPHABET[(v >> 6) & 63] : "=") + "=";
  }
  return out;
}

/**
 * Decodes base64 (standard or URL alphabet, padding optional). Throws `RangeError` on a
 * character outside the alphabet or an impossible length.
 *
 * @example
 * ```ts
 * import { base64Decode } from "@kvwire/kvwire/etcd";
 * base64Decode("Zm9v"); // Uint8Array [102, 111, 111]
 * ```
 */
export function base64Decode(text: string): Uint8Array {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61) end--;
  if (end % 4 === 1) throw new RangeError(`Invalid base64 length ${text.length}`);
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? DECODE[c] : -1;
    if (v < 0) throw new RangeError(`Invalid base64 character at ${i}`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

// memcache key validation and encoding: at most 250 bytes, never empty, and on the text and meta
// protocols no whitespace or control character, so that a key can never inject a command.

import { utf8Decode, utf8Encode } from "../core/bytes.ts";

/** The longest key memcached accepts, in bytes. */
export const MAX_KEY_LENGTH = 250;

/**
 * A key as users give it: a string (UTF-8 on the wire), a number or bigint (its decimal
 * text, as python-memcached does), or bytes (a binary key: base64 on meta, raw on binary).
 */
export type MemcacheKey = string | number | bigint | Uint8Array;

// Unicode whitespace and C0/C1 control characters: exactly what a key must not contain.
// deno-lint-ignore no-control-regex
const BAD_CHAR = /[\s\u0000-\u001f\u007f-\u009f]/u;

/**
 * Quotes a key for an error message, shortened when long.
 *
 * @example
 * ```ts
 * import { describeKey } from "@kvwire/kvwire/memcache";
 * describeKey("a b"); // "\"a b\""
 * ```
 */
export function describeKey(key: MemcacheKey): string {
  let text: string;
  if (key instanceof Uint8Array) {
    text = isTextSafe(key) ? utf8Decode(key) : `0x${hexPrefix(key)}`;
  } else text = String(key);
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

function hexPrefix(bytes: Uint8Array): string {
  const shown = Array.from(bytes.subarray(0, 24), (b) => b.toString(16).padStart(2, "0"));
  return shown.join("") + (bytes.length > 24 ? "..." : "");
}

/**
 * True when every byte can stand in a text or meta command line: no control byte, no space.
 *
 * @example
 * ```ts
 * import { isTextSafe } from "@kvwire/kvwire/memcache";
 * isTextSafe(new TextEncoder().encode("user:42")); // true
 * isTextSafe(new Uint8Array([0x61, 0x0a])); // false
 * ```
 */
export function isTextSafe(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b <= 0x20 || b === 0x7f) return false;
  }
  return true;
}

/**
 * Turns a user key (with an optional prefix) into bytes and validates it: `TypeError` for a
 * key of the wrong type or, for string keys, one with whitespace or a control character
 * (unless `checkChars` is false: the client's `checkKeys: false`); `RangeError` for an empty
 * key or one over `maxLength` bytes. Byte keys may hold any bytes.
 *
 * @example
 * ```ts
 * import { encodeKey } from "@kvwire/kvwire/memcache";
 * encodeKey(42, "numkeys_"); // bytes of "numkeys_42"
 * encodeKey("has space"); // throws TypeError naming the key
 * ```
 */
export function encodeKey(
  key: MemcacheKey,
  prefix = "",
  maxLength: number = MAX_KEY_LENGTH,
  checkChars = true,
): Uint8Array {
  let bytes: Uint8Array | undefined;
  if (typeof key === "string" || typeof key === "number" || typeof key === "bigint") {
    if (typeof key === "number" && !Number.isFinite(key)) {
      throw new TypeError(`A memcache key must be a finite number, got ${key}`);
    }
    const text = typeof key === "string" && prefix === "" ? key : prefix + String(key);
    // The common case, printable ASCII, is checked and converted in one pass.
    bytes = asciiKey(text);
    if (bytes === undefined) {
      const bad = checkChars ? BAD_CHAR.exec(text) : null;
      if (bad) {
        const code = bad[0].codePointAt(0)!.toString(16).padStart(4, "0");
        throw new TypeError(
          `Memcache key ${describeKey(text)} contains whitespace or a control character ` +
            `(U+${code.toUpperCase()} at index ${bad.index})`,
        );
      }
      bytes = utf8Encode(text);
    }
  } else if (key instanceof Uint8Array) {
    if (prefix) {
      const p = utf8Encode(prefix);
      bytes = new Uint8Array(p.length + key.length);
      bytes.set(p);
      bytes.set(key, p.length);
    } else bytes = key;
  } else {
    throw new TypeError(
      `A memcache key must be a string, number, bigint or Uint8Array, got ${
        key === null ? "null" : typeof key
      }`,
    );
  }
  checkKeyLength(bytes, maxLength);
  return bytes;
}

/** Printable ASCII text as bytes, or undefined for anything else (checked the slow way). */
function asciiKey(text: string): Uint8Array | undefined {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return undefined;
    bytes[i] = c;
  }
  return bytes;
}

/**
 * Throws `RangeError` when a key is empty or longer than `maxLength` bytes.
 *
 * @example
 * ```ts
 * import { checkKeyLength } from "@kvwire/kvwire/memcache";
 * checkKeyLength(new Uint8Array(251)); // throws RangeError
 * ```
 */
export function checkKeyLength(bytes: Uint8Array, maxLength: number = MAX_KEY_LENGTH): void {
  if (bytes.length === 0) throw new RangeError("A memcache key must not be empty");
  if (bytes.length > maxLength) {
    throw new RangeError(
      `Memcache key ${describeKey(bytes)} is ${bytes.length} bytes long; ` +
        `the limit is ${maxLength}`,
    );
  }
}

/**
 * Throws unless `bytes` can go on a text or meta command line as they are.
 *
 * @example
 * ```ts
 * import { checkTextKey } from "@kvwire/kvwire/memcache";
 * checkTextKey(new TextEncoder().encode("ok")); // fine
 * ```
 */
export function checkTextKey(bytes: Uint8Array, protocol = "text"): void {
  checkKeyLength(bytes);
  if (!isTextSafe(bytes)) {
    throw new TypeError(
      `Memcache key ${describeKey(bytes)} contains whitespace or a control byte, which the ` +
        `${protocol} protocol cannot carry`,
    );
  }
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * Standard base64 with padding (memcached's `b` flag).
 *
 * @example
 * ```ts
 * import { base64Encode } from "@kvwire/kvwire/memcache";
 * base64Encode(new Uint8Array([0, 255])); // "AP8="
 * ```
 */
export function base64Encode(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += B64[n >> 18] + B64[(n >> 12) & 63] + "==";
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + "=";
  }
  return out;
}

/**
 * Decodes standard base64 (padding optional); `undefined` on a character outside the alphabet.
 *
 * @example
 * ```ts
 * import { base64Decode } from "@kvwire/kvwire/memcache";
 * base64Decode("AP8="); // Uint8Array [0, 255]
 * ```
 */
export function base64Decode(text: string): Uint8Array | undefined {
  const clean = text.replace(/=+$/, "");
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    const v = B64.indexOf(clean[i]);
    if (v < 0) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}

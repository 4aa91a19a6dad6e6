// What RESP bytes mean, for the decoder (resp_decoder.ts): the type bytes, the values of
// lines (`+ - , ( _ #`) and of big integers, finished aggregates, and the errors malformed
// input gets.

import { asciiDecode, utf8Decode } from "../core/bytes.ts";
import { RemoteProtocolError } from "../core/errors.ts";
import { RedisError } from "./errors.ts";
import { RespMap, RespPush, RespSet, type RespValue } from "./resp_types.ts";

/**
 * CR, LF and the RESP type bytes (RESP2 and RESP3), as the decoder compares them.
 *
 * @example
 * ```ts
 * import { DOLLAR } from "./resp_values.ts";
 * new TextEncoder().encode("$")[0] === DOLLAR; // true
 * ```
 */
export const CR = 13,
  LF = 10,
  PLUS = 0x2b, // + simple string
  MINUS = 0x2d, // - simple error
  COLON = 0x3a, // : integer
  DOLLAR = 0x24, // $ bulk string
  STAR = 0x2a, // * array
  UNDERSCORE = 0x5f, // _ null
  HASH = 0x23, // # boolean
  COMMA = 0x2c, // , double
  LPAREN = 0x28, // ( big number
  BANG = 0x21, // ! bulk error
  EQUALS = 0x3d, // = verbatim string
  PERCENT = 0x25, // % map
  TILDE = 0x7e, // ~ set
  GT = 0x3e, // > push
  PIPE = 0x7c; // | attribute

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The integer of the digits `head[start..end)` (over 15 of them, an optional `-` first): a
 * number within 2^53, else a bigint; `RemoteProtocolError` outside int64 (`line` is where the
 * integer's line starts, for the message).
 *
 * @example
 * ```ts
 * import { bigInteger } from "./resp_values.ts";
 * const digits = new TextEncoder().encode(":9223372036854775807\r\n");
 * bigInteger(digits, 1, 20, 0); // 9223372036854775807n
 * ```
 */
export function bigInteger(
  head: Uint8Array,
  start: number,
  end: number,
  line: number,
): number | bigint {
  const big = BigInt(asciiDecode(head, start, end));
  if (big > INT64_MAX || big < INT64_MIN) throw invalid("integer line", head, line, head.length);
  return big <= SAFE_MAX && big >= -SAFE_MAX ? Number(big) : big;
}
const DOUBLE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const BIG_NUMBER = /^[+-]?\d+$/;

/**
 * The finished aggregate of type `type` (`*`, `%`, `~` or `>`) from its elements (maps: key,
 * value, key, value...); `undefined` for an attribute (`|`).
 *
 * @example
 * ```ts
 * import { build, TILDE } from "./resp_values.ts";
 * build(TILDE, [1, 2]); // RespSet [1, 2]
 * ```
 */
export function build(type: number, items: RespValue[]) {
  if (type === STAR) return items;
  if (type === PERCENT) return new RespMap(pairs(items));
  if (type === TILDE) return new RespSet(items);
  return type === GT ? new RespPush(items) : undefined;
}

/**
 * The `[key, value]` entries of a flat key, value, key, value... list.
 *
 * @example
 * ```ts
 * import { pairs } from "./resp_values.ts";
 * pairs(["a", 1, "b", 2]); // [["a", 1], ["b", 2]]
 * ```
 */
export function pairs(flat: RespValue[]): [RespValue, RespValue][] {
  const entries: [RespValue, RespValue][] = [];
  for (let i = 0; i < flat.length; i += 2) entries.push([flat[i], flat[i + 1]]);
  return entries;
}

/**
 * The value of a `+ - , ( _ #` line whose text is `head[start..end)`.
 *
 * @example
 * ```ts
 * import { lineValue, PLUS } from "./resp_values.ts";
 * lineValue(PLUS, new TextEncoder().encode("+OK\r\n"), 1, 3); // "OK"
 * ```
 */
export function lineValue(type: number, head: Uint8Array, start: number, end: number): RespValue {
  const n = end - start;
  if (type === PLUS) {
    return n === 2 && head[start] === 0x4f && head[start + 1] === 0x4b
      ? "OK"
      : decodeText(head, start, end);
  }
  if (type === MINUS) return new RedisError(decodeText(head, start, end));
  if (type === UNDERSCORE) {
    if (n === 0) return null;
    throw invalid("null", head, start - 1, end);
  }
  if (type === HASH) {
    if (n === 1 && (head[start] === 0x74 || head[start] === 0x66)) return head[start] === 0x74;
    throw invalid("boolean", head, start - 1, end);
  }
  const text = asciiDecode(head, start, end);
  if (type === LPAREN) {
    if (!BIG_NUMBER.test(text)) throw invalid("big number", head, start, end);
    return BigInt(text);
  }
  if (DOUBLE.test(text)) return Number(text);
  const lower = text.toLowerCase();
  if (lower === "inf" || lower === "+inf") return Infinity;
  if (lower === "-inf") return -Infinity;
  if (lower === "nan" || lower === "-nan" || lower === "+nan") return NaN;
  throw invalid("double", head, start, end);
}

function decodeText(bytes: Uint8Array, start: number, end: number): string {
  if (end - start > 32) return utf8Decode(bytes.subarray(start, end));
  let text = "";
  for (let i = start; i < end; i++) {
    const c = bytes[i];
    if (c >= 0x80) return utf8Decode(bytes.subarray(start, end));
    text += String.fromCharCode(c);
  }
  return text;
}

/**
 * The error of a negative or oversized bulk or aggregate length.
 *
 * @example
 * ```ts
 * import { badLength } from "./resp_values.ts";
 * badLength("bulk", 1024, 512); // RESP bulk length 1024 exceeds the limit 512
 * ```
 */
export function badLength(what: string, n: number | bigint, max: number): RemoteProtocolError {
  return new RemoteProtocolError(
    n < 0
      ? `Invalid RESP ${what} length ${n}`
      : `RESP ${what} length ${n} exceeds the limit ${max}`,
  );
}

/**
 * `Invalid RESP <what>: "<at most 40 bytes from start, up to a CR or end>"`.
 *
 * @example
 * ```ts
 * import { invalid } from "./resp_values.ts";
 * const line = new TextEncoder().encode("#x\r\n");
 * invalid("boolean", line, 0, 2); // Invalid RESP boolean: "#x"
 * ```
 */
export function invalid(
  what: string,
  bytes: Uint8Array,
  start: number,
  end: number,
): RemoteProtocolError {
  const cr = bytes.indexOf(CR, start);
  const last = Math.min(cr === -1 ? bytes.length : cr, end);
  const stop = Math.min(last, start + 40);
  const excerpt = JSON.stringify(utf8Decode(bytes.subarray(start, stop)));
  return new RemoteProtocolError(`Invalid RESP ${what}: ${excerpt}${stop < last ? "…" : ""}`);
}

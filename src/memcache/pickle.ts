// A safe reader of Python pickles (protocols 0–5) for plain data only: None, bool, int, float,
// str, bytes, list, tuple, dict, set, frozenset. Nothing is imported or constructed.

import { utf8Decode } from "../core/bytes.ts";
import {
  Builder,
  BUILDERS,
  finish,
  latin1Text,
  malformed,
  PyDict,
  PySet,
  UnsafePickleError,
} from "./pickle_forms.ts";

export { latin1Text, PickleError, UnsafePickleError } from "./pickle_forms.ts";

/** Opcodes that import or construct: always refused. */
const UNSAFE: Record<number, string> = {
  0x52: "REDUCE",
  0x62: "BUILD",
  0x69: "INST",
  0x6f: "OBJ",
  0x81: "NEWOBJ",
  0x92: "NEWOBJ_EX",
  0x82: "EXT1",
  0x83: "EXT2",
  0x84: "EXT4",
  0x50: "PERSID",
  0x51: "BINPERSID",
  0x97: "NEXT_BUFFER",
  0x98: "READONLY_BUFFER",
};

/** Normalizes a Python int: a number when safe, else a bigint. */
function int(value: bigint): number | bigint {
  return value >= -9007199254740991n && value <= 9007199254740991n ? Number(value) : value;
}

function parseFloatText(text: string): number {
  const t = text.trim().toLowerCase();
  if (t === "inf" || t === "infinity") return Infinity;
  if (t === "-inf" || t === "-infinity") return -Infinity;
  if (t === "nan" || t === "-nan") return NaN;
  const n = Number(t);
  if (t === "" || Number.isNaN(n)) throw malformed(`float ${JSON.stringify(text)}`);
  return n;
}

/** Python's raw-unicode-escape decoding (protocol 0 UNICODE). */
function rawUnicodeEscape(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x5c && (bytes[i + 1] === 0x75 || bytes[i + 1] === 0x55)) {
      const width = bytes[i + 1] === 0x75 ? 4 : 8;
      const hex = String.fromCharCode(...bytes.subarray(i + 2, i + 2 + width));
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== width) throw malformed("\\u escape");
      out += String.fromCodePoint(Number.parseInt(hex, 16));
      i += 1 + width;
    } else out += String.fromCharCode(b);
  }
  return out;
}

/** Python 2 `str` repr (protocol 0 STRING): quotes and backslash escapes. */
function pythonStringLiteral(text: string): string {
  const quote = text[0];
  if ((quote !== "'" && quote !== '"') || text.at(-1) !== quote || text.length < 2) {
    throw malformed("STRING without quotes");
  }
  const simple: Record<string, string> = {
    n: "\n",
    r: "\r",
    t: "\t",
    "\\": "\\",
    "'": "'",
    '"': '"',
  };
  return text.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e[0] === "x") return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(Number.parseInt(e, 8));
    return simple[e] ?? `\\${e}`;
  });
}

/**
 * Reads a pickle written by Python (protocols 0 to 5) into plain values: None → `null`,
 * bool → boolean, int → number (bigint beyond 2^53), float → number, str → string, bytes and
 * bytearray → `Uint8Array`, list and tuple → array, dict → a plain object when every key is a
 * str, else a `Map`, set and frozenset → `Set`. Shared and self-referencing containers stay
 * shared. Anything that would import or construct an object is an
 * {@link UnsafePickleError}, never run; other bad input a {@link PickleError}.
 *
 * @example
 * ```ts
 * import { unpickle } from "@kvwire/kvwire/memcache";
 * // pickle.dumps({"a": [1, 2.5, None]}, 2)
 * unpickle(Uint8Array.from([128, 2, 125, 113, 0, 88, 1, 0, 0, 0, 97, 113, 1, 93, 113, 2, 40, 75, 1, 71, 64, 4, 0, 0, 0, 0, 0, 0, 78, 101, 115, 46])); // { a: [1, 2.5, null] }
 * ```
 */
export function unpickle(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let at = 0;

  const need = (n: number): number => {
    if (n < 0 || at + n > bytes.length) throw malformed("truncated");
    const start = at;
    at += n;
    return start;
  };
  const u8 = (): number => bytes[need(1)];
  const u16 = (): number => view.getUint16(need(2), true);
  const u32 = (): number => view.getUint32(need(4), true);
  const u64 = (): number => {
    const n = view.getBigUint64(need(8), true);
    if (n > BigInt(bytes.length)) throw malformed("truncated");
    return Number(n);
  };
  const take = (n: number): Uint8Array => bytes.subarray(need(n), at);
  const line = (): string => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) throw malformed("truncated line");
    const text = latin1Text(bytes.subarray(at, end));
    at = end + 1;
    return text;
  };
  const lineBytes = (): Uint8Array => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) throw malformed("truncated line");
    const out = bytes.subarray(at, end);
    at = end + 1;
    return out;
  };
  const pop = (): unknown => {
    if (stack.length <= (marks.at(-1) ?? 0) && marks.length > 0) throw malformed("stack underflow");
    if (stack.length === 0) throw malformed("stack underflow");
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw malformed("stack underflow");
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const mark = marks.pop();
    if (mark === undefined) throw malformed("no MARK");
    return stack.splice(mark);
  };
  const memoGet = (index: number): void => {
    if (!memo.has(index)) throw malformed(`memo ${index} unset`);
    stack.push(memo.get(index));
  };
  const global = (name: string, opcode: string): void => {
    const normalized = name.replace(/^__builtin__\./, "builtins.");
    if (!(normalized in BUILDERS)) throw new UnsafePickleError(opcode, name);
    stack.push(new Builder(normalized));
  };
  const setItems = (dict: unknown, items: unknown[]): void => {
    if (!(dict instanceof PyDict) || items.length % 2 !== 0) throw malformed("SETITEMS");
    for (let i = 0; i < items.length; i += 2) dict.entries.push([items[i], items[i + 1]]);
  };
  const intLine = (text: string): number | bigint => {
    const t = text.replace(/L$/, "").trim();
    if (!/^[-+]?\d+$/.test(t)) throw malformed(`int ${JSON.stringify(text)}`);
    return int(BigInt(t));
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw malformed("protocol above 5");
        break;
      case 0x95: // FRAME
        need(8);
        break;
      case 0x2e: { // STOP
        if (stack.length !== 1 || marks.length !== 0) throw malformed("STOP with a bad stack");
        return finish(stack[0]);
      }
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x49: { // INT
        const text = line();
        stack.push(text === "01" ? true : text === "00" ? false : intLine(text));
        break;
      }
      case 0x4c: // LONG
        stack.push(intLine(line()));
        break;
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
      case 0x8b: { // LONG4
        const digits = take(op === 0x8a ? u8() : u32());
        let n = 0n;
        for (let i = digits.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(digits[i]);
        if (digits.length > 0 && digits[digits.length - 1] & 0x80) {
          n -= 1n << BigInt(digits.length * 8);
        }
        stack.push(int(n));
        break;
      }
      case 0x46: // FLOAT
        stack.push(parseFloatText(line()));
        break;
      case 0x47: // BINFLOAT
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x53: // STRING
        stack.push(pythonStringLiteral(line()));
        break;
      case 0x54: // BINSTRING
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1Text(take(op === 0x55 ? u8() : u32())));
        break;
      case 0x56: // UNICODE
        stack.push(rawUnicodeEscape(lineBytes()));
        break;
      case 0x58: // BINUNICODE
      case 0x8c: // SHORT_BINUNICODE
      case 0x8d: // BINUNICODE8
        stack.push(utf8Decode(take(op === 0x8c ? u8() : op === 0x58 ? u32() : u64())));
        break;
      case 0x42: // BINBYTES
      case 0x43: // SHORT_BINBYTES
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(take(op === 0x43 ? u8() : op === 0x42 ? u32() : u64()).slice());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new PySet([]));
        break;
      case 0x6c: // LIST
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: { // TUPLE3
        const n = op - 0x84;
        if (stack.length - (marks.at(-1) ?? 0) < n) throw malformed("stack underflow");
        stack.push(stack.splice(stack.length - n));
        break;
      }
      case 0x64: { // DICT
        const dict = new PyDict();
        setItems(dict, popMark());
        stack.push(dict);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new PySet(popMark()));
        break;
      case 0x61: { // APPEND
        const value = pop();
        const list = top();
        if (!Array.isArray(list)) throw malformed("APPEND to a non-list");
        list.push(value);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) throw malformed("APPENDS to a non-list");
        for (const item of items) list.push(item);
        break;
      }
      case 0x73: { // SETITEM
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x90: { // ADDITEMS
        const items = popMark();
        const set = top();
        if (!(set instanceof PySet)) throw malformed("ADDITEMS to a non-set");
        set.items.push(...items);
        break;
      }
      case 0x70: // PUT
        memo.set(Number(intLine(line())), top());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x67: // GET
        memoGet(Number(intLine(line())));
        break;
      case 0x68: // BINGET
        memoGet(u8());
        break;
      case 0x6a: // LONG_BINGET
        memoGet(u32());
        break;
      case 0x63: { // GLOBAL
        const module = line();
        global(`${module}.${line()}`, "GLOBAL");
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof name !== "string" || typeof module !== "string") {
          throw malformed("STACK_GLOBAL of non-strings");
        }
        global(`${module}.${name}`, "STACK_GLOBAL");
        break;
      }
      default: {
        if (op === 0x52) { // REDUCE, of an allowed builder only
          const args = pop();
          const callable = pop();
          if (callable instanceof Builder && Array.isArray(args)) {
            stack.push(BUILDERS[callable.name](args));
            break;
          }
        }
        if (op in UNSAFE) throw new UnsafePickleError(UNSAFE[op]);
        throw malformed(`unknown opcode 0x${op.toString(16)} at ${at - 1}`);
      }
    }
  }
}

// Writes plain values as Python pickles (protocol 0, python-memcached's default, or 1 to 5),
// byte for byte the opcodes CPython uses for them, so that Python's unpickler reads them back.

import { utf8Encode } from "../core/bytes.ts";
import { latin1Text } from "./pickle.ts";

/** A pickle protocol kvwire writes. */
export type PickleProtocol = 0 | 1 | 2 | 3 | 4 | 5;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Collects bytes. */
class Out {
  #chunks: number[] = [];
  #parts: Uint8Array[] = [];

  byte(...values: number[]): void {
    for (const v of values) this.#chunks.push(v);
  }

  ascii(text: string): void {
    for (let i = 0; i < text.length; i++) this.#chunks.push(text.charCodeAt(i));
  }

  bytes(data: Uint8Array): void {
    this.#flush();
    this.#parts.push(data);
  }

  u32(n: number): void {
    this.byte(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }

  done(): Uint8Array {
    this.#flush();
    const total = this.#parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const part of this.#parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  #flush(): void {
    if (this.#chunks.length > 0) this.#parts.push(Uint8Array.from(this.#chunks));
    this.#chunks = [];
  }
}

/** Protocol 0 text of a str: Python's raw-unicode-escape, with `\`, NUL, CR, LF, ^Z escaped. */
function rawUnicodeEscape(text: string): string {
  let out = "";
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c > 0xffff) out += `\\U${c.toString(16).padStart(8, "0")}`;
    else if (c > 0xff || c === 0x5c || c === 0 || c === 0x0a || c === 0x0d || c === 0x1a) {
      out += `\\u${c.toString(16).padStart(4, "0")}`;
    } else out += ch;
  }
  return out;
}

/** Two's complement little-endian, shortest form (LONG1's payload). */
function longBytes(n: bigint): number[] {
  if (n === 0n) return [];
  const out: number[] = [];
  let v = n;
  for (;;) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
    const sign = out[out.length - 1] & 0x80;
    if ((v === 0n && !sign) || (v === -1n && sign)) return out;
  }
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Writes a plain value as a pickle that Python's `pickle.loads` reads: `null` → None, booleans,
 * integral numbers and bigints → int, other numbers → float, strings → str, `Uint8Array` →
 * bytes, arrays → list (tuple as a dict key or set member), `Set` → set, `Map` and plain
 * objects → dict. Anything else (undefined,
 * functions, symbols, class instances, cycles) is a `TypeError`. Protocol 0 (python-memcached's
 * default `pickleProtocol`) unless told.
 *
 * @example
 * ```ts
 * import { pickle, unpickle } from "@kvwire/kvwire/memcache";
 * const bytes = pickle({ a: [1, 2.5, null] }, 2);
 * unpickle(bytes); // { a: [1, 2.5, null] }
 * ```
 */
export function pickle(value: unknown, protocol: PickleProtocol = 0): Uint8Array {
  if (!Number.isInteger(protocol) || protocol < 0 || protocol > 5) {
    throw new RangeError(`The pickle protocol (pickleProtocol) must be 0 to 5, got ${protocol}`);
  }
  const out = new Out();
  const binary = protocol >= 1;
  const open = new Set<object>();
  if (protocol >= 2) out.byte(0x80, protocol);

  const str = (text: string): void => {
    if (!binary) {
      out.byte(0x56); // UNICODE
      out.ascii(rawUnicodeEscape(text));
      out.byte(0x0a);
      return;
    }
    const data = utf8Encode(text);
    if (protocol >= 4 && data.length < 256) out.byte(0x8c, data.length); // SHORT_BINUNICODE
    else {
      out.byte(0x58); // BINUNICODE
      out.u32(data.length);
    }
    out.bytes(data);
  };
  const global = (module: string, name: string): void => {
    if (protocol >= 4) {
      str(module);
      str(name);
      out.byte(0x93); // STACK_GLOBAL
    } else {out.ascii(
        `c${protocol < 3 && module === "builtins" ? "__builtin__" : module}\n${name}\n`,
      );}
  };
  const integer = (n: bigint): void => {
    if (n >= INT32_MIN && n <= INT32_MAX) {
      const v = Number(n);
      if (!binary) out.ascii(`I${v}\n`);
      else if (v >= 0 && v < 256) out.byte(0x4b, v); // BININT1
      else if (v >= 0 && v < 65536) out.byte(0x4d, v & 0xff, v >> 8); // BININT2
      else {
        out.byte(0x4a); // BININT
        out.u32(v);
      }
    } else if (protocol >= 2) {
      const digits = longBytes(n);
      if (digits.length < 256) out.byte(0x8a, digits.length, ...digits); // LONG1
      else {
        out.byte(0x8b); // LONG4
        out.u32(digits.length);
        out.bytes(Uint8Array.from(digits));
      }
    } else out.ascii(`L${n}L\n`);
  };
  const float = (n: number): void => {
    if (binary) {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, n, false);
      out.byte(0x47, ...b); // BINFLOAT
    } else {
      const text = Number.isNaN(n)
        ? "nan"
        : n === Infinity
        ? "inf"
        : n === -Infinity
        ? "-inf"
        : Object.is(n, -0)
        ? "-0.0"
        : String(n);
      out.ascii(`F${text}\n`);
    }
  };
  const tuple = (items: (() => void)[]): void => {
    if (protocol >= 2 && items.length >= 1 && items.length <= 3) {
      for (const item of items) item();
      out.byte(0x84 + items.length); // TUPLE1..3
      return;
    }
    out.byte(0x28); // MARK
    for (const item of items) item();
    out.byte(0x74); // TUPLE
  };
  const bytes = (data: Uint8Array): void => {
    if (protocol >= 3) {
      if (data.length < 256) out.byte(0x43, data.length); // SHORT_BINBYTES
      else {
        out.byte(0x42); // BINBYTES
        out.u32(data.length);
      }
      out.bytes(data);
    } else if (data.length === 0) {
      global("builtins", "bytes");
      out.byte(0x29, 0x52); // EMPTY_TUPLE REDUCE
    } else {
      // What CPython writes before protocol 3: _codecs.encode(<latin-1 text>, "latin1").
      global("_codecs", "encode");
      tuple([() => str(latin1Text(data)), () => str("latin1")]);
      out.byte(0x52); // REDUCE
    }
  };
  const list = (items: readonly unknown[], hashable = false): void => {
    if (!binary) {
      out.byte(0x28, 0x6c); // MARK LIST
      for (const item of items) {
        write(item, hashable);
        out.byte(0x61); // APPEND
      }
      return;
    }
    out.byte(0x5d); // EMPTY_LIST
    if (items.length === 0) return;
    out.byte(0x28);
    for (const item of items) write(item, hashable);
    out.byte(0x65); // APPENDS
  };
  const dict = (entries: Iterable<[unknown, unknown]>): void => {
    if (!binary) {
      out.byte(0x28, 0x64); // MARK DICT
      for (const [k, v] of entries) {
        write(k, true);
        write(v);
        out.byte(0x73); // SETITEM
      }
      return;
    }
    out.byte(0x7d, 0x28); // EMPTY_DICT MARK
    for (const [k, v] of entries) {
      write(k, true);
      write(v);
    }
    out.byte(0x75); // SETITEMS
  };
  const set = (items: readonly unknown[]): void => {
    if (protocol >= 4) {
      out.byte(0x8f, 0x28); // EMPTY_SET MARK
      for (const item of items) write(item, true);
      out.byte(0x90); // ADDITEMS
      return;
    }
    global("builtins", "set");
    tuple([() => list(items, true)]);
    out.byte(0x52); // REDUCE
  };
  /** Writes a value; `hashable` (a dict key, a set member) writes arrays as tuples. */
  const write = (v: unknown, hashable = false): void => {
    if (v === null) out.byte(0x4e);
    else if (typeof v === "boolean") {
      if (protocol >= 2) out.byte(v ? 0x88 : 0x89);
      else out.ascii(v ? "I01\n" : "I00\n");
    } else if (typeof v === "bigint") integer(v);
    else if (typeof v === "number") {
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) integer(BigInt(v));
      else float(v);
    } else if (typeof v === "string") str(v);
    else if (v instanceof Uint8Array) bytes(v);
    else if (typeof v === "object") {
      if (open.has(v)) throw new TypeError("A pickled value must not contain itself");
      open.add(v);
      if (Array.isArray(v)) {
        if (hashable) tuple(v.map((item) => () => write(item, true)));
        else list(v);
      } else if (hashable) throw new TypeError("A dict key or set member must be hashable");
      else if (v instanceof Set) set([...v]);
      else if (v instanceof Map) dict(v.entries());
      else if (isPlainObject(v)) dict(Object.entries(v));
      else {throw new TypeError(
          `Can't pickle a ${v.constructor?.name ?? "object"}: plain data only`,
        );}
      open.delete(v);
    } else throw new TypeError(`Can't pickle a ${typeof v}: plain data only`);
  };
  write(value);
  out.byte(0x2e); // STOP
  return out.done();
}

// Encodes Redis commands the way clients send them: a RESP array of bulk strings.
// Specs: https://github.com/redis/redis-specifications/blob/master/protocol/RESP3.md and
// https://redis.io/docs/latest/develop/reference/protocol-spec/ (RESP2, "Sending commands").

import type { ByteWriter } from "../core/bytes.ts";

/**
 * One command argument. Strings are sent as UTF-8, bytes as they are, integers in decimal,
 * other numbers in their shortest round-trip form (`Infinity` as `+inf`), bigints in decimal.
 *
 * @example
 * ```ts
 * import type { RedisArg } from "@kvwire/kvwire/redis";
 * const args: RedisArg[] = ["SET", "key", new Uint8Array([1, 2]), "EX", 10];
 * ```
 */
export type RedisArg = string | Uint8Array | number | bigint;

const STAR = 0x2a;
const DOLLAR = 0x24;
const CR = 13;
const LF = 10;
const SHORT_STRING = 64; // below this, ASCII strings are copied by hand (no encodeInto call)
const KEEP_SCRATCH = 1024 * 1024;
const SMALL_COPY = 256; // finish() copies up to this many bytes with a loop // a larger scratch buffer is dropped after use

const utf8 = new TextEncoder();

/**
 * Encoded commands back to back, for a connection's outbound queue: commands are encoded
 * straight into it (no intermediate copy), `finish()` hands the bytes out.
 *
 * @example
 * ```ts
 * import { CommandBuffer, encodeCommandTo } from "@kvwire/kvwire/redis";
 * const out = new CommandBuffer();
 * encodeCommandTo(out, ["PING"]);
 * encodeCommandTo(out, ["GET", "k"]);
 * out.finish(); // both commands; the buffer is empty again
 * ```
 */
export class CommandBuffer {
  /** The storage; bytes [0, length) are the encoded commands. */
  bytes: Uint8Array;
  /** Bytes used. */
  length = 0;

  /** Creates an empty buffer with room for `capacity` bytes. */
  constructor(capacity = 4096) {
    this.bytes = new Uint8Array(Math.max(64, capacity));
  }

  /** Makes room for `extra` bytes after the first `used`; returns the (new) storage. */
  grow(used: number, extra: number): Uint8Array {
    let size = this.bytes.length * 2;
    while (size < used + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, used));
    this.bytes = next;
    return next;
  }

  /** The bytes written so far, as a view that is valid until the next write. */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  /** A copy of the bytes written, leaving the buffer empty. */
  finish(): Uint8Array {
    const n = this.length;
    const out = new Uint8Array(n);
    const bytes = this.bytes;
    if (n <= SMALL_COPY) { for (let i = 0; i < n; i++) out[i] = bytes[i]; // cheaper than a view
     } else out.set(bytes.subarray(0, n));
    this.length = 0;
    return out;
  }

  /** Drops the first `n` bytes (after they were handed out some other way). */
  discard(n: number): void {
    this.bytes.copyWithin(0, n, this.length);
    this.length -= n;
  }
}

const scratch = new CommandBuffer(4096);

/**
 * Encodes a command as `*N\r\n$len\r\narg\r\n...`. Throws `TypeError` on an empty command or
 * an argument of another type, `RangeError` on `NaN`, before encoding anything.
 *
 * @example
 * ```ts
 * import { encodeCommand } from "@kvwire/kvwire/redis";
 * new TextDecoder().decode(encodeCommand(["GET", "k"])); // "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
 * ```
 */
export function encodeCommand(args: readonly RedisArg[]): Uint8Array {
  encode(args, scratch);
  const out = scratch.finish();
  if (scratch.bytes.length > KEEP_SCRATCH) scratch.bytes = new Uint8Array(4096);
  return out;
}

/**
 * Appends the encoding of a command to a {@link CommandBuffer}, validating first: on
 * `TypeError` or `RangeError` the buffer is untouched.
 *
 * @example
 * ```ts
 * import { CommandBuffer, encodeCommandTo } from "@kvwire/kvwire/redis";
 * const out = new CommandBuffer();
 * encodeCommandTo(out, ["INCRBY", "n", 5]);
 * out.length; // 30
 * ```
 */
export function encodeCommandTo(out: CommandBuffer, args: readonly RedisArg[]): void {
  encode(args, out);
}

/**
 * Appends the encoding of a command to `writer` (see {@link encodeCommand}). All arguments
 * are checked first: on `TypeError` or `RangeError` the writer is untouched.
 *
 * @example
 * ```ts
 * import { ByteWriter } from "@kvwire/kvwire";
 * import { encodeCommandInto } from "@kvwire/kvwire/redis";
 * const w = new ByteWriter();
 * encodeCommandInto(w, ["PING"]);
 * encodeCommandInto(w, ["INCRBY", "n", 5]);
 * w.finish(); // both commands, ready to write
 * ```
 */
export function encodeCommandInto(writer: ByteWriter, args: readonly RedisArg[]): void {
  encode(args, scratch);
  writer.writeBytes(scratch.bytes.subarray(0, scratch.length));
  scratch.length = 0;
  if (scratch.bytes.length > KEEP_SCRATCH) scratch.bytes = new Uint8Array(4096);
}

/**
 * Appends the encoding of `args` to `out`. Arguments are checked as they are encoded; since
 * `out.length` moves only at the end, a bad argument leaves the buffer as it was.
 */
function encode(args: readonly RedisArg[], out: CommandBuffer): void {
  if (args.length === 0) validate(args);
  let p = out.length;
  let buf = p + 32 > out.bytes.length ? out.grow(p, 32) : out.bytes;
  buf[p] = STAR;
  p = writeDecimal(buf, p + 1, args.length);
  buf[p++] = CR;
  buf[p++] = LF;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg === "string") {
      const n = arg.length;
      if (n < SHORT_STRING) {
        // Optimistically copy as ASCII; fall through to encodeInto on the first other char.
        if (p + n + 32 > buf.length) buf = out.grow(p, n * 3 + 32);
        buf[p] = DOLLAR;
        let q = writeDecimal(buf, p + 1, n);
        buf[q++] = CR;
        buf[q++] = LF;
        let j = 0;
        for (; j < n; j++) {
          const c = arg.charCodeAt(j);
          if (c >= 0x80) break;
          buf[q + j] = c;
        }
        if (j === n) {
          q += n;
          buf[q++] = CR;
          buf[q++] = LF;
          p = q;
          continue;
        }
      }
      // Encode at the offset the largest possible length needs, then close any gap.
      const max = n * 3;
      if (p + max + 32 > buf.length) buf = out.grow(p, max + 32);
      const maxDigits = digitCount(max);
      const at = p + maxDigits + 3;
      const written = utf8.encodeInto(arg, buf.subarray(at)).written;
      const digits = digitCount(written);
      const start = p + digits + 3;
      if (start !== at) buf.copyWithin(start, at, at + written);
      buf[p] = DOLLAR;
      writeDecimal(buf, p + 1, written);
      buf[start - 2] = CR;
      buf[start - 1] = LF;
      p = start + written;
    } else if (arg instanceof Uint8Array) {
      const n = arg.length;
      if (p + n + 32 > buf.length) buf = out.grow(p, n + 32);
      buf[p] = DOLLAR;
      p = writeDecimal(buf, p + 1, n);
      buf[p++] = CR;
      buf[p++] = LF;
      buf.set(arg, p);
      p += n;
    } else {
      const type = typeof arg;
      if ((type !== "number" && type !== "bigint") || Number.isNaN(arg)) validate(args); // throws
      const text = type === "number" ? numberText(arg as number) : arg.toString();
      const n = text.length;
      if (p + n + 32 > buf.length) buf = out.grow(p, n + 32);
      buf[p] = DOLLAR;
      p = writeDecimal(buf, p + 1, n);
      buf[p++] = CR;
      buf[p++] = LF;
      for (let j = 0; j < n; j++) buf[p + j] = text.charCodeAt(j);
      p += n;
    }
    buf[p++] = CR;
    buf[p++] = LF;
  }
  out.length = p;
}

/**
 * Checks a command without encoding it: the same `TypeError`/`RangeError` that encoding
 * would throw (used by pipelines to fail at the call that passed a bad argument).
 *
 * @example
 * ```ts
 * import { validateCommand } from "@kvwire/kvwire/redis";
 * validateCommand(["SET", "k", 1]); // ok
 * ```
 */
export function validateCommand(args: readonly RedisArg[]): void {
  validate(args);
}

function validate(args: readonly RedisArg[]): void {
  if (args.length === 0) {
    throw new TypeError("A Redis command needs at least one argument (its name)");
  }
  for (let i = 0; i < args.length; i++) {
    const arg: unknown = args[i];
    const type = typeof arg;
    if (type === "string" || type === "bigint" || arg instanceof Uint8Array) continue;
    if (type === "number") {
      if (Number.isNaN(arg)) {
        throw new RangeError(`${argName(args, i)} is NaN, which Redis cannot represent`);
      }
      continue;
    }
    throw new TypeError(
      `${argName(args, i)} is ${describe(arg)}; expected string, Uint8Array, number or bigint`,
    );
  }
}

/** "Argument 2 of SET", or "The command name"; never quotes an argument's value. */
function argName(args: readonly RedisArg[], i: number): string {
  if (i === 0) return "The command name";
  const first: unknown = args[0];
  let name = "the command";
  if (typeof first === "string") name = first;
  else if (first instanceof Uint8Array) name = String.fromCharCode(...first.subarray(0, 32));
  if (name.length > 32) name = name.slice(0, 32) + "…";
  return `Argument ${i} of ${name}`;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  const type = typeof value;
  if (type !== "object") return type;
  const ctor = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof ctor === "string" && ctor !== "Object" ? `object (${ctor})` : "object";
}

/** Integers in plain decimal (never exponent form), others in shortest round-trip form. */
function numberText(n: number): string {
  if (Number.isInteger(n)) return Math.abs(n) < 1e21 ? String(n) : BigInt(n).toString();
  if (n === Infinity) return "+inf";
  if (n === -Infinity) return "-inf";
  return String(n);
}

function digitCount(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** Writes non-negative integer `n` in decimal at `p`; returns the index after it. */
function writeDecimal(buf: Uint8Array, p: number, n: number): number {
  if (n < 10) {
    buf[p] = 48 + n;
    return p + 1;
  }
  const end = p + digitCount(n);
  let q = end;
  do {
    buf[--q] = 48 + (n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  return end;
}

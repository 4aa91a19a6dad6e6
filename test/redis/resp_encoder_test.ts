// Tests of the RESP command encoder (src/redis/resp_encoder.ts): exact bytes, argument
// validation before anything is written (RESP2 spec, "Sending commands to a Redis server").

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ByteWriter } from "../../src/core/bytes.ts";
import { encodeCommand, encodeCommandInto, type RedisArg } from "../../src/redis/resp_encoder.ts";

const te = new TextEncoder();
const latin1 = (b: Uint8Array): string => Array.from(b, (x) => String.fromCharCode(x)).join("");

/** An independent reference: every argument to bytes, then `*N` and `$len` frames. */
function reference(args: readonly (string | Uint8Array)[]): Uint8Array {
  const parts: Uint8Array[] = [te.encode(`*${args.length}\r\n`)];
  for (const a of args) {
    const bytes = typeof a === "string" ? te.encode(a) : a;
    parts.push(te.encode(`$${bytes.length}\r\n`), bytes, te.encode("\r\n"));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

test("resp encoder: ASCII strings", () => {
  assert.equal(latin1(encodeCommand(["PING"])), "*1\r\n$4\r\nPING\r\n");
  assert.equal(
    latin1(encodeCommand(["SET", "key", "value"])),
    "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
  );
  assert.equal(latin1(encodeCommand(["SET", "", "x"])), "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$1\r\nx\r\n");
  const long = "k".repeat(1000);
  assert.equal(latin1(encodeCommand(["GET", long])), `*2\r\n$3\r\nGET\r\n$1000\r\n${long}\r\n`);
});

test("resp encoder: UTF-8 strings carry their byte length", () => {
  assert.deepStrictEqual(
    encodeCommand(["SET", "k€y", "héllo"]),
    te.encode("*3\r\n$3\r\nSET\r\n$5\r\nk€y\r\n$6\r\nhéllo\r\n"),
  );
  const cases = [
    "😀", // a surrogate pair: 4 bytes
    "a\uD800b", // a lone surrogate becomes U+FFFD: 3 bytes
    "x".repeat(70) + "é", // long, where the worst-case length has more digits than the real one
    "é".repeat(100),
    "€".repeat(40_000),
    "a".repeat(63) + "é",
    "é" + "a".repeat(63),
  ];
  for (const s of cases) {
    assert.deepStrictEqual(encodeCommand(["SET", s, s]), reference(["SET", s, s]), s.slice(0, 20));
  }
});

test("resp encoder: binary arguments are copied byte for byte", () => {
  const bin = new Uint8Array([0, 13, 10, 255, 36]);
  assert.deepStrictEqual(encodeCommand(["SET", bin, bin]), reference(["SET", bin, bin]));
  const big = new Uint8Array(300_000).map((_, i) => i & 255);
  assert.deepStrictEqual(encodeCommand(["SET", "k", big]), reference(["SET", "k", big]));
  // After a large command the scratch space shrinks again; small commands still encode right.
  assert.equal(latin1(encodeCommand(["GET", "k"])), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
});

test("resp encoder: numbers and bigints", () => {
  const cases: [number | bigint, string][] = [
    [0, "0"],
    [-0, "0"],
    [42, "42"],
    [-1, "-1"],
    [1.5, "1.5"],
    [-0.25, "-0.25"],
    [0.1, "0.1"],
    [1e-7, "1e-7"],
    [1e21, "1000000000000000000000"],
    [2 ** 53, "9007199254740992"],
    [Infinity, "+inf"],
    [-Infinity, "-inf"],
    [12345678901234567890n, "12345678901234567890"],
    [-5n, "-5"],
  ];
  for (const [n, text] of cases) {
    assert.equal(
      latin1(encodeCommand(["ZADD", n])),
      `*2\r\n$4\r\nZADD\r\n$${text.length}\r\n${text}\r\n`,
      String(n),
    );
  }
});

test("resp encoder: every other argument type is a TypeError naming position and type", () => {
  const expected = "expected string, Uint8Array, number or bigint";
  const cases: [unknown, string][] = [
    [true, "boolean"],
    [null, "null"],
    [undefined, "undefined"],
    [{}, "object"],
    [["a"], "an array"],
    [Symbol("s"), "symbol"],
    [() => 1, "function"],
    [new Date(0), "object (Date)"],
    [new Uint16Array(2), "object (Uint16Array)"],
  ];
  for (const [bad, type] of cases) {
    assert.throws(
      () => encodeCommand(["SET", "k", bad as RedisArg]),
      (e: unknown) => {
        assert.ok(e instanceof TypeError);
        assert.equal(e.message, `Argument 2 of SET is ${type}; ${expected}`);
        return true;
      },
    );
  }
  assert.throws(() => encodeCommand([null as unknown as RedisArg]), {
    name: "TypeError",
    message: `The command name is null; ${expected}`,
  });
  assert.throws(() => encodeCommand([te.encode("GET"), false as unknown as RedisArg]), {
    name: "TypeError",
    message: `Argument 1 of GET is boolean; ${expected}`,
  });
});

test("resp encoder: an empty command is a TypeError", () => {
  assert.throws(() => encodeCommand([]), { name: "TypeError", message: /at least one argument/ });
});

test("resp encoder: NaN is a RangeError", () => {
  assert.throws(() => encodeCommand(["INCRBYFLOAT", "k", NaN]), {
    name: "RangeError",
    message: "Argument 2 of INCRBYFLOAT is NaN, which Redis cannot represent",
  });
});

test("resp encoder: encodeCommandInto appends and leaves the writer untouched on error", () => {
  const w = new ByteWriter(16);
  w.writeAscii("abc");
  encodeCommandInto(w, ["PING"]);
  encodeCommandInto(w, ["INCRBY", "n", 5]);
  const before = w.length;
  const long = "v".repeat(100_000);
  assert.throws(
    () => encodeCommandInto(w, ["SET", long, long, true as unknown as RedisArg]),
    TypeError,
  );
  assert.throws(() => encodeCommandInto(w, ["SET", long, NaN]), RangeError);
  assert.throws(() => encodeCommandInto(w, []), TypeError);
  assert.equal(w.length, before);
  assert.equal(
    latin1(w.finish()),
    "abc*1\r\n$4\r\nPING\r\n*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$1\r\n5\r\n",
  );
});

test("resp encoder: property: strings and bytes match the reference encoder", () => {
  const arg = fc.oneof(
    fc.string({ unit: "binary", maxLength: 80 }),
    fc.string({ unit: "grapheme-ascii", maxLength: 80 }),
    fc.uint8Array({ maxLength: 80 }),
  );
  fc.assert(
    fc.property(fc.array(arg, { minLength: 1, maxLength: 6 }), (args) => {
      const want = reference(args);
      assert.deepStrictEqual(encodeCommand(args), want);
      const w = new ByteWriter(16);
      encodeCommandInto(w, args);
      assert.deepStrictEqual(w.finish(), want);
    }),
    { numRuns: 300 },
  );
});

test("resp encoder: property: numbers round-trip through their text", () => {
  fc.assert(
    fc.property(fc.oneof(fc.double({ noNaN: true }), fc.integer(), fc.bigInt()), (n) => {
      const bytes = encodeCommand(["X", n]);
      const text = latin1(bytes).split("\r\n")[4];
      if (typeof n === "bigint") assert.equal(BigInt(text), n);
      else if (Math.abs(n) === Infinity) assert.equal(text, n > 0 ? "+inf" : "-inf");
      else {
        assert.equal(Number(text), n === 0 ? 0 : n);
        if (Number.isInteger(n)) assert.match(text, /^-?\d+$/);
      }
    }),
    { numRuns: 300 },
  );
});

// StructFormat against CPython's struct module (vectors printed by python3 on x86-64 Linux):
// native mode ("@" or no prefix: native sizes and alignment) and half floats ("e").
import { test } from "node:test";
import assert from "node:assert/strict";
import { StructFormat, StructPayloadType, TuplePayloadType } from "../../src/tstorage/mod.ts";
import { hex, toHex } from "./_vectors.ts";

test("struct format: native mode sizes and alignment match CPython (LP64)", () => {
  const sizes: [string, number][] = [
    ["ih", 6],
    ["hi", 8],
    ["iq", 16],
    ["bq", 16],
    ["?d", 16],
    ["ce", 4],
    ["il", 16],
    ["lL", 16],
    ["hP", 16],
    ["n", 8],
    ["3sI", 8],
    ["ih0l", 8],
    ["xH", 4],
    ["2h2i", 12],
    ["ei", 8],
    ["@hi", 8],
  ];
  for (const [format, size] of sizes) assert.equal(new StructFormat(format).size, size, format);
});

test("struct format: native packing matches CPython byte for byte", () => {
  assert.equal(toHex(new StructFormat("ih0l").pack([1, 2])), "0100000002000000");
  assert.equal(toHex(new StructFormat("hi").pack([-1, 7])), "ffff000007000000");
  assert.equal(
    toHex(new StructFormat("bqe").pack([-3, 2n ** 40n, 1.5])),
    "fd000000000000000000000000010000003e",
  );
  assert.equal(
    toHex(new StructFormat("lL").pack([-5n, 2n ** 63n])),
    "fbffffffffffffff0000000000000080",
  );
  assert.deepEqual(new StructFormat("lL").unpack(hex("fbffffffffffffff0000000000000080")), [
    -5n,
    2n ** 63n,
  ]);
  // The vendor client's StructPayloadType("i") and TuplePayloadType("hi") take native formats.
  assert.equal(new StructPayloadType<number>("i").fromBytes(hex("2a000000")), 42);
  assert.deepEqual(new TuplePayloadType("hi").fromBytes(hex("ffff000007000000")), [-1, 7]);
  assert.throws(() => new StructFormat("<n"), /outside native mode/);
  assert.throws(() => new StructFormat("<P"), /outside native mode/);
});

test("struct format: half floats pack and unpack as CPython's 'e'", () => {
  const e = new StructFormat("<e");
  const vectors: [number, string, number][] = [
    [0, "0000", 0],
    [-0, "0080", -0],
    [1, "003c", 1],
    [-2.5, "00c1", -2.5],
    [1.5, "003e", 1.5],
    [65504, "ff7b", 65504],
    [65519.99, "ff7b", 65504],
    [6.1e-05, "ff03", 6.097555160522461e-05],
    [5.96e-08, "0100", 5.960464477539063e-08],
    [2.98e-08, "0000", 0],
    [2.9802322387695312e-08, "0000", 0], // exactly half the smallest subnormal: to even (0)
    [1e-08, "0000", 0],
    [0.1, "662e", 0.0999755859375],
    [3.14159, "4842", 3.140625],
    [1 / 3, "5535", 0.333251953125],
    [1024.5, "0064", 1024], // a tie: to even
    [2049, "0068", 2048],
    [2051, "0268", 2052],
    [Infinity, "007c", Infinity],
    [-Infinity, "00fc", -Infinity],
  ];
  for (const [value, bytes, back] of vectors) {
    assert.equal(toHex(e.pack([value])), bytes, `pack ${value}`);
    assert.ok(Object.is(e.unpackFirst(hex(bytes)), back), `unpack ${bytes}`);
  }
  assert.equal(toHex(e.pack([NaN])), "007e");
  assert.ok(Number.isNaN(e.unpackFirst(hex("007e"))));
  assert.equal(toHex(new StructFormat(">e").pack([1.5])), "3e00");
  assert.throws(() => e.pack([65520]), /too large for a half float/);
  assert.throws(() => e.pack(["1" as unknown as number]), TypeError);
});

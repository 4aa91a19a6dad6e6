// Tests of the safe pickle codec (src/memcache/pickle.ts, pickle_writer.ts) and the serializer
// option (python_values.ts): refused opcodes, malformed input, shared and cyclic containers
// (bytes from CPython's pickle), and the writer's refusals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RemoteProtocolError } from "../../src/core/errors.ts";
import { MemcacheClient } from "../../src/memcache/client.ts";
import { PickleError, unpickle, UnsafePickleError } from "../../src/memcache/pickle.ts";
import { pickle } from "../../src/memcache/pickle_writer.ts";
import { pythonSerializer, resolveSerializer } from "../../src/memcache/python_values.ts";
import { defaultSerializer, ValueCodec, ValueFlags } from "../../src/memcache/values.ts";

const bytes = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

test("unpickle: every opcode that imports or constructs is refused by name", () => {
  const cases: [string, string, string | undefined][] = [
    ["GLOBAL", "cos\nsystem\n(S'id'\ntR.", "os.system"],
    ["STACK_GLOBAL", "\x80\x04\x8c\x02os\x8c\x06system\x93.", "os.system"],
    ["REDUCE", "N)R.", undefined],
    ["BUILD", "}}b.", undefined],
    ["INST", "(i__main__\nPoint\n.", undefined],
    ["OBJ", "(N)o.", undefined],
    ["NEWOBJ", "\x80\x02N)\x81.", undefined],
    ["NEWOBJ_EX", "\x80\x04N)}\x92.", undefined],
    ["EXT1", "\x80\x02\x82\x01.", undefined],
    ["EXT2", "\x80\x02\x83\x01\x00.", undefined],
    ["EXT4", "\x80\x02\x84\x01\x00\x00\x00.", undefined],
    ["PERSID", "P1\n.", undefined],
    ["BINPERSID", "NQ.", undefined],
    ["NEXT_BUFFER", "\x80\x05\x97.", undefined],
  ];
  for (const [opcode, pickled, global] of cases) {
    assert.throws(() => unpickle(bytes(pickled)), (e: unknown) => {
      assert.ok(e instanceof UnsafePickleError && e instanceof RemoteProtocolError, opcode);
      if (global) assert.equal(e.global, global, opcode);
      else assert.equal(e.opcode, opcode);
      return true;
    }, opcode);
  }
  // An allowed builder's name alone (no REDUCE) is still no value.
  assert.throws(() => unpickle(bytes("c__builtin__\nset\n.")), UnsafePickleError);
});

test("unpickle: malformed input is a PickleError", () => {
  for (
    const bad of [
      "",
      "\x80\x06N.",
      "N",
      "K",
      "(N.",
      "NN.",
      "\xff.",
      "I12x\n.",
      "h\x05.",
      "X\xff\x00\x00\x00ab.",
    ]
  ) {
    assert.throws(
      () => unpickle(bytes(bad)),
      (e: unknown) => e instanceof PickleError && !(e instanceof UnsafePickleError),
      JSON.stringify(bad),
    );
  }
});

test("unpickle: shared and self-referencing containers stay shared (CPython's bytes)", () => {
  const loop = unpickle(Uint8Array.from([128, 2, 93, 113, 0, 104, 0, 97, 46])) as unknown[];
  assert.equal(loop[0], loop);
  const d = unpickle(
    Uint8Array.from([
      40,
      100,
      112,
      48,
      10,
      86,
      115,
      101,
      108,
      102,
      10,
      112,
      49,
      10,
      103,
      48,
      10,
      115,
      46,
    ]),
  ) as Record<string, unknown>;
  assert.equal(d.self, d);
  const shared = unpickle(
    Uint8Array.from([
      128,
      4,
      149,
      12,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      93,
      148,
      40,
      93,
      148,
      75,
      1,
      97,
      104,
      1,
      101,
      46,
    ]),
  ) as unknown[][];
  assert.deepEqual(shared, [[1], [1]]);
  assert.equal(shared[0], shared[1]);
  // A "__proto__" dict key is an own property, not the prototype.
  const own = unpickle(pickle({ ["__proto__"]: 1 } as object, 2)) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(own), Object.prototype);
});

test("pickle: refuses what is not plain data, and protocols outside 0..5", () => {
  class Point {}
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  for (
    const bad of [
      undefined,
      () => 1,
      Symbol("s"),
      new Point(),
      new Date(0),
      cyclic,
      new Set<unknown>([[1]]).add({}),
    ]
  ) {
    assert.throws(() => pickle(bad), TypeError);
  }
  assert.throws(
    () => pickle(1, 6 as 5),
    (e: Error) => e instanceof RangeError && /pickleProtocol/.test(e.message),
  );
  assert.deepEqual(unpickle(pickle([1, [2]], 3)), [1, [2]]);
});

test("serializer option: names, custom objects, refusals; python flags", () => {
  assert.equal(resolveSerializer(undefined), defaultSerializer);
  assert.equal(resolveSerializer("kvwire"), defaultSerializer);
  const custom = {
    serialize: () => ({ value: new Uint8Array(0), flags: 0 }),
    deserialize: () => 1,
  };
  assert.equal(resolveSerializer(custom), custom);
  for (const bad of ["json", {}, null]) {
    assert.throws(() => new MemcacheClient({ serializer: bad as "python" }), TypeError);
  }
  assert.throws(
    () => new MemcacheClient({ serializer: "python", pickleProtocol: 9 as 5 }),
    RangeError,
  );
  const python = pythonSerializer();
  assert.equal(python.serialize("s").flags, ValueFlags.Text);
  assert.equal(python.serialize(new Uint8Array(1)).flags, ValueFlags.Bytes);
  assert.equal(python.serialize(7).flags, ValueFlags.Integer);
  assert.equal(python.serialize(7n).flags, ValueFlags.Long);
  for (const v of [1.5, true, null, [1], { a: 1 }, -0]) {
    const { value, flags } = python.serialize(v);
    assert.equal(flags, ValueFlags.Pickle, String(v));
    assert.deepEqual(python.deserialize(value, flags), v);
  }
  // kvwire's own JSON values stay readable while a fleet moves over.
  const json = defaultSerializer.serialize({ a: 1 });
  assert.deepEqual(python.deserialize(json.value, json.flags), { a: 1 });
});

test("compressor option: a custom compressor packs and inflates values (flag 8)", async () => {
  const calls: string[] = [];
  const halve = {
    compress: (b: Uint8Array) => (calls.push("compress"), b.subarray(0, b.length / 2)),
    decompress: (b: Uint8Array) => (calls.push("decompress"), Uint8Array.from([...b, ...b])),
  };
  const codec = new ValueCodec(defaultSerializer, 10, 1 << 20, halve);
  const stored = await codec.encode("k", "ab".repeat(10));
  assert.equal(stored.flags, ValueFlags.Text | ValueFlags.Compressed);
  assert.equal(stored.value.length, 10);
  assert.equal(await codec.decode(stored), "ab".repeat(10));
  assert.deepEqual(calls, ["compress", "decompress"]);
});

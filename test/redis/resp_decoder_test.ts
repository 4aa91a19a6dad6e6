// Tests of the RESP2/RESP3 reply decoder (src/redis/resp_decoder.ts): fixtures at every split
// point, limits, malformed input, and fast-check properties (RESP3.md, RESP2 protocol spec).

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { RemoteProtocolError } from "../../src/core/errors.ts";
import { RedisError } from "../../src/redis/errors.ts";
import { NEED_MORE, RespDecoder, type RespDecoderOptions } from "../../src/redis/resp_decoder.ts";
import {
  RespMap,
  RespPush,
  RespSet,
  type RespValue,
  RespVerbatim,
} from "../../src/redis/resp_types.ts";

type Reply = RespValue | RespPush;
const te = new TextEncoder();
const enc = (s: string): Uint8Array => te.encode(s);
const hex = (b: Uint8Array): string =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** A plain, runtime-neutral picture of a value (classes become tagged objects). */
function norm(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: hex(v) };
  if (Array.isArray(v)) return v.map(norm);
  if (v instanceof RespMap) return { map: v.entries.map(([k, x]) => [norm(k), norm(x)]) };
  if (v instanceof RespSet) return { set: v.items.map(norm) };
  if (v instanceof RespPush) return { push: v.items.map(norm) };
  if (v instanceof RespVerbatim) return { verbatim: v.format, text: hex(v.text) };
  if (v instanceof RedisError) return { error: v.message, code: v.serverCode };
  assert.ok(v === null || typeof v !== "object", `unexpected object ${String(v)}`);
  return v;
}

interface Decoded {
  values: Reply[];
  attributes: RespMap[];
}

/** Feeds the chunks, draining after each; then finish(). */
function decode(chunks: Uint8Array[], options: RespDecoderOptions = {}, text = false): Decoded {
  const attributes: RespMap[] = [];
  const d = new RespDecoder({ ...options, onAttribute: (m) => attributes.push(m) });
  d.bulkText = text;
  const values: Reply[] = [];
  for (const chunk of chunks) {
    d.push(chunk);
    for (let v = d.next(); v !== NEED_MORE; v = d.next()) values.push(v);
  }
  d.finish();
  return { values, attributes };
}

/** Whole, byte by byte, and in two chunks at every split point. */
function chunkings(bytes: Uint8Array): [string, Uint8Array[]][] {
  const out: [string, Uint8Array[]][] = [["whole", [bytes]]];
  out.push(["byte by byte", Array.from(bytes, (_, i) => bytes.subarray(i, i + 1))]);
  for (let i = 1; i < bytes.length; i++) {
    out.push([`split at ${i}`, [bytes.subarray(0, i), bytes.subarray(i)]]);
  }
  return out;
}

const B = (...xs: number[]): Uint8Array => new Uint8Array(xs);
const err = (m: string): RedisError => new RedisError(m);

const FIXTURES: [string, string | Uint8Array, Reply[], RespMap[]?][] = [
  ["simple string", "+OK\r\n", ["OK"]],
  ["empty simple string", "+\r\n", [""]],
  ["UTF-8 simple string", "+héllo wörld €\r\n", ["héllo wörld €"]],
  ["simple error", "-ERR unknown command 'foo'\r\n", [err("ERR unknown command 'foo'")]],
  ["WRONGTYPE error", "-WRONGTYPE Operation against a key\r\n", [
    err("WRONGTYPE Operation against a key"),
  ]],
  ["integers", ":0\r\n:-42\r\n:1000\r\n:-0\r\n", [0, -42, 1000, 0]],
  ["safe integer edge", ":9007199254740991\r\n:-9007199254740991\r\n", [
    2 ** 53 - 1,
    -(2 ** 53 - 1),
  ]],
  ["integer past safe range", ":9007199254740992\r\n", [9007199254740992n]],
  ["int64 edges", ":9223372036854775807\r\n:-9223372036854775808\r\n", [
    2n ** 63n - 1n,
    -(2n ** 63n),
  ]],
  ["bulk string", "$5\r\nhello\r\n", [enc("hello")]],
  ["empty bulk string", "$0\r\n\r\n", [new Uint8Array(0)]],
  ["binary bulk with CRLF inside", B(36, 52, 13, 10, 0, 13, 10, 255, 13, 10), [B(0, 13, 10, 255)]],
  ["RESP3 null", "_\r\n", [null]],
  ["RESP2 null bulk", "$-1\r\n", [null]],
  ["RESP2 null array", "*-1\r\n", [null]],
  ["booleans", "#t\r\n#f\r\n", [true, false]],
  ["doubles", ",1.5\r\n,-0\r\n,1e10\r\n,-2.5E-3\r\n,10\r\n", [1.5, -0, 1e10, -2.5e-3, 10]],
  ["double infinities and nan", ",inf\r\n,-inf\r\n,nan\r\n", [Infinity, -Infinity, NaN]],
  ["big number", "(3492890328409238509324850943850943825024385\r\n", [
    3492890328409238509324850943850943825024385n,
  ]],
  ["negative big number", "(-3492890328409238509324850943850943825024385\r\n", [
    -3492890328409238509324850943850943825024385n,
  ]],
  ["bulk error", "!21\r\nSYNTAX invalid syntax\r\n", [err("SYNTAX invalid syntax")]],
  ["verbatim string", "=15\r\ntxt:Some string\r\n", [new RespVerbatim("txt", enc("Some string"))]],
  ["array", "*3\r\n:1\r\n:2\r\n:3\r\n", [[1, 2, 3]]],
  ["empty array", "*0\r\n", [[]]],
  ["nested arrays", "*3\r\n*3\r\n:1\r\n$1\r\na\r\n_\r\n*1\r\n*0\r\n+x\r\n", [
    [[1, enc("a"), null], [[]], "x"],
  ]],
  ["map", "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", [new RespMap([["first", 1], ["second", 2]])]],
  ["empty map", "%0\r\n", [new RespMap([])]],
  ["map with aggregate keys", "%2\r\n*2\r\n:1\r\n:2\r\n~1\r\n+x\r\n%1\r\n+k\r\n+v\r\n#t\r\n", [
    new RespMap([[[1, 2], new RespSet(["x"])], [new RespMap([["k", "v"]]), true]]),
  ]],
  ["set", "~3\r\n+a\r\n:1\r\n#f\r\n", [new RespSet(["a", 1, false])]],
  ["push", ">3\r\n+message\r\n+chan\r\n$2\r\nhi\r\n", [
    new RespPush(["message", "chan", enc("hi")]),
  ]],
  ["empty push", ">0\r\n", [new RespPush([])]],
  [
    "attribute before a reply",
    "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
    [[2039123, 9543892]],
    [new RespMap([["key-popularity", new RespMap([[enc("a"), 0.1923], [enc("b"), 0.0012]])]])],
  ],
  ["attribute inside an array", "*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n:2\r\n", [[1, 2]], [
    new RespMap([["ttl", 3600]]),
  ]],
  ["empty attribute", "|0\r\n+OK\r\n", ["OK"], [new RespMap([])]],
  ["several replies in one chunk", "+OK\r\n:1\r\n$-1\r\n*1\r\n+x\r\n>1\r\n+p\r\n", [
    "OK",
    1,
    null,
    ["x"],
    new RespPush(["p"]),
  ]],
];

for (const [name, wire, expected, attrs = []] of FIXTURES) {
  test(`resp decoder: ${name}, whole, byte by byte and at every split point`, () => {
    const bytes = typeof wire === "string" ? enc(wire) : wire;
    for (const [how, chunks] of chunkings(bytes)) {
      const got = decode(chunks);
      assert.deepStrictEqual(norm(got.values), norm(expected), how);
      assert.deepStrictEqual(norm(got.attributes), norm(attrs), how);
    }
  });
}

test("resp decoder: bulk strings are zero-copy views of the received chunk", () => {
  const chunk = enc("*2\r\n$3\r\nfoo\r\n$3\r\nbar\r\n");
  const d = new RespDecoder();
  d.push(chunk);
  const v = d.next() as Uint8Array[];
  assert.equal(v[0].buffer, chunk.buffer);
  assert.equal(v[1].byteOffset, 17);
  assert.equal(d.bufferedBytes, 0);
});

test("resp decoder: NEED_MORE is distinct from null and bufferedBytes tracks partial input", () => {
  const d = new RespDecoder();
  assert.equal(d.next(), NEED_MORE);
  d.push(enc("_\r\n$5\r\nhel"));
  assert.equal(d.next(), null);
  assert.equal(d.next(), NEED_MORE);
  assert.equal(d.bufferedBytes, 3); // the header is consumed, the partial payload is kept
  d.push(enc("lo\r\n"));
  assert.deepStrictEqual(norm(d.next()), { bytes: hex(enc("hello")) });
  d.finish();
});

test("resp decoder: RespMap.get compares string and bytes keys by content", () => {
  const d = new RespDecoder();
  d.push(enc("%3\r\n$6\r\nserver\r\n+redis\r\n+proto\r\n:3\r\n*0\r\n:0\r\n"));
  const m = d.next() as RespMap;
  assert.equal(m.get("server"), "redis");
  assert.equal(m.get("proto"), 3);
  assert.equal(m.get("missing"), undefined);
  assert.equal(m.size, 3);
});

test("resp decoder: a 1,000,000-element array in 64 KiB chunks is consumed as it arrives", () => {
  const n = 1_000_000;
  const bytes = enc(`*${n}\r\n` + ":7\r\n".repeat(n));
  const d = new RespDecoder();
  let result: Reply | typeof NEED_MORE = NEED_MORE;
  for (let i = 0; i < bytes.length; i += 65536) {
    assert.equal(result, NEED_MORE);
    d.push(bytes.subarray(i, i + 65536));
    result = d.next();
    assert.ok(d.bufferedBytes < 4, `${d.bufferedBytes} bytes left buffered`);
  }
  assert.ok(Array.isArray(result));
  assert.equal(result.length, n);
  assert.equal(result[n - 1], 7);
  d.finish();
});

function assertRemoteError(fn: () => unknown, pattern?: RegExp): RemoteProtocolError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RemoteProtocolError, `expected RemoteProtocolError, got ${e}`);
    if (pattern) assert.match(e.message, pattern);
    return e;
  }
  assert.fail("expected a RemoteProtocolError");
}

/** Pushes `wire` (in the given chunks) and drains; the decoder must throw. */
function assertFails(chunks: Uint8Array[], options?: RespDecoderOptions, pattern?: RegExp) {
  const d = new RespDecoder(options);
  const error = assertRemoteError(() => {
    for (const c of chunks) {
      d.push(c);
      while (d.next() !== NEED_MORE);
    }
    d.finish();
  }, pattern);
  return { d, error };
}

test("resp decoder: bulk, bulk error and verbatim lengths over maxBulkLength fail before the payload", () => {
  for (const t of ["$", "!", "="]) {
    const { d } = assertFails(
      [enc(`${t}11\r\n`)],
      { maxBulkLength: 10 },
      /11 exceeds the limit 10/,
    );
    assert.equal(d.bufferedBytes, 0);
  }
  assert.deepStrictEqual(
    decode([enc("$10\r\n0123456789\r\n")], { maxBulkLength: 10 }).values.length,
    1,
  );
  const big = assertFails([enc("$536870913\r\n")]).d; // the default is 512 MiB
  assert.equal(big.bufferedBytes, 0);
  assertFails([enc("$-2\r\n")], {}, /Invalid RESP bulk length -2/);
  assertFails([enc("!-1\r\n")]);
  assertFails([enc("*3\r\n")], { maxAggregateLength: 2 }, /aggregate length 3/);
  assertFails([enc("%-1\r\n")]);
});

test("resp decoder: nesting deeper than maxDepth fails", () => {
  const nest = (n: number): Uint8Array => enc("*1\r\n".repeat(n) + ":1\r\n");
  assert.equal(decode([nest(3)], { maxDepth: 3 }).values.length, 1);
  assertFails([nest(4)], { maxDepth: 3 }, /maxDepth 3/);
  assert.equal(decode([nest(64)]).values.length, 1);
  assertFails([nest(65)], {}, /maxDepth 64/);
  assertFails([enc("%1\r\n".repeat(65))], {}, /maxDepth 64/);
});

test("resp decoder: a line without CRLF fails once over the limit, without buffering more", () => {
  const d = new RespDecoder();
  d.push(enc("+"));
  const chunk = enc("a".repeat(1024));
  let pushed = 0;
  const error = assertRemoteError(() => {
    for (;;) {
      d.push(chunk);
      pushed++;
      assert.equal(d.next(), NEED_MORE);
    }
  }, /Invalid RESP line \(longer than 65536 bytes\): "\+a{39}"…/);
  assert.equal(pushed, 65);
  assert.equal(d.bufferedBytes, 0);
  assert.equal(error, assertRemoteError(() => d.next()));
  for (const t of ["+", "-", ",", "("]) {
    assertFails([enc(t + "1".repeat(9) + "\r\n")], { maxLineLength: 8 });
    assertFails(Array.from(enc(t + "1".repeat(9)), (b) => B(b)), { maxLineLength: 8 });
  }
  assertFails([enc(":" + "1".repeat(30))], {}, /Invalid RESP integer/); // no CRLF needed
});

const MALFORMED: [string, string | Uint8Array, RegExp][] = [
  ["unknown type byte", "@foo\r\n", /Unknown RESP type byte 0x40/],
  ["integer with a letter", ":12a\r\n", /Invalid RESP integer line: ":12a"/],
  ["empty integer", ":\r\n", /Invalid RESP integer/],
  ["integer with a plus", ":+5\r\n", /Invalid RESP integer/],
  ["integer with a space", ": 5\r\n", /Invalid RESP integer/],
  ["lone minus", ":-\r\n", /Invalid RESP integer/],
  ["integer over int64", ":9223372036854775808\r\n", /Invalid RESP integer/],
  ["integer of 21 digits", ":123456789012345678901\r\n", /Invalid RESP integer/],
  ["bulk length with a letter", "$1x\r\na\r\n", /Invalid RESP integer line: "\$1x"/],
  ["bad bulk trailer", "$3\r\nabcX\r\n", /RESP bulk of 3 bytes lacks its CRLF/],
  ["CR without LF in a line", "+OK\rX\r\n", /Invalid RESP line \(CR without LF\)/],
  ["CR without LF in an integer", ":1\rX", /Invalid RESP line \(CR without LF\)/],
  ["nested push", "*1\r\n>1\r\n+x\r\n", /push frame nested/],
  ["push as a map value", "%1\r\n+k\r\n>0\r\n", /push frame nested/],
  ["bad boolean", "#x\r\n", /Invalid RESP boolean/],
  ["empty boolean", "#\r\n", /Invalid RESP boolean/],
  ["bad null", "_x\r\n", /Invalid RESP null/],
  ["bad double", ",abc\r\n", /Invalid RESP double: "abc"/],
  ["bad big number", "(12a\r\n", /Invalid RESP big number/],
  ["verbatim without format", "=3\r\nabc\r\n", /fmt:/],
];

for (const [name, wire, pattern] of MALFORMED) {
  test(`resp decoder: malformed input fails, whole and byte by byte: ${name}`, () => {
    const bytes = typeof wire === "string" ? enc(wire) : wire;
    for (const [, chunks] of chunkings(bytes).slice(0, 2)) {
      const { d, error } = assertFails(chunks, {}, pattern);
      assert.equal(assertRemoteError(() => d.next()), error, "stays failed with the same error");
      d.push(enc("+OK\r\n"));
      assert.equal(assertRemoteError(() => d.next()), error);
      assert.equal(assertRemoteError(() => d.finish()), error);
      assert.equal(d.bufferedBytes, 0);
    }
  });
}

test("resp decoder: finish() fails on a partial reply and passes between replies", () => {
  const closed = /Connection closed in the middle of a reply/;
  for (const wire of ["$5\r\nhel", "*2\r\n:1\r\n", "+OK", "|1\r\n+a\r\n:1\r\n", "%1\r\n+k\r\n"]) {
    const d = new RespDecoder();
    d.push(enc(wire));
    while (d.next() !== NEED_MORE);
    const error = assertRemoteError(() => d.finish(), closed);
    assert.equal(assertRemoteError(() => d.next()), error);
  }
  const d = new RespDecoder();
  d.finish();
  d.push(enc("+OK\r\n"));
  assert.equal(d.next(), "OK");
  d.finish();
});

// ---- Properties -------------------------------------------------------------------------

/** Feeds chunks and drains; only values, NEED_MORE or RemoteProtocolError may come out. */
function feedTolerant(bytes: Uint8Array, cuts: number[], options: RespDecoderOptions): void {
  const d = new RespDecoder({ ...options, onAttribute: () => {} });
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  try {
    for (const p of [...points, bytes.length]) {
      d.push(bytes.subarray(prev, p));
      prev = p;
      while (d.next() !== NEED_MORE) assert.ok(d.bufferedBytes <= bytes.length);
      assert.ok(d.bufferedBytes <= bytes.length);
    }
    d.finish();
  } catch (e) {
    if (!(e instanceof RemoteProtocolError)) throw e;
  }
}

const RESP_BYTES = [..."+-:$*_#,(!=%~>|\r\n0123456789-tf.einfa"].map((c) => c.charCodeAt(0));
const cutsArb = fc.array(fc.nat(), { maxLength: 8 });

test("resp decoder: property: random bytes give values or RemoteProtocolError only", () => {
  const byte = fc.oneof(fc.constantFrom(...RESP_BYTES), fc.integer({ min: 0, max: 255 }));
  const opts = fc.constantFrom<RespDecoderOptions>({}, {
    maxBulkLength: 8,
    maxDepth: 2,
    maxLineLength: 6,
    maxAggregateLength: 3,
  });
  fc.assert(
    fc.property(fc.array(byte, { maxLength: 120 }), cutsArb, opts, (xs, cuts, o) => {
      feedTolerant(new Uint8Array(xs), cuts, o);
    }),
    { numRuns: 400 },
  );
});

// Generated replies: each carries its own wire bytes, written by this tiny independent RESP3
// serializer, with the value and the attributes the decoder must produce from them.
interface Gen {
  wire: Uint8Array[];
  value: Reply;
  attrs: RespMap[];
}
const L = (s: string): Uint8Array => enc(s + "\r\n");
const gen = (wire: Uint8Array[], value: Reply): Gen => ({ wire, value, attrs: [] });
const bulkWire = (t: string, b: Uint8Array): Uint8Array[] => [L(t + b.length), b, L("")];
const doubleText = (v: number): string =>
  Number.isNaN(v)
    ? "nan"
    : Object.is(v, -0)
    ? "-0"
    : Math.abs(v) === Infinity
    ? (v > 0 ? "inf" : "-inf")
    : String(v);
const SAFE = 2n ** 53n - 1n;

/** An aggregate of `count` (pairs for `%` and `|`) from `parts`, in wire order. */
function agg(t: string, count: number, parts: Gen[], value: (vs: RespValue[]) => Reply): Gen {
  const wire = [L(t + count), ...parts.flatMap((p) => p.wire)];
  return {
    wire,
    value: value(parts.map((p) => p.value as RespValue)),
    attrs: parts.flatMap((p) => p.attrs),
  };
}

function entries(flat: RespValue[]): [RespValue, RespValue][] {
  return flat.flatMap((k, i) => (i % 2 ? [] : [[k, flat[i + 1]] as [RespValue, RespValue]]));
}

const line = fc.string({ unit: "grapheme", maxLength: 12 }).filter((s) => !/[\r\n]/.test(s));
const leaf: fc.Arbitrary<Gen> = fc.oneof(
  line.map((v) => gen([L("+" + v)], v)),
  line.map((v) => gen([L("-" + v)], new RedisError(v))),
  fc.string({ unit: "grapheme", maxLength: 12 }).map((v) =>
    gen(bulkWire("!", enc(v)), new RedisError(v))
  ),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
    .map((v) => gen([L(":" + v)], v >= -SAFE && v <= SAFE ? Number(v) : v)),
  fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }).map((v) => gen([L("(" + v)], v)),
  fc.uint8Array({ maxLength: 16 }).map((v) => gen(bulkWire("$", v), v)),
  fc.tuple(fc.constantFrom("txt", "mkd"), fc.uint8Array({ maxLength: 8 })).map(([f, v]) =>
    gen(bulkWire("=", new Uint8Array([...enc(f + ":"), ...v])), new RespVerbatim(f, v))
  ),
  fc.constantFrom("_", "$-1", "*-1").map((t) => gen([L(t)], null)),
  fc.boolean().map((v) => gen([L(v ? "#t" : "#f")], v)),
  fc.double().map((v) => gen([L("," + doubleText(v))], v)),
);
const { model } = fc.letrec<{ model: Gen }>((tie) => ({
  model: fc.oneof(
    { depthSize: "small", maxDepth: 4 },
    leaf,
    fc.array(tie("model"), { maxLength: 4 }).map((ps) => agg("*", ps.length, ps, (vs) => vs)),
    fc.array(tie("model"), { maxLength: 3 })
      .map((ps) => agg("~", ps.length, ps, (vs) => new RespSet(vs))),
    fc.array(fc.tuple(tie("model"), tie("model")), { maxLength: 3 })
      .map((es) => agg("%", es.length, es.flat(), (vs) => new RespMap(entries(vs)))),
    fc.tuple(fc.array(fc.tuple(leaf, tie("model")), { maxLength: 2 }), tie("model"))
      .map(([es, then]) => {
        const attr = agg("|", es.length, es.flat(), (vs) => new RespMap(entries(vs)));
        const attrs = [...attr.attrs, attr.value as RespMap, ...then.attrs];
        return { wire: [...attr.wire, ...then.wire], value: then.value, attrs };
      }),
  ),
}));
const topLevel: fc.Arbitrary<Gen> = fc.oneof(
  { weight: 4, arbitrary: model },
  {
    weight: 1,
    arbitrary: fc.array(model, { maxLength: 3 })
      .map((ps) => agg(">", ps.length, ps, (vs) => new RespPush(vs))),
  },
);

function wireOf(gens: Gen[]): Uint8Array {
  const parts = gens.flatMap((g) => g.wire);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

test("resp decoder: property: generated values survive serialization and random chunking", () => {
  fc.assert(
    fc.property(fc.array(topLevel, { minLength: 1, maxLength: 3 }), cutsArb, (gens, cuts) => {
      const bytes = wireOf(gens);
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const chunks = [0, ...points].map((p, i, all) =>
        bytes.subarray(p, all[i + 1] ?? bytes.length)
      );
      const got = decode(chunks);
      assert.deepStrictEqual(norm(got.values), norm(gens.map((g) => g.value)));
      assert.deepStrictEqual(norm(got.attributes), norm(gens.flatMap((g) => g.attrs)));
    }),
    { numRuns: 300 },
  );
});

/** What `bulkText` should make of a value: bulk strings decoded, except inside push frames. */
function textified(v: Reply): Reply {
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (Array.isArray(v)) return v.map(textified) as RespValue;
  if (v instanceof RespMap) {
    return new RespMap(
      v.entries.map(([k, x]) => [textified(k), textified(x)] as [RespValue, RespValue]),
    );
  }
  if (v instanceof RespSet) return new RespSet(v.items.map(textified) as RespValue[]);
  return v; // pushes keep bytes; verbatim strings, errors and scalars are unchanged
}

test("resp decoder: property: bulkText decodes bulk strings as TextDecoder does, pushes keep bytes", () => {
  fc.assert(
    fc.property(fc.array(topLevel, { minLength: 1, maxLength: 3 }), cutsArb, (gens, cuts) => {
      const bytes = wireOf(gens);
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const chunks = [0, ...points].map((p, i, all) =>
        bytes.subarray(p, all[i + 1] ?? bytes.length)
      );
      const got = decode(chunks, {}, true);
      assert.deepStrictEqual(norm(got.values), norm(gens.map((g) => textified(g.value))));
    }),
    { numRuns: 300 },
  );
});

test("resp decoder: bulkText on a UTF-8 batch in one chunk and split inside a character", () => {
  const values = ["héllo", "plain", "€uro", "", "x".repeat(2000), "日本"];
  const wire = enc(values.map((v) => `$${enc(v).length}\r\n${v}\r\n`).join(""));
  for (
    const [how, chunks] of [["whole", [wire]], ["split", [
      wire.subarray(0, 6),
      wire.subarray(6),
    ]]] as const
  ) {
    assert.deepStrictEqual(decode([...chunks], {}, true).values, values, how);
  }
});

test("resp decoder: property: mutated valid frames give values or RemoteProtocolError only", () => {
  const mutation = fc.tuple(fc.constantFrom("flip", "insert", "delete"), fc.nat(), fc.nat(255));
  fc.assert(
    fc.property(
      fc.array(topLevel, { minLength: 1, maxLength: 3 }),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      cutsArb,
      (gens, mutations, cuts) => {
        const bytes = [...wireOf(gens)];
        for (const [kind, at, b] of mutations) {
          const i = at % (bytes.length + 1);
          if (kind === "insert") bytes.splice(i, 0, b);
          else if (i < bytes.length) {
            if (kind === "delete") bytes.splice(i, 1);
            else bytes[i] = RESP_BYTES[b % RESP_BYTES.length];
          }
        }
        feedTolerant(new Uint8Array(bytes), cuts, {});
      },
    ),
    { numRuns: 400 },
  );
});

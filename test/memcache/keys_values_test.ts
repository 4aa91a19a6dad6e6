// Tests of memcache key validation (src/memcache/keys.ts), base64 for binary keys, server list
// parsing, and the value codec with python-memcached's flags and zlib compression.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseServers } from "../../src/memcache/client_options.ts";
import { base64Decode, base64Encode, encodeKey, isTextSafe } from "../../src/memcache/keys.ts";
import { compress, decompress, defaultSerializer, ValueFlags } from "../../src/memcache/values.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

test("keys: strings, numbers and bigints become UTF-8 bytes, with the prefix", () => {
  assert.deepEqual(encodeKey("user:42"), enc("user:42"));
  assert.deepEqual(encodeKey(42, "numkeys_"), enc("numkeys_42"));
  assert.deepEqual(encodeKey(2n ** 70n), enc(String(2n ** 70n)));
  assert.deepEqual(encodeKey("clé"), enc("clé"));
  assert.deepEqual(encodeKey(new Uint8Array([1, 2]), "p"), new Uint8Array([0x70, 1, 2]));
});

test("keys: whitespace and control characters are a TypeError naming the key", () => {
  for (
    const key of [
      "has space",
      "tab\there",
      "line\nbreak",
      "cr\r",
      "nul\0",
      "del\x7f",
      "nbsp\u00a0",
      "c1\u0085",
    ]
  ) {
    assert.throws(() => encodeKey(key), (e: unknown) => {
      return e instanceof TypeError && e.message.includes(JSON.stringify(key).slice(0, 8));
    }, JSON.stringify(key));
  }
  assert.throws(() => encodeKey("ok", "bad prefix "), TypeError);
  assert.throws(() => encodeKey(null as never), /must be a string, number, bigint or Uint8Array/);
  assert.throws(() => encodeKey(NaN), TypeError);
});

test("keys: empty or over 250 bytes is a RangeError naming the key", () => {
  assert.throws(() => encodeKey(""), RangeError);
  assert.deepEqual(encodeKey("k".repeat(250)).length, 250);
  assert.throws(
    () => encodeKey("k".repeat(251)),
    (e: unknown) =>
      e instanceof RangeError &&
      /"k{57}\.\.\." is 251 bytes long; the limit is 250/.test(e.message),
  );
  assert.throws(() => encodeKey("é".repeat(126)), /252 bytes/, "bytes, not characters");
  assert.throws(() => encodeKey("x", "p".repeat(250)), RangeError, "the prefix counts");
  assert.throws(() => encodeKey("abc", "", 2), RangeError);
});

test("keys: text safety and base64 round trips", () => {
  assert.equal(isTextSafe(enc("a:b/c-1")), true);
  assert.equal(isTextSafe(enc("a b")), false);
  assert.equal(isTextSafe(new Uint8Array([0x80, 0xff])), true);
  assert.equal(base64Encode(enc("")), "");
  assert.equal(base64Encode(enc("f")), "Zg==");
  assert.equal(base64Encode(enc("fo")), "Zm8=");
  assert.equal(base64Encode(enc("foo")), "Zm9v");
  assert.deepEqual(base64Decode("Zm9vYg"), enc("foob"), "padding is optional");
  assert.equal(base64Decode("*"), undefined);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    const text = base64Encode(bytes);
    assert.equal(text, btoa(String.fromCharCode(...bytes)));
    assert.deepEqual(base64Decode(text), bytes);
  }));
});

test("servers: host:port, IPv6, unix sockets, weights; duplicates refused", () => {
  const specs = parseServers(["cache-1", "cache-2:11212", "[::1]:11213", "unix:/tmp/mc.sock", [
    "10.0.0.1:11211",
    3,
  ], { host: "h", port: 1, weight: 2 }]);
  assert.deepEqual(specs.map((s) => [s.label, s.weight]), [
    ["cache-1:11211", 1],
    ["cache-2:11212", 1],
    ["[::1]:11213", 1],
    ["/tmp/mc.sock", 1],
    ["10.0.0.1:11211", 3],
    ["h:1", 2],
  ]);
  assert.deepEqual(parseServers(["a:1", 2]).map((s) => s.weight), [2], "one python tuple");
  assert.deepEqual(parseServers(undefined).map((s) => s.label), ["127.0.0.1:11211"]);
  assert.throws(() => parseServers(["a", "a:11211"]), /listed twice/);
  assert.throws(() => parseServers(["a:0"]), TypeError);
  assert.throws(() => parseServers([["a", 0]]), RangeError);
  assert.throws(() => parseServers([]), RangeError);
});

test("values: python-memcached's flags for bytes, text, int and long; JSON for the rest", () => {
  const cases: [unknown, number, string][] = [
    [new Uint8Array([0, 255]), ValueFlags.Bytes, "\0\xff"],
    ["héllo", ValueFlags.Text, "héllo"],
    [42, ValueFlags.Integer, "42"],
    [-7, ValueFlags.Integer, "-7"],
    [2n ** 64n, ValueFlags.Long, "18446744073709551616"],
    [{ a: [1, "x"] }, ValueFlags.Json, '{"a":[1,"x"]}'],
    [1.5, ValueFlags.Json, "1.5"],
    [true, ValueFlags.Json, "true"],
    [null, ValueFlags.Json, "null"],
  ];
  for (const [value, flags, text] of cases) {
    const encoded = defaultSerializer.serialize(value);
    assert.equal(encoded.flags, flags, String(value));
    if (!(value instanceof Uint8Array)) assert.equal(new TextDecoder().decode(encoded.value), text);
    assert.deepEqual(defaultSerializer.deserialize(encoded.value, encoded.flags), value);
  }
  assert.throws(() => defaultSerializer.serialize(undefined), TypeError);
  assert.throws(() => defaultSerializer.serialize(() => 1), TypeError);
  // A pickle (flag 1) or unknown flags come back as bytes.
  assert.deepEqual(defaultSerializer.deserialize(enc("x"), ValueFlags.Pickle), enc("x"));
  assert.deepEqual(defaultSerializer.deserialize(enc("x"), 1 << 20), enc("x"));
  assert.equal(
    defaultSerializer.deserialize(enc("12345678901234567890"), 2),
    12345678901234567890n,
  );
});

test("values: zlib compression round trips and reads python's zlib.compress output", async () => {
  const text = enc("memcache ".repeat(500));
  const packed = await compress(text);
  assert.ok(packed.length < text.length / 10, `compressed to ${packed.length}`);
  assert.equal(packed[0], 0x78, "zlib header (RFC 1950)");
  assert.deepEqual(await decompress(packed), text);
  // zlib.compress(b"hello") in Python.
  const python = Uint8Array.from([
    0x78,
    0x9c,
    0xcb,
    0x48,
    0xcd,
    0xc9,
    0xc9,
    0x07,
    0x00,
    0x06,
    0x2c,
    0x02,
    0x15,
  ]);
  assert.deepEqual(await decompress(python), enc("hello"));
  await assert.rejects(decompress(enc("not zlib")));
});

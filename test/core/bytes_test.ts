// Tests for src/core/bytes.ts: UTF-8, concat, search, big-endian integers, varints, ByteWriter.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  asciiDecode,
  bytesEqual,
  ByteWriter,
  concatBytes,
  decodeVarint,
  indexOfBytes,
  readBigInt64BE,
  readBigUint64BE,
  readInt32BE,
  readUint16BE,
  readUint32BE,
  utf8Decode,
  utf8Encode,
} from "../../src/core/bytes.ts";

test("bytes: utf8 round trip and ascii decode", () => {
  assert.deepEqual(utf8Encode("hé"), new Uint8Array([104, 195, 169]));
  assert.equal(utf8Decode(utf8Encode("日本 ✓")), "日本 ✓");
  assert.equal(asciiDecode(new Uint8Array([79, 75])), "OK");
  assert.equal(asciiDecode(utf8Encode("x".repeat(100))), "x".repeat(100));
});

test("bytes: concat and equality", () => {
  const joined = concatBytes([new Uint8Array([1]), new Uint8Array(), new Uint8Array([2, 3])]);
  assert.deepEqual(joined, new Uint8Array([1, 2, 3]));
  assert.ok(bytesEqual(joined, new Uint8Array([1, 2, 3])));
  assert.ok(!bytesEqual(joined, new Uint8Array([1, 2, 4])));
  assert.ok(!bytesEqual(joined, new Uint8Array([1, 2])));
});

test("bytes: indexOfBytes agrees with a naive search", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 64 }).map((a) => a.map((b) => b % 3)),
      fc.uint8Array({ minLength: 1, maxLength: 4 }).map((a) => a.map((b) => b % 3)),
      fc.nat(70),
      (hay, needle, from) => {
        let expected = -1;
        for (let i = from; i + needle.length <= hay.length; i++) {
          if (bytesEqual(hay.subarray(i, i + needle.length), needle)) {
            expected = i;
            break;
          }
        }
        assert.equal(indexOfBytes(hay, needle, from), expected);
      },
    ),
  );
});

test("bytes: big-endian readers match DataView", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (b) => {
      const view = new DataView(b.buffer);
      assert.equal(readUint16BE(b, 0), view.getUint16(0));
      assert.equal(readUint32BE(b, 0), view.getUint32(0));
      assert.equal(readInt32BE(b, 0), view.getInt32(0));
      assert.equal(readBigUint64BE(b, 0), view.getBigUint64(0));
      assert.equal(readBigInt64BE(b, 0), view.getBigInt64(0));
    }),
  );
});

test("bytes: varint round trip, truncation and overlong input", () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (value) => {
      const bytes = new ByteWriter().writeVarint(value).finish();
      assert.deepEqual(decodeVarint(bytes, 0), { value, length: bytes.length });
      assert.equal(decodeVarint(bytes.subarray(0, bytes.length - 1), 0), undefined);
    }),
  );
  assert.deepEqual(decodeVarint(new Uint8Array([0xac, 0x02]), 0), { value: 300n, length: 2 });
  assert.throws(() => decodeVarint(new Uint8Array(11).fill(0x80), 0), RangeError);
});

test("bytes: ByteWriter grows and writes every integer width", () => {
  const w = new ByteWriter(1);
  w.writeUint8(1).writeUint16BE(0x0203).writeUint32BE(0x04050607).writeInt32BE(-1);
  w.writeBigInt64BE(-2n).writeFloat64BE(1.5).writeAscii("ok").writeUtf8("é");
  w.writeBytes(new Uint8Array(1000).fill(9));
  assert.equal(w.length, 1 + 2 + 4 + 4 + 8 + 8 + 2 + 2 + 1000);
  const out = w.finish();
  const view = new DataView(out.buffer);
  assert.equal(view.getUint8(0), 1);
  assert.equal(view.getUint16(1), 0x0203);
  assert.equal(view.getUint32(3), 0x04050607);
  assert.equal(view.getInt32(7), -1);
  assert.equal(view.getBigInt64(11), -2n);
  assert.equal(view.getFloat64(19), 1.5);
  assert.equal(utf8Decode(out.subarray(27, 31)), "oké");
  assert.equal(out[out.length - 1], 9);
  assert.equal(w.length, 0, "finish resets the writer");
  w.writeUint32BE(0).setUint32BE(0, 7);
  assert.deepEqual(w.finish(), new Uint8Array([0, 0, 0, 7]));
});

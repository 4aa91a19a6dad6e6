// Keys (shared/protocols/tstorage.md §1.3, §2): defaults, validity, ranges, the four wire
// layouts, fromBytes, lexicographic order versus the server's per-field range rule.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Key, KeyLimits, keySize } from "../../src/tstorage/record.ts";
import { toHex } from "./_vectors.ts";

test("tstorage key: every field defaults to −1, which is not valid", () => {
  const key = new Key();
  assert.deepEqual([key.cid, key.mid, key.moid, key.cap, key.acq], [-1, -1n, -1, -1n, -1n]);
  assert.equal(key.valid(), false);
  assert.equal(new Key(0).valid(), true);
});

test("tstorage key: min and max cover everything storable", () => {
  const { INT32_MIN, INT32_MAX, INT64_MIN, INT64_MAX } = KeyLimits;
  assert.deepEqual(Key.min(), new Key(0, INT64_MIN, INT32_MIN, INT64_MIN, INT64_MIN));
  assert.deepEqual(Key.max(), new Key(INT32_MAX, INT64_MAX, INT32_MAX, INT64_MAX, INT64_MAX));
  assert.ok(Key.min().valid() && Key.max().valid());
  assert.ok(Key.min().inRange(Key.min(), Key.max()));
  assert.equal(Key.max().inRange(Key.min(), Key.max()), false, "upper bounds are strict");
});

test("tstorage key: validity checks cid ≥ 0 and every field's range", () => {
  assert.equal(new Key(-1, 0n, 0, 0n, 0n).valid(), false);
  assert.equal(new Key(2 ** 31, 0n, 0, 0n, 0n).valid(), false);
  assert.equal(new Key(0, 2n ** 63n, 0, 0n, 0n).valid(), false);
  assert.equal(new Key(0, 0n, -(2 ** 31) - 1, 0n, 0n).valid(), false);
  assert.equal(new Key(0, 0n, 0, -(2n ** 63n) - 1n, 0n).valid(), false);
  assert.equal(new Key(0, 0n, 0, 0n, 2n ** 63n).valid(), false);
  assert.equal(new Key(0.5, 0n, 0, 0n, 0n).valid(), false);
  assert.match(new Key(-1).problem() ?? "", /cid -1/);
});

test("tstorage key: 64-bit fields accept safe numbers and refuse unsafe ones", () => {
  assert.equal(new Key(1, 2, 3, 4, 5).mid, 2n);
  assert.throws(() => new Key(1, 2 ** 60), RangeError);
  assert.throws(() => new Key(1, 0, 0, 0.5), RangeError);
});

test("tstorage key: the four layouts drop the leading cid and/or the trailing acq", () => {
  const key = new Key(1, 2n, 3, 4n, 5n);
  const full = "01000000" + "0200000000000000" + "03000000" + "0400000000000000" +
    "0500000000000000";
  assert.equal(toHex(key.toBytes()), full);
  assert.equal(toHex(key.toBytes({ withCid: true, withAcq: false })), full.slice(0, 48));
  assert.equal(toHex(key.toBytes({ withCid: false, withAcq: true })), full.slice(8));
  assert.equal(toHex(key.toBytes({ withCid: false, withAcq: false })), full.slice(8, 48));
  assert.deepEqual(
    [
      keySize(),
      keySize({ withAcq: false }),
      keySize({ withCid: false }),
      keySize({ withCid: false, withAcq: false }),
    ],
    [32, 24, 28, 20],
  );
  assert.equal(Key.bytesCount(), 32);
  assert.throws(() => new Key(1, 2n ** 64n).toBytes(), RangeError);
});

test("tstorage key: fromBytes needs 32 bytes and a cid ≥ 0", () => {
  const key = new Key(7, -2n, -3, 4n, -5n);
  const bytes = key.toBytes();
  assert.ok(Key.fromBytes(bytes)?.equals(key));
  const padded = new Uint8Array(40);
  padded.set(bytes, 8);
  assert.ok(Key.fromBytes(padded, 8)?.equals(key));
  assert.equal(Key.fromBytes(bytes.subarray(0, 31)), undefined);
  assert.equal(Key.fromBytes(padded, 9), undefined);
  assert.equal(Key.fromBytes(new Key(-1, 0n, 0, 0n, 0n).toBytes()), undefined);
});

test("tstorage key: order is lexicographic, range membership is per field", () => {
  const keys = [new Key(1, 5n, 0, 0n, 0n), new Key(0, 9n, 9, 9n, 9n), new Key(1, 2n, 7, 0n, 0n)];
  assert.deepEqual(keys.sort(Key.compare).map(String), [
    "Key(0, 9, 9, 9, 9)",
    "Key(1, 2, 7, 0, 0)",
    "Key(1, 5, 0, 0, 0)",
  ]);
  // Lexicographically between min and max, but mid is outside [0, 5): not in the box.
  const min = new Key(0, 0n, 0, 0n, 0n);
  const max = new Key(2, 5n, 5, 5n, 5n);
  assert.equal(new Key(0, 9n, 0, 0n, 0n).inRange(min, max), false);
  assert.equal(new Key(1, 4n, 4, 4n, 4n).inRange(min, max), true);
  assert.equal(new Key(1, 4n, 5, 4n, 4n).inRange(min, max), false);
});

test("tstorage key: with() copies with replaced fields, of() takes names", () => {
  const key = Key.of({ cid: 1, mid: 2n, moid: 3, cap: 4n });
  assert.equal(key.acq, -1n);
  const stamped = key.with({ acq: 99n });
  assert.equal(String(stamped), "Key(1, 2, 3, 4, 99)");
  assert.equal(key.equals(stamped), false);
  assert.equal(key.compare(stamped), -1);
});

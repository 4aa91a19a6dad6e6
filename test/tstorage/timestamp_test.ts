// Timestamps (shared/protocols/tstorage.md §2; tstorage_client.timestamp): the 2001 epoch in
// seconds and nanoseconds, the spec's examples, and instants before 1970 round-tripping.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  fromUnix,
  fromUnixNs,
  now,
  nowNs,
  toUnix,
  toUnixNs,
  TSTORAGE_EPOCH_UNIX_NS,
  TStorageDateTime,
} from "../../src/tstorage/timestamp.ts";

test("tstorage timestamp: the epoch is 2001-01-01T00:00:00Z", () => {
  assert.equal(new Date(toUnix(0) * 1000).toISOString(), "2001-01-01T00:00:00.000Z");
  assert.equal(TSTORAGE_EPOCH_UNIX_NS, 978_307_200_000_000_000n);
  assert.equal(fromUnix(978_307_200.25), 0.25);
  assert.equal(toUnix(10n), 978_307_210n);
  assert.equal(fromUnix(978_307_210n), 10n);
  assert.equal(TStorageDateTime.fromTStorageNs(1n).toISOString(), "2001-01-01T00:00:00.000000001Z");
});

test("tstorage timestamp: the spec's examples", () => {
  assert.equal(fromUnixNs(1_500_000_000_123_456_789n), 521_692_800_123_456_789n);
  assert.equal(toUnixNs(521_692_800_123_456_789n), 1_500_000_000_123_456_789n);
  const t = TStorageDateTime.fromTStorageNs(521_692_800_123_456_789n);
  assert.equal(t.toISOString(), "2017-07-14T02:40:00.123456789Z");
  assert.equal(t.date.toISOString(), "2017-07-14T02:40:00.123Z");
  assert.equal(t.nanoseconds, 456_789);
  const aug = TStorageDateTime.fromDate(new Date("2016-08-09T12:34:00Z"));
  assert.equal(aug.toTStorageNs(), 492_438_840_000_000_000n);
});

test("tstorage timestamp: instants before 1970 round-trip exactly (unlike the reference client)", () => {
  for (const ns of [-1n, -999_999_999n, -1_000_000_001n, -86_400_000_000_000_123n]) {
    const t = TStorageDateTime.fromUnixNs(ns);
    assert.equal(t.toUnixNs(), ns);
    assert.ok(t.nanoseconds >= 0 && t.nanoseconds < 1_000_000);
    assert.equal(TStorageDateTime.fromDate(t.date, t.nanoseconds).toUnixNs(), ns);
  }
  const minusOne = TStorageDateTime.fromUnixNs(-1n);
  assert.equal(minusOne.toISOString(), "1969-12-31T23:59:59.999999999Z");
  assert.equal(minusOne.toUnix(), -1e-9);
  // The int64 range of TStorage nanoseconds: about 1709 to 2293.
  assert.match(TStorageDateTime.fromTStorageNs(-(2n ** 63n)).toISOString(), /^1708-/);
  assert.match(TStorageDateTime.fromTStorageNs(2n ** 63n - 1n).toISOString(), /^2293-/);
});

test("tstorage timestamp: seconds with fractions convert to the nearest nanosecond", () => {
  assert.equal(TStorageDateTime.fromUnix(1.5).toUnixNs(), 1_500_000_000n);
  assert.equal(TStorageDateTime.fromUnix(-0.25).toUnixNs(), -250_000_000n);
  assert.equal(
    TStorageDateTime.fromTStorage(0.5).toUnixNs(),
    TSTORAGE_EPOCH_UNIX_NS + 500_000_000n,
  );
  assert.equal(TStorageDateTime.fromTStorage(0.5).toTStorage(), 0.5);
  assert.throws(() => TStorageDateTime.fromUnix(NaN), RangeError);
  assert.throws(() => TStorageDateTime.fromDate(new Date(0), 1_000_000), RangeError);
});

test("tstorage timestamp: now() and nowNs() agree with the wall clock", () => {
  const before = BigInt(Date.now()) * 1_000_000n;
  const ns = nowNs();
  const s = now();
  const after = BigInt(Date.now()) * 1_000_000n;
  assert.ok(toUnixNs(ns) >= before && toUnixNs(ns) <= after);
  assert.ok(Math.abs(toUnix(s) * 1000 - Date.now()) < 1000);
  const a = TStorageDateTime.now();
  assert.ok(a.compare(TStorageDateTime.fromUnixNs(before)) >= 0);
  assert.ok(a.equals(TStorageDateTime.fromUnixNs(a.toUnixNs())));
});

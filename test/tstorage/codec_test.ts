// Request encoding against the byte vectors of shared/protocols/tstorage.md §4 (V1-V5): PUT,
// PUTA, cid grouping, batch limits, invalid records (skipped and reported, never on the wire).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Command,
  encodeGetRequest,
  encodeHeader,
  encodePutRequest,
  MAX_PAYLOAD_SIZE,
} from "../../src/tstorage/codec.ts";
import { BytesPayloadType, StructPayloadType } from "../../src/tstorage/payload.ts";
import { Key, type TStorageRecord } from "../../src/tstorage/record.ts";
import {
  cat,
  hex,
  toHex,
  V1_PUT,
  V2_PUTA,
  V3_EMPTY_PUT,
  V3_PUT_GROUPED,
  V4_CID1_BATCH,
  V4_CID2_BATCH,
  V5_GET,
  V5_GET_ACQ,
  V5_GET_MIN_MAX,
} from "./_vectors.ts";

const bytes = new BytesPayloadType();
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const rec = (key: Key, value: string): TStorageRecord<Uint8Array> => ({ key, value: text(value) });

test("tstorage codec V1: PUT Key(1,2,3,4) 'abc' is 51 bytes, batch length 27", () => {
  const put = encodePutRequest([rec(new Key(1, 2n, 3, 4n), "abc")], bytes, { withAcq: false });
  assert.equal(toHex(put.bytes), toHex(V1_PUT));
  assert.equal(put.bytes.length, 51);
  assert.deepEqual(put.batches, [{ cid: 1, length: 27 }]);
  assert.equal(put.written, 1);
});

test("tstorage codec V2: PUTA Key(1,2,3,4,5) 'abc' sends the acq (59 bytes)", () => {
  const put = encodePutRequest([rec(new Key(1, 2n, 3, 4n, 5n), "abc")], bytes, { withAcq: true });
  assert.equal(toHex(put.bytes), toHex(V2_PUTA));
});

test("tstorage codec V3: records are grouped by cid in order of first appearance", () => {
  const put = encodePutRequest(
    [
      rec(new Key(7, 1n, 1, 10n), "x"),
      rec(new Key(3, 2n, 2, 20n), "yy"),
      rec(new Key(7, 3n, 3, 30n), ""),
    ],
    bytes,
    { withAcq: false },
  );
  assert.equal(toHex(put.bytes), toHex(V3_PUT_GROUPED));
  assert.deepEqual(put.batches, [{ cid: 7, length: 49 }, { cid: 3, length: 26 }]);
});

test("tstorage codec V3: an empty put is the header and the end marker", () => {
  assert.equal(toHex(encodePutRequest([], bytes, { withAcq: false }).bytes), toHex(V3_EMPTY_PUT));
});

test("tstorage codec: maxBatchSize 50 gives batches [50, 25], 49 gives [25, 25, 25]", () => {
  const records = [1, 2, 3].map((i) => rec(new Key(1, BigInt(i), 0, 0n), "z"));
  const at50 = encodePutRequest(records, bytes, { withAcq: false, maxBatchSize: 50 });
  assert.deepEqual(at50.batches.map((b) => b.length), [50, 25]);
  const at49 = encodePutRequest(records, bytes, { withAcq: false, maxBatchSize: 49 });
  assert.deepEqual(at49.batches.map((b) => b.length), [25, 25, 25]);
  // Each batch header carries the cid and its length; the records follow unchanged.
  const view = new DataView(at49.bytes.buffer);
  for (let i = 0, at = 12; i < 3; i++, at += 33) {
    assert.equal(view.getInt32(at, true), 1);
    assert.equal(view.getInt32(at + 4, true), 25);
  }
  assert.equal(view.getInt32(at49.bytes.length - 4, true), -1);
});

test("tstorage codec: a record larger than maxBatchSize is sent alone", () => {
  const records = [rec(new Key(1, 1n, 0, 0n), "a".repeat(100)), rec(new Key(1, 2n, 0, 0n), "b")];
  const put = encodePutRequest(records, bytes, { withAcq: false, maxBatchSize: 30 });
  assert.deepEqual(put.batches.map((b) => b.length), [124, 25]);
});

test("tstorage codec: maxBatchSize outside 1…2^31−1 is a RangeError", () => {
  for (const bad of [0, -1, 2 ** 31, 1.5, NaN]) {
    assert.throws(
      () => encodePutRequest([], bytes, { withAcq: false, maxBatchSize: bad }),
      RangeError,
    );
  }
});

test("tstorage codec V4: skipInvalid leaves the cid −1 record out and reports it", () => {
  const records = [
    rec(new Key(1, 2n, 3, 4n), "a"),
    rec(new Key(-1, 2n, 3, 4n), "b"),
    rec(new Key(2, 2n, 3, 4n), "c"),
  ];
  const put = encodePutRequest(records, bytes, { withAcq: false, skipInvalid: true });
  // Python would put "ffffffff 00000000" on the wire here, ending the server's read early.
  const expected = cat(
    hex("05000000 0000000000000000"),
    V4_CID1_BATCH,
    V4_CID2_BATCH,
    hex("ffffffff"),
  );
  assert.equal(toHex(put.bytes), toHex(expected));
  assert.deepEqual(put.skipped, [1]);
  assert.equal(put.written, 2);
});

test("tstorage codec V4: without skipInvalid an invalid record is a RangeError, nothing encoded", () => {
  const records = [rec(new Key(1, 2n, 3, 4n), "a"), rec(new Key(-1, 2n, 3, 4n), "b")];
  assert.throws(
    () => encodePutRequest(records, bytes, { withAcq: false }),
    (e: unknown) =>
      e instanceof RangeError && /Record 1 has an invalid key Key\(-1/.test(e.message),
  );
});

test("tstorage codec: out-of-range fields are invalid; PUT ignores the acq, PUTA does not", () => {
  const badAcq = rec(new Key(1, 2n, 3, 4n, 2n ** 63n), "a");
  assert.equal(encodePutRequest([badAcq], bytes, { withAcq: false }).written, 1);
  assert.throws(() => encodePutRequest([badAcq], bytes, { withAcq: true }), RangeError);
  for (
    const key of [
      new Key(2 ** 31, 0n, 0, 0n),
      new Key(0, 2n ** 63n, 0, 0n),
      new Key(0, 0n, 1.5, 0n),
    ]
  ) {
    const put = encodePutRequest([rec(key, "")], bytes, { withAcq: false, skipInvalid: true });
    assert.deepEqual(put.skipped, [0], String(key));
  }
});

test("tstorage codec: a payload type that throws or a payload over 32 MiB sends nothing", () => {
  const int32 = new StructPayloadType<number>("<i");
  assert.throws(
    () =>
      encodePutRequest([{ key: new Key(1, 0n, 0, 0n), value: 2 ** 40 }], int32, { withAcq: false }),
    RangeError,
  );
  const huge = { key: new Key(1, 0n, 0, 0n), value: new Uint8Array(MAX_PAYLOAD_SIZE + 1) };
  assert.throws(() => encodePutRequest([huge], bytes, { withAcq: false }), /32 MiB/);
  const exact = { key: new Key(1, 0n, 0, 0n), value: new Uint8Array(MAX_PAYLOAD_SIZE) };
  assert.equal(encodePutRequest([exact], bytes, { withAcq: false }).written, 1);
});

test("tstorage codec V5: GET and GET_ACQ requests are 76 bytes with size 64", () => {
  const min = new Key(0, 0n, 0, 0n, 0n);
  const max = new Key(10, 10n, 10, 10n, 10n);
  assert.equal(toHex(encodeGetRequest(Command.GET, min, max)), toHex(V5_GET));
  assert.equal(toHex(encodeGetRequest(Command.GET_ACQ, min, max)), toHex(V5_GET_ACQ));
  assert.equal(toHex(encodeGetRequest(Command.GET, Key.min(), Key.max())), toHex(V5_GET_MIN_MAX));
});

test("tstorage codec: GET keys are sent as given, unencodable ones are a RangeError", () => {
  const negative = encodeGetRequest(Command.GET, new Key(-1, 0n, 0, 0n, 0n), Key.max());
  assert.equal(new DataView(negative.buffer).getInt32(12, true), -1, "the server judges cid −1");
  assert.throws(
    () => encodeGetRequest(Command.GET, new Key(0, 2n ** 64n, 0, 0n, 0n), Key.max()),
    RangeError,
  );
  assert.throws(() => encodeGetRequest(Command.GET, {} as Key, Key.max()), TypeError);
});

test("tstorage codec: headers are int32 code and uint64 size, little-endian", () => {
  assert.equal(toHex(encodeHeader(-1, 0)), "ffffffff0000000000000000");
  assert.equal(toHex(encodeHeader(0, 16n)), "000000001000000000000000");
});

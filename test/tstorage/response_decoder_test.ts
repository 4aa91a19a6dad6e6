// The response decoder against shared/protocols/tstorage.md §4 (V1 reply, V5 reply, V6, V7):
// whole, byte by byte and at every split point; bad lengths; fast-check fuzzing.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { RemoteProtocolError } from "../../src/core/errors.ts";
import { ByteQueue } from "../../src/tstorage/byte_queue.ts";
import { UnparseableEntityError } from "../../src/tstorage/errors.ts";
import {
  type DecodedItem,
  ResponseDecoder,
  type ResponseKind,
} from "../../src/tstorage/response_decoder.ts";
import {
  cat,
  hex,
  toHex,
  V1_OK_REPLY,
  V5_ACQ_REPLY,
  V6_GET_RESPONSE,
  V7_BAD_REQUEST,
  V7_EXTRA_HEAD,
  V7_MOCK_ERROR,
  V7_ONE,
  V7_REFUSED,
  v7Record,
} from "./_vectors.ts";

/** A plain picture of an item (keys as strings, payloads as hex). */
function norm(item: DecodedItem): unknown {
  if (item.type === "record") {
    return { type: "record", key: String(item.key), payload: toHex(item.payload), size: item.size };
  }
  return item;
}

/** Feeds `chunks` to a decoder expecting `kind`, draining after each. */
function decode(kind: ResponseKind, chunks: Uint8Array[]): unknown[] {
  const d = new ResponseDecoder();
  d.expect(kind);
  const out: unknown[] = [];
  for (const chunk of chunks) {
    d.push(chunk);
    for (let item = d.next(); item; item = d.next()) out.push(norm(item));
  }
  assert.equal(d.buffered, 0, "nothing left over");
  return out;
}

/** Asserts the same items whole, byte by byte and at every split point. */
function decodesEverywhere(kind: ResponseKind, bytes: Uint8Array, expected: unknown[]): void {
  assert.deepEqual(decode(kind, [bytes]), expected, "whole");
  assert.deepEqual(decode(kind, Array.from(bytes, (b) => new Uint8Array([b]))), expected, "bytes");
  for (let i = 1; i < bytes.length; i++) {
    assert.deepEqual(
      decode(kind, [bytes.subarray(0, i), bytes.subarray(i)]),
      expected,
      `split ${i}`,
    );
  }
}

test("tstorage decoder V1: PUT OK reply carries acqMin 100 and acqMax 200", () => {
  decodesEverywhere("put", V1_OK_REPLY, [{ type: "put", acqMin: 100n, acqMax: 200n }]);
});

test("tstorage decoder V5: GET_ACQ reply acq 15; extra bytes past 8 are skipped", () => {
  decodesEverywhere("getAcq", V5_ACQ_REPLY, [{ type: "acq", acq: 15n }]);
  const extra = hex("00000000 0b00000000000000 0f00000000000000 aabbcc");
  decodesEverywhere("getAcq", extra, [{ type: "acq", acq: 15n }]);
});

test("tstorage decoder V6: two records (one with an empty payload), end marker, acq 9", () => {
  decodesEverywhere("get", V6_GET_RESPONSE, [
    { type: "getStart" },
    { type: "record", key: "Key(1, 2, 3, 4, 5)", payload: "616263", size: 39 },
    { type: "record", key: "Key(1, 2, 3, 6, 7)", payload: "", size: 36 },
    { type: "getDone", acq: 9n },
  ]);
  const d = new ResponseDecoder();
  d.expect("get");
  d.push(V6_GET_RESPONSE);
  while (d.next());
  assert.equal(d.responseBytes, V6_GET_RESPONSE.length);
  assert.ok(d.idle);
});

test("tstorage decoder V7: 76-byte one-record response, and an initial header with 4 extra bytes", () => {
  decodesEverywhere("get", V7_ONE, [
    { type: "getStart" },
    { type: "record", key: "Key(1, 2, 3, 4, 5)", payload: "04000000", size: 40 },
    { type: "getDone", acq: 16n },
  ]);
  decodesEverywhere("get", V7_EXTRA_HEAD, [{ type: "getStart" }, { type: "getDone", acq: 16n }]);
});

test("tstorage decoder V7: refused headers in each phase", () => {
  decodesEverywhere("get", V7_BAD_REQUEST, [{ type: "refused", status: -1, phase: "initial" }]);
  decodesEverywhere("get", V7_MOCK_ERROR, [
    { type: "getStart" },
    { type: "refused", status: -1, phase: "final" },
  ]);
  decodesEverywhere("put", V7_REFUSED, [{ type: "refused", status: -1, phase: "header" }]);
  decodesEverywhere("getAcq", V7_REFUSED, [{ type: "refused", status: -1, phase: "header" }]);
  // A refusal with extra data: the extra bytes are skipped, so the stream stays in sync.
  decodesEverywhere("put", hex("feffffff 0200000000000000 abcd"), [
    { type: "refused", status: -2, phase: "header" },
  ]);
});

function fails(
  kind: ResponseKind,
  bytes: Uint8Array,
  type: typeof RemoteProtocolError,
  re: RegExp,
): void {
  const d = new ResponseDecoder();
  d.expect(kind);
  d.push(bytes);
  assert.throws(() => {
    while (d.next());
  }, (e: unknown) => e instanceof type && re.test((e as Error).message));
  assert.throws(() => d.next(), type, "the decoder stays failed");
}

test("tstorage decoder: negative, too-short and over-limit record lengths are UNPARSEABLE", () => {
  const head = hex("00000000 0000000000000000");
  for (const length of [-1, -0x80000000, 1, 31]) {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setInt32(0, length, true);
    fails("get", cat(head, bytes), UnparseableEntityError, /record length/);
  }
  const over = new Uint8Array(4);
  new DataView(over.buffer).setInt32(0, 32 + 32 * 1024 * 1024 + 1, true);
  fails("get", cat(head, over), UnparseableEntityError, /32 MiB/);
  // Exactly at the limit is accepted (and waited for).
  const atLimit = new Uint8Array(4);
  new DataView(atLimit.buffer).setInt32(0, 32 + 32 * 1024 * 1024, true);
  const d = new ResponseDecoder();
  d.expect("get");
  d.push(cat(head, atLimit));
  assert.deepEqual(d.next(), { type: "getStart" });
  assert.equal(d.next(), undefined);
  assert.equal(d.pendingRecordBytes, 4 + 32 + 32 * 1024 * 1024);
});

test("tstorage decoder V7: a record with cid −1 is UNPARSEABLE", () => {
  const head = hex("00000000 0000000000000000");
  fails("get", cat(head, v7Record(-1, 2, 3, 4, 5, 4)), UnparseableEntityError, /negative cid -1/);
});

test("tstorage decoder: OK headers too short for their acq fields are protocol errors", () => {
  fails(
    "put",
    hex("00000000 0800000000000000 0100000000000000"),
    RemoteProtocolError,
    /16 are needed/,
  );
  fails("getAcq", hex("00000000 0400000000000000 01000000"), RemoteProtocolError, /8 are needed/);
  fails(
    "get",
    hex("00000000 0000000000000000 00000000 00000000 0000000000000000"),
    RemoteProtocolError,
    /8 are needed/,
  );
});

test("tstorage decoder: unsolicited bytes and absurd extra sizes are protocol errors", () => {
  const idle = new ResponseDecoder();
  idle.push(new Uint8Array([0]));
  assert.throws(() => idle.next(), /while no response was expected/);
  fails("put", hex("00000000 ffffffffffffffff"), RemoteProtocolError, /extra data/);
});

test("tstorage decoder: bytes after a complete response are not part of it", () => {
  const d = new ResponseDecoder();
  d.expect("getAcq");
  d.push(cat(V5_ACQ_REPLY, hex("00")));
  assert.deepEqual(d.next(), { type: "acq", acq: 15n });
  assert.throws(() => d.next(), RemoteProtocolError);
});

test("tstorage decoder: responses decode back to back after expect()", () => {
  const d = new ResponseDecoder();
  d.expect("put");
  d.push(cat(V1_OK_REPLY, V5_ACQ_REPLY.subarray(0, 5)));
  assert.deepEqual(d.next(), { type: "put", acqMin: 100n, acqMax: 200n });
  assert.ok(d.idle);
  d.expect("getAcq");
  assert.equal(d.next(), undefined);
  assert.throws(() => d.expect("get"), RangeError, "one response at a time");
  d.push(V5_ACQ_REPLY.subarray(5));
  assert.deepEqual(d.next(), { type: "acq", acq: 15n });
  assert.equal(d.responseBytes, 20);
});

// Fuzzing: any bytes, in any pieces, give items or a RemoteProtocolError (never another
// exception), terminate, and leave fewer bytes buffered than the pending item needs.

const kinds = fc.constantFrom<ResponseKind>("put", "getAcq", "get");
const cuts = fc.array(fc.nat(), { maxLength: 8 });

function splitAt(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const sorted = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let last = 0;
  for (const p of sorted) {
    out.push(bytes.subarray(last, p));
    last = p;
  }
  out.push(bytes.subarray(last));
  return out;
}

function runFuzz(kind: ResponseKind, chunks: Uint8Array[]): void {
  const d = new ResponseDecoder();
  d.expect(kind);
  let steps = 0;
  try {
    for (const chunk of chunks) {
      d.push(chunk);
      for (let item = d.next(); item; item = d.next()) {
        assert.ok(++steps < 10_000, "decoder terminates");
        if (d.idle) return; // one response per expect()
      }
      // Stalled: what is buffered must be less than the item it waits for.
      if (!d.idle) assert.ok(d.buffered < Math.max(1, d.pendingBytes), "no complete item left");
    }
  } catch (error) {
    if (!(error instanceof RemoteProtocolError)) throw error;
  }
}

test("tstorage decoder fuzz: random bytes give items or RemoteProtocolError only", () => {
  const byte = fc.oneof(
    fc.constantFrom(0, 0xff, 0x24, 0x20, 0x08, 0x10),
    fc.integer({ min: 0, max: 255 }),
  );
  fc.assert(
    fc.property(kinds, fc.array(byte, { maxLength: 200 }), cuts, (kind, xs, points) => {
      runFuzz(kind, splitAt(new Uint8Array(xs), points));
    }),
    { numRuns: 2000 },
  );
});

test("tstorage decoder fuzz: mutated valid responses give items or RemoteProtocolError only", () => {
  const samples: [ResponseKind, Uint8Array][] = [
    ["put", V1_OK_REPLY],
    ["getAcq", V5_ACQ_REPLY],
    ["get", V6_GET_RESPONSE],
    ["get", V7_ONE],
    ["get", V7_MOCK_ERROR],
    ["get", V7_EXTRA_HEAD],
  ];
  const mutation = fc.record({
    sample: fc.nat({ max: samples.length - 1 }),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    cutAt: fc.option(fc.nat()),
    points: cuts,
  });
  fc.assert(
    fc.property(mutation, ({ sample, edits, cutAt, points }) => {
      const [kind, original] = samples[sample];
      let bytes = original.slice();
      for (const [at, value] of edits) bytes[at % bytes.length] = value;
      if (cutAt !== null) bytes = bytes.subarray(0, cutAt % (bytes.length + 1));
      runFuzz(kind, splitAt(bytes, points));
    }),
    { numRuns: 3000 },
  );
});

test("tstorage byte queue: joins only what spans chunks and skips across chunks", () => {
  const q = new ByteQueue();
  q.push(hex("0102"));
  q.push(hex("0304 05"));
  q.push(hex("06"));
  assert.ok(q.contiguous(2));
  assert.equal(q.bytes.length, 2, "already contiguous: no join");
  assert.ok(q.contiguous(4));
  assert.equal(q.view.getUint32(q.at, false), 0x01020304);
  assert.equal(q.contiguous(7), false);
  q.skip(5);
  assert.equal(q.length, 1);
  assert.ok(q.contiguous(1));
  assert.equal(q.bytes[q.at], 6);
  q.skip(9);
  assert.equal(q.length, 0);
  q.push(hex("07"));
  assert.ok(q.contiguous(1) && q.bytes[q.at] === 7);
});

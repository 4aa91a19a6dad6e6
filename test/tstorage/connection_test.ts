// Pair tests of the TStorageConnection machine against scripted responses on a fake clock:
// one request at a time, statuses (§1.11), memory limits (§1.12 and the V7 vectors), payload
// failures, EOF, deadlines, cancellation, and fuzzed responses.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { heapUsedAfterGc } from "../_helpers/hostile_server.ts";
import { ConnectionClosedError, RemoteProtocolError } from "../../src/core/errors.ts";
import {
  type GetItem,
  TStorageConnection,
  type TStorageRequest,
} from "../../src/tstorage/connection.ts";
import {
  MemoryLimitError,
  ResponseStatus,
  responseStatusOf,
  TStorageError,
  UnparseableEntityError,
} from "../../src/tstorage/errors.ts";
import { BytesPayloadType, StructPayloadType } from "../../src/tstorage/payload.ts";
import { Key } from "../../src/tstorage/record.ts";
import {
  cat,
  hex,
  toHex,
  V1_OK_REPLY,
  V1_PUT,
  V5_ACQ_REPLY,
  V5_GET,
  V5_GET_ACQ,
  V6_GET_RESPONSE,
  V7_BAD_REQUEST,
  V7_MOCK_ERROR,
  V7_ONE,
  V7_REFUSED,
  V7_TWO,
  v7Record,
} from "./_vectors.ts";

const bytes = new BytesPayloadType();
const int32 = new StructPayloadType<number>("<i");
const K0 = new Key(0, 0n, 0, 0n, 0n);
const K10 = new Key(10, 10n, 10, 10n, 10n);

type Events = ReturnType<TStorageConnection["nextEvent"]>[];

function drain(conn: TStorageConnection): Events {
  const out: Events = [];
  for (let e = conn.nextEvent(); e; e = conn.nextEvent()) out.push(e);
  return out;
}

function get(options: Partial<Extract<TStorageRequest, { type: "get" }>> = {}): TStorageRequest {
  return { type: "get", keyMin: K0, keyMax: K10, payloadType: int32, ...options };
}

/** Sends a GET, answers it with `response` in one piece, and returns the events. */
function runGet(response: Uint8Array, options: Parameters<typeof get>[0] = {}): Events {
  const conn = new TStorageConnection();
  conn.send(get(options));
  assert.equal(toHex(conn.pollTransmit()!), toHex(V5_GET));
  conn.receive(response);
  return drain(conn);
}

/** The stream items of the events, records as their keys. */
function items(events: Events): unknown[] {
  return events.filter((e) => e?.type === "streamItem").map((e) => {
    const item = (e as { item: GetItem }).item;
    if (item.type === "records") return item.records.map((r) => `${r.key.cid}:${r.value}`);
    if (item.type === "failed") return item.error;
    return item;
  });
}

const types = (events: Events): string[] => events.map((e) => e!.type);

test("tstorage machine V1: PUT goes out whole and its reply carries the acqs", () => {
  const conn = new TStorageConnection();
  const id = conn.send({
    type: "put",
    records: [{ key: new Key(1, 2n, 3, 4n), value: new TextEncoder().encode("abc") }],
    payloadType: bytes,
    withAcq: false,
  });
  assert.equal(toHex(conn.pollTransmit()!), toHex(V1_PUT));
  conn.receive(V1_OK_REPLY);
  assert.deepEqual(drain(conn), [{
    type: "reply",
    id,
    value: { type: "put", acqMin: 100n, acqMax: 200n, written: 1, skipped: [] },
  }]);
  assert.equal(conn.inFlight, 0);
});

test("tstorage machine: one request at a time; the next goes out after the response", () => {
  const conn = new TStorageConnection();
  const a = conn.send({ type: "getAcq", keyMin: K0, keyMax: K10 });
  const b = conn.send({ type: "getAcq", keyMin: K0, keyMax: K10 });
  assert.equal(toHex(conn.pollTransmit()!), toHex(V5_GET_ACQ));
  assert.equal(conn.pollTransmit(), undefined, "b waits for a's response");
  conn.receive(V5_ACQ_REPLY.subarray(0, 10));
  assert.deepEqual(drain(conn), []);
  conn.receive(V5_ACQ_REPLY.subarray(10));
  assert.deepEqual(drain(conn), [{ type: "reply", id: a, value: { type: "acq", acq: 15n } }]);
  assert.equal(conn.pollTransmit()?.length, 76);
  conn.receive(V5_ACQ_REPLY);
  assert.deepEqual(drain(conn), [{ type: "reply", id: b, value: { type: "acq", acq: 15n } }]);
});

test("tstorage machine V7: a refused PUT is ERROR and ends the connection; the queued GET_ACQ was not sent", () => {
  const conn = new TStorageConnection();
  const put = conn.send({ type: "put", records: [], payloadType: bytes, withAcq: true });
  const acq = conn.send({ type: "getAcq", keyMin: K0, keyMax: K10 });
  conn.pollTransmit();
  conn.receive(V7_REFUSED);
  const events = drain(conn);
  assert.deepEqual(types(events), ["serverError", "closed"]);
  const [refused, closed] = events;
  assert.equal(refused?.type === "serverError" && refused.id, put);
  assert.equal(closed?.type === "closed" && closed.error, undefined, "a clean close");
  const error = (refused as unknown as { error: TStorageError }).error;
  assert.ok(error instanceof TStorageError);
  assert.equal(error.status, ResponseStatus.ERROR);
  assert.equal(responseStatusOf(error), -1);
  assert.ok(!conn.canSend, "closed: the next call reconnects");
  assert.equal(conn.wasSent(put), true);
  assert.equal(conn.wasSent(acq), false, "held back: the driver may replay it");
});

test("tstorage machine V7: a refused GET_ACQ is ERROR and ends the connection", () => {
  const conn = new TStorageConnection();
  conn.send({ type: "getAcq", keyMin: K0, keyMax: K10 });
  conn.pollTransmit();
  conn.receive(V7_REFUSED);
  assert.deepEqual(types(drain(conn)), ["serverError", "closed"]);
});

test("tstorage machine V6: records stream as items, then done with acq 9", () => {
  const events = runGet(V6_GET_RESPONSE, { payloadType: bytes });
  assert.deepEqual(types(events), ["streamItem", "streamItem", "streamEnd"]);
  assert.deepEqual(items(events), [["1:97,98,99", "1:"], { type: "done", acq: 9n }]);
});

test("tstorage machine V7: memoryLimit 76 fits the 76-byte response exactly", () => {
  assert.deepEqual(items(runGet(V7_ONE, { memoryLimit: 76 })), [["1:4"], {
    type: "done",
    acq: 16n,
  }]);
});

test("tstorage machine V7: memoryLimit 75 is NO_MEMORY with the record kept, then closed", () => {
  const events = runGet(V7_ONE, { memoryLimit: 75 });
  assert.deepEqual(types(events), ["streamItem", "streamItem", "streamEnd", "closed"]);
  const [records, error] = items(events) as [string[], MemoryLimitError];
  assert.deepEqual(records, ["1:4"]);
  assert.ok(error instanceof MemoryLimitError);
  assert.equal(responseStatusOf(error), ResponseStatus.NO_MEMORY);
  assert.match(error.message, /memory limit of 75 bytes/);
});

test("tstorage machine: the total limit is detected before the oversized bytes arrive", () => {
  const conn = new TStorageConnection();
  conn.send(get({ memoryLimit: 60 }));
  conn.pollTransmit();
  conn.receive(V7_TWO.subarray(0, 12 + 40 + 4)); // head, R1, R2's length
  const events = drain(conn);
  assert.deepEqual(types(events), ["streamItem", "streamItem", "streamEnd", "closed"]);
  assert.ok((items(events)[1]) instanceof MemoryLimitError);
});

test("tstorage machine V7: getStream batches the 116-byte response as [2], [1,1] at 52, NO_MEMORY at 51", () => {
  const batches = (limit?: number): unknown[] =>
    items(runGet(V7_TWO, { memoryLimit: limit, limitMode: "batch" }));
  assert.deepEqual(batches(), [["1:4", "2:8"], { type: "done", acq: 16n }]);
  assert.deepEqual(batches(52), [["1:4"], ["2:8"], { type: "done", acq: 16n }]);
  const [error, ...rest] = batches(51);
  assert.ok(error instanceof MemoryLimitError, "no callback before NO_MEMORY");
  assert.deepEqual(rest, []);
});

test("tstorage machine: getStream batches of the 356-byte [IT] response stay within the limit", () => {
  const records = Array.from({ length: 8 }, (_, i) => v7Record(1, i, 3, 4, 5, i));
  const response = cat(hex("00000000 0000000000000000"), ...records, V7_ONE.subarray(52));
  assert.equal(response.length, 356);
  const sizes = (limit: number): unknown[] =>
    items(runGet(response, { memoryLimit: limit, limitMode: "batch" })).map((x) =>
      Array.isArray(x) ? x.length : x instanceof MemoryLimitError ? "NO_MEMORY" : "done"
    );
  // Every batch is ≤ limit wire bytes (the first counts the 12-byte head); Python's batch
  // boundaries depend on its read sizes, so only the bound and the total are fixed.
  assert.deepEqual(sizes(120), [2, 3, 3, "done"]);
  assert.deepEqual(sizes(90), [1, 2, 2, 2, 1, "done"]);
  assert.deepEqual(sizes(4), ["NO_MEMORY"]);
  assert.deepEqual(sizes(1000), [8, "done"]);
});

test("tstorage machine V7: BAD_REQUEST and the mock's ERROR framing close the connection", () => {
  for (const [response, status] of [[V7_BAD_REQUEST, 129], [V7_MOCK_ERROR, -1]] as const) {
    const events = runGet(response);
    assert.deepEqual(types(events), ["streamItem", "streamEnd", "closed"]);
    const error = items(events)[0] as TStorageError;
    assert.ok(error instanceof TStorageError);
    assert.equal(error.status, status);
  }
});

test("tstorage machine V7: payloads that do not decode are UNPARSEABLE and close", () => {
  const head = hex("00000000 0000000000000000");
  const tail = V7_ONE.subarray(52);
  const resized = (length: number): Uint8Array => {
    const r = cat(v7Record(1, 2, 3, 4, 5, 4), new Uint8Array([0]));
    new DataView(r.buffer).setInt32(0, length, true);
    return r.subarray(0, 4 + length);
  };
  for (const record of [resized(35), resized(37)]) {
    const events = runGet(cat(head, record, tail));
    const error = items(events).find((x) => x instanceof Error);
    assert.ok(error instanceof UnparseableEntityError, String(error));
    assert.equal(types(events).at(-1), "closed");
  }
  const asInt64 = runGet(V7_ONE, { payloadType: new StructPayloadType("<q") });
  assert.ok(items(asInt64)[0] instanceof UnparseableEntityError);
  assert.equal(responseStatusOf(items(asInt64)[0]), ResponseStatus.UNPARSEABLE_ENTITY);
  const cidMinus = runGet(cat(head, v7Record(-1, 2, 3, 4, 5, 4), tail));
  assert.ok(items(cidMinus)[0] instanceof UnparseableEntityError);
});

test("tstorage machine V7: EOF after one record is DISCONNECTED with the record kept", () => {
  const conn = new TStorageConnection();
  conn.send(get());
  conn.pollTransmit();
  conn.receive(V7_ONE.subarray(0, 52));
  conn.receiveEof();
  const events = drain(conn);
  assert.deepEqual(types(events), ["streamItem", "streamItem", "streamEnd", "closed"]);
  const [records, error] = items(events);
  assert.deepEqual(records, ["1:4"]);
  assert.ok(error instanceof ConnectionClosedError);
  assert.equal(responseStatusOf(error), ResponseStatus.DISCONNECTED);
});

test("tstorage machine: bytes nobody asked for close the connection with a protocol error", () => {
  const conn = new TStorageConnection();
  conn.receive(new Uint8Array([0]));
  const [closed] = drain(conn);
  assert.ok(closed?.type === "closed" && closed.error instanceof RemoteProtocolError);
  assert.throws(() => conn.send(get()), /closed/);
});

test("tstorage machine: a queued request times out unsent and is skipped", () => {
  const conn = new TStorageConnection();
  const put = conn.send({ type: "put", records: [], payloadType: bytes, withAcq: false });
  const queued = conn.send({ type: "getAcq", keyMin: K0, keyMax: K10 }, { deadline: 50 });
  const after = conn.send({ type: "getAcq", keyMin: K0, keyMax: K10 });
  conn.pollTransmit();
  assert.equal(conn.pollTimeout(), 50);
  conn.handleTimeout(60);
  assert.deepEqual(drain(conn), [{ type: "timeout", id: queued, sent: false }]);
  conn.receive(V1_OK_REPLY);
  assert.deepEqual(types(drain(conn)), ["reply"], `the PUT (${put}) is answered`);
  assert.equal(conn.pollTransmit()?.length, 76, "the timed-out GET_ACQ is skipped");
  conn.receive(V5_ACQ_REPLY);
  assert.deepEqual(drain(conn), [{ type: "reply", id: after, value: { type: "acq", acq: 15n } }]);
});

test("tstorage machine: a PUT that times out in flight closes the connection (nothing waits on it)", () => {
  const conn = new TStorageConnection();
  const put = conn.send({ type: "put", records: [], payloadType: bytes, withAcq: false }, {
    deadline: 100,
  });
  conn.send({ type: "getAcq", keyMin: K0, keyMax: K10 });
  conn.pollTransmit();
  conn.handleTimeout(100);
  const events = drain(conn);
  assert.deepEqual(events[0], { type: "timeout", id: put, sent: true });
  assert.deepEqual(types(events), ["timeout", "closed"]);
  assert.equal(conn.pollTransmit(), undefined, "the GET_ACQ is left for the driver to fail");
});

test("tstorage machine: a GET that times out or is cancelled in flight closes the connection", () => {
  const timed = new TStorageConnection();
  const id = timed.send(get(), { deadline: 10 });
  timed.pollTransmit();
  timed.receive(V7_TWO.subarray(0, 60));
  timed.handleTimeout(10);
  const timedOut = drain(timed);
  assert.deepEqual(types(timedOut), ["timeout", "closed"]);
  assert.deepEqual(timedOut[0], { type: "timeout", id, sent: true });
  assert.equal(timed.canSend, false);
  const cancelled = new TStorageConnection();
  const other = cancelled.send(get());
  cancelled.pollTransmit();
  cancelled.cancel(other);
  const events = drain(cancelled);
  assert.deepEqual(types(events), ["closed"]);
});

test("tstorage machine: invalid requests throw before anything is queued", () => {
  const conn = new TStorageConnection();
  assert.throws(() => conn.send(get({ memoryLimit: 0 })), RangeError);
  assert.throws(
    () =>
      conn.send({
        type: "put",
        records: [{ key: new Key(-1), value: new Uint8Array() }],
        payloadType: bytes,
        withAcq: false,
      }),
    RangeError,
  );
  assert.equal(conn.pollTransmit(), undefined);
  assert.equal(conn.inFlight, 0);
});

test("tstorage machine fuzz: any GET response bytes give events, never an exception", () => {
  const byte = fc.oneof(fc.constantFrom(0, 0xff, 0x24, 0x08), fc.integer({ min: 0, max: 255 }));
  const config = fc.record({
    memoryLimit: fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined }),
    limitMode: fc.constantFrom<"total" | "batch">("total", "batch"),
    eof: fc.boolean(),
  });
  fc.assert(
    fc.property(
      fc.array(byte, { maxLength: 200 }),
      config,
      (xs, { memoryLimit, limitMode, eof }) => {
        const conn = new TStorageConnection();
        conn.send(get({ memoryLimit, limitMode, payloadType: bytes }));
        conn.pollTransmit();
        const sample = xs.length % 2 === 0
          ? cat(V7_ONE.subarray(0, xs.length % 60), new Uint8Array(xs))
          : new Uint8Array(xs);
        conn.receive(sample);
        if (eof) conn.receiveEof();
        const events = drain(conn);
        let ended = 0;
        for (const e of events) {
          if (e!.type === "streamEnd") ended++;
          if (e!.type === "closed") assert.equal(e, events.at(-1), "closed comes last");
        }
        assert.ok(ended <= 1);
        if (eof) assert.equal(types(events).at(-1), "closed");
      },
    ),
    { numRuns: 2000 },
  );
});

test("tstorage machine: bytes beyond a complete response are refused, never delivered", () => {
  const stray = hex("00000000 0800000000000000 6300000000000000"); // "acq 99", unasked
  for (const request of ["getAcq", "put", "get"] as const) {
    const conn = new TStorageConnection();
    const answer = request === "getAcq"
      ? V5_ACQ_REPLY
      : request === "put"
      ? V1_OK_REPLY
      : V6_GET_RESPONSE;
    conn.send(
      request === "getAcq"
        ? { type: "getAcq", keyMin: K0, keyMax: K10 }
        : request === "put"
        ? { type: "put", records: [], payloadType: bytes, withAcq: false }
        : get({ payloadType: bytes }),
    );
    conn.pollTransmit();
    conn.receive(cat(answer, stray));
    const events = drain(conn);
    assert.ok(!events.some((e) => e?.type === "reply"), `${request}: ${types(events)}`);
    const last = events.at(-1);
    assert.ok(last?.type === "closed" && last.error instanceof RemoteProtocolError, request);
    assert.match(String(last.error?.message), /20 byte\(s\) beyond the .* response/);
  }
});

test("tstorage machine: bytes before any request close the connection", () => {
  const conn = new TStorageConnection();
  conn.receive(V5_ACQ_REPLY);
  const [closed] = drain(conn);
  assert.ok(closed?.type === "closed" && closed.error instanceof RemoteProtocolError);
  assert.ok(!conn.canSend);
});

test("tstorage machine: a closed connection releases a partly received record", async () => {
  const MiB = 1024 * 1024;
  const before = await heapUsedAfterGc();
  const conn = new TStorageConnection();
  conn.send(get({ payloadType: bytes }));
  conn.pollTransmit();
  const record = v7Record(1, 2, 3, 4, 5, 0);
  const head = new Uint8Array(12);
  const size = new Uint8Array(4);
  new DataView(size.buffer).setInt32(0, 32 + 20 * MiB, true);
  conn.receive(cat(head, size, record.subarray(4, 36), new Uint8Array(20 * MiB - 1)));
  assert.deepEqual(types(drain(conn)), [], "the record waits for its last byte");
  const buffered = await heapUsedAfterGc();
  assert.ok(buffered - before > 15 * MiB, "the partial record is buffered");
  conn.close();
  const released = buffered - (await heapUsedAfterGc());
  assert.ok(released > 15 * MiB, `only ${(released / MiB).toFixed(1)} MiB released`);
});

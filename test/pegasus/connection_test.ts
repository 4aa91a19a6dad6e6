// The Pegasus session machine (src/pegasus/connection.ts) against a fake peer on a fake clock:
// seqid correlation out of order, deadlines, one-way requests, dropped late replies, frames at
// every split point, protocol violations and EOF (DESIGN.md §3, pegasus.md §1.5).

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { RemoteProtocolError } from "../../src/core/errors.ts";
import { PegasusConnection, type PegasusRequest } from "../../src/pegasus/connection.ts";
import { PegasusError } from "../../src/pegasus/errors.ts";
import { blobArgs, clearScannerArgs } from "../../src/pegasus/requests.ts";
import { decodeReadResponse } from "../../src/pegasus/responses.ts";
import { ThriftWriter, TType } from "../../src/pegasus/thrift.ts";
import { heapUsedAfterGc } from "../_helpers/hostile_server.ts";

const GET: PegasusRequest = {
  rpc: "RPC_RRDB_RRDB_GET",
  args: blobArgs(new Uint8Array([0, 1, 104, 115])),
  decode: decodeReadResponse,
};

/** A reply frame written by hand (fake peer): error name, REPLY header, optional read_response. */
function reply(
  seqid: number,
  value?: string,
  errorName = "ERR_OK",
  rpc = "RPC_RRDB_RRDB_GET_ACK",
): Uint8Array {
  const w = new ThriftWriter();
  w.writeUint32BE(0).ascii(errorName).writeUint32BE(0x80010002).ascii(rpc).i32(seqid);
  if (value !== undefined) {
    w.field(TType.STRUCT, 0).field(TType.I32, 1).i32(0).blobField(
      2,
      new TextEncoder().encode(value),
    );
    w.stop().stop();
  }
  const bytes = w.finish();
  new DataView(bytes.buffer).setUint32(0, bytes.length);
  return bytes;
}

function drain(conn: PegasusConnection): unknown[] {
  const out: unknown[] = [];
  for (let e = conn.nextEvent(); e; e = conn.nextEvent()) {
    if (e.type === "reply") {
      const v = e.value.value as { value: Uint8Array } | undefined;
      out.push([e.id, v ? new TextDecoder().decode(v.value) : undefined]);
    } else if (e.type === "serverError") out.push([e.id, e.error.serverCode]);
    else if (e.type === "timeout") out.push([e.id, "timeout", e.sent]);
    else out.push([e.type]);
  }
  return out;
}

test("pegasus machine: replies match by seqid in any order; seqids start at 1", () => {
  const conn = new PegasusConnection();
  const a = conn.send(GET);
  const b = conn.send(GET);
  assert.deepEqual([a, b], [1, 2]);
  const out = conn.pollTransmit()!;
  assert.equal(out.length, 2 * 89); // two 89-byte frames
  assert.equal(conn.inFlight, 2);
  conn.receive(new Uint8Array([...reply(2, "second"), ...reply(1, "first")]));
  assert.deepEqual(drain(conn), [[2, "second"], [1, "first"]]);
  assert.equal(conn.inFlight, 0);
});

test("pegasus machine: an error name becomes a PegasusError; the body may be absent", () => {
  const conn = new PegasusConnection();
  const id = conn.send(GET);
  conn.pollTransmit();
  conn.receive(reply(id, undefined, "ERR_INVALID_STATE"));
  const e = conn.nextEvent();
  assert.equal(e?.type, "serverError");
  assert.ok(e?.type === "serverError" && e.error instanceof PegasusError);
  assert.deepEqual(drain(conn), []);
});

test("pegasus machine: frames fed at every split point and byte by byte", () => {
  const bytes = new Uint8Array([...reply(1, "x"), ...reply(2, "yy")]);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const conn = new PegasusConnection();
    conn.send(GET);
    conn.send(GET);
    conn.receive(bytes.subarray(0, cut));
    const first = drain(conn);
    conn.receive(bytes.subarray(cut));
    assert.deepEqual([...first, ...drain(conn)], [[1, "x"], [2, "yy"]], `cut ${cut}`);
  }
  const conn = new PegasusConnection();
  conn.send(GET);
  conn.send(GET);
  const events: unknown[] = [];
  for (const b of bytes) {
    conn.receive(new Uint8Array([b]));
    events.push(...drain(conn));
  }
  assert.equal(events.length, 2);
});

test("pegasus machine: deadlines on a fake clock; late replies are dropped", () => {
  const conn = new PegasusConnection();
  const a = conn.send(GET, { deadline: 100 });
  const b = conn.send(GET, { deadline: 200 });
  assert.equal(conn.pollTimeout(), 100);
  conn.pollTransmit();
  conn.handleTimeout(150);
  assert.deepEqual(drain(conn), [[a, "timeout", true]]);
  assert.equal(conn.pollTimeout(), 200);
  conn.receive(reply(a, "late"));
  conn.receive(reply(b, "in time"));
  assert.deepEqual(drain(conn), [[b, "in time"]]);
  assert.equal(conn.pollTimeout(), undefined);
});

test("pegasus machine: a one-way request completes once written, without a reply", () => {
  const conn = new PegasusConnection();
  const id = conn.send({
    rpc: "RPC_RRDB_RRDB_CLEAR_SCANNER",
    args: clearScannerArgs(5n),
    oneWay: true,
  });
  assert.equal(conn.pollTimeout(), 0);
  conn.handleTimeout(0);
  assert.deepEqual(drain(conn), []); // not written yet
  const bytes = conn.pollTransmit()!;
  assert.equal(bytes[51], 4); // Thrift message type ONEWAY
  conn.handleTimeout(1);
  assert.deepEqual(drain(conn), [[id, undefined]]);
  assert.equal(conn.pollTimeout(), undefined);
  assert.equal(conn.inFlight, 0);
});

test("pegasus machine: protocol violations fail the machine with RemoteProtocolError", () => {
  const cases: Uint8Array[] = [
    new Uint8Array([0, 0, 0, 3]), // frame shorter than its own header
    reply(1, "x", "ERR_OK", "RPC_RRDB_RRDB_PUT_ACK"), // wrong rpc for the seqid
    (() => {
      const r = reply(1, "x");
      r[r.length - 7] = 0x7f; // blob length past the frame
      return r;
    })(),
  ];
  for (const bytes of cases) {
    const conn = new PegasusConnection();
    conn.send(GET);
    conn.receive(bytes);
    assert.throws(() => conn.nextEvent(), RemoteProtocolError);
    assert.throws(() => conn.nextEvent(), RemoteProtocolError);
    assert.equal(conn.canSend, false);
  }
});

test("pegasus machine: EOF mid-frame reports closed with an error; clean EOF without", () => {
  const conn = new PegasusConnection();
  conn.send(GET);
  conn.receive(reply(1, "x").subarray(0, 10));
  conn.receiveEof();
  const e = conn.nextEvent();
  assert.ok(e?.type === "closed" && e.error instanceof RemoteProtocolError);
  const clean = new PegasusConnection();
  clean.receiveEof();
  assert.deepEqual(clean.nextEvent(), { type: "closed" });
});

test("pegasus machine fuzz: random bytes give events or RemoteProtocolError, never another throw", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 6 }), (chunks) => {
      const conn = new PegasusConnection({ maxFrameLength: 4096 });
      conn.send(GET);
      try {
        for (const c of chunks) {
          conn.receive(c);
          drain(conn);
        }
      } catch (error) {
        if (!(error instanceof RemoteProtocolError)) throw error;
      }
    }),
    { numRuns: 1000 },
  );
});

const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
};

/** A machine with one GET written (seqid 1). */
function sentGet(): PegasusConnection {
  const conn = new PegasusConnection();
  conn.send(GET);
  conn.pollTransmit();
  return conn;
}

test("pegasus machine: four stray bytes before a reply fail the session instead of swallowing it", () => {
  const conn = sentGet();
  conn.receive(cat(new Uint8Array([0, 0, 1, 0]), reply(1, "x")));
  assert.throws(() => conn.nextEvent(), RemoteProtocolError);
  assert.equal(conn.canSend, false);
  const idle = new PegasusConnection();
  idle.receive(new Uint8Array([0, 0, 0, 64]));
  assert.throws(() => idle.nextEvent(), /while no request was waiting/);
});

test("pegasus machine: a reply whose seqid matches no request, or a duplicate, fails the session", () => {
  const unknown = sentGet();
  unknown.receive(reply(7, "someone else's"));
  assert.throws(() => unknown.nextEvent(), /seqid 7 matches no request/);
  const duplicate = sentGet();
  duplicate.receive(cat(reply(1, "x"), reply(1, "x")));
  assert.deepEqual(duplicate.nextEvent()?.type, "reply");
  assert.throws(() => duplicate.nextEvent(), /no request was waiting/);
});

test("pegasus machine: a reply header is checked before the rest of its frame arrives", () => {
  const conn = sentGet();
  const bogus = reply(9, "x".repeat(1000)); // 1 KiB frame for a seqid never sent
  conn.receive(bogus.subarray(0, 60));
  assert.throws(() => conn.nextEvent(), /seqid 9 matches no request/);
  for (
    const garbage of [
      cat(new Uint8Array([0, 0, 0, 40, 0, 0, 0, 6]), new TextEncoder().encode("err ok")),
      (() => {
        const r = reply(1, "x");
        r[8 + 6 + 1] = 0x02; // version word of the Thrift header: 0x80020002
        return r.subarray(0, 24);
      })(),
    ]
  ) {
    const c = sentGet();
    c.receive(garbage);
    assert.throws(() => c.nextEvent(), RemoteProtocolError, String(garbage));
  }
});

test("pegasus machine: bytes past the result struct inside a frame are refused", () => {
  const conn = sentGet();
  const r = reply(1, "x");
  const padded = cat(r, new Uint8Array([0, 0, 0, 0]));
  new DataView(padded.buffer).setUint32(0, padded.length);
  conn.receive(padded);
  assert.throws(() => conn.nextEvent(), /4 byte\(s\) past its result/);
});

test("pegasus machine: frame lengths over maxFrameLength fail at once, before buffering", () => {
  const conn = new PegasusConnection({ maxFrameLength: 1024 });
  conn.send(GET);
  conn.pollTransmit();
  conn.receive(new Uint8Array([0, 0, 4, 1]));
  assert.throws(() => conn.nextEvent(), /1025 is out of range/);
  assert.throws(() => new PegasusConnection({ maxFrameLength: 8 }), RangeError);
});

test("pegasus machine: firstSeqid starts the ids elsewhere (a blind reply for seqid 1 matches nothing)", () => {
  const conn = new PegasusConnection({ firstSeqid: 123_456 });
  assert.equal(conn.send(GET), 123_456);
  conn.pollTransmit();
  conn.receive(reply(1, "presend"));
  assert.throws(() => conn.nextEvent(), /seqid 1 matches no request/);
  assert.throws(() => new PegasusConnection({ firstSeqid: 0 }), RangeError);
});

test("pegasus machine: late replies to cancelled and one-way requests are dropped", () => {
  const conn = new PegasusConnection();
  const a = conn.send(GET);
  const b = conn.send({
    rpc: "RPC_RRDB_RRDB_CLEAR_SCANNER",
    args: clearScannerArgs(5n),
    oneWay: true,
  });
  const c = conn.send(GET);
  conn.pollTransmit();
  conn.handleTimeout(0);
  conn.cancel(a);
  assert.deepEqual(drain(conn), [[b, undefined]]);
  conn.receive(reply(a, "late"));
  conn.receive(reply(b, undefined, "ERR_OBJECT_NOT_FOUND", "RPC_RRDB_RRDB_CLEAR_SCANNER_ACK"));
  conn.receive(reply(c, "mine"));
  assert.deepEqual(drain(conn), [[c, "mine"]]);
});

test("pegasus machine: a failed or closed session releases a partly received frame", async () => {
  const MiB = 1024 * 1024;
  const before = await heapUsedAfterGc();
  const conn = sentGet();
  conn.receive((() => {
    const big = reply(1, "x".repeat(20 * MiB));
    return big.slice(0, big.length - 1); // all but the last byte: the frame waits
  })());
  assert.equal(conn.nextEvent(), undefined);
  const buffered = await heapUsedAfterGc();
  assert.ok(buffered - before > 15 * MiB, "the partial frame is buffered");
  conn.close(); // the driver closes the machine when the session is replaced
  const released = buffered - (await heapUsedAfterGc());
  assert.ok(released > 15 * MiB, `only ${(released / MiB).toFixed(1)} MiB released`);
  assert.equal(conn.canSend, false);
});

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

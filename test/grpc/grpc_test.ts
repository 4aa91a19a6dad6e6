// Tests of gRPC over the HTTP/2 machine (src/grpc/): framing, grpc-timeout, status and
// percent-decoding, and GrpcConnection against a fake peer (unary, trailers-only, streams,
// limits, compressed flag, splits) on a fake clock.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes } from "../../src/core/bytes.ts";
import type { ConnectionEvent } from "../../src/core/connection.ts";
import { RemoteProtocolError } from "../../src/core/errors.ts";
import { GrpcConnection, type GrpcReply } from "../../src/grpc/connection.ts";
import { encodeGrpcMessage, GrpcMessageReader, grpcTimeout } from "../../src/grpc/framing.ts";
import { GrpcError, percentDecode, statusFromHttp } from "../../src/grpc/status.ts";
import { FrameType } from "../../src/http2/frames.ts";
import { FakePeer } from "../http2/_peer.ts";

type Ev = ConnectionEvent<GrpcReply, Uint8Array>;
const te = new TextEncoder();
const td = new TextDecoder();
const GRPC_HEADERS: [string, string][] = [[":status", "200"], ["content-type", "application/grpc"]];

function ready(options: { maxReceiveMessageBytes?: number } = {}) {
  const conn = new GrpcConnection({ authority: "h:1", ...options });
  const peer = new FakePeer();
  peer.read(conn.pollTransmit());
  conn.receive(peer.settings());
  const events = (): Ev[] => {
    const list: Ev[] = [];
    for (let e = conn.nextEvent(); e; e = conn.nextEvent()) {
      list.push(e);
      if (e.type === "closed") break;
    }
    return list;
  };
  events();
  peer.read(conn.pollTransmit());
  return { conn, peer, events, out: () => peer.read(conn.pollTransmit()) };
}

test("gRPC framing: length prefix, reader across chunks, compressed flag and size limit refused", () => {
  assert.deepEqual(
    encodeGrpcMessage(new Uint8Array([8, 1])),
    new Uint8Array([0, 0, 0, 0, 2, 8, 1]),
  );
  const r = new GrpcMessageReader(10);
  const bytes = concatBytes([
    encodeGrpcMessage(te.encode("ab")),
    encodeGrpcMessage(new Uint8Array(0)),
  ]);
  for (const byte of bytes) r.push(new Uint8Array([byte]));
  assert.equal(td.decode(r.next()), "ab");
  assert.deepEqual(r.next(), new Uint8Array(0));
  assert.equal(r.next(), undefined);
  const c = new GrpcMessageReader(10);
  c.push(new Uint8Array([1, 0, 0, 0, 1, 9]));
  assert.throws(() => c.next(), /compressed/);
  const big = new GrpcMessageReader(10);
  big.push(new Uint8Array([0, 0, 0, 0, 11])); // refused on the declared length alone
  assert.throws(() => big.next(), /exceeds the limit of 10 bytes/);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (junk) => {
    const j = new GrpcMessageReader(16);
    j.push(junk);
    try {
      while (j.next());
    } catch (error) {
      assert.ok(error instanceof RemoteProtocolError);
    }
    assert.ok(j.buffered <= junk.length);
  }));
});

test("grpc-timeout: millisecond units, coarser units beyond 8 digits, micros below 1 ms", () => {
  assert.equal(grpcTimeout(1500), "1500m");
  assert.equal(grpcTimeout(0.25), "250u");
  assert.equal(grpcTimeout(100_000_000), "100000S");
  assert.equal(grpcTimeout(1e12), "16666667M");
  assert.equal(grpcTimeout(1e13), "2777778H");
  assert.throws(() => grpcTimeout(-1), RangeError);
});

test("gRPC status: names, sent and retryable, HTTP mapping, percent-decoding", () => {
  const e = new GrpcError(14, "etcdserver: no leader");
  assert.deepEqual([e.status, e.serverCode, e.retryable, e.sent], [
    "UNAVAILABLE",
    "UNAVAILABLE",
    true,
    false,
  ]);
  assert.equal(new GrpcError(4, "").sent, true);
  assert.equal(new GrpcError(99, "").status, "UNKNOWN");
  assert.equal(statusFromHttp(503), 14);
  assert.equal(statusFromHttp(404), 12);
  assert.equal(percentDecode("caf%C3%A9 100%25 %zz %"), "café 100% %zz %");
});

test("gRPC unary call: request headers and framing; reply fed whole, byte by byte, every split", () => {
  const { conn, out } = ready();
  conn.send({
    path: "/etcdserverpb.KV/Range",
    message: te.encode("req"),
    timeout: 2000,
    metadata: [["token", "secret"]],
  });
  const frames = out();
  assert.deepEqual(frames[0].headers, [
    [":method", "POST"],
    [":scheme", "http"],
    [":authority", "h:1"],
    [":path", "/etcdserverpb.KV/Range"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ["grpc-timeout", "2000m"],
    ["token", "secret"],
  ]);
  // The token is sent "never indexed" (0x1X literal), so no HPACK table keeps it.
  assert.equal(frames[1].payload.length, 8);
  assert.deepEqual(frames[1].payload, encodeGrpcMessage(te.encode("req")));
  const p = new FakePeer();
  const answer = concatBytes([
    p.settings(),
    p.headers(1, GRPC_HEADERS),
    p.data(1, encodeGrpcMessage(te.encode("response"))),
    p.headers(1, [["grpc-status", "0"]], true),
  ]);
  const run = (chunks: Uint8Array[]): string => {
    const c = new GrpcConnection({ authority: "h" });
    c.send({ path: "/x", message: new Uint8Array(0) });
    c.pollTransmit();
    let got = "";
    for (const chunk of chunks) {
      c.receive(chunk);
      for (let e = c.nextEvent(); e; e = c.nextEvent()) {
        if (e.type === "reply" && e.value instanceof Uint8Array) got += td.decode(e.value);
      }
    }
    return got;
  };
  assert.equal(run([answer]), "response");
  assert.equal(run([...answer].map((x) => new Uint8Array([x]))), "response");
  for (let i = 1; i < answer.length; i++) {
    assert.equal(run([answer.subarray(0, i), answer.subarray(i)]), "response", `split ${i}`);
  }
});

test("gRPC errors: trailers-only status with a percent-encoded message, HTTP 503, no status", () => {
  const { conn, peer, events, out } = ready();
  const a = conn.send({ path: "/a", message: new Uint8Array(0) });
  const b = conn.send({ path: "/b", message: new Uint8Array(0) });
  const c = conn.send({ path: "/c", message: new Uint8Array(0) });
  out();
  conn.receive(concatBytes([
    peer.headers(1, [...GRPC_HEADERS, ["grpc-status", "11"], [
      "grpc-message",
      "etcdserver: mvcc: required revision is a future revision %E2%9C%93",
    ]], true),
    peer.headers(3, [[":status", "503"]], true),
    peer.headers(5, GRPC_HEADERS),
    peer.data(5, encodeGrpcMessage(new Uint8Array(0)), true),
  ]));
  const evs = events();
  const errors = evs.map((
    e,
  ) => (e.type === "serverError"
    ? [e.id, (e.error as GrpcError).status, (e.error as GrpcError).grpcMessage]
    : e.type)
  );
  assert.deepEqual(errors, [
    [a, "OUT_OF_RANGE", "etcdserver: mvcc: required revision is a future revision ✓"],
    [b, "UNAVAILABLE", "HTTP status 503 from the server"],
    [c, "UNKNOWN", "no grpc-status in trailers"],
  ]);
  assert.equal(conn.canSend, true);
});

test("gRPC stream call: messages split over DATA frames and packed in one, writes by tag, status ends it", () => {
  const { conn, peer, events, out } = ready();
  const tag = {};
  const id = conn.send({
    path: "/etcdserverpb.Watch/Watch",
    stream: true,
    tag,
    message: te.encode("create"),
  });
  out();
  const m1 = encodeGrpcMessage(te.encode("first"));
  const m23 = concatBytes([
    encodeGrpcMessage(te.encode("second")),
    encodeGrpcMessage(te.encode("third")),
  ]);
  conn.receive(concatBytes([
    peer.headers(1, GRPC_HEADERS),
    peer.data(1, m1.subarray(0, 3)),
    peer.data(1, m1.subarray(3)),
    peer.data(1, m23),
  ]));
  const items = events().map((e) => (e.type === "streamItem" ? td.decode(e.item) : e.type));
  assert.deepEqual(items, ["first", "second", "third"]);
  const w = conn.send({ write: tag, message: te.encode("cancel") });
  const frames = out();
  assert.deepEqual(frames.map((f) => [f.type, td.decode(f.payload.subarray(5))]), [[
    FrameType.Data,
    "cancel",
  ]]);
  assert.deepEqual(events().map((e) => [e.type, "id" in e ? e.id : 0]), [["reply", w]]);
  conn.receive(peer.headers(1, [["grpc-status", "1"], ["grpc-message", "canceled"]], true));
  const [end] = events();
  assert.ok(end.type === "streamEnd" && end.id === id && end.error instanceof GrpcError);
  assert.equal((end.error as GrpcError).status, "CANCELLED");
  assert.throws(() => conn.send({ write: tag, message: te.encode("late") }), /No open gRPC call/);
});

test("gRPC limits: a message over maxReceiveMessageBytes or compressed fails only its call", () => {
  const { conn, peer, events, out } = ready({ maxReceiveMessageBytes: 8 });
  const s = conn.send({ path: "/s", stream: true, message: new Uint8Array(0) });
  const u = conn.send({ path: "/u", message: new Uint8Array(0) });
  out();
  conn.receive(concatBytes([
    peer.headers(1, GRPC_HEADERS),
    peer.data(1, new Uint8Array([0, 0, 0, 0, 9])), // declares 9 bytes: refused before buffering
    peer.headers(3, GRPC_HEADERS),
    peer.data(3, concatBytes([new Uint8Array([1, 0, 0, 0, 1]), new Uint8Array([7])])),
    peer.headers(3, [["grpc-status", "0"]], true),
  ]));
  const evs = events();
  assert.deepEqual(
    evs.map((e) => [e.type, "id" in e ? e.id : 0, (e as { error?: GrpcError }).error?.status]),
    [
      ["streamEnd", s, "RESOURCE_EXHAUSTED"],
      ["serverError", u, "INTERNAL"],
    ],
  );
  const frames = out();
  assert.deepEqual(frames.map((f) => [f.type, f.streamId]), [[FrameType.RstStream, 1]]);
  assert.equal(conn.canSend, true);
  assert.equal(conn.inFlight, 0);
});

test("gRPC bad arguments are TypeError before anything is queued", () => {
  const { conn } = ready();
  assert.throws(() => conn.send({ path: "/u" }), TypeError);
  assert.throws(
    () => conn.send({ path: "/u", message: new Uint8Array(0), metadata: [["Bad", "x"]] }),
    TypeError,
  );
  assert.throws(
    () => conn.send({ path: "/u", message: new Uint8Array(0), metadata: [["token", "é✓"]] }),
    (e: Error) => e instanceof TypeError && !e.message.includes("é"),
  );
  assert.equal(conn.pollTransmit(), undefined);
  assert.equal(conn.inFlight, 0);
});

test("gRPC secrets: a token in metadata is not reachable through inspect, JSON or String", async () => {
  const { inspect } = await import("node:util");
  const { conn, out } = ready();
  conn.send({ path: "/x", message: new Uint8Array(0), metadata: [["token", "s3cret-token"]] });
  const before = [
    inspect(conn, { depth: 10, showHidden: true }),
    JSON.stringify(conn),
    String(conn),
  ];
  const frames = out();
  // On the wire it is a never-indexed literal: the peer's table does not keep it either.
  assert.ok(frames[0].headers?.some(([n, v]) => n === "token" && v === "s3cret-token"));
  const after = [
    inspect(conn, { depth: 10, showHidden: true }),
    JSON.stringify(conn),
    String(conn),
  ];
  for (const text of [...before, ...after]) assert.ok(!text.includes("s3cret"), text);
});

test("gRPC fuzz: mutated answers give replies, GrpcErrors or RemoteProtocolError, nothing else", () => {
  const p = new FakePeer();
  const valid = concatBytes([
    p.settings(),
    p.headers(1, GRPC_HEADERS),
    p.data(1, encodeGrpcMessage(te.encode("one"))),
    p.headers(1, [["grpc-status", "0"]], true),
    p.headers(3, GRPC_HEADERS),
    p.data(3, concatBytes([encodeGrpcMessage(te.encode("a")), encodeGrpcMessage(te.encode("b"))])),
    p.headers(3, [["grpc-status", "5"], ["grpc-message", "x%41"]], true),
  ]);
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 3,
      }),
      (mutations) => {
        const bytes = valid.slice();
        for (const [i, v] of mutations) bytes[i] = v;
        const conn = new GrpcConnection({ authority: "h", maxReceiveMessageBytes: 64 });
        conn.send({ path: "/u", message: new Uint8Array(0) });
        conn.send({ path: "/s", stream: true });
        conn.pollTransmit();
        conn.receive(bytes);
        try {
          for (let e = conn.nextEvent(); e && e.type !== "closed"; e = conn.nextEvent()) {
            if (e.type === "serverError") assert.ok(e.error instanceof Error);
          }
        } catch (error) {
          assert.ok(error instanceof RemoteProtocolError, String(error));
        }
      },
    ),
    { numRuns: 1000 },
  );
});

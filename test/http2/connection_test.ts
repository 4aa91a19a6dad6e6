// Tests of the HTTP/2 client machine (src/http2/connection.ts) against a fake peer on a fake
// clock: handshake, unary and streaming requests (whole, byte by byte, every split), flow
// control, CONTINUATION, PING, GOAWAY, RST_STREAM, concurrency, limits, timeouts and fuzz.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes } from "../../src/core/bytes.ts";
import type { ConnectionEvent } from "../../src/core/connection.ts";
import { RemoteProtocolError, UnresponsiveError } from "../../src/core/errors.ts";
import { Http2Connection } from "../../src/http2/connection.ts";
import { FrameType, Setting } from "../../src/http2/frames.ts";
import { type Http2Item, type Http2Reply, Http2StreamError } from "../../src/http2/types.ts";
import { FakePeer, type SeenFrame } from "./_peer.ts";

type Ev = ConnectionEvent<Http2Reply, Http2Item>;
const idOf = (e: Ev): number | undefined => ("id" in e ? e.id : undefined);
const te = new TextEncoder();
const td = new TextDecoder();

function setup(options: Partial<ConstructorParameters<typeof Http2Connection>[0]> = {}) {
  const conn = new Http2Connection({ authority: "h:1", ...options });
  const peer = new FakePeer();
  const out = (): SeenFrame[] => peer.read(conn.pollTransmit());
  const events = (): Ev[] => {
    const list: Ev[] = [];
    for (let e = conn.nextEvent(); e; e = conn.nextEvent()) {
      list.push(e);
      if (e.type === "closed") break;
    }
    return list;
  };
  return { conn, peer, out, events };
}

/** A client that completed the SETTINGS exchange. */
function ready(pairs: [number, number][] = [], options = {}) {
  const s = setup(options);
  s.out();
  s.conn.receive(s.peer.settings(pairs));
  s.events();
  const ack = s.out();
  assert.deepEqual(ack.map((f) => [f.type, f.flags]), [[FrameType.Settings, 1]]);
  return s;
}

test("HTTP/2 handshake: preface, our SETTINGS and connection WINDOW_UPDATE, then ACK of theirs", () => {
  const { conn, out, peer, events } = setup({ streamWindow: 1 << 20, connectionWindow: 1 << 24 });
  const frames = out();
  assert.deepEqual(frames.map((f) => f.type), [FrameType.Settings, FrameType.WindowUpdate]);
  const p = frames[0].payload;
  const settings = [];
  for (let i = 0; i < p.length; i += 6) {
    settings.push([
      (p[i] << 8) | p[i + 1],
      new DataView(p.buffer, p.byteOffset + i + 2, 4).getUint32(0),
    ]);
  }
  assert.deepEqual(settings, [[2, 0], [4, 1 << 20], [5, 16384], [6, 65536]]);
  assert.equal(new DataView(frames[1].payload.buffer).getUint32(0), (1 << 24) - 65535);
  conn.receive(peer.settings([[Setting.MaxConcurrentStreams, 10]]));
  assert.deepEqual(events(), []);
  assert.deepEqual(out().map((f) => [f.type, f.flags]), [[FrameType.Settings, 1]]);
  assert.equal(conn.pollTransmit(), undefined);
});

test("HTTP/2 a first frame other than SETTINGS is a RemoteProtocolError", () => {
  const { conn, out, peer } = setup();
  out();
  conn.receive(peer.goAway(0));
  assert.throws(() => conn.nextEvent(), RemoteProtocolError);
  assert.equal(conn.nextEvent()?.type, "closed");
  assert.equal(conn.wantsRead, false);
});

/** The server's answer to stream 1: headers, two DATA frames, trailers. */
function unaryAnswer(peer: FakePeer): Uint8Array {
  return concatBytes([
    peer.headers(1, [[":status", "200"], ["content-type", "application/grpc"]]),
    peer.data(1, te.encode("hello ")),
    peer.data(1, te.encode("world")),
    peer.headers(1, [["grpc-status", "0"]], true),
  ]);
}

test("HTTP/2 unary request: HEADERS + DATA END_STREAM out; the whole response as one reply", () => {
  const { conn, out, peer, events } = ready();
  const id = conn.send({ path: "/svc/M", headers: [["te", "trailers"]], body: te.encode("ping") });
  const frames = out();
  assert.deepEqual(frames.map((f) => [f.type, f.flags, f.streamId]), [
    [FrameType.Headers, 0x4, 1],
    [FrameType.Data, 0x1, 1],
  ]);
  assert.deepEqual(frames[0].headers, [
    [":method", "POST"],
    [":scheme", "http"],
    [":authority", "h:1"],
    [":path", "/svc/M"],
    ["te", "trailers"],
  ]);
  assert.equal(td.decode(frames[1].payload), "ping");
  assert.equal(conn.wasSent(id), true);
  conn.receive(unaryAnswer(peer));
  const evs = events();
  assert.equal(evs.length, 1);
  const e = evs[0];
  assert.ok(e.type === "reply" && e.value.type === "response");
  assert.equal(e.value.status, 200);
  assert.deepEqual(e.value.headers, [["content-type", "application/grpc"]]);
  assert.equal(td.decode(e.value.body), "hello world");
  assert.deepEqual(e.value.trailers, [["grpc-status", "0"]]);
  assert.equal(conn.inFlight, 0);
  assert.equal(conn.openStreams, 0);
});

test("HTTP/2 unary response fed whole, byte by byte and at every split gives the same reply", () => {
  const peer0 = new FakePeer();
  const settings = peer0.settings();
  const answer = unaryAnswer(peer0);
  const bytes = concatBytes([settings, answer]);
  const run = (chunks: Uint8Array[]): string => {
    const { conn, events, out } = setup();
    conn.send({ path: "/p", body: te.encode("x") });
    out();
    const seen: string[] = [];
    for (const c of chunks) {
      conn.receive(c);
      for (const e of events()) {
        if (e.type === "reply" && e.value.type === "response") seen.push(td.decode(e.value.body));
      }
    }
    return seen.join("|");
  };
  assert.equal(run([bytes]), "hello world");
  assert.equal(run([...bytes].map((b) => new Uint8Array([b]))), "hello world");
  for (let i = 1; i < bytes.length; i++) {
    assert.equal(run([bytes.subarray(0, i), bytes.subarray(i)]), "hello world", `split at ${i}`);
  }
});

test("HTTP/2 request without body ends on HEADERS; response headers split by CONTINUATION", () => {
  const { conn, out, peer, events } = ready();
  conn.send({ method: "GET", path: "/" });
  const frames = out();
  assert.deepEqual(frames.map((f) => [f.type, f.flags]), [[FrameType.Headers, 0x5]]);
  const block = peer.encoder.encode([[":status", "200"], ["x-long", "v".repeat(100)]]);
  conn.receive(concatBytes([
    peer.frame(FrameType.Headers, 0x1, 1, block.subarray(0, 10)),
    peer.frame(FrameType.Continuation, 0, 1, block.subarray(10, 50)),
    peer.frame(FrameType.Continuation, 0x4, 1, block.subarray(50)),
  ]));
  const [e] = events();
  assert.ok(e.type === "reply" && e.value.type === "response");
  assert.deepEqual(e.value.headers, [["x-long", "v".repeat(100)]]);
});

test("HTTP/2 request headers larger than the peer's max frame go out as HEADERS + CONTINUATION", () => {
  const { conn, out } = ready();
  conn.send({ path: "/", headers: [["x-big", "a".repeat(40000)]] });
  const frames = out();
  assert.deepEqual(frames.map((f) => [f.type, f.flags]), [
    [FrameType.Headers, 0x1],
    [FrameType.Continuation, 0x4],
  ]);
  assert.equal(frames[0].payload.length, 16384);
  assert.equal(frames[1].headers?.at(-1)?.[1].length, 40000);
});

test("HTTP/2 send flow control: stream and connection windows, WINDOW_UPDATE, SETTINGS changes", () => {
  const { conn, out, peer } = ready();
  conn.send({ path: "/", body: new Uint8Array(100_000) });
  let frames = out();
  const dataBytes = (fs: SeenFrame[]) =>
    fs.filter((f) => f.type === FrameType.Data).reduce((n, f) => n + f.payload.length, 0);
  assert.equal(dataBytes(frames), 65535);
  assert.ok(frames.every((f) => f.payload.length <= 16384));
  assert.equal(conn.pollTransmit(), undefined); // no credit left
  // Stream credit alone is not enough: the connection window is empty too.
  conn.receive(peer.u32(FrameType.WindowUpdate, 1, 50_000));
  conn.nextEvent();
  assert.equal(conn.pollTransmit(), undefined);
  conn.receive(peer.u32(FrameType.WindowUpdate, 0, 20_000));
  conn.nextEvent();
  frames = out();
  assert.equal(dataBytes(frames), 20_000);
  // A larger SETTINGS_INITIAL_WINDOW_SIZE raises the stream window by the difference.
  conn.receive(concatBytes([
    peer.settings([[Setting.InitialWindowSize, 65535 + 100_000]]),
    peer.u32(FrameType.WindowUpdate, 0, 100_000),
  ]));
  conn.nextEvent();
  frames = out();
  assert.equal(dataBytes(frames), 100_000 - 85_535);
  assert.equal(frames.at(-1)?.flags, 0x1);
});

test("HTTP/2 a lowered initial window can go negative: nothing is sent until credit returns", () => {
  const { conn, out, peer } = ready();
  conn.send({ path: "/", body: new Uint8Array(30_000) });
  const first = out().filter((f) => f.type === FrameType.Data);
  assert.equal(first.reduce((n, f) => n + f.payload.length, 0), 30_000);
  const id2 = conn.send({ path: "/2", body: new Uint8Array(40_000) });
  assert.ok(id2 > 0);
  // Stream 3 got 35535 bytes (the connection's remaining credit); shrinking every stream
  // window by 60000 leaves stream 3 at -60000 + (65535 - 35535).
  assert.equal(
    out().filter((f) => f.type === FrameType.Data).reduce((n, f) => n + f.payload.length, 0),
    35_535,
  );
  conn.receive(
    concatBytes([
      peer.settings([[Setting.InitialWindowSize, 5535]]),
      peer.u32(FrameType.WindowUpdate, 0, 100_000),
    ]),
  );
  conn.nextEvent();
  assert.deepEqual(out().map((f) => f.type), [FrameType.Settings]); // only the ACK
  conn.receive(peer.u32(FrameType.WindowUpdate, 3, 30_000 + 4_465));
  conn.nextEvent();
  const rest = out().filter((f) => f.type === FrameType.Data);
  assert.equal(rest.reduce((n, f) => n + f.payload.length, 0), 4_465);
  assert.equal(rest.at(-1)?.flags, 1);
});

test("HTTP/2 receive flow control: WINDOW_UPDATE once half a window was consumed; overrun refused", () => {
  const { conn, out, peer, events } = ready([], { streamWindow: 65535, connectionWindow: 65535 });
  conn.send({ path: "/s", stream: true });
  out();
  conn.receive(peer.headers(1, [[":status", "200"]]));
  events();
  conn.receive(
    concatBytes([peer.data(1, new Uint8Array(16384)), peer.data(1, new Uint8Array(16384))]),
  );
  assert.equal(events().length, 2);
  const updates = out().filter((f) => f.type === FrameType.WindowUpdate);
  assert.deepEqual(updates.map((f) => [f.streamId, new DataView(f.payload.buffer).getUint32(0)]), [
    [0, 32768],
    [1, 32768],
  ]);
  const { conn: c2, out: o2, peer: p2 } = ready([], {
    streamWindow: 65535,
    connectionWindow: 65535,
  });
  c2.send({ path: "/s", stream: true });
  o2();
  c2.receive(p2.headers(1, [[":status", "200"]]));
  for (let i = 0; i < 5; i++) c2.receive(p2.data(1, new Uint8Array(16000)));
  assert.throws(() => {
    for (let e = c2.nextEvent(); e; e = c2.nextEvent());
  }, /more DATA than the connection window/);
});

test("HTTP/2 bidirectional stream: writes over time are replied once written; items in order", () => {
  const { conn, out, peer, events } = ready();
  const id = conn.send({ path: "/etcdserverpb.Watch/Watch", stream: true, body: te.encode("a") });
  let frames = out();
  assert.deepEqual(frames.map((f) => [f.type, f.flags]), [[FrameType.Headers, 0x4], [
    FrameType.Data,
    0,
  ]]);
  const w1 = conn.send({ write: id, data: te.encode("b") });
  assert.deepEqual(events(), []);
  frames = out();
  assert.deepEqual(frames.map((f) => [f.type, td.decode(f.payload)]), [[FrameType.Data, "b"]]);
  assert.deepEqual(events(), [{ type: "reply", id: w1, value: { type: "written", stream: id } }]);
  conn.receive(
    concatBytes([peer.headers(1, [[":status", "200"]]), peer.data(1, te.encode("ev1"))]),
  );
  conn.receive(peer.data(1, te.encode("ev2")));
  const items = events().map((e) => (e.type === "streamItem" ? e.item : e));
  assert.deepEqual(items.map((i) => ("type" in i ? i.type : "?")), ["headers", "data", "data"]);
  const w2 = conn.send({ write: id, data: new Uint8Array(0), end: true });
  frames = out();
  assert.deepEqual(frames.map((f) => [f.type, f.flags, f.payload.length]), [[
    FrameType.Data,
    1,
    0,
  ]]);
  assert.deepEqual(events().map(idOf), [w2]);
  assert.throws(() => conn.send({ write: id, data: te.encode("late") }), /has ended/);
  conn.receive(peer.headers(1, [["grpc-status", "0"]], true));
  assert.deepEqual(events().map((e) => e.type), ["streamItem", "streamEnd"]);
  assert.equal(conn.inFlight, 0);
});

test("HTTP/2 PING: the peer's is answered; ours is acked, or closes the machine at its deadline", () => {
  const { conn, out, peer, events } = ready();
  conn.receive(peer.frame(FrameType.Ping, 0, 0, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])));
  events();
  const [ack] = out();
  assert.deepEqual([ack.type, ack.flags, [...ack.payload]], [FrameType.Ping, 1, [
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
  ]]);
  conn.ping(1000);
  const [ping] = out();
  assert.equal(conn.pollTimeout(), 1000);
  conn.receive(peer.frame(FrameType.Ping, 1, 0, ping.payload));
  events();
  assert.equal(conn.pingsAcked, 1);
  assert.equal(conn.pollTimeout(), undefined);
  conn.ping(2000);
  out();
  conn.handleTimeout(2000);
  const [closed] = events();
  assert.ok(closed.type === "closed" && closed.error instanceof UnresponsiveError);
});

test("HTTP/2 GOAWAY: streams above last-stream-id and queued ones fail with sent: false", () => {
  const { conn, out, peer, events } = ready([[Setting.MaxConcurrentStreams, 2]]);
  const a = conn.send({ path: "/a" });
  const b = conn.send({ path: "/b" });
  const c = conn.send({ path: "/c" });
  out();
  assert.equal(conn.wasSent(c), false);
  conn.receive(peer.goAway(1));
  const evs = events();
  assert.deepEqual(evs.map((e) => [e.type, idOf(e)]), [["serverError", b], ["serverError", c]]);
  for (const e of evs) {
    assert.ok(e.type === "serverError" && e.error instanceof Http2StreamError);
    assert.equal(e.error.sent, false);
  }
  assert.equal(conn.canSend, false);
  assert.throws(() => conn.send({ path: "/d" }), /GOAWAY/);
  conn.receive(concatBytes([peer.headers(1, [[":status", "200"]], true)]));
  const rest = events();
  assert.deepEqual(rest.map((e) => [e.type, idOf(e)]), [["reply", a], ["closed", undefined]]);
});

test("HTTP/2 RST_STREAM both ways: peer reset fails the request; cancel resets the stream", () => {
  const { conn, out, peer, events } = ready();
  const a = conn.send({ path: "/a" });
  const b = conn.send({ path: "/b" });
  out();
  conn.receive(peer.u32(FrameType.RstStream, 1, 0x7));
  const [e] = events();
  assert.ok(e.type === "serverError" && e.error instanceof Http2StreamError);
  assert.deepEqual([e.id, e.error.http2Code, e.error.sent], [a, "REFUSED_STREAM", false]);
  conn.cancel(b);
  const [rst] = out();
  assert.deepEqual([rst.type, rst.streamId, rst.payload[3]], [FrameType.RstStream, 3, 0x8]);
  // Late frames for the reset stream are dropped, not errors.
  conn.receive(peer.headers(3, [[":status", "200"]], true));
  assert.deepEqual(events(), []);
  assert.equal(conn.inFlight, 0);
});

test("HTTP/2 max concurrent streams: requests beyond queue until a stream closes", () => {
  const { conn, out, peer, events } = ready([[Setting.MaxConcurrentStreams, 1]]);
  conn.send({ path: "/a" });
  const b = conn.send({ path: "/b" });
  assert.deepEqual(out().map((f) => f.streamId), [1]);
  assert.equal(conn.wasSent(b), false);
  assert.equal(conn.pollTransmit(), undefined);
  conn.receive(peer.headers(1, [[":status", "200"]], true));
  events();
  assert.deepEqual(out().map((f) => f.streamId), [3]);
  assert.equal(conn.wasSent(b), true);
});

test("HTTP/2 deadlines: an open stream is reset (sent: true), a queued one dropped (sent: false)", () => {
  const { conn, out, events } = ready([[Setting.MaxConcurrentStreams, 1]]);
  const a = conn.send({ path: "/a" }, { deadline: 10 });
  const b = conn.send({ path: "/b" }, { deadline: 10 });
  out();
  conn.handleTimeout(10);
  assert.deepEqual(events(), [
    { type: "timeout", id: a, sent: true },
    { type: "timeout", id: b, sent: false },
  ]);
  const frames = out();
  assert.deepEqual(frames.map((f) => [f.type, f.streamId]), [[FrameType.RstStream, 1]]);
});

test("HTTP/2 violations are RemoteProtocolError: oversized frame, unknown stream, push, header limit", () => {
  const cases: [string, (p: FakePeer) => Uint8Array][] = [
    ["oversized frame", (p) => p.data(1, new Uint8Array(16385))],
    ["never-opened stream", (p) => p.headers(5, [[":status", "200"]])],
    ["even stream", (p) => p.headers(2, [[":status", "200"]])],
    ["push promise", (p) => p.frame(FrameType.PushPromise, 4, 1, new Uint8Array(4))],
    ["header list", (p) => p.headers(1, [[":status", "200"], ["x", "y".repeat(70000)]])],
    ["data before headers", (p) => p.data(1, new Uint8Array(1))],
    ["bad settings", (p) => p.settings([[Setting.MaxFrameSize, 100]])],
    [
      "interrupted block",
      (p) =>
        concatBytes([
          p.frame(FrameType.Headers, 0, 1, new Uint8Array([0x88])),
          p.data(1, new Uint8Array(1)),
        ]),
    ],
  ];
  for (const [name, build] of cases) {
    const { conn, out, peer } = ready();
    conn.send({ path: "/", stream: true });
    out();
    conn.receive(build(peer));
    assert.throws(
      () => {
        for (let e = conn.nextEvent(); e; e = conn.nextEvent());
      },
      RemoteProtocolError,
      name,
    );
    assert.equal(conn.nextEvent()?.type, "closed", name);
  }
});

test("HTTP/2 EOF inside a frame is a RemoteProtocolError", () => {
  const { conn, peer } = setup();
  conn.pollTransmit();
  conn.receive(peer.settings().subarray(0, 5));
  conn.receiveEof();
  assert.throws(() => conn.nextEvent(), RemoteProtocolError);
});

test("HTTP/2 fuzz: random and mutated server bytes give events or RemoteProtocolError, bounded", () => {
  const p0 = new FakePeer();
  const valid = concatBytes([p0.settings(), unaryAnswer(p0)]);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((b) => concatBytes([new FakePeer().settings(), b])),
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        })
          .map((muts) => {
            const m = valid.slice();
            for (const [i, b] of muts) m[i] = b;
            return m;
          }),
      ),
      fc.integer({ min: 1, max: 64 }),
      (bytes, step) => {
        const conn = new Http2Connection({ authority: "h" });
        conn.send({ path: "/" });
        conn.send({ path: "/s", stream: true });
        conn.pollTransmit();
        try {
          for (let i = 0; i < bytes.length; i += step) {
            conn.receive(bytes.subarray(i, i + step));
            for (let e = conn.nextEvent(); e && e.type !== "closed"; e = conn.nextEvent());
            conn.pollTransmit();
          }
          conn.receiveEof();
          for (let e = conn.nextEvent(); e && e.type !== "closed"; e = conn.nextEvent());
        } catch (error) {
          assert.ok(error instanceof RemoteProtocolError, String(error));
        }
      },
    ),
    { numRuns: 1500 },
  );
});

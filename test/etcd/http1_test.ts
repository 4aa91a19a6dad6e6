// Tests of the HTTP/1.1 codec and connection machine (src/etcd/http1/): fixtures fed whole,
// byte by byte and at every split point, limits, pair tests on a fake clock, fast-check fuzz.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { LocalProtocolError, RemoteProtocolError } from "../../src/core/errors.ts";
import { ReceiveBuffer } from "../../src/core/receive_buffer.ts";
import { encodeRequest, type HttpResponse, ResponseReader } from "../../src/etcd/http1/codec.ts";
import { Http1Connection } from "../../src/etcd/http1/connection.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const enc = (s: string): Uint8Array => te.encode(s);

type Seen =
  | { reply: { status: number; body: string; headers: Record<string, string> } }
  | { item: string }
  | { end: string | null }
  | { timeout: number };

/** Feeds `chunks` to a fresh machine that sent `requests`, collecting every event. */
function run(chunks: Uint8Array[], streams: boolean[], eof = false): Seen[] {
  const conn = new Http1Connection({ host: "h:1" });
  for (const stream of streams) conn.send({ method: "POST", path: "/p", body: "{}", stream });
  conn.pollTransmit();
  const seen: Seen[] = [];
  const drain = (): void => {
    for (let e = conn.nextEvent(); e; e = conn.nextEvent()) {
      if (e.type === "reply") {
        seen.push({
          reply: {
            status: e.value.status,
            body: td.decode(e.value.body),
            headers: e.value.headers,
          },
        });
      } else if (e.type === "streamItem") seen.push({ item: td.decode(e.item) });
      else if (e.type === "streamEnd") seen.push({ end: e.error ? e.error.message : null });
    }
  };
  for (const chunk of chunks) {
    conn.receive(chunk);
    drain();
  }
  if (eof) {
    conn.receiveEof();
    drain();
  }
  return seen;
}

function splits(bytes: Uint8Array): Uint8Array[][] {
  const out: Uint8Array[][] = [[bytes], Array.from(bytes, (b) => new Uint8Array([b]))];
  for (let i = 1; i < bytes.length; i++) out.push([bytes.slice(0, i), bytes.slice(i)]);
  return out;
}

const H = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
const FIXTURES: { name: string; wire: string; streams: boolean[]; eof?: boolean; want: Seen[] }[] =
  [
    {
      name: "content-length then chunked with trailers, pipelined",
      wire: `${H}Content-Length: 7\r\n\r\n{"a":1}` +
        `HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n` +
        `Trailer: X\r\n\r\n3\r\n{"e\r\nB;ext=1\r\n":"no"}1234\r\n0\r\nX: y\r\n\r\n`,
      streams: [false, false],
      want: [
        {
          reply: {
            status: 200,
            body: `{"a":1}`,
            headers: { "content-type": "application/json", "content-length": "7" },
          },
        },
        {
          reply: {
            status: 500,
            body: `{"e":"no"}1234`,
            headers: { "transfer-encoding": "chunked", trailer: "X" },
          },
        },
      ],
    },
    {
      name: "a 100 Continue is skipped and repeated headers are joined",
      wire: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nA: 1\r\na: 2\r\n\r\n",
      streams: [false],
      want: [{ reply: { status: 204, body: "", headers: { a: "1, 2" } } }],
    },
    {
      name: "a streamed body becomes one item per line, across chunk boundaries",
      wire: `${H}Transfer-Encoding: chunked\r\n\r\n` +
        `d\r\n{"n":1}\n{"n":\r\n3\r\n2}\n\r\n6\r\n{"n":3\r\n0\r\n\r\n`,
      streams: [true],
      want: [{ item: `{"n":1}` }, { item: `{"n":2}` }, { item: `{"n":3` }, { end: null }],
    },
    {
      name: "a non-2xx answer to a stream ends it with an error",
      wire: `HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nnope!`,
      streams: [true],
      want: [{ end: "HTTP 400 Bad Request" }],
    },
    {
      name: "a body without length runs to EOF",
      wire: "HTTP/1.0 200 OK\r\n\r\nall of it",
      streams: [false],
      eof: true,
      want: [{ reply: { status: 200, body: "all of it", headers: {} } }],
    },
  ];

for (const f of FIXTURES) {
  test(`http1: ${f.name}, whole, byte by byte and at every split point`, () => {
    const wire = enc(f.wire);
    for (const chunks of splits(wire)) {
      assert.deepEqual(run(chunks, f.streams, f.eof), f.want);
    }
  });
}

test("http1: encodeRequest writes the request line, Host and Content-Length", () => {
  const bytes = encodeRequest(
    { method: "POST", path: "/v3/kv/put", headers: { Authorization: "t" }, body: "{}" },
    "127.0.0.1:2379",
  );
  assert.equal(
    td.decode(bytes),
    "POST /v3/kv/put HTTP/1.1\r\nHost: 127.0.0.1:2379\r\nAuthorization: t\r\n" +
      "Content-Length: 2\r\n\r\n{}",
  );
  assert.throws(() => encodeRequest({ method: "GET", path: "/a b" }, "h"), TypeError);
  assert.throws(
    () => encodeRequest({ method: "GET", path: "/", headers: { A: "x\r\nB: y" } }, "h"),
    TypeError,
  );
});

test("http1: malformed responses throw RemoteProtocolError and fail the machine", () => {
  const bad = [
    "HTTP/2 200 OK\r\n\r\n",
    "HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
  ];
  for (const wire of bad) {
    const conn = new Http1Connection({ host: "h" });
    conn.send({ method: "GET", path: "/" });
    conn.pollTransmit();
    conn.receive(enc(wire));
    assert.throws(() => conn.nextEvent(), RemoteProtocolError, wire);
    assert.equal(conn.nextEvent()?.type, "closed");
    assert.equal(conn.canSend, false);
  }
  const stray = new Http1Connection({ host: "h" });
  stray.receive(enc("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  assert.throws(() => stray.nextEvent(), /38 bytes arrived while no request awaited a response/);
});

test("http1: header, body and item limits are enforced", () => {
  const headers = new Http1Connection({ host: "h", maxHeaderBytes: 100 });
  headers.send({ method: "GET", path: "/" });
  headers.pollTransmit();
  headers.receive(enc("HTTP/1.1 200 OK\r\nX: " + "a".repeat(200)));
  assert.throws(() => headers.nextEvent(), /exceeds 100 bytes/);

  const body = new Http1Connection({ host: "h", maxBodyBytes: 10 });
  body.send({ method: "GET", path: "/" });
  body.pollTransmit();
  body.receive(enc("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n01234567890"));
  assert.throws(() => body.nextEvent(), /Content-Length 11 exceeds the limit of 10 bytes/);

  const item = new Http1Connection({ host: "h", maxItemBytes: 8 });
  item.send({ method: "POST", path: "/w", stream: true });
  item.pollTransmit();
  item.receive(
    enc("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n8\r\n89abcdef\r\n"),
  );
  assert.throws(() => item.nextEvent(), /Stream item exceeds 8 bytes/);
});

test("http1: a connection carrying a stream refuses other requests", () => {
  const conn = new Http1Connection({ host: "h" });
  conn.send({ method: "POST", path: "/v3/watch", stream: true });
  assert.equal(conn.canSend, false);
  assert.throws(() => conn.send({ method: "POST", path: "/v3/kv/range" }), LocalProtocolError);
  conn.pollTransmit();
  conn.receive(enc("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
  assert.deepEqual(conn.nextEvent(), { type: "streamEnd", id: 1 });
  assert.equal(conn.canSend, true, "a stream that ended frees the connection");
  conn.send({ method: "POST", path: "/v3/watch", stream: true });
  conn.pollTransmit();
  conn.cancel(2);
  assert.equal(conn.canSend, false, "a cancelled stream body never ends: the connection is spent");
});

test("http1: deadlines on a fake clock; a late reply is discarded in order", () => {
  const conn = new Http1Connection({ host: "h" });
  const a = conn.send({ method: "GET", path: "/a" }, { deadline: 100 });
  const b = conn.send({ method: "GET", path: "/b" }, { deadline: 500 });
  const c = conn.send({ method: "GET", path: "/c" }, { deadline: 50 });
  assert.ok(td.decode(conn.pollTransmit(60)!).includes("GET /b"), "sends up to maxBytes and more");
  conn.handleTimeout(60);
  assert.deepEqual(conn.nextEvent(), { type: "timeout", id: c, sent: false });
  assert.equal(conn.pollTransmit(), undefined, "c timed out before it was written: dropped");
  assert.equal(conn.pollTimeout(), 100);
  conn.handleTimeout(100);
  assert.deepEqual(conn.nextEvent(), { type: "timeout", id: a, sent: true });
  conn.receive(enc("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"));
  conn.receive(enc("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB"));
  const e = conn.nextEvent();
  assert.equal(e?.type, "reply");
  assert.equal(e?.type === "reply" && e.id, b);
  assert.equal(e?.type === "reply" && td.decode((e.value as HttpResponse).body), "B");
  assert.equal(conn.inFlight, 0);
  const d = conn.send({ method: "GET", path: "/d" }, { deadline: 10 });
  conn.handleTimeout(20);
  assert.deepEqual(conn.nextEvent(), { type: "timeout", id: d, sent: false });
  assert.equal(conn.pollTransmit(), undefined, "d timed out unsent: never written");
});

test("http1: Connection: close stops sending after that response", () => {
  const conn = new Http1Connection({ host: "h" });
  conn.send({ method: "GET", path: "/" });
  conn.pollTransmit();
  conn.receive(enc("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
  assert.equal(conn.nextEvent()?.type, "reply");
  assert.equal(conn.canSend, false);
});

test("http1: fuzz — random and mutated bytes yield events or RemoteProtocolError only", () => {
  const valid = enc(FIXTURES[0].wire + FIXTURES[2].wire.replace("HTTP/1.1 200", "HTTP/1.1 201"));
  const arb = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(valid.length))
      .map(([at, byte, cut]) => {
        const copy = valid.slice(0, Math.max(1, cut));
        if (at < copy.length) copy[at] = byte;
        return copy;
      }),
  );
  fc.assert(
    fc.property(arb, fc.array(fc.nat(40), { maxLength: 6 }), (bytes, cuts) => {
      const conn = new Http1Connection({ host: "h", maxHeaderBytes: 512, maxBodyBytes: 1024 });
      for (let i = 0; i < 4; i++) conn.send({ method: "GET", path: "/", stream: i === 3 });
      conn.pollTransmit();
      let at = 0;
      try {
        for (const n of [...cuts, bytes.length]) {
          conn.receive(bytes.slice(at, at + n));
          at += n;
          for (let e = conn.nextEvent(), k = 0; e && e.type !== "closed"; e = conn.nextEvent()) {
            assert.ok(++k < 10_000, "no endless event loop");
          }
        }
        conn.receiveEof();
        while (conn.nextEvent());
      } catch (error) {
        if (!(error instanceof RemoteProtocolError)) throw error;
      }
    }),
    { numRuns: 2000 },
  );
});

test("http1: ResponseReader hands out data as it arrives, never buffering a body", () => {
  const reader = new ResponseReader();
  const buf = new ReceiveBuffer();
  buf.push(enc("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234"));
  assert.equal(reader.next(buf, false)?.type, "head");
  const part = reader.next(buf, false);
  assert.equal(part?.type === "data" && td.decode(part.bytes), "01234");
  assert.equal(reader.next(buf, false), undefined);
  assert.throws(() => reader.next(buf, true), /middle of a response body/);
});

/** A machine with one written GET (or stream), fed `wire`; returns it and its events. */
function feed(
  wire: string,
  options: { stream?: boolean; maxBodyBytes?: number; maxItemBytes?: number } = {},
): { conn: Http1Connection; events: string[]; error: unknown } {
  const conn = new Http1Connection({ host: "h", ...options });
  conn.send({ method: "GET", path: "/", stream: options.stream });
  conn.pollTransmit();
  conn.receive(enc(wire));
  const events: string[] = [];
  try {
    for (let e = conn.nextEvent(); e; e = conn.nextEvent()) events.push(e.type);
    return { conn, events, error: undefined };
  } catch (error) {
    return { conn, events, error };
  }
}

test("http1: a declared Content-Length over the limit fails before any body byte", () => {
  const { conn, error } = feed("HTTP/1.1 200 OK\r\nContent-Length: 999999999999999\r\n\r\n");
  assert.ok(error instanceof RemoteProtocolError);
  assert.match(error.message, /Content-Length 999999999999999 exceeds the limit of 67108864/);
  assert.equal(conn.canSend, false);
  assert.equal(conn.wantsRead, false, "a failed machine reads nothing more");
});

test("http1: a chunk size over the limit fails at once and swallows no later reply", () => {
  const second = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
  const big = feed(
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\n${second}`,
  );
  assert.ok(big.error instanceof RemoteProtocolError);
  assert.match(big.error.message, /Chunk size 281474976710655 exceeds the limit/);
  const sum = feed(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n",
    { maxBodyBytes: 10 },
  );
  assert.match(String(sum.error), /Chunk size 6 exceeds the limit of 10 bytes/);
  const stream = feed(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{}\n\n\r\n20\r\n",
    { stream: true, maxItemBytes: 16 },
  );
  assert.deepEqual(stream.events, ["streamItem"], "a stream body is unbounded as a whole");
  assert.match(String(stream.error), /Chunk size 32 exceeds the limit of 16 bytes/);
  const eof = feed("HTTP/1.0 200 OK\r\n\r\n0123456789abc", { maxBodyBytes: 10 });
  assert.match(String(eof.error), /Response body exceeds 10 bytes/);
});

test("http1: bytes that arrive while no written request awaits a response fail the machine", () => {
  const conn = new Http1Connection({ host: "h" });
  conn.receive(enc("HTTP/1.1 200 OK\r\nContent-"));
  conn.send({ method: "GET", path: "/" });
  conn.pollTransmit();
  conn.receive(enc("Length: 2\r\n\r\n{}"));
  assert.throws(() => conn.nextEvent(), /25 bytes arrived while no request awaited a response/);
  assert.equal(conn.nextEvent()?.type, "closed");
  const early = new Http1Connection({ host: "h" });
  early.send({ method: "GET", path: "/" }); // queued, not yet written
  early.receive(enc("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  early.pollTransmit();
  assert.throws(() => early.nextEvent(), RemoteProtocolError);
});

test("http1: surplus bytes after a complete response: the reply, then a failure", () => {
  for (const extra of ["HTTP/1", "x", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"]) {
    const { conn, events, error } = feed(`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA${extra}`);
    assert.deepEqual(events, ["reply"], "the response that was awaited is delivered");
    assert.ok(error instanceof RemoteProtocolError, extra);
    assert.match(error.message, /followed a complete response while no request awaited one/);
    assert.equal(conn.nextEvent()?.type, "closed");
  }
  const pipelined = new Http1Connection({ host: "h" });
  pipelined.send({ method: "GET", path: "/a" });
  pipelined.send({ method: "GET", path: "/b" });
  pipelined.pollTransmit();
  const one = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA";
  pipelined.receive(enc(one + one.slice(0, 10)));
  assert.equal(pipelined.nextEvent()?.type, "reply");
  assert.equal(pipelined.nextEvent(), undefined, "the second response is awaited: not surplus");
});

// WebSocket framing and the HTTP head (src/tunnel/ws_frames.ts, http_head.ts): frames fed
// whole, byte by byte and at every split point; violations; RFC 6455 handshake vectors.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  encodeCloseFrame,
  encodeFrame,
  type FrameEvent,
  Opcode,
  WebSocketFrameDecoder,
  WebSocketProtocolError,
} from "../../src/tunnel/ws_frames.ts";
import {
  acceptKey,
  findHeadEnd,
  HttpHeadError,
  parseRequestHead,
  parseUpgrade,
} from "../../src/tunnel/http_head.ts";

const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
const enc = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Decodes the pieces in order and merges adjacent data events. */
function decodeAll(pieces: Uint8Array[], requireMask = true, max = 1 << 20): FrameEvent[] {
  const decoder = new WebSocketFrameDecoder({ maxMessageSize: max, requireMask });
  const events: FrameEvent[] = [];
  for (const piece of pieces) {
    decoder.push(piece);
    for (let e = decoder.next(); e; e = decoder.next()) {
      const last = events[events.length - 1];
      if (e.type === "data" && last?.type === "data") {
        const merged = new Uint8Array(last.bytes.length + e.bytes.length);
        merged.set(last.bytes);
        merged.set(e.bytes, last.bytes.length);
        last.bytes = merged;
      } else {
        events.push(e);
      }
    }
  }
  return events;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

test("frames: RFC 6455 §5.7 examples decode", () => {
  const unmaskedHello = new Uint8Array([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
  assert.deepEqual(decodeAll([unmaskedHello], false), [{ type: "text", text: "Hello" }]);
  const maskedHello = new Uint8Array([
    0x81,
    0x85,
    0x37,
    0xfa,
    0x21,
    0x3d,
    0x7f,
    0x9f,
    0x4d,
    0x51,
    0x58,
  ]);
  assert.deepEqual(decodeAll([maskedHello]), [{ type: "text", text: "Hello" }]);
  assert.deepEqual(encodeFrame(Opcode.Text, enc("Hello"), MASK), maskedHello);
  const fragmented = [
    new Uint8Array([0x01, 0x03, 0x48, 0x65, 0x6c]),
    new Uint8Array([0x80, 0x02, 0x6c, 0x6f]),
  ];
  assert.deepEqual(decodeAll(fragmented, false), [{ type: "text", text: "Hello" }]);
  const ping = new Uint8Array([0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
  assert.deepEqual(decodeAll([ping], false), [{ type: "ping", payload: enc("Hello") }]);
  const big = new Uint8Array(65536).fill(7);
  const bigFrame = encodeFrame(Opcode.Binary, big);
  assert.deepEqual([...bigFrame.subarray(0, 10)], [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
  assert.deepEqual(decodeAll([bigFrame], false), [{ type: "data", bytes: big }]);
});

test("frames: a stream of mixed frames decodes the same at every split point", () => {
  const payload = new Uint8Array(300).map((_, i) => (i * 7) & 0xff);
  const stream = concat([
    encodeFrame(Opcode.Binary, payload, MASK),
    encodeFrame(Opcode.Text, enc("credit 42"), MASK),
    encodeFrame(Opcode.Ping, enc("p"), MASK),
    encodeFrame(Opcode.Binary, new Uint8Array(0), MASK),
    encodeFrame(Opcode.Binary, payload.subarray(0, 200), MASK),
    encodeCloseFrame(1000, "bye", MASK),
  ]);
  const expected: FrameEvent[] = [
    { type: "data", bytes: payload },
    { type: "text", text: "credit 42" },
    { type: "ping", payload: enc("p") },
    { type: "data", bytes: payload.subarray(0, 200) },
    { type: "close", code: 1000, reason: "bye" },
  ];
  // Data events from two frames can merge when nothing separates them; here events separate.
  assert.deepEqual(decodeAll([stream]), expected);
  assert.deepEqual(decodeAll([...stream].map((b) => new Uint8Array([b]))), expected);
  for (let split = 1; split < stream.length; split++) {
    assert.deepEqual(
      decodeAll([stream.subarray(0, split), stream.subarray(split)]),
      expected,
      `split at ${split}`,
    );
  }
});

test("frames: violations fail with the right close code, then stay failed", () => {
  const cases: [Uint8Array, number, boolean][] = [
    [encodeFrame(Opcode.Binary, enc("x")), 1002, true], // unmasked from a client
    [new Uint8Array([0xc2, 0x80, 0, 0, 0, 0]), 1002, true], // RSV1
    [new Uint8Array([0x83, 0x80, 0, 0, 0, 0]), 1002, true], // opcode 3
    [new Uint8Array([0x09, 0x80, 0, 0, 0, 0]), 1002, true], // fragmented ping
    [new Uint8Array([0x80, 0x80, 0, 0, 0, 0]), 1002, true], // continuation of nothing
    [encodeFrame(Opcode.Ping, new Uint8Array(126), MASK), 1002, true],
    [encodeFrame(Opcode.Binary, new Uint8Array(2000), MASK), 1009, true],
    [encodeFrame(Opcode.Text, new Uint8Array([0xff]), MASK), 1007, true],
    [encodeFrame(Opcode.Close, new Uint8Array([0x03, 0xe8 - 1]), MASK), 1002, true], // 999
    [new Uint8Array([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0]), 1009, true], // 2^63
  ];
  for (const [bytes, code, requireMask] of cases) {
    const decoder = new WebSocketFrameDecoder({ maxMessageSize: 1024, requireMask });
    decoder.push(bytes);
    const isCode = (e: unknown) => e instanceof WebSocketProtocolError && e.closeCode === code;
    assert.throws(
      () => {
        for (let e = decoder.next(); e; e = decoder.next());
      },
      isCode,
      `expected ${code} for ${[...bytes.subarray(0, 4)]}`,
    );
    assert.throws(() => decoder.next(), isCode, "poisoned");
  }
});

test("frames: a large frame streams out in pieces without being buffered whole", () => {
  const decoder = new WebSocketFrameDecoder({ maxMessageSize: 1 << 24 });
  const frame = encodeFrame(Opcode.Binary, new Uint8Array(1 << 20).fill(1), MASK);
  let total = 0;
  for (let offset = 0; offset < frame.length; offset += 4096) {
    decoder.push(frame.subarray(offset, offset + 4096));
    for (let e = decoder.next(); e; e = decoder.next()) {
      assert.equal(e.type, "data");
      if (e.type === "data") total += e.bytes.length;
    }
    assert.ok(decoder.buffered < 4096 + 14, `buffered ${decoder.buffered}`);
  }
  assert.equal(total, 1 << 20);
});

test("frames: random bytes give events or WebSocketProtocolError, never another exception", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, requireMask) => {
      const decoder = new WebSocketFrameDecoder({ maxMessageSize: 100, requireMask });
      decoder.push(bytes);
      try {
        let n = 0;
        for (let e = decoder.next(); e; e = decoder.next()) assert.ok(++n <= bytes.length + 1);
      } catch (error) {
        if (!(error instanceof WebSocketProtocolError)) throw error;
      }
      return decoder.buffered <= bytes.length;
    }),
    { numRuns: 2000 },
  );
});

test("close frames: reasons are cut to fit a control frame", () => {
  const frame = encodeCloseFrame(4403, "é".repeat(100));
  assert.ok(frame.length <= 127);
  const [event] = decodeAll([frame], false);
  assert.equal(event.type, "close");
  if (event.type === "close") {
    assert.equal(event.code, 4403);
    assert.ok(event.reason.startsWith("éé"));
  }
});

test("http head: the RFC 6455 handshake example and strict parsing", () => {
  assert.equal(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const text = "GET /chat?target=127.0.0.1%3A6379 HTTP/1.1\r\nHost: server.example.com\r\n" +
    "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
    "Sec-WebSocket-Protocol: kvwire.tunnel.v1, kvwire.auth.kvt1.a.b\r\n" +
    "Sec-WebSocket-Version: 13\r\n\r\nEXTRA";
  const bytes = enc(text);
  const end = findHeadEnd(bytes);
  assert.equal(new TextDecoder().decode(bytes.subarray(end)), "EXTRA");
  const upgrade = parseUpgrade(parseRequestHead(bytes.subarray(0, end)))!;
  assert.equal(upgrade.path, "/chat");
  assert.equal(upgrade.query.get("target"), "127.0.0.1:6379");
  assert.deepEqual(upgrade.protocols, ["kvwire.tunnel.v1", "kvwire.auth.kvt1.a.b"]);
  assert.equal(findHeadEnd(enc("GET / HTTP/1.1\r\n")), -1);
  assert.throws(
    () => findHeadEnd(new Uint8Array(20_000).fill(65)),
    (e) => e instanceof HttpHeadError && e.status === 431,
  );
  const bad = (head: string, status = 400): void => {
    assert.throws(
      () => parseUpgrade(parseRequestHead(enc(head))),
      (e) => e instanceof HttpHeadError && e.status === status,
      head,
    );
  };
  bad("GET / HTTP/1.0\r\n\r\n");
  bad("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n");
  bad("GET / HTTP/1.1\r\nX: \x01\r\n\r\n");
  bad("POST / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n");
  bad("GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n");
  bad("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", 426);
  bad(
    "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n" +
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n",
  );
  assert.equal(parseUpgrade(parseRequestHead(enc("GET /healthz HTTP/1.1\r\n\r\n"))), undefined);
});

test("frames: consecutive data frames decode as one event, masks kept apart", () => {
  const decoder = new WebSocketFrameDecoder({ maxMessageSize: 1 << 20 });
  const masks = [MASK, new Uint8Array([1, 2, 3, 4]), new Uint8Array([9, 8, 7, 6])];
  const frames = ["abc", "defgh", "i"].map((text, i) =>
    encodeFrame(Opcode.Binary, enc(text), masks[i])
  );
  for (const frame of frames) decoder.push(frame);
  const event = decoder.next();
  assert.equal(event?.type, "data");
  assert.equal(event?.type === "data" && new TextDecoder().decode(event.bytes), "abcdefghi");
  assert.equal(decoder.next(), undefined);
  assert.equal(decoder.frames, 3);
});

test("frames: a run of pings yields the last one; other frames still count", () => {
  const decoder = new WebSocketFrameDecoder({ maxMessageSize: 1 << 20 });
  for (let i = 0; i < 50; i++) decoder.push(encodeFrame(Opcode.Ping, enc(`p${i}`), MASK));
  decoder.push(encodeFrame(Opcode.Text, enc("end"), MASK));
  const ping = decoder.next();
  assert.deepEqual(ping?.type === "ping" && new TextDecoder().decode(ping.payload), "p49");
  assert.deepEqual(decoder.next(), { type: "text", text: "end" });
  assert.equal(decoder.frames, 51);
});

test("frames: empty fragments count toward maxFragments (1009)", () => {
  const decoder = new WebSocketFrameDecoder({ maxMessageSize: 1 << 20, maxFragments: 3 });
  const fragment = (opcode: Opcode): Uint8Array => {
    const frame = encodeFrame(opcode, new Uint8Array(0), MASK);
    frame[0] &= 0x7f; // not final
    return frame;
  };
  decoder.push(fragment(Opcode.Text));
  decoder.push(fragment(Opcode.Continuation));
  decoder.push(fragment(Opcode.Continuation));
  assert.equal(decoder.next(), undefined, "three fragments are allowed");
  decoder.push(fragment(Opcode.Continuation));
  assert.throws(
    () => decoder.next(),
    (e) => e instanceof WebSocketProtocolError && e.closeCode === 1009,
  );
});

// The gRPC machine under the core Driver over an in-process transport delivering byte by
// byte, against a scripted fake server: GOAWAY refuses streams above its last stream id with
// sent: false, timeouts reset their stream, and the Driver closes once every stream is done.

import { test } from "node:test";
import assert from "node:assert/strict";
import { concatBytes } from "../../src/core/bytes.ts";
import { Driver } from "../../src/core/driver.ts";
import { TimeoutError } from "../../src/core/errors.ts";
import { GrpcConnection, type GrpcReply, type GrpcSend } from "../../src/grpc/connection.ts";
import { encodeGrpcMessage } from "../../src/grpc/framing.ts";
import { FrameType, Setting } from "../../src/http2/frames.ts";
import { Http2StreamError } from "../../src/http2/types.ts";
import { createMemoryPair } from "../../transports/memory.ts";
import { FakePeer, type SeenFrame } from "../http2/_peer.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const OK: [string, string][] = [[":status", "200"], ["content-type", "application/grpc"]];

/** Reads frames the client writes until `until` returns true for the frames seen so far. */
async function readUntil(
  server: { read(): Promise<Uint8Array | null> },
  peer: FakePeer,
  seen: SeenFrame[],
  until: (seen: SeenFrame[]) => boolean,
): Promise<void> {
  while (!until(seen)) {
    const chunk = await server.read();
    if (chunk === null) throw new Error("client closed");
    seen.push(...peer.read(chunk));
  }
}

function setup() {
  const [client, server] = createMemoryPair({ chunkSizes: [1] });
  const driver = new Driver<GrpcSend, GrpcReply, Uint8Array>(
    new GrpcConnection({ authority: "mem" }),
    client,
  );
  return { driver, server, peer: new FakePeer(), seen: [] as SeenFrame[] };
}

test("Driver + gRPC: GOAWAY finishes stream 1, fails the others with sent: false, then closes", async () => {
  const { driver, server, peer, seen } = setup();
  server.write(peer.settings([[Setting.MaxConcurrentStreams, 2]]));
  // Once the client acknowledged our SETTINGS it honours the stream limit.
  await readUntil(
    server,
    peer,
    seen,
    (s) => s.some((f) => f.type === FrameType.Settings && f.flags === 1),
  );
  const calls = [1, 2, 3].map((i) =>
    driver.request({ path: "/svc/M", message: te.encode(`req${i}`) }).then(
      (v) => ({ ok: td.decode(v as Uint8Array) }),
      (e: Error) => ({ error: e }),
    )
  );
  // Streams 1 and 3 open (the third call waits for a slot).
  await readUntil(
    server,
    peer,
    seen,
    (s) => s.filter((f) => f.type === FrameType.Data).length >= 2,
  );
  assert.deepEqual(
    seen.filter((f) => f.type === FrameType.Headers).map((f) => f.streamId),
    [1, 3],
  );
  server.write(concatBytes([
    peer.goAway(1),
    peer.headers(1, OK),
    peer.data(1, encodeGrpcMessage(te.encode("answer1"))),
    peer.headers(1, [["grpc-status", "0"]], true),
  ]));
  const [a, b, c] = await Promise.all(calls);
  assert.deepEqual(a, { ok: "answer1" });
  for (const r of [b, c]) {
    assert.ok("error" in r && r.error instanceof Http2StreamError, JSON.stringify(r));
    assert.equal(r.error.sent, false);
    assert.equal(r.error.http2Code, "REFUSED_STREAM");
  }
  const reason = await driver.closed;
  assert.match(String(reason), /GOAWAY/);
  assert.equal(driver.isOpen, false);
});

test("Driver + gRPC: a timed-out call rejects with sent: true and its stream is reset", async () => {
  const { driver, server, peer, seen } = setup();
  server.write(peer.settings());
  const pending = driver.request({ path: "/svc/Slow", message: te.encode("x") }, { timeout: 30 });
  await readUntil(server, peer, seen, (s) => s.some((f) => f.type === FrameType.Data));
  server.write(peer.frame(FrameType.Ping, 0, 0, new Uint8Array(8))); // traffic, so not "dead"
  await assert.rejects(pending, (e: unknown) => e instanceof TimeoutError && e.sent === true);
  await readUntil(server, peer, seen, (s) => s.some((f) => f.type === FrameType.RstStream));
  const rst = seen.find((f) => f.type === FrameType.RstStream)!;
  assert.deepEqual([rst.streamId, rst.payload[3]], [1, 0x8]);
  // The connection still serves calls.
  const next = driver.request({ path: "/svc/M", message: te.encode("y") });
  await readUntil(
    server,
    peer,
    seen,
    (s) => s.filter((f) => f.type === FrameType.Data).length >= 2,
  );
  server.write(concatBytes([
    peer.headers(3, OK),
    peer.data(3, encodeGrpcMessage(te.encode("fine"))),
    peer.headers(3, [["grpc-status", "0"]], true),
  ]));
  assert.equal(td.decode((await next) as Uint8Array), "fine");
  await driver.close();
});

// The Redis machine against hostile bytes: declared lengths over the limits fail before anything
// is buffered, closing releases a reply still being received, and replies prove their owner.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RemoteProtocolError } from "../../src/core/errors.ts";
import { RedisConnection } from "../../src/redis/connection.ts";
import { NEED_MORE, RespDecoder } from "../../src/redis/resp_decoder.ts";
import { heapUsedAfterGc } from "../_helpers/hostile_server.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A RESP2 machine with GET k written, ready for its reply. */
function waitingForGet(options: ConstructorParameters<typeof RedisConnection>[0] = {}) {
  const conn = new RedisConnection({ protocol: 2, ...options });
  const id = conn.send(["GET", "k"]);
  conn.pollTransmit();
  return { conn, id };
}

for (const header of ["*2147483648", "*100000000", "%16777217", "~16777217", ">16777217"]) {
  test(`redis bounds: ${header} is refused at its header (default maxAggregateLength 2^24)`, () => {
    const { conn } = waitingForGet();
    conn.receive(enc(`${header}\r\n`));
    assert.throws(() => conn.nextEvent(), /exceeds the limit 16777216/);
    assert.throws(() => conn.nextEvent(), RemoteProtocolError, "the machine stays failed");
  });
}

test("redis bounds: *2147483648 does not swallow the replies that follow", () => {
  const { conn } = waitingForGet();
  conn.send(["GET", "other"]);
  conn.pollTransmit();
  conn.receive(enc("*2147483648\r\n$1\r\na\r\n$1\r\nb\r\n"));
  assert.throws(() => conn.nextEvent(), RemoteProtocolError);
});

test("redis bounds: maxAggregateLength and maxBulkLength are options of the machine", () => {
  const agg = waitingForGet({ maxAggregateLength: 3 });
  agg.conn.receive(enc("*4\r\n"));
  assert.throws(() => agg.conn.nextEvent(), /aggregate length 4 exceeds the limit 3/);
  const bulk = waitingForGet({ maxBulkLength: 10 });
  bulk.conn.receive(enc("$11\r\n"));
  assert.throws(() => bulk.conn.nextEvent(), /bulk length 11 exceeds the limit 10/);
  const ok = new RedisConnection({ protocol: 2, maxAggregateLength: 3 });
  const id = ok.send(["LRANGE", "l", 0, -1]);
  ok.pollTransmit();
  ok.receive(enc("*3\r\n:1\r\n:2\r\n:3\r\n"));
  assert.deepEqual(ok.nextEvent(), { type: "reply", id, value: [1, 2, 3] });
});

test("redis bounds: closing the machine releases a bulk reply still being received", () => {
  const { conn } = waitingForGet();
  conn.receive(enc("$536870000\r\n"));
  assert.equal(conn.nextEvent(), undefined);
  conn.receive(new Uint8Array(1 << 20));
  assert.equal(conn.nextEvent(), undefined);
  assert.equal(conn.bufferedBytes, 1 << 20, "the partial payload is held while the reply may come");
  conn.close();
  assert.equal(conn.bufferedBytes, 0, "and released when the connection is closed");
});

test("redis bounds: a protocol error releases what was buffered", () => {
  const { conn } = waitingForGet();
  conn.receive(enc("*3\r\n$5\r\nhello\r\n"));
  conn.receive(new Uint8Array(1000).fill(0x21));
  assert.throws(() => conn.nextEvent(), RemoteProtocolError);
  assert.equal(conn.bufferedBytes, 0);
});

test("redis ownership: a stray reply before HELLO's answer is refused (HELLO must get a map)", () => {
  const conn = new RedisConnection({ protocol: 3 });
  conn.send(["GET", "k"]);
  conn.pollTransmit();
  conn.receive(enc("+PONG\r\n%1\r\n+proto\r\n:3\r\n"));
  assert.throws(() => conn.nextEvent(), /Redis answered HELLO with the simple string "PONG"/);
});

test("redis ownership: RESP2 handshake steps must be answered OK", () => {
  const conn = new RedisConnection({ protocol: 2, password: "pw", db: 2 });
  conn.send(["GET", "k"]);
  conn.pollTransmit();
  conn.receive(enc("+PONG\r\n+OK\r\n+OK\r\n"));
  assert.throws(() => conn.nextEvent(), /Redis answered AUTH with the simple string "PONG"/);
});

for (const protocol of [2, 3] as const) {
  test(`redis ownership RESP${protocol}: a reply after the handshake with nothing in flight fails`, () => {
    const conn = new RedisConnection({ protocol, db: 1 });
    const first = conn.pollTransmit();
    assert.ok(first);
    const hello = protocol === 3 ? "%1\r\n+proto\r\n:3\r\n" : "";
    conn.receive(enc(hello));
    assert.equal(conn.nextEvent(), undefined);
    if (protocol === 3) assert.ok(conn.pollTransmit(), "SELECT goes out after HELLO");
    conn.receive(enc("+OK\r\n+PONG\r\n"));
    assert.throws(() => conn.nextEvent(), /no command was waiting/);
  });
}

test("redis bounds: a request timing out while its reply is still arriving closes the connection", () => {
  const conn = new RedisConnection({ protocol: 2 });
  const id = conn.send(["GET", "k"], { deadline: 100 });
  const next = conn.send(["GET", "j"], { deadline: 1000 });
  conn.pollTransmit();
  conn.receive(enc("$536870000\r\n"));
  conn.receive(new Uint8Array(1 << 20));
  assert.equal(conn.nextEvent(), undefined);
  conn.handleTimeout(100);
  assert.deepEqual(conn.nextEvent(), { type: "timeout", id, sent: true });
  const closed = conn.nextEvent();
  assert.equal(closed?.type, "closed");
  assert.match(String((closed as { error?: Error }).error), /still arriving when it timed out/);
  assert.equal(conn.bufferedBytes, 0, "the partial reply is released");
  assert.equal(conn.nextEvent(), undefined);
  assert.equal(conn.wasSent(next), true, "the other command was written: it may have run");
});

test("redis bounds: a timeout with nothing of its reply received keeps the connection", () => {
  const conn = new RedisConnection({ protocol: 2 });
  const id = conn.send(["GET", "k"], { deadline: 100 });
  const next = conn.send(["GET", "j"]);
  conn.pollTransmit();
  conn.handleTimeout(100);
  assert.deepEqual(conn.nextEvent(), { type: "timeout", id, sent: true });
  conn.receive(enc("$1\r\na\r\n$1\r\nb\r\n"));
  assert.deepEqual(conn.nextEvent(), { type: "reply", id: next, value: enc("b") });
});

test("redis ownership: a reply of a shape its command never gets is refused (GET never gets +)", () => {
  for (
    const [command, reply] of [[["GET", "k"], "+PONG\r\n"], [["INCR", "n"], "$1\r\n1\r\n"], [
      ["SET", "k", "v"],
      ":1\r\n",
    ]] as const
  ) {
    const conn = new RedisConnection({ protocol: 2 });
    conn.send(command);
    conn.pollTransmit();
    conn.receive(enc(reply));
    assert.throws(
      () => conn.nextEvent(),
      (e: unknown) => e instanceof RemoteProtocolError && e.sent && /not its own/.test(e.message),
    );
  }
});

test("redis ownership: inside MULTI replies are +QUEUED, and errors are always allowed", () => {
  const conn = new RedisConnection({ protocol: 2 });
  const ids = [["MULTI"], ["GET", "k"], ["INCR", "n"], ["EXEC"], ["GET", "k"]].map((c) =>
    conn.send(c)
  );
  conn.pollTransmit();
  conn.receive(enc("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n$-1\r\n:1\r\n-ERR nope\r\n"));
  const events = [];
  for (let e = conn.nextEvent(); e; e = conn.nextEvent()) events.push(e);
  assert.deepEqual(events.map((e) => ("id" in e ? e.id : undefined)), ids);
  assert.equal(events[4].type, "serverError");
});

test("redis bounds: a declared count reserves nothing, even when the limit allows it", async () => {
  const decoder = new RespDecoder({ maxAggregateLength: 2 ** 32 - 1 });
  const start = await heapUsedAfterGc();
  decoder.push(enc(`*100000000\r\n${":1\r\n".repeat(1000)}`));
  assert.equal(decoder.next(), NEED_MORE);
  const grown = (await heapUsedAfterGc()) - start;
  assert.ok(grown < 10 * 1024 * 1024, `a header of 10^8 elements took ${grown} bytes`);
  decoder.discard();
});

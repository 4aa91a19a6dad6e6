// Pair tests of the RedisConnection machine against a scripted peer on a fake clock: the
// handshake and its RESP2 fallback, ordering, deadlines, pub/sub modes, protocol violations.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LocalProtocolError, RemoteProtocolError } from "../../src/core/errors.ts";
import { RedisConnection } from "../../src/redis/connection.ts";
import { RedisError } from "../../src/redis/errors.ts";
import { Driver } from "../../src/core/driver.ts";
import { ConnectionClosedError } from "../../src/core/errors.ts";
import { createMemoryPair } from "../../transports/memory.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string => (b ? new TextDecoder().decode(b) : "");
const bulk = (s: string): string => `$${enc(s).length}\r\n${s}\r\n`;
const cmd = (...args: string[]): string => `*${args.length}\r\n${args.map(bulk).join("")}`;

function events(conn: RedisConnection): ReturnType<RedisConnection["nextEvent"]>[] {
  const out = [];
  for (let e = conn.nextEvent(); e; e = conn.nextEvent()) out.push(e);
  return out;
}

test("redis machine: HELLO 3 goes first and holds user commands until it succeeds", () => {
  const conn = new RedisConnection({ password: "pw", clientName: "app" });
  const id = conn.send(["GET", "k"]);
  assert.equal(
    dec(conn.pollTransmit()),
    cmd("HELLO", "3", "AUTH", "default", "pw", "SETNAME", "app"),
  );
  assert.equal(conn.pollTransmit(), undefined, "GET waits for the handshake");
  conn.receive(enc("%1\r\n+proto\r\n:3\r\n"));
  assert.deepEqual(events(conn), []);
  assert.equal(dec(conn.pollTransmit()), cmd("GET", "k"));
  conn.receive(enc("$1\r\nv\r\n"));
  assert.deepEqual(events(conn), [{ type: "reply", id, value: enc("v") }]);
  assert.equal(conn.protocol, 3);
  assert.equal(conn.serverInfo?.get("proto"), 3);
});

test("redis machine: pollTransmitView lends the commands' bytes until the next send", () => {
  const conn = new RedisConnection({ protocol: 2 });
  const a = conn.send(["GET", "a"]);
  const b = conn.send(["GET", "b"]);
  const lent = conn.pollTransmitView()!;
  assert.equal(dec(lent), cmd("GET", "a") + cmd("GET", "b"));
  assert.equal(conn.pollTransmitView(), undefined, "nothing left to send");
  conn.send(["GET", "c"]); // encoded where the lent bytes were: no copy was made
  assert.equal(dec(lent.subarray(0, cmd("GET", "c").length)), cmd("GET", "c"));
  assert.equal(dec(conn.pollTransmit()), cmd("GET", "c"));
  conn.receive(enc("$1\r\nA\r\n$1\r\nB\r\n"));
  assert.deepEqual(events(conn).map((e) => e?.type === "reply" && e.id), [a, b]);
});

test("redis machine: a server without HELLO gets AUTH, CLIENT SETNAME and SELECT in RESP2", () => {
  const conn = new RedisConnection({ username: "u", password: "pw", clientName: "app", db: 2 });
  const id = conn.send(["PING"]);
  conn.pollTransmit();
  conn.receive(enc("-ERR unknown command 'HELLO'\r\n"));
  assert.deepEqual(events(conn), []);
  assert.equal(
    dec(conn.pollTransmit()),
    cmd("AUTH", "u", "pw") + cmd("CLIENT", "SETNAME", "app") + cmd("SELECT", "2"),
  );
  assert.equal(conn.protocol, 2);
  conn.receive(enc("+OK\r\n+OK\r\n"));
  assert.deepEqual(events(conn), []);
  assert.equal(conn.pollTransmit(), undefined, "still waiting for SELECT");
  conn.receive(enc("+OK\r\n"));
  assert.deepEqual(events(conn), []);
  assert.equal(dec(conn.pollTransmit()), cmd("PING"));
  conn.receive(enc("+PONG\r\n"));
  assert.deepEqual(events(conn), [{ type: "reply", id, value: "PONG" }]);
});

test("redis machine: refused credentials close the machine with the server's error", () => {
  const conn = new RedisConnection({ password: "bad" });
  conn.pollTransmit();
  conn.receive(enc("-WRONGPASS invalid username-password pair\r\n"));
  const [closed] = events(conn);
  assert.equal(closed?.type, "closed");
  const error = (closed as { error?: Error }).error;
  assert.ok(error instanceof RedisError);
  assert.equal(error.serverCode, "", "wrapped message starts with our text");
  assert.match(error.message, /Redis refused HELLO during the handshake: WRONGPASS/);
  assert.ok(!error.message.includes("bad"), "the password never appears");
  assert.throws(() => conn.send(["PING"]), LocalProtocolError);
});

test("redis machine: bad arguments throw before anything is queued", () => {
  const conn = new RedisConnection({ protocol: 2 });
  assert.throws(() => conn.send(["SET", "k", true as unknown as string]), TypeError);
  assert.throws(() => conn.send([]), TypeError);
  assert.throws(() => conn.send(["MONITOR"]), LocalProtocolError);
  assert.throws(() => conn.send(["CLIENT", "REPLY", "OFF"]), LocalProtocolError);
  assert.equal(conn.inFlight, 0);
  assert.equal(conn.pollTransmit(), undefined);
});

test("redis machine: replies match requests in order, errors are serverError events", () => {
  const conn = new RedisConnection({ protocol: 2 });
  const a = conn.send(["GET", "a"]);
  const b = conn.send(["INCR", "b"]);
  const c = conn.send(["GET", "c"]);
  assert.equal(dec(conn.pollTransmit()), cmd("GET", "a") + cmd("INCR", "b") + cmd("GET", "c"));
  conn.receive(enc("$-1\r\n-WRONGTYPE Operation against a key\r\n$2\r"));
  const [first, second] = events(conn);
  assert.deepEqual(first, { type: "reply", id: a, value: null });
  assert.equal(second?.type, "serverError");
  assert.equal((second as { id: number }).id, b);
  assert.equal((second as { error: RedisError }).error.serverCode, "WRONGTYPE");
  conn.receive(enc("\nhi\r\n"));
  assert.deepEqual(events(conn), [{ type: "reply", id: c, value: enc("hi") }]);
  assert.equal(conn.inFlight, 0);
});

test("redis machine: a deadline before sending drops the command; after sending, its reply is skipped", () => {
  const conn = new RedisConnection({ protocol: 2 });
  const sent = conn.send(["GET", "a"], { deadline: 100 });
  conn.pollTransmit();
  const queued = conn.send(["GET", "b"], { deadline: 50 });
  const later = conn.send(["GET", "c"]);
  assert.equal(conn.pollTimeout(), 50);
  conn.handleTimeout(60);
  assert.deepEqual(events(conn), [{ type: "timeout", id: queued, sent: false }]);
  assert.equal(conn.pollTimeout(), 100);
  conn.handleTimeout(100);
  assert.deepEqual(events(conn), [{ type: "timeout", id: sent, sent: true }]);
  assert.equal(
    dec(conn.pollTransmit()),
    cmd("GET", "c"),
    "the timed-out queued GET b is never sent",
  );
  conn.receive(enc("$1\r\nA\r\n$1\r\nC\r\n"));
  assert.deepEqual(events(conn), [{ type: "reply", id: later, value: enc("C") }]);
  assert.equal(conn.pollTimeout(), undefined);
});

test("redis machine: cancel skips the reply but keeps the order", () => {
  const conn = new RedisConnection({ protocol: 2 });
  const a = conn.send(["GET", "a"]);
  const b = conn.send(["GET", "b"]);
  conn.pollTransmit();
  conn.cancel(a);
  conn.receive(enc("$1\r\nA\r\n$1\r\nB\r\n"));
  assert.deepEqual(events(conn), [{ type: "reply", id: b, value: enc("B") }]);
});

test("redis machine: RESP2 subscribed mode admits only subscription commands and PING", () => {
  const conn = new RedisConnection({ protocol: 2 });
  const before = conn.send(["LRANGE", "l", "0", "-1"]);
  const sub = conn.send(["SUBSCRIBE", "a", "b"]);
  assert.equal(conn.subscribedMode, true);
  assert.throws(() => conn.send(["GET", "k"]), LocalProtocolError);
  conn.pollTransmit();
  // The LRANGE reply looks like a message, but it was answered before SUBSCRIBE ran.
  conn.receive(
    enc(`*3\r\n${bulk("message")}${bulk("x")}${bulk("y")}\r\n`.replace(/\r\n\r\n$/, "\r\n")),
  );
  const [lrange] = events(conn);
  assert.equal(lrange?.type, "reply");
  assert.equal((lrange as { id: number }).id, before);
  conn.receive(
    enc(`*3\r\n${bulk("subscribe")}${bulk("a")}:1\r\n*3\r\n${bulk("subscribe")}${bulk("b")}:2\r\n`),
  );
  const confirmations = events(conn);
  assert.deepEqual(confirmations.map((e) => e?.type), ["push", "push", "reply"]);
  assert.equal((confirmations[2] as { id: number }).id, sub);
  const ping = conn.send(["PING"]);
  conn.pollTransmit();
  conn.receive(
    enc(`*3\r\n${bulk("message")}${bulk("a")}${bulk("hello")}*2\r\n${bulk("pong")}${bulk("")}`),
  );
  const [message, pong] = events(conn);
  assert.deepEqual(message, {
    type: "push",
    value: { type: "message", channel: enc("a"), message: enc("hello"), sharded: false },
  });
  assert.equal(pong?.type, "reply");
  assert.equal((pong as { id: number }).id, ping);
  const unsub = conn.send(["UNSUBSCRIBE"]);
  conn.pollTransmit();
  conn.receive(
    enc(
      `*3\r\n${bulk("unsubscribe")}${bulk("a")}:1\r\n*3\r\n${bulk("unsubscribe")}${
        bulk("b")
      }:0\r\n`,
    ),
  );
  const done = events(conn);
  assert.equal(done.at(-1)?.type, "reply");
  assert.equal((done.at(-1) as { id: number }).id, unsub);
  assert.equal(conn.subscribedMode, false);
  conn.send(["GET", "k"]); // allowed again
});

test("redis machine: RESP3 pushes never take a reply's place", () => {
  const conn = new RedisConnection({ protocol: 3 });
  conn.pollTransmit();
  conn.receive(enc("%1\r\n+proto\r\n:3\r\n"));
  events(conn);
  const sub = conn.send(["SUBSCRIBE", "ch"]);
  const get = conn.send(["GET", "k"], {});
  conn.pollTransmit();
  conn.receive(
    enc(
      `>3\r\n${bulk("subscribe")}${bulk("ch")}:1\r\n>3\r\n${bulk("message")}${bulk("ch")}${
        bulk("m")
      }$1\r\nv\r\n>2\r\n${bulk("invalidate")}*1\r\n${bulk("k")}`,
    ),
  );
  const got = events(conn);
  assert.deepEqual(got.map((e) => e?.type), ["push", "reply", "push", "reply", "push"]);
  assert.equal((got[1] as { id: number }).id, sub);
  assert.equal((got[3] as { id: number }).id, get);
  assert.deepEqual((got[4] as { value: unknown }).value, {
    type: "push",
    kind: "invalidate",
    items: [enc("invalidate"), [enc("k")]],
  });
});

test("redis machine: a reply nobody asked for is a protocol violation that fails the machine", () => {
  const conn = new RedisConnection({ protocol: 2 });
  conn.receive(enc("+OK\r\n"));
  assert.throws(() => conn.nextEvent(), RemoteProtocolError);
  assert.throws(() => conn.nextEvent(), RemoteProtocolError, "stays failed");
  assert.throws(() => conn.send(["PING"]), LocalProtocolError);
});

test("redis machine: malformed bytes and EOF in the middle of a reply", () => {
  const bad = new RedisConnection({ protocol: 2 });
  bad.send(["GET", "k"]);
  bad.pollTransmit();
  bad.receive(enc("!oops\r\n"));
  assert.throws(() => bad.nextEvent(), RemoteProtocolError);

  const cut = new RedisConnection({ protocol: 2 });
  cut.send(["GET", "k"]);
  cut.pollTransmit();
  cut.receive(enc("$5\r\nab"));
  cut.receiveEof();
  const [closed] = events(cut);
  assert.equal(closed?.type, "closed");
  assert.ok((closed as { error?: Error }).error instanceof RemoteProtocolError);

  const clean = new RedisConnection({ protocol: 2 });
  clean.receiveEof();
  assert.deepEqual(events(clean), [{ type: "closed" }]);
});

test("redis machine: pollTransmit respects maxBytes but always makes progress", () => {
  const conn = new RedisConnection({ protocol: 2 });
  conn.send(["SET", "k", "x".repeat(100)]);
  conn.send(["GET", "k"]);
  const first = conn.pollTransmit(10);
  assert.equal(dec(first), cmd("SET", "k", "x".repeat(100)), "one command even if it is bigger");
  assert.equal(dec(conn.pollTransmit(10)), cmd("GET", "k"));
});

test("redis machine: wasSent tells commands held behind the handshake from those written", () => {
  const conn = new RedisConnection({ password: "pw" });
  const held = conn.send(["SET", "k", "v"]);
  conn.pollTransmit(); // HELLO only
  assert.equal(conn.wasSent(held), false, "held back until the handshake succeeds");
  conn.receive(enc("%1\r\n+proto\r\n:3\r\n"));
  assert.deepEqual(events(conn), []);
  conn.pollTransmit();
  assert.equal(conn.wasSent(held), true);
});

test("redis machine + driver: a connection lost during the handshake reports held commands as unsent", async () => {
  const [client, server] = createMemoryPair();
  const driver = new Driver(new RedisConnection({ password: "pw" }), client);
  const held = driver.request(["SET", "k", "v"], {}, "SET");
  await server.read(); // HELLO arrives; the server hangs up without answering
  server.close();
  await assert.rejects(held, (e: unknown) => {
    assert.ok(e instanceof ConnectionClosedError);
    assert.equal(e.sent, false, "SET never left the client, so it may be sent again");
    return true;
  });
});

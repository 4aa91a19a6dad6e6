// Pair tests of the MetaConnection machine against a scripted peer on a fake clock: encoding,
// replies split at every point, quiet batches ended by mn, deadlines, failures, fuzzing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LocalProtocolError, RemoteProtocolError, TimeoutError } from "../../src/core/errors.ts";
import { MemcacheError } from "../../src/memcache/errors.ts";
import { MetaConnection } from "../../src/memcache/meta_connection.ts";
import type { MetaResponse } from "../../src/memcache/types.ts";
import { checkFixture, dec, drain, enc, type Fixture, fuzz } from "./_machine.ts";

const k = enc;
const make = (): MetaConnection => new MetaConnection({ firstOpaque: 0 });

const FIXTURES: Fixture[] = [
  {
    name: "get hit",
    requests: [{ op: "get", keys: [k("a")] }],
    wire: "mg a v f O0\r\n",
    reply: "VA 2 f5 O0\r\nhi\r\n",
    expect: [{ type: "items", items: [{ value: k("hi"), flags: 5 }] }],
  },
  {
    name: "get miss, gets with cas and touch",
    requests: [{ op: "get", keys: [k("a")] }, { op: "get", keys: [k("b")], cas: true, touch: 30 }],
    wire: "mg a v f O0\r\nmg b v f c T30 O1\r\n",
    reply: "EN O0\r\nVA 1 f0 c77 O1\r\nx\r\n",
    expect: [
      { type: "items", items: [null] },
      { type: "items", items: [{ value: k("x"), flags: 0, cas: 77n }] },
    ],
  },
  {
    name: "value with CRLF, END and multibyte UTF-8 inside (byte-exact framing)",
    requests: [{ op: "get", keys: [k("a")] }],
    wire: "mg a v f O0\r\n",
    reply: "VA 12 f16 O0\r\n\r\nEND\r\né€\r\n",
    expect: [{ type: "items", items: [{ value: enc("\r\nEND\r\né€"), flags: 16 }] }],
  },
  {
    name: "multi get: quiet batch, hits by opaque, misses silent",
    requests: [{ op: "get", keys: [k("a"), k("b"), k("c")] }],
    wire: "mg a v f q O0\r\nmg b v f q O1\r\nmg c v f q O2\r\nmn\r\n",
    reply: "VA 1 f3 O0\r\nA\r\nVA 1 f0 O2\r\nC\r\nMN\r\n",
    expect: [{
      type: "items",
      items: [{ value: k("A"), flags: 3 }, null, { value: k("C"), flags: 0 }],
    }],
  },
  {
    name: "stores: set with flags and ttl, add, replace, cas",
    requests: [
      { op: "store", mode: "set", items: [{ key: k("a"), value: k("v"), flags: 16, ttl: 60 }] },
      { op: "store", mode: "add", items: [{ key: k("a"), value: k("w") }] },
      { op: "store", mode: "replace", items: [{ key: k("z"), value: k("w") }] },
      { op: "store", mode: "cas", items: [{ key: k("a"), value: k("c"), cas: 9n }] },
    ],
    wire:
      "ms a 1 F16 T60 O0\r\nv\r\nms a 1 ME O1\r\nw\r\nms z 1 MR O2\r\nw\r\nms a 1 C9 O3\r\nc\r\n",
    reply: "HD O0\r\nNS O1\r\nNS O2\r\nEX O3\r\n",
    expect: [
      { type: "statuses", statuses: ["stored"] },
      { type: "statuses", statuses: ["notStored"] },
      { type: "statuses", statuses: ["notStored"] },
      { type: "statuses", statuses: ["exists"] },
    ],
  },
  {
    name: "append, prepend, delete, touch",
    requests: [
      { op: "store", mode: "append", items: [{ key: k("a"), value: k("+") }] },
      { op: "store", mode: "prepend", items: [{ key: k("a"), value: k("-") }] },
      { op: "delete", keys: [k("a")] },
      { op: "delete", keys: [k("a")] },
      { op: "touch", key: k("b"), ttl: 10 },
      { op: "touch", key: k("c"), ttl: 10 },
    ],
    wire: "ms a 1 MA O0\r\n+\r\nms a 1 MP O1\r\n-\r\nmd a O2\r\nmd a O3\r\nmg b T10 O4\r\n" +
      "mg c T10 O5\r\n",
    reply: "HD O0\r\nHD O1\r\nHD O2\r\nNF O3\r\nHD O4\r\nEN O5\r\n",
    expect: [
      { type: "statuses", statuses: ["stored"] },
      { type: "statuses", statuses: ["stored"] },
      { type: "statuses", statuses: ["deleted"] },
      { type: "statuses", statuses: ["notFound"] },
      { type: "statuses", statuses: ["touched"] },
      { type: "statuses", statuses: ["notFound"] },
    ],
  },
  {
    name: "counters: incr, decr, vivify with an initial value, missing",
    requests: [
      { op: "incr", key: k("n"), delta: 5n },
      { op: "decr", key: k("n"), delta: 100n },
      { op: "incr", key: k("m"), delta: 1n, initial: 10n, ttl: 60 },
      { op: "incr", key: k("x"), delta: 1n },
    ],
    wire: "ma n v D5 O0\r\nma n v D100 MD O1\r\nma m v D1 N60 J10 O2\r\nma x v D1 O3\r\n",
    reply: "VA 2 O0\r\n15\r\nVA 1 O1\r\n0\r\nVA 2 O2\r\n10\r\nNF O3\r\n",
    expect: [
      { type: "counter", value: 15n },
      { type: "counter", value: 0n },
      { type: "counter", value: 10n },
      { type: "counter", value: null },
    ],
  },
  {
    name: "store batch: answered per item by opaque, an error line goes to the next one",
    requests: [{
      op: "store",
      mode: "set",
      items: [{ key: k("a"), value: k("1") }, { key: k("b"), value: k("22") }, {
        key: k("c"),
        value: k("3"),
      }],
    }],
    wire: "ms a 1 O0\r\n1\r\nms b 2 O1\r\n22\r\nms c 1 O2\r\n3\r\nmn\r\n",
    reply: "HD O0\r\nSERVER_ERROR object too large for cache\r\nNS O2\r\nMN\r\n",
    expect: [{
      type: "statuses",
      statuses: [
        "stored",
        new MemcacheError("SERVER_ERROR object too large for cache", "SERVER_ERROR"),
        "notStored",
      ],
    }],
  },
  {
    name: "delete batch: quiet, only failures answered",
    requests: [{ op: "delete", keys: [k("a"), k("b")] }],
    wire: "md a q O0\r\nmd b q O1\r\nmn\r\n",
    reply: "NF O1\r\nMN\r\n",
    expect: [{ type: "statuses", statuses: ["deleted", "notFound"] }],
  },
  {
    name: "stats, version, flush, noop",
    requests: [
      { op: "stats", group: "settings" },
      { op: "version" },
      { op: "flush", delay: 5 },
      { op: "noop" },
    ],
    wire: "stats settings\r\nversion\r\nflush_all 5\r\nmn\r\n",
    reply: "STAT maxbytes 67108864\r\nSTAT evictions on\r\nSTAT inter NULL\r\nEND\r\n" +
      "VERSION 1.6.18\r\nOK\r\nMN\r\n",
    expect: [
      {
        type: "stats",
        stats: new Map([["maxbytes", "67108864"], ["evictions", "on"], ["inter", "NULL"]]),
      },
      { type: "version", version: "1.6.18" },
      { type: "ok" },
      { type: "ok" },
    ],
  },
  {
    name: "error replies are values; the connection goes on",
    requests: [
      { op: "incr", key: k("s"), delta: 1n },
      { op: "get", keys: [k("a")] },
      { op: "get", keys: [k("b")] },
    ],
    wire: "ma s v D1 O0\r\nmg a v f O1\r\nmg b v f O2\r\n",
    reply: "CLIENT_ERROR cannot increment or decrement non-numeric value\r\nERROR\r\nEN O2\r\n",
    expect: [{ serverError: "CLIENT_ERROR" }, { serverError: "ERROR" }, {
      type: "items",
      items: [null],
    }],
  },
];

for (const fixture of FIXTURES) {
  test(`meta machine: ${fixture.name}, whole, byte by byte and at every split point`, () => {
    checkFixture(make, fixture);
  });
}

test("meta machine: binary keys go base64 with the b flag; too long ones are refused", () => {
  const conn = make();
  conn.send({ op: "get", keys: [new Uint8Array([0, 0x20, 0xff])] });
  conn.send({ op: "store", mode: "set", items: [{ key: k("a b"), value: k("v") }] });
  assert.equal(dec(conn.pollTransmit()), "mg ACD/ b v f O0\r\nms YSBi 1 b O1\r\nv\r\n");
  assert.throws(() => conn.send({ op: "get", keys: [new Uint8Array(187)] }), RangeError);
  conn.send({ op: "get", keys: [new Uint8Array(186)] }); // 248 base64 characters
  assert.throws(() => conn.send({ op: "get", keys: [k("x".repeat(251))] }), RangeError);
  assert.throws(() => conn.send({ op: "get", keys: [] }), RangeError);
  assert.throws(() => conn.send({ op: "get", keys: [k("")] }), RangeError);
});

test("meta machine: a key can never inject a second command", () => {
  const conn = make();
  conn.send({ op: "delete", keys: [k("x\r\nflush_all")] });
  const wire = dec(conn.pollTransmit());
  assert.equal(wire.split("\r\n").length, 2, `one command line: ${JSON.stringify(wire)}`);
  assert.ok(wire.endsWith(" b O0\r\n") && !wire.includes("flush_all"), wire);
});

test("meta machine: bad arguments throw before anything is queued", () => {
  const conn = make();
  const bad = [
    { op: "store", mode: "set", items: [{ key: k("a"), value: k("v"), flags: -1 }] },
    { op: "store", mode: "set", items: [{ key: k("a"), value: k("v"), ttl: 1.5 }] },
    { op: "store", mode: "cas", items: [{ key: k("a"), value: k("v") }] },
    { op: "store", mode: "set", items: [{ key: k("a"), value: "v" }] },
    { op: "incr", key: k("a"), delta: -1n },
    { op: "incr", key: k("a"), delta: 1n << 64n },
    { op: "stats", group: "items\r\nflush_all" },
    { op: "meta", commands: [{ cmd: "mg", key: k("a"), flags: ["O1"] }] },
    { op: "meta", commands: [{ cmd: "mg", key: k("a"), flags: ["v f"] }] },
    { op: "meta", commands: [{ cmd: "mn", key: k("a") }] },
    { op: "meta", commands: [{ cmd: "ms", key: k("a") }] },
  ];
  for (const [i, request] of bad.entries()) {
    assert.throws(
      () => conn.send(request as never),
      (e: unknown) => e instanceof TypeError || e instanceof RangeError,
      `bad request ${i}`,
    );
  }
  assert.equal(conn.inFlight, 0);
  assert.equal(conn.pollTransmit(), undefined);
});

test("meta machine: raw meta commands carry opaques and decode win, stale and recache flags", () => {
  const conn = make();
  const id = conn.send({
    op: "meta",
    commands: [
      { cmd: "mg", key: k("a"), flags: ["v", "c", "t", "N30"] },
      { cmd: "md", key: k("b"), flags: ["I", "T30", "q"] },
      { cmd: "mg", key: k("c"), flags: ["v", "q"] },
      { cmd: "ms", key: new Uint8Array([1]), flags: ["b", "T5"], value: k("zz") },
      { cmd: "me", key: k("d") },
    ],
  });
  assert.equal(
    dec(conn.pollTransmit()),
    "mg a v c t N30 O0\r\nmd b I T30 q O1\r\nmg c v q O2\r\nms AQ== 2 b T5 O3\r\nzz\r\nme d\r\nmn\r\n",
  );
  conn.receive(enc("VA 0 c5 t30 W O0\r\n\r\nHD O3\r\nME d exp=-1 la=3 cas=5\r\nMN\r\n"));
  const [event] = drain(conn);
  assert.equal(event.type, "reply");
  assert.equal(event.type === "reply" && event.id, id);
  const responses = (event as { value: { responses: (MetaResponse | null)[] } }).value.responses;
  assert.equal(responses[0]?.win, true);
  assert.equal(responses[0]?.cas, 5n);
  assert.equal(responses[0]?.ttl, 30);
  assert.deepEqual(responses[0]?.value, new Uint8Array(0));
  assert.equal(responses[1], null, "quiet success stays null");
  assert.equal(responses[2], null, "quiet miss stays null");
  assert.equal(responses[3]?.code, "HD");
  assert.deepEqual(responses[4]?.debug, { exp: "-1", la: "3", cas: "5" });
});

test("meta machine: a request timed out before it was sent is never transmitted", () => {
  const conn = make();
  const a = conn.send({ op: "get", keys: [k("a")] }, { deadline: 10 });
  const b = conn.send({ op: "get", keys: [k("b")] });
  assert.equal(conn.pollTimeout(), 16, "rounded up to the 16 ms grid");
  conn.handleTimeout(16);
  assert.deepEqual(drain(conn), [{ type: "timeout", id: a, sent: false }]);
  assert.equal(dec(conn.pollTransmit()), "mg b v f O1\r\n", "only b goes out");
  conn.receive(enc("EN O1\r\n"));
  assert.deepEqual(drain(conn), [{
    type: "reply",
    id: b,
    value: { type: "items", items: [null] },
  }]);
});

test("meta machine: a request that times out after it was sent closes the connection", () => {
  const conn = make();
  const a = conn.send({ op: "get", keys: [k("a"), k("b")] }, { deadline: 5 });
  conn.send({ op: "version" });
  conn.pollTransmit();
  conn.handleTimeout(6);
  const [timeout, closed, ...rest] = drain(conn);
  assert.deepEqual(timeout, { type: "timeout", id: a, sent: true });
  assert.equal(closed.type, "closed");
  const error = (closed as { error?: Error }).error;
  assert.ok(error instanceof TimeoutError && error.sent, "the reason says it may have run");
  assert.deepEqual(rest, []);
  assert.equal(conn.inFlight, 0);
  assert.equal(conn.canSend, false);
});

test("meta machine: deadlines share one timer: a stable, coarse poll value", () => {
  const conn = make();
  const ids = [1, 2, 3, 4, 5].map((i) => conn.send({ op: "version" }, { deadline: 1000 + i }));
  assert.equal(conn.pollTimeout(), 1008);
  conn.pollTransmit();
  conn.receive(enc("VERSION 1\r\nVERSION 1\r\n"));
  assert.equal(drain(conn).length, 2);
  assert.equal(conn.pollTimeout(), 1008, "unchanged as requests complete");
  conn.send({ op: "version" }, { deadline: 5000 }); // never written: cut when it closes
  assert.equal(conn.pollTimeout(), 1008, "a later deadline doesn't move the timer");
  const early = conn.send({ op: "version" }, { deadline: 500 });
  assert.equal(conn.pollTimeout(), 512, "an earlier one does");
  conn.handleTimeout(512);
  assert.deepEqual(drain(conn), [{ type: "timeout", id: early, sent: false }]);
  assert.equal(conn.pollTimeout(), 1008, "unsent, early left without closing anything");
  conn.handleTimeout(1008);
  const events = drain(conn);
  assert.deepEqual(events.slice(0, 3).map((e) => e.type === "timeout" && e.id), ids.slice(2));
  assert.deepEqual(events.slice(3).map((e) => e.type), ["closed"], "sent ones close it");
  assert.equal(conn.pollTimeout(), undefined, "nothing is pending on a closed machine");
});

test("meta machine: cancel drops an unsent request and skips a sent one's reply", () => {
  const conn = make();
  const a = conn.send({ op: "get", keys: [k("a")] });
  conn.pollTransmit();
  const b = conn.send({ op: "get", keys: [k("b")] });
  const c = conn.send({ op: "get", keys: [k("c")] });
  conn.cancel(b);
  conn.cancel(a);
  assert.equal(dec(conn.pollTransmit()), "mg c v f O2\r\n");
  conn.receive(enc("EN O0\r\nVA 1 f0 O2\r\nC\r\n"));
  assert.deepEqual(drain(conn), [{
    type: "reply",
    id: c,
    value: { type: "items", items: [{ value: k("C"), flags: 0 }] },
  }]);
});

test("meta machine: protocol violations fail the machine for good", () => {
  const unsolicited = make();
  unsolicited.receive(enc("HD\r\n"));
  assert.throws(() => unsolicited.nextEvent(), RemoteProtocolError);
  assert.throws(() => unsolicited.nextEvent(), RemoteProtocolError, "stays failed");
  assert.throws(() => unsolicited.send({ op: "version" }), LocalProtocolError);

  const wrong = make();
  wrong.send({ op: "get", keys: [k("a")] });
  wrong.pollTransmit();
  wrong.receive(enc("STORED\r\n"));
  assert.throws(() => wrong.nextEvent(), /memcache reply "STORED" does not belong to GET/);

  const noCrlf = make();
  noCrlf.send({ op: "get", keys: [k("a")] });
  noCrlf.pollTransmit();
  noCrlf.receive(enc("VA 1 f0 O0\r\nxyz"));
  assert.throws(() => noCrlf.nextEvent(), /not followed by CRLF/);

  const endless = make();
  endless.send({ op: "version" });
  endless.pollTransmit();
  endless.receive(new Uint8Array(9000).fill(0x41));
  assert.throws(() => endless.nextEvent(), /longer than 8192 bytes/, "buffering is bounded");
});

test("meta machine: a reply owed to another request (a dropped reply, a duplicate) fails the connection", () => {
  // The server drops the reply to get("a"): b's reply must not become a's value.
  const dropped = make();
  dropped.send({ op: "get", keys: [k("a")] });
  dropped.send({ op: "get", keys: [k("b")] });
  assert.equal(dec(dropped.pollTransmit()), "mg a v f O0\r\nmg b v f O1\r\n");
  dropped.receive(enc("VA 1 f0 O1\r\nB\r\n"));
  assert.throws(() => dropped.nextEvent(), /does not belong to GET \(expected opaque O0\)/);
  assert.equal(dropped.inFlight, 0, "the machine is closed");

  const none = make();
  none.send({ op: "store", mode: "set", items: [{ key: k("a"), value: k("v") }] });
  none.pollTransmit();
  none.receive(enc("HD\r\n"));
  assert.throws(() => none.nextEvent(), RemoteProtocolError, "a reply without an opaque");

  const duplicate = make();
  duplicate.send({ op: "get", keys: [k("a"), k("b"), k("c")] });
  duplicate.pollTransmit();
  duplicate.receive(enc("VA 1 f0 O1\r\nB\r\nVA 1 f0 O1\r\nB\r\nMN\r\n"));
  assert.throws(() => duplicate.nextEvent(), /does not belong to GET/, "a batch reply twice");

  const outside = make();
  outside.send({ op: "delete", keys: [k("a"), k("b")] });
  outside.pollTransmit();
  outside.receive(enc("NF O2\r\nMN\r\n"));
  assert.throws(() => outside.nextEvent(), /does not belong to DELETE/, "an opaque past the batch");

  const echo = make();
  echo.send({ op: "meta", commands: [{ cmd: "me", key: k("d") }] });
  echo.pollTransmit();
  echo.receive(enc("ME x exp=-1\r\nMN\r\n"));
  assert.throws(() => echo.nextEvent(), /does not belong/, "me must echo its own key");
});

test("meta machine: EOF in the middle of a reply closes with RemoteProtocolError", () => {
  const conn = make();
  conn.send({ op: "get", keys: [k("a")] });
  conn.pollTransmit();
  conn.receive(enc("VA 10 f0\r\nabc"));
  assert.deepEqual(drain(conn), []);
  conn.receiveEof();
  const [closed] = drain(conn);
  assert.equal(closed.type, "closed");
  assert.ok((closed as { error?: Error }).error instanceof RemoteProtocolError);
  const clean = make();
  clean.receiveEof();
  assert.deepEqual(drain(clean), [{ type: "closed" }]);
});

test("meta machine: random and mutated replies give events or RemoteProtocolError only", () => {
  const requests = [
    { op: "get" as const, keys: [k("a")] },
    { op: "get" as const, keys: [k("a"), k("b")] },
    { op: "stats" as const },
    { op: "incr" as const, key: k("n"), delta: 1n },
    {
      op: "store" as const,
      mode: "set" as const,
      items: [{ key: k("a"), value: k("1") }, { key: k("b"), value: k("2") }],
    },
  ];
  const valid = [
    enc(
      "VA 2 f0 O0\r\nhi\r\nVA 1 f1 O2\r\nx\r\nMN\r\nSTAT pid 1\r\nEND\r\nVA 1 O3\r\n2\r\n" +
        "HD O4\r\nNS O5\r\nMN\r\n",
    ),
    enc("EN O0\r\nMN\r\nEND\r\nNF O3\r\nMN\r\n"),
  ];
  fuzz(make, requests, valid);
});

test("meta machine: opaques start at random, so a reply sent before any request cannot guess one", () => {
  const opaques = [0, 1, 2].map(() => {
    const conn = new MetaConnection();
    conn.send({ op: "get", keys: [k("a")] });
    return /O(\d+)\r\n$/.exec(dec(conn.pollTransmit()))![1];
  });
  assert.equal(new Set(opaques).size, 3, `three connections, three first opaques: ${opaques}`);
  const conn = new MetaConnection();
  conn.send({ op: "get", keys: [k("a")] });
  conn.pollTransmit();
  conn.receive(enc("VA 1 f0 O0\r\nx\r\n")); // a stale reply for the first opaque of the old scheme
  assert.throws(() => drain(conn), /does not belong to GET/);
});

// Pair tests of the TextConnection machine (classic text protocol) against a scripted peer:
// encoding, replies split at every point, long multi-gets, deadlines, failures, fuzzing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LocalProtocolError, RemoteProtocolError, TimeoutError } from "../../src/core/errors.ts";
import { MemcacheError } from "../../src/memcache/errors.ts";
import { TextConnection } from "../../src/memcache/text_connection.ts";
import { checkFixture, dec, drain, enc, type Fixture, fuzz } from "./_machine.ts";

const k = enc;
const make = (): TextConnection => new TextConnection();

const FIXTURES: Fixture[] = [
  {
    name: "get hit and miss",
    requests: [{ op: "get", keys: [k("a")] }, { op: "get", keys: [k("b")] }],
    wire: "get a\r\nget b\r\n",
    reply: "VALUE a 5 2\r\nhi\r\nEND\r\nEND\r\n",
    expect: [
      { type: "items", items: [{ value: k("hi"), flags: 5 }] },
      { type: "items", items: [null] },
    ],
  },
  {
    name: "multi gets with cas, duplicates and a value holding END",
    requests: [{ op: "get", keys: [k("a"), k("b"), k("a"), k("c")], cas: true }],
    wire: "gets a b a c\r\n",
    reply: "VALUE c 0 5 12\r\n\r\nEND\r\nVALUE a 16 2 11\r\né\r\nEND\r\n",
    expect: [{
      type: "items",
      items: [
        { value: enc("é"), flags: 16, cas: 11n },
        null,
        { value: enc("é"), flags: 16, cas: 11n },
        { value: enc("\r\nEND"), flags: 0, cas: 12n },
      ],
    }],
  },
  {
    name: "get and touch",
    requests: [{ op: "get", keys: [k("a")], touch: 30 }],
    wire: "gat 30 a\r\n",
    reply: "END\r\n",
    expect: [{ type: "items", items: [null] }],
  },
  {
    name: "storage commands",
    requests: [
      { op: "store", mode: "set", items: [{ key: k("a"), value: k("v"), flags: 2, ttl: 9 }] },
      { op: "store", mode: "add", items: [{ key: k("a"), value: k("v") }] },
      { op: "store", mode: "cas", items: [{ key: k("a"), value: k("w"), cas: 7n }] },
      { op: "store", mode: "replace", items: [{ key: k("z"), value: k("") }] },
      { op: "store", mode: "append", items: [{ key: k("a"), value: k("+") }] },
    ],
    wire: "set a 2 9 1\r\nv\r\nadd a 0 0 1\r\nv\r\ncas a 0 0 1 7\r\nw\r\n" +
      "replace z 0 0 0\r\n\r\nappend a 0 0 1\r\n+\r\n",
    reply: "STORED\r\nNOT_STORED\r\nEXISTS\r\nNOT_STORED\r\nSTORED\r\n",
    expect: [
      { type: "statuses", statuses: ["stored"] },
      { type: "statuses", statuses: ["notStored"] },
      { type: "statuses", statuses: ["exists"] },
      { type: "statuses", statuses: ["notStored"] },
      { type: "statuses", statuses: ["stored"] },
    ],
  },
  {
    name: "many stores and deletes in one request, one status line each",
    requests: [
      {
        op: "store",
        mode: "set",
        items: [{ key: k("a"), value: k("1") }, { key: k("b"), value: k("2") }],
      },
      { op: "delete", keys: [k("a"), k("x")] },
    ],
    wire: "set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\ndelete a\r\ndelete x\r\n",
    reply: "STORED\r\nSERVER_ERROR out of memory storing object\r\nDELETED\r\nNOT_FOUND\r\n",
    expect: [
      {
        type: "statuses",
        statuses: [
          "stored",
          new MemcacheError("SERVER_ERROR out of memory storing object", "SERVER_ERROR"),
        ],
      },
      { type: "statuses", statuses: ["deleted", "notFound"] },
    ],
  },
  {
    name: "incr, decr, touch, flush, stats, version, noop",
    requests: [
      { op: "incr", key: k("n"), delta: 5n },
      { op: "decr", key: k("n"), delta: 1n },
      { op: "incr", key: k("x"), delta: 1n },
      { op: "touch", key: k("n"), ttl: 0 },
      { op: "flush" },
      { op: "stats" },
      { op: "version" },
      { op: "noop" },
    ],
    wire: "incr n 5\r\ndecr n 1\r\nincr x 1\r\ntouch n 0\r\nflush_all\r\nstats\r\nversion\r\n" +
      "version\r\n",
    reply: "18446744073709551615\r\n4\r\nNOT_FOUND\r\nTOUCHED\r\nOK\r\nSTAT pid 7\r\n" +
      "STAT version 1.6.18\r\nEND\r\nVERSION 1.6.18\r\nVERSION 1.6.18\r\n",
    expect: [
      { type: "counter", value: 18446744073709551615n },
      { type: "counter", value: 4n },
      { type: "counter", value: null },
      { type: "statuses", statuses: ["touched"] },
      { type: "ok" },
      { type: "stats", stats: new Map([["pid", "7"], ["version", "1.6.18"]]) },
      { type: "version", version: "1.6.18" },
      { type: "ok" },
    ],
  },
  {
    name: "errors are values",
    requests: [{ op: "incr", key: k("s"), delta: 1n }, { op: "get", keys: [k("a")] }],
    wire: "incr s 1\r\nget a\r\n",
    reply: "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n" +
      "SERVER_ERROR out of memory writing get response\r\n",
    expect: [{ serverError: "CLIENT_ERROR" }, { serverError: "SERVER_ERROR" }],
  },
];

for (const fixture of FIXTURES) {
  test(`text machine: ${fixture.name}, whole, byte by byte and at every split point`, () => {
    checkFixture(make, fixture);
  });
}

test("text machine: a get of 250 keys is three get lines answered by three ENDs", () => {
  const conn = make();
  const keys = Array.from({ length: 250 }, (_, i) => k(`key${i}`));
  const id = conn.send({ op: "get", keys });
  const wire = dec(conn.pollTransmit()).split("\r\n").filter((l) => l);
  assert.deepEqual(wire.map((l) => l.split(" ").length - 1), [100, 100, 50]);
  conn.receive(enc("VALUE key7 0 1\r\n7\r\nEND\r\nEND\r\n"));
  assert.deepEqual(drain(conn), []);
  conn.receive(enc("VALUE key249 0 1\r\nz\r\nEND\r\n"));
  const [event] = drain(conn);
  assert.equal(event.type === "reply" && event.id, id);
  const items = (event as { value: { items: unknown[] } }).value.items;
  assert.equal(items.filter((i) => i !== null).length, 2);
  assert.deepEqual(items[249], { value: k("z"), flags: 0 });
});

test("text machine: keys that the text protocol cannot carry are refused", () => {
  const conn = make();
  for (
    const key of [k("a b"), k("a\r\nflush_all"), new Uint8Array([0]), k(""), k("x".repeat(251))]
  ) {
    assert.throws(
      () => conn.send({ op: "get", keys: [key] }),
      (e: unknown) => e instanceof TypeError || e instanceof RangeError,
    );
  }
  assert.throws(() => conn.send({ op: "meta", commands: [] }), LocalProtocolError);
  assert.throws(
    () => conn.send({ op: "incr", key: k("n"), delta: 1n, initial: 0n }),
    LocalProtocolError,
  );
  assert.equal(conn.pollTransmit(), undefined);
});

test("text machine: deadlines: an unsent request is cut; a sent one that times out closes the connection", () => {
  const unsent = make();
  const x = unsent.send({ op: "get", keys: [k("x")] }, { deadline: 5 });
  const y = unsent.send({ op: "version" });
  unsent.handleTimeout(5);
  assert.deepEqual(drain(unsent), [{ type: "timeout", id: x, sent: false }]);
  assert.equal(dec(unsent.pollTransmit()), "version\r\n", "only the live request goes out");
  unsent.receive(enc("VERSION 1\r\n"));
  assert.deepEqual(drain(unsent), [{
    type: "reply",
    id: y,
    value: { type: "version", version: "1" },
  }]);

  const conn = make();
  const a = conn.send({ op: "get", keys: [k("a")] }, { deadline: 5 });
  conn.pollTransmit();
  const b = conn.send({ op: "get", keys: [k("b")] }, { deadline: 5 });
  conn.send({ op: "version" });
  conn.handleTimeout(5);
  const events = drain(conn);
  assert.deepEqual(events.slice(0, 2), [
    { type: "timeout", id: a, sent: true },
    { type: "timeout", id: b, sent: false },
  ]);
  // a's reply may never come: later replies could be read as a's, so the connection goes.
  const closed = events[2] as { type: string; error?: Error };
  assert.equal(closed.type, "closed");
  assert.ok(closed.error instanceof TimeoutError && closed.error.sent === true);
  assert.equal(events.length, 3);
  assert.equal(conn.pollTransmit(), undefined, "nothing more is written");
  assert.equal(conn.canSend, false);
});

test("text machine: bytes with no request waiting, or a surplus END, fail the connection", () => {
  const unsolicited = make();
  unsolicited.receive(enc("VALUE a 0 1\r\nA\r\nEND\r\n"));
  assert.throws(() => unsolicited.nextEvent(), /while no request waited/);
  assert.equal(unsolicited.canSend, false, "closed for good");

  const surplus = make();
  const id = surplus.send({ op: "get", keys: [k("a")] });
  surplus.pollTransmit();
  surplus.receive(enc("END\r\nEND\r\n"));
  assert.deepEqual(surplus.nextEvent(), {
    type: "reply",
    id,
    value: { type: "items", items: [null] },
  });
  assert.throws(() => surplus.nextEvent(), RemoteProtocolError, "the second END is nobody's");
});

test("text machine: a VALUE for a key nobody asked for is a protocol violation", () => {
  const conn = make();
  conn.send({ op: "get", keys: [k("a")] });
  conn.pollTransmit();
  conn.receive(enc("VALUE b 0 1\r\nB\r\nEND\r\n"));
  assert.throws(() => conn.nextEvent(), RemoteProtocolError);
});

test("text machine: random and mutated replies give events or RemoteProtocolError only", () => {
  const requests = [
    { op: "get" as const, keys: [k("a"), k("b")], cas: true },
    { op: "incr" as const, key: k("n"), delta: 1n },
    { op: "stats" as const },
    { op: "delete" as const, keys: [k("a"), k("b")] },
  ];
  const valid = [
    enc("VALUE a 0 2 5\r\nhi\r\nEND\r\n3\r\nSTAT pid 1\r\nEND\r\nDELETED\r\nNOT_FOUND\r\n"),
    enc("END\r\nNOT_FOUND\r\nEND\r\nERROR\r\nDELETED\r\n"),
  ];
  fuzz(make, requests, valid);
});

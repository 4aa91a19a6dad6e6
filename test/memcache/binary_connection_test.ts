// Pair tests of the BinaryConnection machine against a scripted peer whose frames are built
// here by hand: opaque matching (in any order), quiet batches, SASL PLAIN, deadlines, fuzzing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LocalProtocolError, RemoteProtocolError, TimeoutError } from "../../src/core/errors.ts";
import { BinaryConnection } from "../../src/memcache/binary_connection.ts";
import { MemcacheError } from "../../src/memcache/errors.ts";
import { checkFixture, dec, drain, enc, type Fixture, fuzz } from "./_machine.ts";

const k = enc;
const make = (): BinaryConnection => new BinaryConnection({ firstOpaque: 1 });

interface FrameSpec {
  key?: string;
  extras?: number[];
  value?: string | Uint8Array;
  opaque: number;
  status?: number;
  cas?: bigint;
}

/** A frame built independently of the client's codec (protocol spec, 24-byte header). */
function frame(magic: number, opcode: number, spec: FrameSpec): Uint8Array {
  const key = enc(spec.key ?? "");
  const extras = new Uint8Array(spec.extras ?? []);
  const value = typeof spec.value === "string" ? enc(spec.value) : spec.value ?? new Uint8Array();
  const out = new Uint8Array(24 + extras.length + key.length + value.length);
  const view = new DataView(out.buffer);
  out[0] = magic;
  out[1] = opcode;
  view.setUint16(2, key.length);
  out[4] = extras.length;
  view.setUint16(6, spec.status ?? 0);
  view.setUint32(8, extras.length + key.length + value.length);
  view.setUint32(12, spec.opaque);
  view.setBigUint64(16, spec.cas ?? 0n);
  out.set(extras, 24);
  out.set(key, 24 + extras.length);
  out.set(value, 24 + extras.length + key.length);
  return out;
}
const req = (op: number, spec: FrameSpec): string => dec(frame(0x80, op, spec));
const res = (op: number, spec: FrameSpec): string => dec(frame(0x81, op, spec));
const u32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const u64 = (n: bigint): number[] => [...u32(Number(n >> 32n)), ...u32(Number(n & 0xffffffffn))];
const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

const FIXTURES: Fixture[] = [
  {
    name: "get hit and miss",
    requests: [{ op: "get", keys: [k("a")] }, { op: "get", keys: [k("b")], cas: true }],
    wire: req(0x00, { key: "a", opaque: 1 }) + req(0x00, { key: "b", opaque: 2 }),
    reply: latin1(
      res(0x00, { opaque: 2, status: 1, value: "Not found" }) +
        res(0x00, { extras: u32(5), value: "hi", opaque: 1, cas: 9n }),
    ),
    expect: [
      { type: "items", items: [{ value: k("hi"), flags: 5 }] },
      { type: "items", items: [null] },
    ],
  },
  {
    name: "multi get: GetQ frames closed by a NOOP",
    requests: [{ op: "get", keys: [k("a"), k("b"), k("c")], cas: true }],
    wire: req(0x09, { key: "a", opaque: 1 }) + req(0x09, { key: "b", opaque: 2 }) +
      req(0x09, { key: "c", opaque: 3 }) + req(0x0a, { opaque: 4 }),
    reply: latin1(
      res(0x09, { extras: u32(1), value: "C", opaque: 3, cas: 3n }) +
        res(0x09, { extras: u32(0), value: "A", opaque: 1, cas: 1n }) +
        res(0x0a, { opaque: 4 }),
    ),
    expect: [{
      type: "items",
      items: [{ value: k("A"), flags: 0, cas: 1n }, null, { value: k("C"), flags: 1, cas: 3n }],
    }],
  },
  {
    name: "stores map binary statuses to the text protocol's",
    requests: [
      { op: "store", mode: "set", items: [{ key: k("a"), value: k("v"), flags: 16, ttl: 60 }] },
      { op: "store", mode: "add", items: [{ key: k("a"), value: k("v") }] },
      { op: "store", mode: "replace", items: [{ key: k("z"), value: k("v") }] },
      { op: "store", mode: "cas", items: [{ key: k("a"), value: k("c"), cas: 7n }] },
      { op: "store", mode: "append", items: [{ key: k("a"), value: k("+") }] },
    ],
    wire: req(0x01, { extras: [...u32(16), ...u32(60)], key: "a", value: "v", opaque: 1 }) +
      req(0x02, { extras: [...u32(0), ...u32(0)], key: "a", value: "v", opaque: 2 }) +
      req(0x03, { extras: [...u32(0), ...u32(0)], key: "z", value: "v", opaque: 3 }) +
      req(0x01, { extras: [...u32(0), ...u32(0)], key: "a", value: "c", opaque: 4, cas: 7n }) +
      req(0x0e, { key: "a", value: "+", opaque: 5 }),
    reply: latin1(
      res(0x01, { opaque: 1, cas: 1n }) + res(0x02, { opaque: 2, status: 2 }) +
        res(0x03, { opaque: 3, status: 1 }) + res(0x01, { opaque: 4, status: 2 }) +
        res(0x0e, { opaque: 5 }),
    ),
    expect: [
      { type: "statuses", statuses: ["stored"] },
      { type: "statuses", statuses: ["notStored"] },
      { type: "statuses", statuses: ["notStored"] },
      { type: "statuses", statuses: ["exists"] },
      { type: "statuses", statuses: ["stored"] },
    ],
  },
  {
    name: "quiet stores and deletes answer failures only",
    requests: [
      {
        op: "store",
        mode: "set",
        items: [{ key: k("a"), value: k("1") }, { key: k("b"), value: k("2") }],
      },
      { op: "delete", keys: [k("a"), k("x")] },
    ],
    wire: req(0x11, { extras: [...u32(0), ...u32(0)], key: "a", value: "1", opaque: 1 }) +
      req(0x11, { extras: [...u32(0), ...u32(0)], key: "b", value: "2", opaque: 2 }) +
      req(0x0a, { opaque: 3 }) + req(0x14, { key: "a", opaque: 4 }) +
      req(0x14, { key: "x", opaque: 5 }) + req(0x0a, { opaque: 6 }),
    reply: latin1(
      res(0x11, { opaque: 2, status: 3, value: "Too large." }) + res(0x0a, { opaque: 3 }) +
        res(0x14, { opaque: 5, status: 1, value: "Not found" }) + res(0x0a, { opaque: 6 }),
    ),
    expect: [
      {
        type: "statuses",
        statuses: [
          "stored",
          new MemcacheError("memcached refused SET: Too large. (E2BIG)", "E2BIG"),
        ],
      },
      { type: "statuses", statuses: ["deleted", "notFound"] },
    ],
  },
  {
    name: "counters, touch, flush, version, noop",
    requests: [
      { op: "incr", key: k("n"), delta: 5n },
      { op: "decr", key: k("m"), delta: 2n, initial: 10n, ttl: 30 },
      { op: "incr", key: k("x"), delta: 1n },
      { op: "touch", key: k("n"), ttl: 99 },
      { op: "flush" },
      { op: "version" },
      { op: "noop" },
    ],
    wire: req(0x05, { extras: [...u64(5n), ...u64(0n), ...u32(0xffffffff)], key: "n", opaque: 1 }) +
      req(0x06, { extras: [...u64(2n), ...u64(10n), ...u32(30)], key: "m", opaque: 2 }) +
      req(0x05, { extras: [...u64(1n), ...u64(0n), ...u32(0xffffffff)], key: "x", opaque: 3 }) +
      req(0x1c, { extras: u32(99), key: "n", opaque: 4 }) + req(0x08, { opaque: 5 }) +
      req(0x0b, { opaque: 6 }) + req(0x0a, { opaque: 7 }),
    reply: latin1(
      res(0x05, { value: latin1(dec(new Uint8Array(u64(15n)))), opaque: 1 }) +
        res(0x06, { value: latin1(dec(new Uint8Array(u64(10n)))), opaque: 2 }) +
        res(0x05, { status: 1, value: "Not found", opaque: 3 }) + res(0x1c, { opaque: 4 }) +
        res(0x08, { opaque: 5 }) + res(0x0b, { value: "1.6.18", opaque: 6 }) +
        res(0x0a, { opaque: 7 }),
    ),
    expect: [
      { type: "counter", value: 15n },
      { type: "counter", value: 10n },
      { type: "counter", value: null },
      { type: "statuses", statuses: ["touched"] },
      { type: "ok" },
      { type: "version", version: "1.6.18" },
      { type: "ok" },
    ],
  },
  {
    name: "stats: one packet per stat, an empty one ends",
    requests: [{ op: "stats", group: "settings" }],
    wire: req(0x10, { key: "settings", opaque: 1 }),
    reply: latin1(
      res(0x10, { key: "maxbytes", value: "64", opaque: 1 }) +
        res(0x10, { key: "evictions", value: "on", opaque: 1 }) + res(0x10, { opaque: 1 }),
    ),
    expect: [{ type: "stats", stats: new Map([["maxbytes", "64"], ["evictions", "on"]]) }],
  },
  {
    name: "refusals are values",
    requests: [{ op: "incr", key: k("s"), delta: 1n }],
    wire: req(0x05, { extras: [...u64(1n), ...u64(0n), ...u32(0xffffffff)], key: "s", opaque: 1 }),
    reply: latin1(res(0x05, { status: 6, value: "Non-numeric server-side value", opaque: 1 })),
    expect: [{ serverError: "DELTA_BADVAL" }],
  },
];

for (const fixture of FIXTURES) {
  test(`binary machine: ${fixture.name}, whole, byte by byte and at every split point`, () => {
    checkFixture(make, fixture);
  });
}

test("binary machine: SASL PLAIN goes first and holds requests until it succeeds", () => {
  const conn = new BinaryConnection({
    sasl: { username: "user", password: "pencil" },
    firstOpaque: 1,
  });
  const id = conn.send({ op: "version" });
  assert.equal(
    dec(conn.pollTransmit()),
    req(0x21, { key: "PLAIN", value: "\0user\0pencil", opaque: 1 }),
  );
  assert.equal(conn.pollTransmit(), undefined, "VERSION waits for the handshake");
  conn.receive(latin1(res(0x21, { value: "Authenticated", opaque: 1 })));
  assert.deepEqual(drain(conn), []);
  assert.equal(dec(conn.pollTransmit()), req(0x0b, { opaque: 2 }));
  conn.receive(latin1(res(0x0b, { value: "1.6.18", opaque: 2 })));
  assert.deepEqual(drain(conn), [{
    type: "reply",
    id,
    value: { type: "version", version: "1.6.18" },
  }]);
});

test("binary machine: refused credentials close the machine with a MemcacheError", () => {
  const conn = new BinaryConnection({
    sasl: { username: "user", password: "wrong-secret" },
    firstOpaque: 1,
  });
  conn.send({ op: "version" });
  conn.pollTransmit();
  conn.receive(latin1(res(0x21, { status: 0x20, value: "Auth failure.", opaque: 1 })));
  const [closed] = drain(conn);
  assert.equal(closed.type, "closed");
  const error = (closed as { error?: Error }).error;
  assert.ok(error instanceof MemcacheError);
  assert.equal(error.serverCode, "AUTH_ERROR");
  assert.match(error.message, /SASL authentication failed/);
  assert.ok(!error.message.includes("wrong-secret"), "the password never appears");
  assert.throws(() => conn.send({ op: "version" }), LocalProtocolError);
});

test("binary machine: any key bytes go as they are; length limits still hold", () => {
  const conn = make();
  conn.send({ op: "delete", keys: [k("a b\r\n")] });
  assert.equal(dec(conn.pollTransmit()), req(0x04, { key: "a b\r\n", opaque: 1 }));
  assert.throws(() => conn.send({ op: "get", keys: [new Uint8Array(251)] }), RangeError);
  assert.throws(() => conn.send({ op: "meta", commands: [] }), LocalProtocolError);
});

test("binary machine: deadlines free the opaques of unsent requests; a sent one closes the machine", () => {
  const conn = make();
  const a = conn.send({ op: "get", keys: [k("b"), k("c")] }, { deadline: 5 });
  const b = conn.send({ op: "version" });
  conn.handleTimeout(5);
  assert.deepEqual(drain(conn), [{ type: "timeout", id: a, sent: false }]);
  assert.equal(dec(conn.pollTransmit()), req(0x0b, { opaque: 4 }), "a's frames were cut");
  conn.receive(latin1(res(0x0b, { value: "1", opaque: 4 })));
  assert.deepEqual(drain(conn), [{
    type: "reply",
    id: b,
    value: { type: "version", version: "1" },
  }]);
  conn.receive(latin1(res(0x09, { opaque: 1, extras: u32(0), value: "late" })));
  assert.throws(() => conn.nextEvent(), /unknown opaque 1/, "a cut frame's opaque is unknown");

  const sent = make();
  const c = sent.send({ op: "get", keys: [k("a")] }, { deadline: 5 });
  sent.pollTransmit();
  sent.handleTimeout(5);
  const [timeout, closed, ...rest] = drain(sent);
  assert.deepEqual(timeout, { type: "timeout", id: c, sent: true });
  assert.equal(closed.type, "closed");
  const error = (closed as { error?: Error }).error;
  assert.ok(error instanceof TimeoutError && error.sent);
  assert.deepEqual(rest, []);
  assert.equal(sent.canSend, false);
});

test("binary machine: bad magic and unknown opaques fail the machine", () => {
  const magic = make();
  magic.send({ op: "version" });
  magic.pollTransmit();
  magic.receive(latin1(req(0x0b, { opaque: 1 })));
  assert.throws(() => magic.nextEvent(), RemoteProtocolError);
  assert.throws(() => magic.nextEvent(), RemoteProtocolError);
  const stray = make();
  stray.receive(latin1(res(0x0a, { opaque: 77 })));
  assert.throws(() => stray.nextEvent(), /unknown opaque 77/);
});

test("binary machine: random and mutated replies give events or RemoteProtocolError only", () => {
  const requests = [
    { op: "get" as const, keys: [k("a")] },
    { op: "get" as const, keys: [k("a"), k("b")] },
    { op: "stats" as const },
  ];
  const valid = [
    latin1(
      res(0x00, { extras: u32(0), value: "x", opaque: 1 }) +
        res(0x09, { extras: u32(0), value: "y", opaque: 3 }) + res(0x0a, { opaque: 4 }) +
        res(0x10, { key: "pid", value: "1", opaque: 5 }) + res(0x10, { opaque: 5 }),
    ),
  ];
  fuzz(make, requests, valid);
});

test("binary machine: opaques start at random, so a frame sent before any request cannot guess one", () => {
  const opaques = [0, 1, 2].map(() => {
    const conn = new BinaryConnection();
    conn.send({ op: "version" });
    const bytes = conn.pollTransmit()!;
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(12);
  });
  assert.equal(new Set(opaques).size, 3, `three connections, three first opaques: ${opaques}`);
});

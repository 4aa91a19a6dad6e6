// MemcacheClient against hostile servers on the meta, text and binary protocols: silence, drops,
// duplicates, reordering, pre-sent replies, dripping, absurd lengths and garbage (fast-check).
// Every call settles in time, never with another call's data, memory stays bounded, and the next
// call succeeds on the same client.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as net from "node:net";
import { KvError, RemoteProtocolError, TimeoutError } from "../../src/core/errors.ts";
import { MemcacheClient } from "../../src/memcache/client.ts";
import {
  collectUnhandledRejections,
  type Fault,
  heapUsedAfterGc,
  type HostileProtocol,
  startHostileServer,
} from "../_helpers/hostile_server.ts";
import {
  binaryFrame,
  binaryProtocol,
  metaProtocol,
  seed,
  type Store,
  textProtocol,
} from "./_hostile.ts";

const TIMEOUT = 300;
const MARGIN = 1500;
const MB = 1024 * 1024;
const KEYS = ["k0", "k1", "k2", "k3"];
const valueOf = (key: string): string => `value-of-${key}`;

type Protocol = "meta" | "text" | "binary";
const RESPONDERS: Record<Protocol, (store: Store) => HostileProtocol<unknown>> = {
  meta: metaProtocol as (store: Store) => HostileProtocol<unknown>,
  text: textProtocol as (store: Store) => HostileProtocol<unknown>,
  binary: binaryProtocol as (store: Store) => HostileProtocol<unknown>,
};

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const latin = (b: Uint8Array): string => String.fromCharCode(...b);

/** A binary GET reply header announcing `value` bytes (flags extras), with that many bytes or fewer. */
function binaryHeader(valueLength: number, opaque: number): Uint8Array {
  const frame = binaryFrame(0x00, opaque, { extras: new Uint8Array(4) });
  new DataView(frame.buffer).setUint32(8, 4 + valueLength);
  return frame;
}

/** Replies a hostile server might send instead: plausible ones for another key, absurd lengths, garbage. */
const BAD_REPLIES: Record<Protocol, Uint8Array[]> = {
  meta: [
    ascii(`VA 11 f16 O0\r\n${valueOf("k1")}\r\n`),
    ascii(`VA 11 f16 O1 kk1\r\n${valueOf("k1")}\r\n`),
    ascii("VA 1000000000 O0\r\n"),
    ascii("VA 5 f16 O0\r\nab"),
    ascii("EN\r\nHD\r\nMN\r\n"),
    ascii("SERVER_ERROR out of memory\r\n"),
  ],
  text: [
    ascii(`VALUE k1 16 11\r\n${valueOf("k1")}\r\nEND\r\n`),
    ascii("VALUE k0 16 1000000000\r\n"),
    ascii("END\r\nEND\r\n"),
    ascii("VALUE k0 16 5\r\nab"),
    ascii("STORED\r\n"),
  ],
  binary: [
    (() => {
      const value = ascii(valueOf("k1"));
      const frame = binaryFrame(0x00, 1, { extras: Uint8Array.of(0, 0, 0, 16), value });
      return frame;
    })(),
    binaryHeader(1_000_000_000, 1),
    binaryHeader(100, 2).subarray(0, 30),
    ascii("VERSION 1.6\r\n"),
  ],
};

/** A get of k1, to warm the server side up (see the memory test). */
const WARM_UP: Record<Protocol, Uint8Array> = {
  meta: ascii("mg k1 v\r\n"),
  text: ascii("get k1\r\n"),
  binary: Uint8Array.of(
    0x80,
    0,
    0,
    2,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    2,
    0,
    0,
    0,
    9,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    107,
    49,
  ),
};

function faultArbitrary(protocol: Protocol): fc.Arbitrary<Fault> {
  const at = fc.integer({ min: 0, max: 3 });
  const bytes = fc.oneof(
    fc.constantFrom(...BAD_REPLIES[protocol]),
    fc.uint8Array({ minLength: 1, maxLength: 40 }),
  );
  return fc.oneof(
    fc.record({ kind: fc.constant("silent" as const), after: at }),
    fc.record({ kind: fc.constant("drop" as const), at }),
    fc.record({ kind: fc.constant("duplicate" as const), at }),
    fc.record({ kind: fc.constant("reorder" as const), at: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ kind: fc.constant("presend" as const), bytes }),
    fc.constant({ kind: "drip" as const }),
    fc.record({
      kind: fc.constant("replace" as const),
      at,
      bytes,
      then: fc.constantFrom("silent" as const, "close" as const, "continue" as const),
    }),
    fc.record({ kind: fc.constant("close" as const), at }),
  );
}

const describe = (fault: Fault): string =>
  JSON.stringify(fault, (_, v) => (v instanceof Uint8Array ? latin(v).slice(0, 40) : v));

/** One case: the first connection has `fault`, later ones are healthy. */
async function runCase(protocol: Protocol, fault: Fault): Promise<void> {
  const store: Store = new Map();
  for (const key of KEYS) seed(store, key, valueOf(key));
  const server = await startHostileServer(
    RESPONDERS[protocol](store),
    (i) => (i === 0 ? fault : { kind: "none" }),
  );
  const mc = new MemcacheClient({
    servers: [`${server.host}:${server.port}`],
    protocol,
    commandTimeout: TIMEOUT,
    connectTimeout: 1000,
    deadRetry: 0,
  });
  const what = `${protocol} ${describe(fault)}`;
  try {
    const leaked = await collectUnhandledRejections(async () => {
      await Promise.all(KEYS.map(async (key) => {
        const start = performance.now();
        try {
          const value = await mc.get(key);
          // A bare END is the text protocol's miss: it names no key, so a server that sends
          // one in place of a reply makes a miss, never another key's value.
          if (!(protocol === "text" && value === null)) {
            assert.equal(value, valueOf(key), `${what}: get(${key}) got its own value`);
          }
        } catch (error) {
          assert.ok(error instanceof KvError, `${what}: get(${key}) failed with ${error}`);
        }
        const took = performance.now() - start;
        assert.ok(took <= TIMEOUT + MARGIN, `${what}: get(${key}) settled after ${took} ms`);
      }));
      // A server that answered every request and then went silent cannot be told from a slow
      // one until a call times out (then its connection is replaced): the call after that one
      // must succeed. Deadlines a loaded machine can meet: this checks recovery, not speed.
      let next: unknown = await mc.with({ timeout: 1000 }).get("k2").catch((e) => e);
      if (next instanceof TimeoutError) next = await mc.with({ timeout: 3000 }).get("k2");
      assert.equal(next, valueOf("k2"), `${what}: the next call succeeds`);
    });
    assert.deepEqual(leaked, [], `${what}: no unhandled rejection`);
  } finally {
    mc.destroy();
    await server.close();
  }
}

for (const protocol of ["meta", "text", "binary"] as const) {
  test(`memcache hostile ${protocol}: every fault settles in time, never with another call's data, and the next call succeeds`, async () => {
    const start = await heapUsedAfterGc();
    await fc.assert(
      fc.asyncProperty(faultArbitrary(protocol), (fault) => runCase(protocol, fault)),
      {
        numRuns: 20,
      },
    );
    const grown = (await heapUsedAfterGc()) - start;
    assert.ok(grown < 10 * MB, `heap grew ${(grown / MB).toFixed(1)} MB over the cases`);
  });

  test(`memcache hostile ${protocol}: each fault kind once, on the first request`, async () => {
    const faults: Fault[] = [
      { kind: "silent" },
      { kind: "drop", at: 0 },
      { kind: "duplicate", at: 0 },
      { kind: "reorder", at: 0 },
      { kind: "presend", bytes: BAD_REPLIES[protocol][0] },
      { kind: "drip" },
      { kind: "close", at: 0 },
      ...BAD_REPLIES[protocol].map((bytes) => ({ kind: "replace" as const, at: 0, bytes })),
    ];
    for (const fault of faults) await runCase(protocol, fault);
  });

  test(`memcache hostile ${protocol}: a value of 1,000,000,000 bytes that never completes leaves no memory held`, async () => {
    const store: Store = new Map();
    seed(store, "k0", valueOf("k0"));
    // The announced value, then 32 MB of it, then silence.
    const header = protocol === "binary"
      ? binaryHeader(1_000_000_000, 1)
      : ascii(protocol === "meta" ? "VA 1000000000 f16 O0\r\n" : "VALUE k1 16 1000000000\r\n");
    const bytes = new Uint8Array(header.length + 32 * MB).fill(0x61);
    bytes.set(header);
    const server = await startHostileServer(
      RESPONDERS[protocol](store),
      (i) => (i <= 1 ? { kind: "replace", at: 0, bytes } : { kind: "none" }),
    );
    // Bun keeps a copy of what the server side writes, reused later: a first exchange with a
    // bare socket warms it, so that what is measured below is the client's.
    await new Promise<void>((resolve) => {
      const socket = net.connect(server.port, server.host, () => socket.write(WARM_UP[protocol]));
      socket.once("data", () => {
        socket.destroy();
        resolve();
      });
    });
    const mc = new MemcacheClient({
      servers: [`${server.host}:${server.port}`],
      protocol,
      commandTimeout: 1000,
      deadRetry: 0,
    });
    const before = await heapUsedAfterGc();
    try {
      // Refused on the header, at once: not a timeout after buffering what came.
      await assert.rejects(mc.get("k1"), (e: unknown) => {
        const cause = (e as Error).cause;
        return e instanceof KvError && cause instanceof RemoteProtocolError &&
          /over the 1048576-byte limit/.test(cause.message);
      });
      assert.equal(await mc.get("k0"), valueOf("k0"), "the next call succeeds");
    } finally {
      await server.close();
    }
    const grown = (await heapUsedAfterGc()) - before;
    assert.ok(grown < 10 * MB, `${(grown / MB).toFixed(1)} MB held by the live client`);
    mc.destroy();
  });
}

test("memcache hostile meta: a dropped reply never hands b's value to a", async () => {
  const store: Store = new Map();
  for (const key of KEYS) seed(store, key, valueOf(key));
  const server = await startHostileServer(
    metaProtocol(store),
    (i) => (i === 0 ? { kind: "drop", at: 0 } : { kind: "none" }),
  );
  const mc = new MemcacheClient({
    servers: [`${server.host}:${server.port}`],
    commandTimeout: TIMEOUT,
    deadRetry: 0,
  });
  try {
    const [a, b] = await Promise.allSettled([mc.get("k0"), mc.get("k1")]);
    assert.ok(a.status === "rejected" && a.reason instanceof KvError, "a's reply never came");
    assert.ok(
      b.status === "rejected" && b.reason instanceof KvError,
      "b's reply reached a's place in line: the connection is dropped, not a's value",
    );
    const cause = (b.reason as Error).cause;
    assert.ok(cause instanceof RemoteProtocolError, `cause: ${cause}`);
    assert.equal(await mc.get("k0"), valueOf("k0"));
  } finally {
    mc.destroy();
    await server.close();
  }
});

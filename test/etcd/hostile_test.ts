// The etcd v3 client against a hostile gateway (test/_helpers/hostile_server.ts): silence, drops,
// duplicates, reordering, pre-sent answers, dripping, absurd lengths and garbage. Every call
// settles in time with its own data or a KvError, memory is released, the next call succeeds.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Buffer } from "node:buffer";
import { KvError, RemoteProtocolError, TimeoutError } from "../../src/core/errors.ts";
import { EtcdClient } from "../../src/etcd/client.ts";
import {
  collectUnhandledRejections,
  type Fault,
  heapUsedAfterGc,
  startHostileServer,
} from "../_helpers/hostile_server.ts";
import { b64, etcdGateway, httpResponse, seededValue } from "./_hostile.ts";

const KEYS = ["k0", "k1", "k2", "k3", "k4", "k5"];
const gateway = etcdGateway([...KEYS, "k9"]);
const server = await startHostileServer(gateway);
after(() => server.close());

const TIMEOUT = 400;
const MARGIN = 1500;

/** A range answer for `key`: right for a read of that key, wrong for anything else. */
function rangeAnswer(key: string): Uint8Array {
  return httpResponse(JSON.stringify({
    header: { revision: "50" },
    kvs: [{ key: b64(key), value: b64("stolen"), create_revision: "2", mod_revision: "2" }],
    count: "1",
  }));
}

const ABSURD = [
  Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 999999999999999\r\n\r\n{}"),
  Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\n{}"),
  Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n{}"), // truncated
  Buffer.from("\x00\xff garbage \r\n\r\n"),
  httpResponse("{not json"),
  httpResponse(JSON.stringify({ kvs: [{ key: "%%%" }] })),
];

type Op = { kind: "get"; key: string } | { kind: "batch"; keys: string[] } | {
  kind: "put";
  key: string;
};

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.constantFrom(...KEYS).map((key): Op => ({ kind: "get", key })),
  fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 2, maxLength: 3 })
    .map((keys): Op => ({ kind: "batch", keys })),
  fc.nat(99).map((n): Op => ({ kind: "put", key: `w/${n}` })),
);

function faultArb(n: number): fc.Arbitrary<Fault> {
  const at = fc.nat(n - 1);
  return fc.oneof(
    at.map((after): Fault => ({ kind: "silent", after })),
    at.map((at): Fault => ({ kind: "drop", at })),
    at.map((at): Fault => ({ kind: "duplicate", at })),
    at.map((at): Fault => ({ kind: "reorder", at })),
    fc.constantFrom(rangeAnswer("k9"), Buffer.from("HTTP/1.1 200 OK\r\n"), Buffer.from("junk"))
      .map((bytes): Fault => ({ kind: "presend", bytes })),
    fc.constant<Fault>({ kind: "drip" }),
    fc.tuple(at, fc.constantFrom(...ABSURD), fc.constantFrom("silent", "close", "continue"))
      .map(([at, bytes, then]): Fault => ({
        kind: "replace",
        at,
        bytes,
        then: then as "silent" | "close" | "continue",
      })),
    at.map((at): Fault => ({ kind: "close", at })),
  );
}

/** Runs one op; a read must answer its own key's value. */
async function runOp(etcd: EtcdClient, op: Op): Promise<void> {
  switch (op.kind) {
    case "get":
      assert.equal(await etcd.getString(op.key, { timeout: TIMEOUT }), seededValue(op.key));
      return;
    case "batch": {
      const values = await Promise.all(op.keys.map((k) => etcd.getString(k)));
      assert.deepEqual(values, op.keys.map(seededValue));
      return;
    }
    case "put":
      await etcd.put(op.key, "x");
  }
}

/** Every op settles within its deadline plus a margin, with its own data or a KvError. */
async function runCase(ops: Op[], fault: Fault): Promise<void> {
  const first = server.accepted;
  server.setFaults((i) => (i === first ? fault : { kind: "none" }));
  await using etcd = new EtcdClient({
    protocol: "gateway",
    endpoints: [`${server.host}:${server.port}`],
    requestTimeout: TIMEOUT,
    maxConnections: 1, // every request goes through the faulty connection first
  });
  const started = Date.now();
  let failed = 0;
  await Promise.all(ops.map(async (op) => {
    try {
      await runOp(etcd, op);
    } catch (error) {
      if (error instanceof assert.AssertionError) throw error;
      assert.ok(error instanceof KvError, `${op.kind} failed with ${error}`);
      failed++;
    }
    const took = Date.now() - started;
    assert.ok(took <= TIMEOUT + MARGIN, `${op.kind} settled after ${took} ms`);
  }));
  // The same client, after the fault: the next call succeeds. Reads coalesce, so the ops may
  // have made fewer requests than the fault counts on; then the fault may hit this call first.
  for (let attempt = 0;; attempt++) {
    try {
      assert.equal(await etcd.getString("k0", { timeout: 3000 }), seededValue("k0"));
      return;
    } catch (error) {
      if (failed > 0 || attempt > 0 || !(error instanceof KvError)) throw error;
    }
  }
}

test("hostile gateway: every fault, ops settle in time with their own data; recovery", {
  timeout: 120_000,
}, async () => {
  const heapBefore = await heapUsedAfterGc();
  const rejections = await collectUnhandledRejections(async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 4 }).chain((ops) =>
          fc.tuple(fc.constant(ops), faultArb(ops.length))
        ),
        async ([ops, fault]) => await runCase(ops, fault),
      ),
      { numRuns: 30 },
    );
  });
  assert.deepEqual(rejections, []);
  const grown = (await heapUsedAfterGc()) - heapBefore;
  assert.ok(grown < 10 * 1024 * 1024, `heap grew by ${grown} bytes`);
});

for (
  const [name, fault] of [
    ["silent", { kind: "silent" }],
    ["drop", { kind: "drop", at: 0 }],
    ["duplicate", { kind: "duplicate", at: 0 }],
    ["reorder", { kind: "reorder", at: 0 }],
    ["presend of another key's answer", { kind: "presend", bytes: rangeAnswer("k9") }],
    ["drip", { kind: "drip" }],
    ["absurd Content-Length", { kind: "replace", at: 0, bytes: ABSURD[0], then: "continue" }],
    ["absurd chunk size", { kind: "replace", at: 0, bytes: ABSURD[1], then: "continue" }],
    ["truncated answer", { kind: "replace", at: 0, bytes: ABSURD[2], then: "continue" }],
    ["garbage", { kind: "replace", at: 0, bytes: ABSURD[3], then: "continue" }],
    ["close", { kind: "close", at: 0 }],
  ] as [string, Fault][]
) {
  test(`hostile gateway: ${name} — get and put settle, no wrong data, then recovery`, async () => {
    await runCase([{ kind: "get", key: "k1" }, { kind: "put", key: "w/1" }], fault);
  });
}

test("hostile gateway: a pre-sent answer is never handed to the next read", async () => {
  const first = server.accepted;
  server.setFaults((
    i,
  ) => (i === first ? { kind: "presend", bytes: rangeAnswer("k1") } : { kind: "none" }));
  await using etcd = new EtcdClient({
    protocol: "gateway",
    endpoints: [`${server.host}:${server.port}`],
  });
  // Today's bug: getString("k2") answered with k1's value from a response sent before any request.
  await assert.rejects(etcd.getString("k2", { timeout: 1000 }), RemoteProtocolError);
  assert.equal(await etcd.getString("k2"), seededValue("k2"));
});

test("hostile gateway: an absurd chunk size fails the connection at once, holding no memory", async () => {
  const heapBefore = await heapUsedAfterGc();
  for (let i = 0; i < 5; i++) {
    const first = server.accepted;
    server.setFaults((c) =>
      c === first
        ? { kind: "replace", at: 0, bytes: ABSURD[1], then: "continue" }
        : { kind: "none" }
    );
    await using etcd = new EtcdClient({
      protocol: "gateway",
      endpoints: [`${server.host}:${server.port}`],
    });
    const started = Date.now();
    if (i % 2 === 0) {
      // A read fails on the poisoned connection at the chunk size and runs again on a new one.
      assert.equal(await etcd.getString("k3", { timeout: 5000 }), seededValue("k3"));
      assert.equal(server.accepted, first + 2);
    } else {
      // A write is never repeated: it fails, saying it may have run.
      await assert.rejects(etcd.put("w/x", "v", { timeout: 5000 }), (error: unknown) => {
        assert.ok(error instanceof KvError && error.sent, String(error));
        assert.ok(error.cause instanceof RemoteProtocolError, String(error.cause));
        return true;
      });
      assert.equal(await etcd.getString("k3"), seededValue("k3"));
    }
    assert.ok(Date.now() - started < 1000, "failed at the chunk size, not at the deadline");
  }
  const grown = (await heapUsedAfterGc()) - heapBefore;
  assert.ok(grown < 10 * 1024 * 1024, `heap grew by ${grown} bytes`);
});

test("hostile gateway: a silent endpoint is dropped and marked down; the client fails over", async () => {
  const healthy = await startHostileServer(etcdGateway(KEYS));
  try {
    const first = server.accepted;
    server.setFaults((i) => (i >= first ? { kind: "silent" } : { kind: "none" }));
    await using etcd = new EtcdClient({
      protocol: "gateway",
      endpoints: [`${server.host}:${server.port}`, `${healthy.host}:${healthy.port}`],
      requestTimeout: TIMEOUT,
    });
    await assert.rejects(etcd.getString("k1", { timeout: TIMEOUT }), (error: unknown) => {
      assert.ok(error instanceof TimeoutError, String(error));
      assert.equal(error.sent, true);
      return true;
    });
    assert.equal(await etcd.getString("k1"), seededValue("k1"), "the next call fails over");
    assert.equal(etcd.channel.currentEndpoint.port, healthy.port);
    assert.equal(await etcd.getString("k2"), seededValue("k2"));
  } finally {
    server.setFaults(() => ({ kind: "none" }));
    await healthy.close();
  }
});

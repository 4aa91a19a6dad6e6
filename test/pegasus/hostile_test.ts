// PegasusClient against the hostile-server kit (issue 12): silence, drops, duplicates, reorders,
// pre-sent and stray bytes, dripping, absurd lengths and garbage. Every call settles in time
// with its own data or a KvError, memory is released, and the next call succeeds.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { KvError } from "../../src/core/errors.ts";
import { PegasusClient } from "../../src/pegasus/mod.ts";
import {
  collectUnhandledRejections,
  type Fault,
  heapUsedAfterGc,
  startHostileServer,
} from "../_helpers/hostile_server.ts";
import { hostilePegasus, strayReply } from "./_hostile.ts";

const TIMEOUT = 300;
const MARGIN = 700;
const KEYS = 6;
const SEED = Array.from({ length: KEYS + 2 }, (_, i) =>
  [`h${i}`, "s", `v${i}`] as [
    string,
    string,
    string,
  ]);
const MiB = 1024 * 1024;

/** A reply frame header declaring `total` bytes, with nothing after it. */
const declared = (total: number): Uint8Array =>
  new Uint8Array([total >>> 24, (total >>> 16) & 255, (total >>> 8) & 255, total & 255]);

const badBytes = fc.oneof(
  fc.constant(declared(0xffffffff)), // absurd length
  fc.constant(declared(60 * MiB)), // under the limit, never completed
  fc.constant(declared(65 * MiB)), // just over the 64 MiB default
  fc.constant(new Uint8Array([0, 0, 1, 0])), // four stray bytes
  fc.uint8Array({ minLength: 1, maxLength: 64 }), // garbage
  fc.integer({ min: 1, max: 30 }).map((n) => strayReply(1).subarray(0, n)), // truncated frame
  fc.integer({ min: 1, max: 0x7fffffff }).map((seqid) => strayReply(seqid)), // someone's reply
  fc.integer({ min: 2, max: 8 }).map((seqid) => strayReply(seqid)), // what seqids from 1 would be
);

const faults: fc.Arbitrary<Fault> = fc.oneof(
  fc.record({ kind: fc.constant("silent" as const), after: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant("drop" as const), at: fc.integer({ min: 0, max: KEYS - 1 }) }),
  fc.record({
    kind: fc.constant("duplicate" as const),
    at: fc.integer({ min: 0, max: KEYS - 1 }),
  }),
  fc.record({ kind: fc.constant("reorder" as const), at: fc.integer({ min: 0, max: KEYS - 2 }) }),
  fc.record({ kind: fc.constant("presend" as const), bytes: badBytes }),
  fc.constant({ kind: "drip" as const }),
  fc.record({
    kind: fc.constant("replace" as const),
    at: fc.integer({ min: 0, max: KEYS - 1 }),
    bytes: badBytes,
    then: fc.constantFrom("silent" as const, "close" as const, "continue" as const),
  }),
  fc.record({ kind: fc.constant("close" as const), at: fc.integer({ min: 0, max: KEYS - 1 }) }),
);

/** One case: a client whose first connection has `fault`; later connections are healthy. */
async function runCase(fault: Fault): Promise<{ metaQueries: number; accepted: number }> {
  const protocol = hostilePegasus(SEED);
  const server = await startHostileServer(protocol, (i) => i === 0 ? fault : { kind: "none" });
  protocol.address = `${server.host}:${server.port}`;
  const client = await PegasusClient.connect({
    metaServers: [protocol.address],
    table: "temp",
    decode: true,
    timeout: TIMEOUT,
    silenceTimeout: TIMEOUT / 2, // a session silent this long with requests waiting is replaced
  });
  try {
    const calls = Array.from({ length: KEYS }, async (_, i) => {
      const started = performance.now();
      const outcome = await client.get(`h${i}`, "s").then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      const took = performance.now() - started;
      assert.ok(took < TIMEOUT + MARGIN, `get h${i} took ${took.toFixed(0)} ms`);
      if ("error" in outcome) {
        assert.ok(outcome.error instanceof KvError, `get h${i}: ${outcome.error}`);
      } else assert.equal(outcome.value, `v${i}`, `get h${i} returned another call's data`);
    });
    await Promise.all(calls);
    assert.equal(await client.get(`h${KEYS}`, "s"), `v${KEYS}`, "the next call succeeds");
    await client.set(`h${KEYS + 1}`, "s", "after");
    assert.equal(await client.get(`h${KEYS + 1}`, "s"), "after");
    return { metaQueries: protocol.metaQueries, accepted: server.accepted };
  } finally {
    client.destroy();
    await server.close();
  }
}

test("pegasus hostile: a silent replica session is replaced and meta re-queried; the calls waiting on it are retried", async () => {
  const { metaQueries, accepted } = await runCase({ kind: "silent", after: 1 });
  assert.ok(accepted >= 2, "a new session");
  assert.ok(metaQueries >= 2, "the routing was read again after the loss");
});

test("pegasus hostile: a silent meta session is replaced and the query asked again", async () => {
  const protocol = hostilePegasus(SEED, { faultMeta: true });
  const server = await startHostileServer(
    protocol,
    (i) => i === 0 ? { kind: "silent" } : { kind: "none" },
  );
  protocol.address = `${server.host}:${server.port}`;
  // The first operation asks meta; each query may take metaTimeout, the operation three times it.
  const client = new PegasusClient<string>({
    metaServers: [protocol.address],
    table: "temp",
    decode: true,
    metaTimeout: TIMEOUT,
    timeout: 3 * TIMEOUT,
  });
  try {
    const started = performance.now();
    assert.equal(await client.get("h0", "s"), "v0");
    assert.ok(performance.now() - started < 2 * TIMEOUT + MARGIN);
    assert.equal(server.accepted, 2, "the silent meta session was given up");
  } finally {
    client.destroy();
    await server.close();
  }
});

test("pegasus hostile: every call settles in time with its own data or a KvError; the next call succeeds; memory is released", async () => {
  const before = await heapUsedAfterGc();
  let worst = 0;
  await fc.assert(
    fc.asyncProperty(faults, async (fault) => {
      const leaked = await collectUnhandledRejections(async () => {
        await runCase(fault);
      });
      assert.deepEqual(leaked, [], "no unhandled rejection");
      const grown = (await heapUsedAfterGc()) - before;
      worst = Math.max(worst, grown);
      assert.ok(grown < 10 * MiB, `heap grew by ${(grown / MiB).toFixed(1)} MiB`);
    }),
    { numRuns: 20 },
  );
  assert.ok(worst < 10 * MiB);
});

for (
  const [name, fault] of [
    ["a session silent after one reply", { kind: "silent", after: 1 }],
    ["four stray bytes before the first reply", {
      kind: "presend",
      bytes: new Uint8Array([0, 0, 1, 0]),
    }],
    ["a reply for seqid 2 (the first GET after the meta query) pre-sent", {
      kind: "presend",
      bytes: strayReply(2),
    }],
    ["a duplicated reply", { kind: "duplicate", at: 0 }],
    ["a 60 MiB frame that never completes", { kind: "replace", at: 2, bytes: declared(60 * MiB) }],
    ["a 4 GiB frame length, then replies go on", {
      kind: "replace",
      at: 0,
      bytes: declared(0xffffffff),
      then: "continue",
    }],
  ] as [string, Fault][]
) {
  test(`pegasus hostile: ${name}`, async () => {
    await runCase(fault);
  });
}

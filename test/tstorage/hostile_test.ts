// TStorageClient against the hostile-server kit (issue 12): silence, drops, reorders,
// pre-sent bytes, dripping, absurd lengths and garbage. Every call settles in time with its own
// data or a KvError, memory is released, and the next call succeeds.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { KvError } from "../../src/core/errors.ts";
import { TStorageClient } from "../../src/tstorage/client.ts";
import { Key } from "../../src/tstorage/record.ts";
import {
  collectUnhandledRejections,
  type Fault,
  heapUsedAfterGc,
  startHostileServer,
} from "../_helpers/hostile_server.ts";
import { header, hostileTStorage, i32, i64s } from "./_hostile.ts";

const TIMEOUT = 300;
const MARGIN = 700;
const CALLS = 6;
const MiB = 1024 * 1024;
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Records cid 1…CALLS, one each, payload `v<cid>`. */
const seed = () =>
  Array.from({ length: CALLS }, (_, i) => ({
    cid: i + 1,
    mid: 1n,
    moid: 1,
    cap: 1n,
    acq: 1n,
    payload: new TextEncoder().encode(`v${i + 1}`),
  }));

/** A well-formed GET_ACQ answer nobody asked for. */
const UNASKED = header(0, i64s(777n));

const badBytes = fc.oneof(
  fc.constant((() => { // a header announcing 2^64 − 1 extra bytes
    const h = header(0);
    new DataView(h.buffer).setBigUint64(4, 2n ** 64n - 1n, true);
    return h;
  })()),
  fc.constant(new Uint8Array([...header(0), ...i32(0x7fffffff)])), // GET record of 2 GiB
  fc.constant(new Uint8Array([...header(0), ...i32(30 * MiB)])), // 30 MiB record, never sent
  fc.constant(header(0, new Uint8Array(4))), // OK header too short for its acq
  fc.uint8Array({ minLength: 1, maxLength: 64 }), // garbage
);

/**
 * The faults; `presend` only with the connection check (without it, see the idle test below).
 * No `duplicate`: TStorage answers carry no request id, so a second copy that arrives after the
 * next request was written cannot be told from its answer (one in the same read as the first,
 * or on an idle connection, is refused: test/tstorage/connection_test.ts).
 */
const faults = (presend: boolean): fc.Arbitrary<Fault> =>
  fc.oneof(
    fc.record({ kind: fc.constant("silent" as const), after: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ kind: fc.constant("drop" as const), at: fc.integer({ min: 0, max: CALLS - 1 }) }),
    fc.record({
      kind: fc.constant("reorder" as const),
      at: fc.integer({ min: 0, max: CALLS - 2 }),
    }),
    fc.record({
      kind: fc.constant(presend ? "presend" as const : "drip" as const),
      bytes: fc.oneof(fc.constant(UNASKED), badBytes),
    }),
    fc.constant({ kind: "drip" as const }),
    fc.record({
      kind: fc.constant("replace" as const),
      at: fc.integer({ min: 0, max: CALLS - 1 }),
      bytes: badBytes,
      then: fc.constantFrom("silent" as const, "close" as const, "continue" as const),
    }),
    fc.record({ kind: fc.constant("close" as const), at: fc.integer({ min: 0, max: CALLS - 1 }) }),
  );

/** Call i: even ones GET_ACQ (answer 1000 + i), odd ones GET of cid i's one record. */
async function call(client: TStorageClient, i: number): Promise<void> {
  const started = performance.now();
  const outcome =
    await (i % 2 === 0
      ? client.getAcq(Key.min(), new Key(9, 9n, 9, 9n, BigInt(1000 + i)))
      : client.get(Key.min().with({ cid: i }), Key.max().with({ cid: i + 1 }))).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
  const took = performance.now() - started;
  assert.ok(took < TIMEOUT + MARGIN, `call ${i} took ${took.toFixed(0)} ms`);
  if ("error" in outcome) {
    assert.ok(outcome.error instanceof KvError, `call ${i}: ${outcome.error}`);
  } else if (typeof outcome.value === "bigint") {
    assert.equal(outcome.value, BigInt(1000 + i), `call ${i} got another call's acq`);
  } else {
    const data = outcome.value.data.map((r) => `${r.key.cid}=${text(r.value)}`);
    assert.deepEqual(data, [`${i}=v${i}`], `call ${i} got another call's records`);
  }
}

/** One case: a client whose first connection has `fault`; later connections are healthy. */
async function runCase(fault: Fault, verifyConnection = true): Promise<{ accepted: number }> {
  const server = await startHostileServer(
    hostileTStorage(seed()),
    (i) => i === 0 ? fault : { kind: "none" },
  );
  // Connects on the first call, so that a first connection failing its check is retried.
  const client = new TStorageClient({
    host: server.host,
    port: server.port,
    timeout: TIMEOUT,
    connectTimeout: TIMEOUT, // bounds the connection check too
    verifyConnection,
  });
  try {
    await Promise.all(Array.from({ length: CALLS }, (_, i) => call(client, i)));
    assert.equal(
      await client.getAcq(Key.min(), new Key(9, 9n, 9, 9n, 4242n)),
      4242n,
      "the next call succeeds",
    );
    return { accepted: server.accepted };
  } finally {
    client.destroy();
    await server.close();
  }
}

for (const verifyConnection of [true, false]) {
  test(`tstorage hostile (verifyConnection: ${verifyConnection}): every call settles in time with its own data or a KvError; the next call succeeds; memory is released`, async () => {
    const before = await heapUsedAfterGc();
    await fc.assert(
      fc.asyncProperty(faults(verifyConnection), async (fault) => {
        const leaked = await collectUnhandledRejections(async () => {
          await runCase(fault, verifyConnection);
        });
        assert.deepEqual(leaked, [], "no unhandled rejection");
        const grown = (await heapUsedAfterGc()) - before;
        assert.ok(grown < 10 * MiB, `heap grew by ${(grown / MiB).toFixed(1)} MiB`);
      }),
      { numRuns: 15 },
    );
  });
}

test("tstorage hostile: by default an answer pre-sent at accept fails the connection check; the calls run on a new connection", async () => {
  const server = await startHostileServer(
    hostileTStorage(seed()),
    (i) => i === 0 ? { kind: "presend", bytes: UNASKED } : { kind: "none" },
  );
  const client = new TStorageClient({ host: server.host, port: server.port, timeout: TIMEOUT });
  try {
    // The call goes out as soon as the connection opens, before the pre-sent bytes arrive:
    // only the connection check can tell them from its answer.
    assert.equal(await client.getAcq(Key.min(), new Key(9, 9n, 9, 9n, 5n)), 5n);
    assert.equal(server.accepted, 2);
  } finally {
    client.destroy();
    await server.close();
  }
});

test("tstorage hostile: an answer pre-sent to an idle connection closes it; the next call reconnects", async () => {
  const server = await startHostileServer(
    hostileTStorage(seed()),
    (i) => i === 0 ? { kind: "presend", bytes: UNASKED } : { kind: "none" },
  );
  const client = await TStorageClient.connect({
    host: server.host,
    port: server.port,
    verifyConnection: false,
  });
  try {
    // Idle, so the bytes can only be unsolicited: the client drops that connection on arrival
    // and opens another at once.
    await new Promise<void>((resolve) => {
      const poll = (): void => void (server.accepted < 2 ? setTimeout(poll, 2) : resolve());
      poll();
    });
    assert.equal(await client.getAcq(Key.min(), new Key(9, 9n, 9, 9n, 5n)), 5n);
    assert.equal(server.accepted, 2);
  } finally {
    client.destroy();
    await server.close();
  }
});

for (
  const [name, fault] of [
    ["a server silent after two answers", { kind: "silent", after: 2 }],
    ["a 30 MiB record that never completes", {
      kind: "replace",
      at: 1,
      bytes: new Uint8Array([...header(0), ...i32(30 * MiB)]),
    }],
    ["a 2^64 − 1 extra size, then answers go on", {
      kind: "replace",
      at: 0,
      bytes: (() => {
        const h = header(0);
        new DataView(h.buffer).setBigUint64(4, 2n ** 64n - 1n, true);
        return h;
      })(),
      then: "continue",
    }],
  ] as [string, Fault][]
) {
  test(`tstorage hostile: ${name}`, async () => {
    await runCase(fault);
  });
}

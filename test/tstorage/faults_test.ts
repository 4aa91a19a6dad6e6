// TStorageClient under the simulator's faults: truncated and malformed responses, disconnects,
// a server that never answers (timeouts, AbortSignal), garbage, an unreachable server. Every
// failure maps to the reference client's status and the next call works.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import {
  AbortedError,
  ConnectError,
  ConnectionClosedError,
  RemoteProtocolError,
  TimeoutError,
} from "../../src/core/errors.ts";
import { TStorageClient } from "../../src/tstorage/client.ts";
import {
  partialData,
  ResponseStatus,
  responseStatusOf,
  UnparseableEntityError,
} from "../../src/tstorage/errors.ts";
import { StructPayloadType } from "../../src/tstorage/payload.ts";
import { Key } from "../../src/tstorage/record.ts";
import { startTStorageSimulator, type TStorageSimulator } from "../fixtures/tstorage/simulator.ts";

const sims: TStorageSimulator[] = [];
const clients: TStorageClient<unknown>[] = [];
after(async () => {
  for (const c of clients) c.destroy();
  await Promise.all(sims.map((s) => s.stop()));
});

const int32 = new StructPayloadType<number>("<i");

/** A simulator holding `n` int32 records (cid 1, mid 0…n−1) and a client for it. */
async function setup(n = 10): Promise<[TStorageClient<number>, TStorageSimulator]> {
  const sim = await startTStorageSimulator({ port: 0 });
  sims.push(sim);
  for (let i = 0; i < n; i++) {
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setInt32(0, i, true);
    sim.records.push({ cid: 1, mid: BigInt(i), moid: 0, cap: 0n, acq: BigInt(i), payload });
  }
  const client = await TStorageClient.connect({
    host: sim.host,
    port: sim.port,
    payloadType: int32,
    verifyConnection: false, // faults are injected into the next request: keep them for the test's
  });
  clients.push(client as TStorageClient<unknown>);
  return [client, sim];
}

const all = (client: TStorageClient<number>) => client.get(Key.min(), Key.max());

test("tstorage faults: a GET cut after 3 records is DISCONNECTED with those 3 kept", async () => {
  const [client, sim] = await setup();
  sim.inject({ type: "truncate", after: 12 + 3 * 40 + 10 });
  const error = await all(client).catch((e) => e);
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.equal(responseStatusOf(error), ResponseStatus.DISCONNECTED);
  assert.deepEqual(partialData<number>(error).map((r) => r.value), [0, 1, 2]);
  assert.equal((await all(client)).data.length, 10, "the next call reconnects");
});

test("tstorage faults: bad record lengths are UNPARSEABLE_ENTITY and close the connection", async () => {
  const [client, sim] = await setup();
  for (const length of [-1, 7, 35, 37, 0x7fffffff]) {
    sim.inject({ type: "badLength", length });
    const error = await all(client).catch((e) => e);
    assert.ok(error instanceof UnparseableEntityError, `${length}: ${error}`);
    assert.equal(responseStatusOf(error), ResponseStatus.UNPARSEABLE_ENTITY);
  }
  assert.equal((await all(client)).data.length, 10);
  assert.equal(sim.accepted, 6, "each failure closed its connection");
});

test("tstorage faults: a PUT whose connection drops is DISCONNECTED and may have run", async () => {
  const [client, sim] = await setup(0);
  sim.inject({ type: "disconnect" });
  const error = await client.put([{ key: new Key(1, 1n, 1, 1n), value: 5 }]).catch((e) => e);
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.equal(error.sent, true, "written: kvwire never repeats it on its own");
  assert.match(error.message, /may have been executed/);
  assert.equal(sim.requests.put, 1, "sent exactly once");
  assert.equal((await client.put([{ key: new Key(1, 1n, 1, 1n), value: 5 }])).written, 1);
});

test("tstorage faults: a server that never answers times out; the next call gets a new connection", async () => {
  const [client, sim] = await setup();
  sim.inject({ type: "stall" });
  const error = await client.getAcq(Key.min(), Key.max(), { timeout: 100 }).catch((e) => e);
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(error.sent, true);
  assert.equal(responseStatusOf(error), ResponseStatus.DISCONNECTED);
  assert.equal((await all(client)).data.length, 10);
  assert.equal(sim.accepted, 2, "the stalled connection was given up");
});

test("tstorage faults: an AbortSignal cancels a stalled GET and a waiting call", async () => {
  const [client, sim] = await setup();
  sim.inject({ type: "stall" });
  const controller = new AbortController();
  const stalled = client.get(Key.min(), Key.max(), { signal: controller.signal });
  const waiting = client.getAcq(Key.min(), Key.max(), { timeout: 50 }); // behind the GET
  const waitingError = await waiting.catch((e) => e);
  assert.ok(waitingError instanceof TimeoutError, String(waitingError));
  assert.equal(waitingError.sent, false, "it never reached the connection");
  controller.abort();
  const error = await stalled.catch((e) => e);
  assert.ok(error instanceof AbortedError, String(error));
  assert.equal(error.sent, true);
  assert.equal(sim.requests.getAcq, 0);
  assert.equal((await all(client)).data.length, 10);
  const requests = sim.requests.get;
  await assert.rejects(
    client.get(Key.min(), Key.max(), { signal: AbortSignal.abort() }),
    (e: unknown) => e instanceof AbortedError && e.sent === false,
  );
  assert.equal(sim.requests.get, requests, "an aborted signal sends nothing");
});

test("tstorage faults: garbage in answer to GET_ACQ is a protocol error that closes the connection", async () => {
  const [client, sim] = await setup();
  sim.inject({ type: "raw", bytes: new Uint8Array([0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2]) });
  const error = await client.getAcq(Key.min(), Key.max()).catch((e) => e);
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.ok(error.cause instanceof RemoteProtocolError, String(error.cause));
  assert.match(error.cause.message, /8 are needed/);
  assert.equal(await client.getAcq(Key.min(), new Key(1, 1n, 1, 1n, 3n)), 3n);
});

test("tstorage faults: an unreachable server is a ConnectError naming the address", async () => {
  const sim = await startTStorageSimulator({ port: 0 });
  const port = sim.port;
  await sim.stop();
  await assert.rejects(
    TStorageClient.connect({ port, reconnect: { enabled: false } }),
    (e: unknown) => e instanceof ConnectError && e.message.includes(`127.0.0.1:${port}`),
  );
});

// TStorageClient observability against the simulator: connection events across a real restart,
// stats(), one operation per call (PUT, PUTA, GET_ACQ, GET; getIter and getStream as streams)
// with address, port, bytes and error codes, listeners and hooks that throw, and no TLS key,
// key field or value in any event, operation or log line.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTlsFiles } from "../../scripts/servers.ts";
import {
  Key,
  MemoryLimitError,
  type Operation,
  TimeoutError,
  TStorageClient,
  type TStorageClientOptions,
  TStorageError,
  type TStorageEvents,
  type TStorageRecord,
} from "../../src/tstorage/mod.ts";
import { startTStorageSimulator, type TStorageSimulator } from "../fixtures/tstorage/simulator.ts";
import {
  eventWaiter,
  recordEvents,
  recordLog,
  recordOperations,
  until,
} from "../_helpers/observe_recorder.ts";

const sims: TStorageSimulator[] = [];
const clients: TStorageClient[] = [];
after(async () => {
  for (const c of clients) c.destroy();
  await Promise.all(sims.map((s) => s.stop()));
});

const EVENTS = ["connect", "ready", "disconnect", "reconnecting", "error"] as const;
const te = new TextEncoder();
const record = (mid: bigint, text: string): TStorageRecord<Uint8Array> => ({
  key: new Key(7, mid, 1, 1n),
  value: te.encode(text),
});

/** A simulator and a client (not yet connected) recording its operations, log and events. */
async function setup(options: Partial<TStorageClientOptions<Uint8Array>> = {}) {
  const sim = await startTStorageSimulator({ port: 0 });
  sims.push(sim);
  const ops = recordOperations();
  const log = recordLog();
  const client = new TStorageClient({
    host: sim.host,
    port: sim.port,
    reconnect: { initialDelay: 5, maxDelay: 50 },
    instrumentation: ops.hook,
    logger: log.logger,
    ...options,
  });
  clients.push(client);
  const events = recordEvents<TStorageEvents>(client, EVENTS);
  return { sim, client, ops, log, events, nextEvent: eventWaiter<TStorageEvents>(client) };
}

test("tstorage observe: connection events in order across a real server restart", async () => {
  const { sim, client, events, nextEvent } = await setup();
  await client.put([record(1n, "a")]);
  const address = `127.0.0.1:${sim.port}`;
  const down = nextEvent("disconnect");
  await sim.stop();
  const lost = await down;
  assert.equal(lost.address, address);
  assert.equal(lost.willReconnect, true);
  await nextEvent("reconnecting", (e) => e.attempt >= 2);
  const up = nextEvent("ready", (e) => e.reconnect);
  const restarted = await startTStorageSimulator({ port: sim.port });
  sims.push(restarted);
  await up;
  assert.equal((await client.put([record(2n, "b")])).written, 1);

  const names = events.map(([name]) => name);
  assert.deepEqual(names.slice(0, 4), ["connect", "ready", "disconnect", "reconnecting"]);
  assert.deepEqual(events[0][1], { address, attempt: 1 });
  assert.deepEqual(events[1][1], { address, reconnect: false });
  assert.deepEqual(events[3][1], { address, attempt: 1, delay: 0 });
  const refused = events.find(([name]) => name === "error")?.[1] as { source: string };
  assert.equal(refused?.source, "connect");
  assert.deepEqual(names.slice(-2), ["connect", "ready"]);
  assert.deepEqual(events.at(-1)![1], { address, reconnect: true });
  const stats = client.stats();
  assert.equal(stats.state, "ready");
  assert.equal(stats.reconnects, 1);
  assert.deepEqual(stats.members.map((m) => m.address), [address]);
});

test("tstorage observe: stats() counts bytes, the request in flight and the state", async () => {
  const { sim, client } = await setup({ verifyConnection: false });
  assert.equal(client.stats().state, "idle");
  await client.put([record(1n, "a"), record(2n, "b")]);
  const first = client.stats();
  assert.equal(first.state, "ready");
  assert.ok(first.bytesOut > 24 && first.bytesIn > 0, JSON.stringify(first));
  sim.inject({ type: "stall" });
  const stalled = client.getAcq(Key.min(), Key.max(), { timeout: 150 }).catch((e) => e);
  await until(() => sim.requests.getAcq === 1);
  assert.equal(client.stats().inFlight, 1, "the GET_ACQ waits for its answer");
  assert.ok(await stalled instanceof TimeoutError);
  assert.equal(client.stats().inFlight, 0);
  assert.equal((await client.get(Key.min(), Key.max())).data.length, 2);
  const second = client.stats();
  assert.ok(second.bytesIn > first.bytesIn && second.bytesOut > first.bytesOut);
  await client.close();
  assert.equal(client.stats().state, "closed");
});

test("tstorage observe: every call is one operation named by its request, with its bytes", async () => {
  const { sim, client, ops } = await setup();
  await client.put([record(1n, "a"), record(2n, "b"), record(3n, "c")]);
  const before = client.stats();
  ops.started.length = ops.ended.length = 0;
  await client.put([record(4n, "d")]);
  await client.puta([{ key: new Key(7, 5n, 1, 1n, 9n), value: te.encode("e") }]);
  await client.getAcq(Key.min(), Key.max());
  assert.equal((await client.get(Key.min(), Key.max())).data.length, 5);
  const iterator = client.getIter(Key.min(), Key.max());
  let seen = 0;
  for await (const _ of iterator) {
    if (++seen === 1) assert.equal(ops.ended.length, 4, "the GET stream is still open");
  }
  assert.equal(seen, 5);
  await client.getStream(Key.min(), Key.max(), () => {});
  for await (const _ of client.getIter(Key.min(), Key.max())) break; // leaves early
  const after = client.stats();

  assert.deepEqual(ops.ended.map((op) => [op.operation, op.kind]), [
    ["PUT", "request"],
    ["PUTA", "request"],
    ["GET_ACQ", "request"],
    ["GET", "request"],
    ["GET", "stream"],
    ["GET", "stream"],
    ["GET", "stream"],
  ]);
  assert.deepEqual(ops.started, ops.ended);
  for (const op of ops.ended) {
    assert.equal(op.protocol, "tstorage");
    assert.equal(op.serverAddress, "127.0.0.1");
    assert.equal(op.serverPort, sim.port);
    assert.equal(op.error, undefined);
    assert.ok(op.bytesOut! > 0 && op.bytesIn! > 0, JSON.stringify(op));
  }
  const sum = (pick: (op: Operation) => number) => ops.ended.reduce((n, op) => n + pick(op), 0);
  assert.equal(sum((op) => op.bytesOut!), after.bytesOut - before.bytesOut, "every byte written");
  assert.ok(ops.ended[4].bytesIn! > ops.ended[2].bytesIn!, "a GET reads more than a GET_ACQ");
  assert.ok(ops.ended[6].bytesIn! <= ops.ended[4].bytesIn!, "the early exit read no more");
});

test("tstorage observe: error codes for a refused request, a timeout and a memory limit", async () => {
  const { sim, client, ops } = await setup({ verifyConnection: false });
  await client.put([record(1n, "a"), record(2n, "bb")]);
  sim.inject({ type: "status", status: -1 });
  await assert.rejects(client.put([record(3n, "c")]), TStorageError);
  sim.inject({ type: "stall" });
  await assert.rejects(client.getAcq(Key.min(), Key.max(), { timeout: 50 }), TimeoutError);
  await assert.rejects(client.get(Key.min(), Key.max(), { memoryLimit: 16 }), MemoryLimitError);
  await assert.rejects(async () => {
    for await (const _ of client.getIter(Key.min(), Key.max(), { memoryLimit: 16 })) { /* */ }
  }, MemoryLimitError);
  const failed = ops.ended.slice(1).map((op) => [op.operation, op.kind, op.errorCode]);
  assert.deepEqual(failed, [
    ["PUT", "request", "SERVER"],
    ["GET_ACQ", "request", "TIMEOUT"],
    ["GET", "request", "MEMORY_LIMIT"],
    ["GET", "stream", "MEMORY_LIMIT"],
  ]);
  assert.equal((ops.ended[1].error as TStorageError).serverCode, "ERROR");
});

test("tstorage observe: a throwing listener and a throwing hook change nothing for the caller", async () => {
  const ops = recordOperations();
  const { client, events } = await setup({
    instrumentation: [{
      onStart: () => {
        throw new Error("hook start");
      },
      onEnd: () => {
        throw new Error("hook end");
      },
    }, ops.hook],
  });
  client.on("ready", () => {
    throw new Error("listener boom");
  });
  await client.put([record(1n, "a")]);
  assert.equal((await client.get(Key.min(), Key.max())).data.length, 1);
  assert.deepEqual(ops.ended.map((op) => [op.operation, op.error]), [
    ["PUT", undefined],
    ["GET", undefined],
  ]);
  const reported = events.filter(([name]) => name === "error").map(([, e]) => e);
  assert.equal(reported.length, 1);
  const [{ error, source }] = reported as { error: Error; source: string }[];
  assert.equal(source, "listener");
  assert.equal(error.message, "listener boom");
});

test("tstorage observe: no TLS key, key field or value in any event, operation or log line", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kvwire-tstorage-observe-"));
  try {
    const files = await createTlsFiles(dir);
    const key = readFileSync(files.keyFile, "utf8");
    const cert = readFileSync(files.certFile, "utf8");
    const sim = await startTStorageSimulator({ port: 0, tls: { key, cert } });
    sims.push(sim);
    const ops = recordOperations();
    const log = recordLog();
    const client = new TStorageClient({
      url: `tstorages://127.0.0.1:${sim.port}`,
      tls: { ca: readFileSync(files.caFile, "utf8"), key, cert },
      reconnect: { initialDelay: 5, maxDelay: 50 },
      instrumentation: ops.hook,
      logger: log.logger,
    });
    clients.push(client);
    const events = recordEvents<TStorageEvents>(client, EVENTS);
    const nextEvent = eventWaiter<TStorageEvents>(client);
    const value = "value-7f3a9";
    const mid = 987_654_321n;
    await client.put([{ key: new Key(4242, mid, 1, 1n), value: te.encode(value) }]);
    assert.equal((await client.get(Key.min(), Key.max())).data.length, 1);
    for await (const _ of client.getIter(Key.min(), Key.max())) { /* all */ }
    sim.inject({ type: "status", status: -1 });
    await assert.rejects(client.put([{ key: new Key(4242, mid, 1, 1n), value: te.encode(value) }]));
    await nextEvent("ready", (e) => e.reconnect); // the refused PUT closed the connection
    sim.inject({ type: "stall" });
    await assert.rejects(client.getAcq(Key.min(), Key.max(), { timeout: 50 }), TimeoutError);
    await client.close();

    const secret = key.split("\n")[1].slice(4, 28);
    assert.equal(secret.length, 24);
    const texts = [
      ...events.map((e) => JSON.stringify(e)),
      ...ops.ended.map((op) => JSON.stringify(op)),
      ...ops.ended.flatMap((op) => op.error ? [String(op.error), String(op.error.cause)] : []),
      ...log.lines,
    ];
    assert.ok(events.length >= 6 && log.lines.length >= 6 && ops.ended.length === 5);
    for (const text of texts) {
      for (const hidden of [secret, value, "4242", String(mid)]) {
        assert.ok(!text.includes(hidden), text);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

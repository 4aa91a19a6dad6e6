// PegasusClient recovery from each fault the simulator injects: moved primaries (INVALID_STATE,
// OBJECT_NOT_FOUND), a meta leader switch, dropped connections, delayed replies, transient
// errors, lost scan contexts; acknowledged writes are never lost (pegasus.md §5.2-§5.6).

import { after, test } from "node:test";
import assert from "node:assert/strict";
import {
  ConnectionClosedError,
  PegasusClient,
  PegasusError,
  TimeoutError,
} from "../../src/pegasus/mod.ts";
import { type PegasusSimulator, startPegasusSimulator } from "../fixtures/pegasus/simulator.ts";

const sims: PegasusSimulator[] = [];
const clients: PegasusClient<string>[] = [];
after(async () => {
  for (const c of clients) c.destroy();
  await Promise.all(sims.map((s) => s.close()));
});

async function setup(): Promise<[PegasusSimulator, PegasusClient<string>]> {
  const sim = await startPegasusSimulator();
  sims.push(sim);
  const client = await PegasusClient.connect({
    metaServers: sim.metaServers,
    table: "temp",
    decode: true,
    timeout: 3000,
  });
  clients.push(client);
  return [sim, client];
}

/** Runs until `check` holds, yielding to I/O between tries; fails after `ms`. */
async function eventually(check: () => boolean, ms = 3000): Promise<void> {
  const giveUp = performance.now() + ms;
  while (!check()) {
    if (performance.now() > giveUp) throw new Error("Condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function allPresent(client: PegasusClient<string>, keys: string[]): Promise<void> {
  const values = await client.batchGet(keys.map((k) => [k, "s"]));
  assert.deepEqual(values, keys);
}

for (const errorName of ["ERR_INVALID_STATE", "ERR_OBJECT_NOT_FOUND"]) {
  test(`pegasus fault: a moved primary answering ${errorName} is followed after a meta re-query`, async () => {
    const [sim, client] = await setup();
    const keys = Array.from({ length: 40 }, (_, i) => `moved-${i}`);
    await client.batchSet(keys.map((k) => [k, "s", k]));
    const before = sim.calls.get("RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX") ?? 0;
    for (const p of sim.partitions()) sim.movePrimary(p.index, (p.primary + 1) % 3, errorName);
    await allPresent(client, keys);
    const more = keys.map((k) => `${k}-after`);
    await client.batchSet(more.map((k) => [k, "s", k]));
    await allPresent(client, more);
    assert.ok((sim.calls.get("RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX") ?? 0) > before);
    assert.equal(sim.misrouted, 0);
  });
}

test("pegasus fault: the meta leader switches; the client follows ERR_FORWARD_TO_OTHERS", async () => {
  const [sim, client] = await setup();
  sim.switchMetaLeader(2);
  // A fresh client starts at meta 0 and is forwarded to meta 2.
  const fresh = await PegasusClient.connect({
    metaServers: sim.metaServers,
    table: "temp",
    decode: true,
  });
  clients.push(fresh);
  await fresh.set("leader", "s", "v");
  // The old client re-queries after a primary move and is forwarded too.
  sim.movePrimary(
    sim.partitionOf("leader"),
    (sim.partitions()[sim.partitionOf("leader")].primary + 1) % 3,
  );
  assert.equal(await client.get("leader", "s"), "v");
  // Only meta 0 is given: the leader it names is added to the list.
  sim.switchMetaLeader(1);
  const single = await PegasusClient.connect({
    metaServers: [sim.metaServers[0]],
    table: "temp",
    decode: true,
  });
  clients.push(single);
  assert.equal(await single.get("leader", "s"), "v");
});

test("pegasus fault: dropped connections lose no acknowledged write; idempotent ops are retried", async () => {
  const [sim, client] = await setup();
  const keys = Array.from({ length: 300 }, (_, i) => `drop-${i}`);
  const writes = keys.map((k) => client.set(k, "s", k).then(() => k));
  sim.dropConnections();
  const acked = (await Promise.allSettled(writes))
    .filter((r): r is PromiseFulfilledResult<string> => r.status === "fulfilled").map((r) =>
      r.value
    );
  assert.equal(acked.length, keys.length); // sets are idempotent, so every one is retried
  sim.dropConnections();
  await allPresent(client, acked);
});

test("pegasus fault: a non-idempotent write cut off after sending fails as unknown, never repeated", async () => {
  const [sim, client] = await setup();
  await client.set("once", "n", "0");
  sim.delayReplies(60_000);
  const incr = client.incr("once", "n", 1, { timeout: 10_000 });
  await eventually(() => (sim.calls.get("RPC_RRDB_RRDB_INCR") ?? 0) === 1);
  sim.delayReplies(0);
  sim.dropConnections();
  await assert.rejects(incr, (e: unknown) => e instanceof ConnectionClosedError && e.sent === true);
  assert.equal(sim.calls.get("RPC_RRDB_RRDB_INCR"), 1);
  assert.equal(await client.get("once", "n"), "1");
});

test("pegasus fault: a replica silent past a deadline is replaced; its late reply reaches no one", async () => {
  const [sim, client] = await setup();
  await client.set("slow", "s", "v");
  await client.set("slow", "t", "w");
  sim.delayReplies(300);
  const started = performance.now();
  await assert.rejects(
    client.get("slow", "s", { timeout: 50 }),
    (e: unknown) => e instanceof TimeoutError && e.sent,
  );
  assert.ok(performance.now() - started < 250);
  sim.delayReplies(0);
  // Nothing arrived on that session since the get was written: it is presumed dead and the
  // next call goes out on a new one, so the late "v" can never answer another get.
  assert.equal(await client.get("slow", "t"), "w");
  assert.equal(await client.get("slow", "s"), "v");
});

test("pegasus fault: transient ERR_NOT_ENOUGH_MEMBER is retried; ERR_BUSY fails at once", async () => {
  const [sim, client] = await setup();
  sim.injectError("RPC_RRDB_RRDB_PUT", "ERR_NOT_ENOUGH_MEMBER", 2);
  await client.set("transient", "s", "v");
  assert.equal(await client.get("transient", "s"), "v");
  sim.injectError("RPC_RRDB_RRDB_GET", "ERR_BUSY", 1);
  await assert.rejects(
    client.get("transient", "s"),
    (e: unknown) => e instanceof PegasusError && e.serverCode === "ERR_BUSY",
  );
  assert.equal(await client.get("transient", "s"), "v");
});

test("pegasus fault: a scanner whose server context vanished restarts after its last key", async () => {
  const [sim, client] = await setup();
  await client.multiSet("ctx", Array.from({ length: 10 }, (_, i) => [`k${i}`, `v${i}`] as const));
  const restarts: number[] = [];
  const scanner = client.getScanner("ctx", "", "", {
    batchSize: 3,
    onRestart: ({ attempt }) => restarts.push(attempt),
  });
  const seen: string[] = [];
  for (let i = 0; i < 4; i++) seen.push((await scanner.next())!.sortKey);
  assert.deepEqual(restarts, [], "no restart while the context lives");
  sim.expireScanContexts();
  for (let e = await scanner.next(); e; e = await scanner.next()) seen.push(e.sortKey);
  assert.deepEqual(seen, Array.from({ length: 10 }, (_, i) => `k${i}`));
  assert.deepEqual(restarts, [1], "the restart is visible to the consumer");
});

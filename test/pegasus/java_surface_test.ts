// The Java client's surface beyond pypegasus, against the simulator: compareExchange, delRange,
// batches with a result per item, count-only scans, one client over several tables.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { FilterType, PegasusClient, PegasusError, TimeoutError } from "../../src/pegasus/mod.ts";
import { startPegasusSimulator } from "../fixtures/pegasus/simulator.ts";

const sim = await startPegasusSimulator({
  tables: [{ name: "temp", partitionCount: 8 }, { name: "other", partitionCount: 4 }],
});
const client = await PegasusClient.connect({
  metaServers: sim.metaServers,
  table: "temp",
  decode: true,
});
after(async () => {
  await client.close();
  await sim.close();
});

test("pegasus compareExchange: swaps on an equal value, reports the actual one otherwise", async () => {
  await client.set("cx", "state", "queued");
  assert.deepEqual(await client.compareExchange("cx", "state", "queued", "running"), {
    succeeded: true,
  });
  assert.equal(await client.get("cx", "state"), "running");
  assert.deepEqual(await client.compareExchange("cx", "state", "queued", "done"), {
    succeeded: false,
    actualValue: "running",
  });
  assert.deepEqual(await client.compareExchange("cx", "missing", "", "x"), {
    succeeded: false,
    actualValue: undefined,
  });
  assert.equal(await client.get("cx", "missing"), undefined, "a missing record equals nothing");
  await assert.rejects(client.compareExchange("cx", "state", "a", "b", { ttl: -1 }), RangeError);
});

test("pegasus delRange: removes the range in batches, bounds and filters honoured", async () => {
  const entries = Array.from({ length: 25 }, (_, i) => [`k${String(i).padStart(2, "0")}`, "v"]);
  await client.multiSet("dr", entries as [string, string][]);
  await client.multiSet("dr", { keep1: "v", "k99-keep": "v" });
  // [k05, k20]: 16 keys, removed 7 at a time.
  assert.equal(
    await client.delRange("dr", "k05", "k20", { stopInclusive: true, batchSize: 7 }),
    16,
  );
  const left = (await client.getSortKeys("dr", { maxKvCount: 100 })).sortKeys;
  assert.deepEqual(left, [
    "k00",
    "k01",
    "k02",
    "k03",
    "k04",
    "k21",
    "k22",
    "k23",
    "k24",
    "k99-keep",
    "keep1",
  ]);
  assert.equal(
    await client.delRange("dr", "", "", {
      sortKeyFilterType: FilterType.MatchAnywhere,
      sortKeyFilterPattern: "keep",
    }),
    2,
  );
  assert.equal(await client.delRange("dr", "", ""), 9);
  assert.equal(await client.sortKeyCount("dr"), 0n);
  assert.equal(await client.delRange("dr", "", ""), 0, "an empty range removes nothing");
  await assert.rejects(client.delRange("dr", "", "", { batchSize: 0 }), RangeError);
});

test("pegasus batch*Settled: one result per item; batchGet waits for all, then throws the first failure", async () => {
  await client.batchSet([["b1", "s", "one"], ["b2", "s", "two"]]);
  sim.injectError("RPC_RRDB_RRDB_GET", "ERR_BUSY", 1);
  const settled = await client.batchGetSettled([["b1", "s"], ["b2", "s"], ["b3", "s"]], {
    timeout: 300,
  });
  assert.equal(settled.length, 3);
  const failed = settled.filter((r) => r.status === "rejected");
  assert.equal(failed.length, 1, "exactly the get that met ERR_BUSY failed");
  assert.ok((failed[0] as PromiseRejectedResult).reason instanceof PegasusError);
  const expected = ["one", "two", undefined];
  settled.forEach((r, i) => {
    if (r.status === "fulfilled") assert.equal(r.value, expected[i], `item ${i} is its own`);
  });
  assert.deepEqual(await client.batchGet([["b1", "s"], ["b3", "s"]]), ["one", undefined]);
  sim.injectError("RPC_RRDB_RRDB_REMOVE", "ERR_BUSY", 1);
  const dels = await client.batchDelSettled([["b1", "s"], ["b2", "s"]], { timeout: 300 });
  assert.deepEqual(dels.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
  // Bad input anywhere in the batch is refused before anything is sent.
  const before = sim.calls.get("RPC_RRDB_RRDB_PUT") ?? 0;
  await assert.rejects(
    client.batchSetSettled([["b4", "s", "x"], [42 as unknown as string, "s", "y"]]),
    TypeError,
  );
  assert.equal(sim.calls.get("RPC_RRDB_RRDB_PUT") ?? 0, before, "nothing was sent");
});

test("pegasus scanner.count(): counts without transferring records, over batches and partitions", async () => {
  const entries = Array.from({ length: 1234 }, (_, i) => [`c${i}`, "v".repeat(50)]);
  await client.multiSet("counted", entries as [string, string][]);
  const scanner = client.getScanner("counted", "", "", { batchSize: 100 });
  assert.equal(await scanner.count(), 1234);
  assert.equal(await scanner.next(), undefined, "a counted scanner is closed");
  await assert.rejects(scanner.count(), TypeError);
  const filtered = client.getScanner("counted", "", "", {
    sortKeyFilterType: 2,
    sortKeyFilterPattern: "c12",
  });
  assert.equal(await filtered.count(), 1 + 10 + 34, "c12, c120-c129, c1200-c1233");
  const scanners = await client.getUnorderedScanners(3);
  const counts = await Promise.all(scanners.map((s) => s.count()));
  let all = 0;
  for (const s of await client.getUnorderedScanners(3)) for await (const _ of s) all++;
  assert.equal(counts.reduce((a, b) => a + b, 0), all, "the counts add up to a full scan");
});

test("pegasus table(): one client, several tables, shared sessions", async () => {
  const other = client.table("other");
  assert.equal(other.tableName, "other");
  await other.set("t", "s", "in other");
  await client.set("t", "s", "in temp");
  assert.equal(await other.get("t", "s"), "in other");
  assert.equal(await client.get("t", "s"), "in temp");
  assert.equal(other.partitionCount, 4);
  assert.equal(client.table("other"), other, "one view per table");
  const sessions = client.stats().members.length;
  assert.equal(other.stats().members.length, sessions, "the sessions are shared");
  await other.close(); // a view leaves the shared sessions open
  assert.equal(await client.get("t", "s"), "in temp");
  assert.equal(await other.get("t", "s"), "in other", "the view still works");
  await assert.rejects(
    client.table("nope").get("a", "b", { timeout: 300 }),
    (e: unknown) => e instanceof PegasusError || e instanceof TimeoutError,
  );
  assert.throws(() => client.table(""), TypeError);
});

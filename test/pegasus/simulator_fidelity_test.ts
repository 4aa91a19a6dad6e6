// The simulator against the real server's source (apache/incubator-pegasus, the files named in
// test/fixtures/pegasus/replica.ts): large values, multi_get limits with named sort keys.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { PegasusClient } from "../../src/pegasus/mod.ts";
import { startPegasusSimulator } from "../fixtures/pegasus/simulator.ts";

const sim = await startPegasusSimulator();
const client = await PegasusClient.connect({ metaServers: sim.metaServers, table: "temp" });
after(async () => {
  await client.close();
  await sim.close();
});

test("pegasus: values of 64 KiB and 1 MiB round-trip through client and simulator", async () => {
  for (const size of [64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 1024 * 1024]) {
    const value = new Uint8Array(size);
    for (let i = 0; i < size; i++) value[i] = (i * 31 + 7) & 0xff;
    await client.set("big", `s${size}`, value);
    const back = await client.get("big", `s${size}`);
    assert.ok(back instanceof Uint8Array);
    assert.equal(back.length, size);
    assert.deepEqual(back, value, `${size} bytes`);
  }
  assert.equal(sim.misrouted, 0);
});

test("pegasus: multi_get with named sort keys stops at maxKvCount and says incomplete", async () => {
  await client.multiSet("named", { a: "1", b: "2", c: "3", d: "4" });
  const limited = await client.multiGet("named", ["d", "missing", "b", "a"], { maxKvCount: 2 });
  assert.deepEqual(limited.entries.map(([k]) => new TextDecoder().decode(k as Uint8Array)), [
    "d",
    "b",
  ]);
  assert.equal(limited.complete, false);
  const all = await client.multiGet("named", ["d", "missing", "b"], { maxKvCount: 2 });
  assert.equal(all.entries.length, 2);
  assert.equal(all.complete, true, "the limit was reached by the last key that exists");
});

test("pegasus: multi_get with named sort keys stops once maxKvSize is reached", async () => {
  await client.multiSet("sized", { k1: "x".repeat(10), k2: "y".repeat(10), k3: "z" });
  // 2 + 10 = 12 bytes after k1, at least the 5 allowed: k2 and k3 are left out.
  const r = await client.multiGet("sized", ["k1", "k2", "k3"], { maxKvSize: 5 });
  assert.equal(r.entries.length, 1);
  assert.equal(r.complete, false);
});

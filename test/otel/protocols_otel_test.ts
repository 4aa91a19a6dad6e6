// kvwire/otel with the Pegasus and TStorage clients against their simulators: the custom
// `db.system.name` values, the Pegasus table as `db.namespace` (and in the span name), the
// TStorage server as the span's target, and no key or value in any attribute.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { PegasusClient } from "../../src/pegasus/mod.ts";
import { Key, TStorageClient } from "../../src/tstorage/mod.ts";
import { type PegasusSimulator, startPegasusSimulator } from "../fixtures/pegasus/simulator.ts";
import { startTStorageSimulator, type TStorageSimulator } from "../fixtures/tstorage/simulator.ts";
import { setUpTelemetry } from "./_helpers.ts";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test("otel + PegasusClient: pegasus spans named by operation and table", async () => {
  const sim: PegasusSimulator = await startPegasusSimulator();
  cleanups.push(() => sim.close());
  const otel = setUpTelemetry();
  cleanups.push(() => otel.close());
  const client = new PegasusClient<string>({
    metaServers: sim.metaServers,
    table: "temp",
    decode: true,
  });
  cleanups.push(() => client.destroy());
  const value = `v-${crypto.randomUUID()}`;
  await client.set("otel-hash", "sort", value);
  assert.equal(await client.get("otel-hash", "sort"), value);
  const get = otel.spans().find((s) => s.attributes["db.operation.name"] === "get")!;
  assert.ok(get, `a get span among ${otel.spans().map((s) => s.name)}`);
  assert.equal(get.name, "get temp");
  assert.equal(get.attributes["db.system.name"], "pegasus");
  assert.equal(get.attributes["db.namespace"], "temp");
  assert.equal(typeof get.attributes["server.port"], "number");
  const histogram = await otel.histogram();
  assert.ok(histogram!.dataPoints.some((p) => p.attributes["db.system.name"] === "pegasus"));
  const text = JSON.stringify(otel.spans().map((s) => [s.name, s.attributes, s.events]));
  assert.equal(text.includes(value) || text.includes("otel-hash"), false, "no key or value");
});

test("otel + TStorageClient: tstorage spans with the server as target", async () => {
  const sim: TStorageSimulator = await startTStorageSimulator({ port: 0 });
  cleanups.push(() => sim.stop());
  const otel = setUpTelemetry();
  cleanups.push(() => otel.close());
  const client = new TStorageClient({ host: sim.host, port: sim.port });
  cleanups.push(() => client.destroy());
  const value = new TextEncoder().encode(`v-${crypto.randomUUID()}`);
  await client.put([{ key: new Key(7, 1n, 1, 1n), value }]);
  const put = otel.spans().find((s) => s.attributes["db.operation.name"] === "PUT")!;
  assert.ok(put, `a PUT span among ${otel.spans().map((s) => s.name)}`);
  assert.equal(put.name, `PUT ${sim.host}:${sim.port}`);
  assert.equal(put.attributes["db.system.name"], "tstorage");
  assert.equal(put.attributes["server.port"], sim.port);
});

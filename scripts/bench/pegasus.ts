// Pegasus throughput of kvwire against the simulator on loopback (no peer client runs here, so
// the figures are a baseline): get/set one at a time and 100 concurrent, plus codec throughput.
// Run: node_modules/.bin/tsx scripts/bench/pegasus.ts [seconds]   (also deno run -A, bun)

import process from "node:process";
import {
  blobArgs,
  decodeReadResponse,
  decodeResponseFrame,
  decodeResult,
  encodeKey,
  encodeRequestFrame,
  keyHash,
  PegasusClient,
} from "../../src/pegasus/mod.ts";
import { startPegasusSimulator } from "../../test/fixtures/pegasus/simulator.ts";

const seconds = Number(process.argv[2] ?? 2);
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

async function measure(run: () => Promise<number> | number): Promise<number> {
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) await run();
  let ops = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  while (performance.now() < until) ops += await run();
  return ops / ((performance.now() - started) / 1000);
}

const sim = await startPegasusSimulator();
const client = await PegasusClient.connect({ metaServers: sim.metaServers, table: "temp" });
const value = new Uint8Array(100).fill(120);
await client.set("bench", "key", value);
let n = 0;
const results: [string, number][] = [];
results.push([
  "get, one at a time",
  await measure(async () => (await client.get("bench", "key"), 1)),
]);
results.push([
  "set, one at a time",
  await measure(async () => (await client.set("bench", `k${n++ % 1000}`, value), 1)),
]);
results.push([
  "get, 100 concurrent",
  await measure(async () => {
    await Promise.all(Array.from({ length: 100 }, (_, i) => client.get(`bench${i}`, "key")));
    return 100;
  }),
]);
results.push([
  "set, 100 concurrent",
  await measure(async () => {
    await Promise.all(Array.from({ length: 100 }, (_, i) => client.set(`bench${i}`, "key", value)));
    return 100;
  }),
]);
await client.close();
await sim.close();

const key = encodeKey(new TextEncoder().encode("bench"), new TextEncoder().encode("key"));
const hash = keyHash(new TextEncoder().encode("bench"), new TextEncoder().encode("key"));
results.push([
  "codec: encode get frame",
  await measure(() => {
    for (let i = 0; i < 1000; i++) {
      encodeRequestFrame({
        rpc: "RPC_RRDB_RRDB_GET",
        seqid: i,
        args: blobArgs(key),
        appId: 1,
        partitionIndex: 0,
        timeoutMs: 1000,
        partitionHash: hash,
      });
    }
    return 1000;
  }),
]);
const te = new TextEncoder();
const replyHex = "00000067000000064552525f4f4b800100020000001552504" +
  "35f525244425f525244425f4745545f41434b000000010c000008000100000000" +
  "0c00020000000176080003000000010800040000000" +
  "00b00060000000f3132372e302e302e313a333438303100" + "00";
const reply = new Uint8Array(replyHex.match(/../g)!.map((h) => parseInt(h, 16)));
void te;
results.push([
  "codec: decode get reply",
  await measure(() => {
    for (let i = 0; i < 1000; i++) {
      decodeResult(decodeResponseFrame(reply).body!, decodeReadResponse);
    }
    return 1000;
  }),
]);
console.log(`Pegasus simulator benchmark on ${runtime}, ${seconds}s per scenario, 100-byte values`);
for (const [name, ops] of results) {
  console.log(`${name.padEnd(28)} ${Math.round(ops).toLocaleString("en-US")} ops/s`);
}

// TStorage throughput of kvwire against the simulator (our baseline; there is no other JS
// client): records/s for PUT and PUTA batches and for get, getIter and getStream of a large
// range. The simulator runs in its own Node process (scripts/tstorage_simulator.ts).
// Run: node_modules/.bin/tsx scripts/bench/tstorage.ts [seconds] [records]
//      (also deno run -A / bun). KVWIRE_TSTORAGE=host:port uses a running simulator (started
//      with --synthetic N --discard-puts). Not a test: numbers vary with the machine.

import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import {
  BytesPayloadType,
  Key,
  StructPayloadType,
  TStorageClient,
  type TStorageRecord,
} from "../../src/tstorage/mod.ts";
import { runtimeName } from "../../transports/auto.ts";

const seconds = Number(process.argv[2] ?? 2);
const records = Number(process.argv[3] ?? 1_000_000);
const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..", "..");

/** Starts the simulator in a Node child process; resolves with its port. */
function startSimulator(): Promise<{ port: number; child: ChildProcess }> {
  const args = [
    join(root, "scripts", "tstorage_simulator.ts"),
    "--port",
    "0",
    "--synthetic",
    String(records),
    "--discard-puts",
  ];
  const child = spawn(join(root, "node_modules", ".bin", "tsx"), args, {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Uint8Array) => {
      out += new TextDecoder().decode(chunk);
      const match = /listening on .*:(\d+)/.exec(out);
      if (match) resolve({ port: Number(match[1]), child });
    });
    child.once("exit", (code) => reject(new Error(`simulator exited with ${code}: ${out}`)));
  });
}

/** Runs `step` (which returns records handled) for `seconds` after a warm-up; records/s. */
async function measure(step: () => Promise<number>): Promise<number> {
  await step();
  let done = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  while (performance.now() < until) done += await step();
  return done / ((performance.now() - started) / 1000);
}

const given = process.env.KVWIRE_TSTORAGE?.split(":");
const sim = given ? undefined : await startSimulator();
const host = given?.[0] ?? "127.0.0.1";
const port = given ? Number(given[1]) : sim!.port;
const line = (name: string, perSecond: number, note = ""): void =>
  console.log(
    `  ${name.padEnd(44)} ${
      Math.round(perSecond).toLocaleString("en-US").padStart(11)
    } records/s${note}`,
  );

try {
  const writer = await TStorageClient.connect({ host, port, payloadType: new BytesPayloadType() });
  const reader = await TStorageClient.connect({
    host,
    port,
    payloadType: new StructPayloadType<number>("<i"),
  });
  console.log(
    `TStorage benchmark on ${runtimeName()} against the simulator (${host}:${port}), ` +
      `${seconds} s per write measurement, ${records.toLocaleString("en-US")}-record reads`,
  );
  const payload = new Uint8Array(16).fill(7);
  for (const size of [100, 10_000]) {
    const batch: TStorageRecord<Uint8Array>[] = Array.from({ length: size }, (_, i) => ({
      key: new Key(10 + (i % 4), BigInt(i), i % 100, BigInt(i), BigInt(i)),
      value: payload,
    }));
    line(
      `put, ${size.toLocaleString("en-US")} records per call (16 B)`,
      await measure(async () => {
        await writer.put(batch);
        return size;
      }),
    );
    line(
      `puta, ${size.toLocaleString("en-US")} records per call (16 B)`,
      await measure(async () => {
        await writer.puta(batch);
        return size;
      }),
    );
  }
  const min = new Key(1, Key.min().mid, Key.min().moid, Key.min().cap, Key.min().acq);
  const max = Key.max().with({ cid: 2 });
  const timed = async (name: string, run: () => Promise<number>, note = ""): Promise<void> => {
    await run(); // warm-up
    const started = performance.now();
    const n = await run();
    line(name, n / ((performance.now() - started) / 1000), note);
  };
  await timed(
    "get (whole response in memory)",
    async () => (await reader.get(min, max)).data.length,
  );
  await timed("getIter", async () => {
    let n = 0;
    for await (const _ of reader.getIter(min, max)) n++;
    return n;
  });
  let peak = 0;
  await timed("getStream, memoryLimit 1 MiB", async () => {
    let n = 0;
    await reader.getStream(min, max, (batch) => {
      n += batch.length;
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }, { memoryLimit: 1 << 20 });
    return n;
  }, "");
  console.log(
    `  (heap during getStream peaked at ${(peak / 2 ** 20).toFixed(0)} MiB, GC not forced)`,
  );
  await writer.close();
  await reader.close();
} finally {
  if (sim) {
    sim.child.kill("SIGTERM");
    await new Promise((resolve) => sim.child.once("exit", resolve));
  }
}

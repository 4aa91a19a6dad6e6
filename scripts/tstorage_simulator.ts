// Starts the TStorage simulator (test/fixtures/tstorage/simulator.ts) on its own, by default on
// 127.0.0.1:62025, where the reference client's integration tests expect a server.
// Usage: tsx scripts/tstorage_simulator.ts [--host H] [--port P] [--error-framing mock|header]
//          [--synthetic N] [--payload-size B] [--discard-puts]   (also: deno run -A ..., bun ...)
// --synthetic N serves N generated records (cid 1, mid 0…N−1, acq 1) on every GET besides the
// stored ones, for streaming benchmarks; --discard-puts acknowledges writes without storing them. Prints "listening on host:port"; stops on SIGINT/SIGTERM.

import process from "node:process";
import { type SimRecord, startTStorageSimulator } from "../test/fixtures/tstorage/simulator.ts";

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const host = option("host", "127.0.0.1");
const port = Number(option("port", "62025"));
const framing = option("error-framing", "mock");
const synthetic = Number(option("synthetic", "0"));
const payloadSize = Number(option("payload-size", "4"));
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`Bad --port ${port}`);
if (framing !== "mock" && framing !== "header") {
  throw new TypeError(`Bad --error-framing ${framing}`);
}

/** N records with `payloadSize`-byte payloads holding their index (little-endian). */
function* generate(): Generator<SimRecord> {
  for (let i = 0; i < synthetic; i++) {
    const payload = new Uint8Array(payloadSize);
    for (let b = 0, v = i; b < Math.min(4, payloadSize); b++, v >>>= 8) payload[b] = v & 0xff;
    yield { cid: 1, mid: BigInt(i), moid: 0, cap: 0n, acq: 1n, payload };
  }
}

const sim = await startTStorageSimulator({
  host,
  port,
  getErrorFraming: framing,
  extraRecords: synthetic > 0 ? generate : undefined,
  discardPuts: process.argv.includes("--discard-puts"),
});
console.log(`listening on ${sim.host}:${sim.port}`);

const stop = async (): Promise<void> => {
  await sim.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

// A 1,000,000-record getStream against the simulator with a 1 MiB memory limit: every record
// arrives once and in order, every batch fits the limit, and while the consumer is stalled the
// client stops decoding (the server feels TCP backpressure) instead of buffering the stream,
// and the live heap (measured after a forced GC) stays small. Prints records/s and the peaks.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import v8 from "node:v8";
import vm from "node:vm";
import { TStorageClient } from "../../src/tstorage/client.ts";
import type { PayloadType } from "../../src/tstorage/payload.ts";
import { Key } from "../../src/tstorage/record.ts";
import {
  type SimRecord,
  startTStorageSimulator,
  type TStorageSimulator,
} from "../fixtures/tstorage/simulator.ts";

const N = 1_000_000;
const LIMIT = 1 << 20;
const WIRE = 4 + 32 + 4; // length, key, int32 payload
const PER_BATCH = Math.floor(LIMIT / WIRE);

/** A full garbage collection, on every runtime (so the heap shows what is live). */
function findGc(): () => void {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (typeof g.gc === "function") return g.gc;
  if (g.Bun) return () => g.Bun!.gc(true);
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}
const gc = findGc();

const sims: TStorageSimulator[] = [];
after(() => Promise.all(sims.map((s) => s.stop())));

/** N records (cid 1, mid i, payload i as int32), generated on each GET, never stored. */
function* synthetic(): Generator<SimRecord> {
  for (let i = 0; i < N; i++) {
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setInt32(0, i, true);
    yield { cid: 1, mid: BigInt(i), moid: 0, cap: 0n, acq: 1n, payload };
  }
}

test("tstorage stream: 1,000,000 records through getStream with memory bounded by the limit", async () => {
  const sim = await startTStorageSimulator({ port: 0, extraRecords: synthetic });
  sims.push(sim);
  let decoded = 0;
  const counting: PayloadType<number> = {
    name: "counted int32",
    toBytes: () => new Uint8Array(4),
    fromBytes: (b) => {
      decoded++;
      return b.length === 4 ? new DataView(b.buffer, b.byteOffset, 4).getInt32(0, true) : undefined;
    },
  };
  const client = await TStorageClient.connect({
    host: sim.host,
    port: sim.port,
    payloadType: counting,
    memoryLimit: LIMIT,
  });
  gc();
  const heapBase = process.memoryUsage().heapUsed;
  let peakHeap = heapBase;
  let peakRss = 0;
  let delivered = 0;
  let batches = 0;
  let maxAhead = 0;
  let stalledWith: string | undefined;
  const started = performance.now();
  try {
    const acq = await client.getStream(Key.min(), Key.max(), async (batch) => {
      const wire = batch.length * WIRE + (batches === 0 ? 12 : 0);
      assert.ok(wire <= LIMIT, `batch ${batches} is ${wire} wire bytes`);
      for (const record of batch) {
        if (record.value !== delivered || record.key.mid !== BigInt(delivered)) {
          assert.fail(`record ${delivered} arrived as ${record.key} = ${record.value}`);
        }
        delivered++;
      }
      batches++;
      if (batches === 3) {
        // Stall this consumer until the server stays blocked by TCP backpressure (or, if the
        // client kept reading, or the kernel took it all, until the server wrote everything):
        // either way the client must not have decoded much beyond what it handed out.
        stalledWith = await sim.nextStallOrEnd();
      }
      maxAhead = Math.max(maxAhead, decoded - delivered);
      if (batches % 4 === 3) {
        gc(); // this batch is still referenced: what is measured is live data
        const m = process.memoryUsage();
        peakHeap = Math.max(peakHeap, m.heapUsed);
        peakRss = Math.max(peakRss, m.rss);
      }
    });
    const seconds = (performance.now() - started) / 1000;
    assert.equal(delivered, N);
    assert.equal(typeof acq, "bigint");
    assert.ok(maxAhead <= 3 * PER_BATCH, `decoded ${maxAhead} records ahead of the consumer`);
    assert.ok(batches >= Math.ceil(N / PER_BATCH), `${batches} batches`);
    // Holding all records would take well over 100 MiB (a Key with three bigints per record).
    assert.ok(peakHeap - heapBase < 48 * 2 ** 20, `live heap grew by ${peakHeap - heapBase} bytes`);
    const mb = (n: number): string => (n / 2 ** 20).toFixed(0);
    console.log(
      `tstorage stream: ${N} records in ${batches} batches, ${
        Math.round(N / seconds).toLocaleString("en-US")
      } records/s; at most ${maxAhead} decoded ahead (server ${stalledWith} during the stall); peak live heap ${
        mb(peakHeap)
      } MiB ` +
        `(+${mb(peakHeap - heapBase)} over the start), peak RSS ${mb(peakRss)} MiB`,
    );
  } finally {
    await client.close();
  }
});

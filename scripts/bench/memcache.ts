// memcache throughput of kvwire against the peer clients memjs (binary protocol) and memcached
// (npm, text protocol) in the same run, same servers on loopback, 100-byte values; prints ops/s
// and kvwire's ratio to each peer. Each client runs in a process of its own
// (scripts/bench/isolate.ts); they take short turns for many rounds and medians are kept.
// Run: npm run build && node_modules/.bin/tsx scripts/bench/memcache.ts [seconds per turn] [rounds]
//      node_modules/.bin/bun scripts/bench/memcache.ts
//      node_modules/.bin/deno run -A --unsafe-proto scripts/bench/memcache.ts (memcached needs it)
// On Node, kvwire is loaded from dist/ (what npm users run: tsx's per-closure naming helper
// would otherwise slow it); on Deno and Bun from src/. Compare ratios within one run.

import process from "node:process";
import memjs from "memjs";
import Memcached from "memcached";
import type { MemcacheClient as MemcacheClientType } from "../../src/memcache/mod.ts";
import { runtimeName } from "../../transports/auto.ts";
import { type MemcachedServer, startMemcached } from "../servers.ts";
import {
  flag,
  medianTurns,
  positional,
  printRatios,
  serveWorker,
  startWorker,
  type Worker,
} from "./isolate.ts";

interface Contender {
  get: (key: string) => Promise<unknown>;
  getMulti: (keys: string[]) => Promise<unknown>;
  close: () => Promise<unknown> | void;
}

const onNode = !("Deno" in globalThis) && !("Bun" in globalThis);
const { MemcacheClient } = (await import(
  onNode ? "../../dist/memcache.js" : "../../src/memcache/mod.ts"
)) as { MemcacheClient: typeof MemcacheClientType };
const KEY = "bench:value";
const MULTI_KEYS = Array.from({ length: 100 }, (_, i) => `bench:multi:${i}`);
const NAMES = ["kvwire meta", "kvwire binary", "memjs", "memcached (npm)"];

async function contender(name: string, addresses: string[]): Promise<Contender> {
  if (name.startsWith("kvwire")) {
    const protocol = name === "kvwire meta" ? "meta" : "binary";
    const kv = await MemcacheClient.connect(addresses, { protocol });
    return {
      get: (k) => kv.get(k),
      getMulti: (keys) => kv.getMulti(keys),
      close: () => kv.close(),
    };
  }
  if (name === "memjs") {
    const mj = memjs.Client.create(addresses.join(","));
    return {
      get: (k) => mj.get(k),
      // memjs has no multi-get: the best it offers is parallel gets.
      getMulti: (keys) => Promise.all(keys.map((k) => mj.get(k))),
      close: () => mj.close(),
    };
  }
  const mc = new Memcached(addresses);
  return {
    get: (k) =>
      new Promise((resolve, reject) =>
        mc.get(k, (err, data) => (err ? reject(err) : resolve(data)))
      ),
    getMulti: (keys) =>
      new Promise((resolve, reject) =>
        mc.getMulti(keys, (err, data) => (err ? reject(err) : resolve(data)))
      ),
    close: () => mc.end(),
  };
}

/** Scenarios; `pool` ones run against the three-server pool, the others against one server. */
const scenarios: {
  name: string;
  pool: boolean;
  run: (c: Contender) => () => Promise<number>;
}[] = [
  {
    name: "100 concurrent GETs",
    pool: false,
    run: (c) => async () => {
      const batch = new Array(100);
      for (let i = 0; i < 100; i++) batch[i] = c.get(KEY);
      await Promise.all(batch);
      return 100;
    },
  },
  {
    name: "one GET at a time",
    pool: false,
    run: (c) => async () => {
      await c.get(KEY);
      return 1;
    },
  },
  {
    name: "getMulti of 100 keys across a 3-server pool (keys/s)",
    pool: true,
    run: (c) => async () => {
      await c.getMulti(MULTI_KEYS);
      return 100;
    },
  },
];

/** Worker: one client on one server and one on the pool, measuring what the parent asks. */
async function worker(name: string, single: string, pool: string[]): Promise<void> {
  const one = await contender(name, [single]);
  const three = await contender(name, pool);
  await serveWorker(
    scenarios.map((s) => s.run(s.pool ? three : one)),
    () => Promise.all([one.close(), three.close()]),
  );
}

async function main(): Promise<void> {
  const [secondsArg, roundsArg] = positional();
  const seconds = Number(secondsArg ?? 0.5);
  const rounds = Number(roundsArg ?? 9);
  const started: MemcachedServer[] = [];
  const workers = new Map<string, Worker>();
  try {
    let single = process.env.KVWIRE_MEMCACHED;
    if (!single) {
      const server = await startMemcached();
      started.push(server);
      single = `${server.host}:${server.port}`;
    }
    const trio = await Promise.all([0, 1, 2].map(() => startMemcached()));
    started.push(...trio);
    const pool = trio.map((s) => `${s.host}:${s.port}`);
    const value = "v".repeat(100);
    const setup = await MemcacheClient.connect([single]);
    await setup.set(KEY, value, { flags: 0 });
    await setup.close();
    const setupPool = await MemcacheClient.connect(pool);
    // Flags 0 (bytes) so that every client reads the same thing.
    await Promise.all(MULTI_KEYS.map((k) => setupPool.set(k, value, { flags: 0 })));
    await setupPool.close();
    for (const name of NAMES) {
      const args = [`--worker=${name}`, `--single=${single}`, `--pool=${pool.join(",")}`];
      workers.set(name, await startWorker(process.argv[1], args));
    }
    console.log(
      `memcache benchmark on ${runtimeName()}, 100-byte values; each client in a process of ` +
        `its own; median of ${rounds} turns of ${seconds} s, taken in turn`,
    );
    const broken = new Map<string, string>();
    for (const [index, scenario] of scenarios.entries()) {
      const results = await medianTurns(workers, NAMES, index, rounds, seconds * 1000, broken);
      printRatios(scenario.name, results, "kvwire meta");
      for (const [name, why] of broken) {
        console.log(`  ${name.padEnd(16)} failed on ${runtimeName()}: ${why}`);
      }
    }
  } finally {
    await Promise.all([...workers.values()].map((w) => w.close().catch(() => {})));
    await Promise.all(started.map((s) => s.stop()));
  }
}

const workerName = flag("worker");
if (workerName) await worker(workerName, flag("single")!, flag("pool")!.split(","));
else await main();
process.exit(0);

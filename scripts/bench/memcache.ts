// memcache throughput of kvwire against the peer clients memjs (binary protocol) and memcached
// (npm, text protocol) in the same run, same process, same servers on loopback, 100-byte values;
// prints ops/s and kvwire's ratio to each peer.
// Run: npm run build && node_modules/.bin/tsx scripts/bench/memcache.ts [seconds]
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

interface Contender {
  name: string;
  get: (key: string) => Promise<unknown>;
  getMulti: (keys: string[]) => Promise<unknown>;
  close: () => Promise<unknown> | void;
}

const seconds = Number(process.argv[2] ?? 2);
const onNode = !("Deno" in globalThis) && !("Bun" in globalThis);
const { MemcacheClient } = (await import(
  onNode ? "../../dist/memcache.js" : "../../src/memcache/mod.ts"
)) as { MemcacheClient: typeof MemcacheClientType };
const KEY = "bench:value";
const MULTI_KEYS = Array.from({ length: 100 }, (_, i) => `bench:multi:${i}`);

const ROUNDS = 4;

async function measure(run: () => Promise<number>, ms: number): Promise<number> {
  const warmUntil = performance.now() + Math.min(200, ms / 2);
  while (performance.now() < warmUntil) await run();
  let ops = 0;
  const started = performance.now();
  const until = started + ms;
  while (performance.now() < until) ops += await run();
  return ops / ((performance.now() - started) / 1000);
}

async function contenders(addresses: string[]): Promise<Contender[]> {
  const list: Contender[] = [];
  for (const protocol of ["meta", "binary"] as const) {
    const kv = await MemcacheClient.connect(addresses, { protocol });
    list.push({
      name: `kvwire ${protocol}`,
      get: (k) => kv.get(k),
      getMulti: (keys) => kv.getMulti(keys),
      close: () => kv.close(),
    });
  }
  const mj = memjs.Client.create(addresses.join(","));
  list.push({
    name: "memjs",
    get: (k) => mj.get(k),
    // memjs has no multi-get: the best it offers is parallel gets.
    getMulti: (keys) => Promise.all(keys.map((k) => mj.get(k))),
    close: () => mj.close(),
  });
  const mc = new Memcached(addresses);
  list.push({
    name: "memcached (npm)",
    get: (k) =>
      new Promise((resolve, reject) =>
        mc.get(k, (err, data) => (err ? reject(err) : resolve(data)))
      ),
    getMulti: (keys) =>
      new Promise((resolve, reject) =>
        mc.getMulti(keys, (err, data) => (err ? reject(err) : resolve(data)))
      ),
    close: () => mc.end(),
  });
  return list;
}

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

/** Contenders take turns in rounds (best round kept), so that load from elsewhere on the
 * machine hits them alike. */
async function report(
  name: string,
  all: Contender[],
  scenario: typeof scenarios[0],
): Promise<void> {
  const results = new Map<string, number>();
  const broken = new Map<string, string>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of all) {
      if (broken.has(c.name)) continue;
      try {
        const ops = await measure(scenario.run(c), (seconds * 1000) / ROUNDS);
        results.set(c.name, Math.max(results.get(c.name) ?? 0, ops));
      } catch (error) {
        broken.set(c.name, error instanceof Error ? error.message : String(error));
        results.delete(c.name);
      }
    }
  }
  const ours = results.get("kvwire meta")!;
  console.log(`\n${name}`);
  for (const [who, ops] of results) {
    const ratio = who === "kvwire meta"
      ? ""
      : `   kvwire meta/${who} = ${(ours / ops).toFixed(2)}x`;
    console.log(
      `  ${who.padEnd(16)} ${Math.round(ops).toLocaleString("en-US").padStart(10)} ops/s${ratio}`,
    );
  }
  for (const [who, why] of broken) {
    console.log(`  ${who.padEnd(16)} failed on ${runtimeName()}: ${why}`);
  }
}

const started: MemcachedServer[] = [];
try {
  let single = process.env.KVWIRE_MEMCACHED;
  if (!single) {
    const server = await startMemcached();
    started.push(server);
    single = `${server.host}:${server.port}`;
  }
  const trio = await Promise.all([0, 1, 2].map(() => startMemcached()));
  started.push(...trio);
  const poolAddresses = trio.map((s) => `${s.host}:${s.port}`);
  const value = "v".repeat(100);
  const setup = await MemcacheClient.connect([single]);
  await setup.set(KEY, value, { flags: 0 });
  await setup.close();
  const setupPool = await MemcacheClient.connect(poolAddresses);
  // Flags 0 (bytes) so that every client reads the same thing.
  await Promise.all(MULTI_KEYS.map((k) => setupPool.set(k, value, { flags: 0 })));
  await setupPool.close();
  console.log(
    `memcache benchmark on ${runtimeName()}, ${seconds} s per measurement, 100-byte values`,
  );
  const one = await contenders([single]);
  for (const scenario of scenarios.filter((s) => !s.pool)) {
    await report(scenario.name, one, scenario);
  }
  await Promise.all(one.map((c) => c.close()));
  const three = await contenders(poolAddresses);
  for (const scenario of scenarios.filter((s) => s.pool)) {
    await report(scenario.name, three, scenario);
  }
  await Promise.all(three.map((c) => c.close()));
} finally {
  await Promise.all(started.map((s) => s.stop()));
}

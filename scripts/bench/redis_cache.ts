// Client-side caching: kvwire's cached reads against kvwire without a cache and against
// node-redis 6 with `clientSideCache` (RESP3), on the same server over loopback, each client in
// a process of its own taking short turns for many rounds (scripts/bench/isolate.ts). The keys
// are never written during the run, so every cached read after the first is a hit. Prints
// ops/s, ratios and a markdown summary table.
// Run: npm run build && node_modules/.bin/tsx scripts/bench/redis_cache.ts [seconds] [rounds]
//      node_modules/.bin/bun scripts/bench/redis_cache.ts
//      node_modules/.bin/deno run -A --unsafe-proto scripts/bench/redis_cache.ts
// On Node, kvwire is loaded from dist/; on Deno and Bun from src/.

import process from "node:process";
import { runtimeName } from "../../transports/auto.ts";
import { startRedis } from "../servers.ts";
import {
  compareScenarios,
  concurrentStep,
  flag,
  positional,
  serveWorker,
  startWorker,
  startWorkers,
  type Worker,
} from "./isolate.ts";
import { KVWIRE_FROM, loadKvwire } from "./redis_contenders.ts";

const SMALL = "bench:cache:value";
const HASH = "bench:cache:hash";
const KEYS = Array.from({ length: 1000 }, (_, i) => `bench:cache:k${i}`);

/** What each contender does; all return the reply (ignored). */
interface CacheContender {
  get(key: string): Promise<unknown>;
  hgetall(key: string): Promise<unknown>;
  close(): Promise<unknown>;
}

interface Scenario {
  name: string;
  depth: number;
  call: (c: CacheContender, i: number) => Promise<unknown>;
}

const scenarios: Scenario[] = [
  { name: "one GET at a time, 100 B", depth: 1, call: (c) => c.get(SMALL) },
  { name: "100 concurrent GETs, 100 B", depth: 100, call: (c) => c.get(SMALL) },
  {
    name: "100 concurrent GETs over 1,000 keys",
    depth: 100,
    call: (c, i) => c.get(KEYS[i % KEYS.length]),
  },
  { name: "10 concurrent HGETALLs, 100 fields", depth: 10, call: (c) => c.hgetall(HASH) },
];

const CONTENDERS = ["kvwire cached", "kvwire", "node-redis cached"] as const;
async function kvwire(host: string, port: number, cached: boolean): Promise<CacheContender> {
  const RedisClient = await loadKvwire();
  const kv = await RedisClient.connect({
    host,
    port,
    decode: true,
    clientSideCache: cached ? { maxEntries: 10_000 } : undefined,
  });
  return { get: (k) => kv.get(k), hgetall: (k) => kv.hGetAll(k), close: () => kv.close() };
}

async function nodeRedis(host: string, port: number): Promise<CacheContender> {
  const { createClient } = await import("redis");
  const nr = createClient({
    socket: { host, port },
    RESP: 3,
    clientSideCache: { ttl: 0, maxEntries: 10_000, evictPolicy: "LRU" },
  });
  await nr.connect();
  return { get: (k) => nr.get(k), hgetall: (k) => nr.hGetAll(k), close: () => nr.quit() };
}

/** The steps a worker measures: each returns the ops it did. */
function steps(c: CacheContender): (() => Promise<number>)[] {
  return scenarios.map(({ depth, call }) => concurrentStep(depth, (n) => call(c, n)));
}

/** Fills the keys the scenarios read. */
async function seed(host: string, port: number): Promise<void> {
  const { RedisClient } = await import("../../src/redis/mod.ts");
  const kv = await RedisClient.connect({ host, port });
  try {
    const p = kv.pipeline().set(SMALL, "v".repeat(100)).del(HASH);
    for (const k of KEYS) p.set(k, "v".repeat(100));
    for (let i = 0; i < 100; i++) p.hSet(HASH, { [`field:${i}`]: `value:${i}` });
    await p.exec();
  } finally {
    await kv.close();
  }
}

async function worker(name: string, address: string): Promise<void> {
  const [host, portText] = address.split(":");
  const port = Number(portText);
  const c = name === "node-redis cached"
    ? await nodeRedis(host, port)
    : await kvwire(host, port, name === "kvwire cached");
  await serveWorker(steps(c), () => c.close());
}

async function main(): Promise<void> {
  const [secondsArg, roundsArg] = positional();
  const seconds = Number(secondsArg ?? 0.5);
  const rounds = Number(roundsArg ?? 11);
  const server = process.env.KVWIRE_REDIS ? undefined : await startRedis();
  const address = process.env.KVWIRE_REDIS ?? `${server!.host}:${server!.port}`;
  const [host, port] = address.split(":");
  const workers = new Map<string, Worker>();
  try {
    await seed(host, Number(port));
    const running = await startWorkers(
      CONTENDERS,
      workers,
      (name) => startWorker(process.argv[1], [`--worker=${name}`, `--redis=${address}`]),
    );
    console.log(
      `Redis client-side caching benchmark on ${runtimeName()} (kvwire from ${KVWIRE_FROM}); ` +
        `each client in a process of its own; median of ${rounds} turns of ${seconds} s`,
    );
    const titles = scenarios.map((s) => s.name);
    await compareScenarios(workers, running, titles, rounds, seconds * 1000, "kvwire cached");
  } finally {
    await Promise.all([...workers.values()].map((w) => w.close()));
    await server?.stop();
  }
}

const workerName = flag("worker");
if (workerName) await worker(workerName, flag("redis")!);
else await main();
process.exit(0);

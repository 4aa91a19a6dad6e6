// Redis throughput of kvwire against ioredis 6, node-redis 6, valkey-glide 2.5 and (on Bun)
// Bun.RedisClient, plus the C redis-benchmark running each scenario's command at the same depth
// on one connection; same server on loopback, each client in a process of its own taking short
// turns for many rounds (scripts/bench/isolate.ts). Prints ops/s, kvwire's ratios and a
// markdown summary table.
// Run: npm run build && node_modules/.bin/tsx scripts/bench/redis.ts [seconds per turn] [rounds]
//      [--only=ioredis,node-redis,glide,Bun.RedisClient,redis-benchmark] (kvwire always runs)
//      [--baseline=<dir>] (adds kvwire from another checkout: A/B of two versions in one run)
//      [--cpu] (CPU microseconds per op of each client process instead of ops/s, lower is
//      better: steadier than ops/s on a loaded machine; redis-benchmark then sits out)
//      node_modules/.bin/bun scripts/bench/redis.ts (adds Bun's built-in RedisClient)
//      node_modules/.bin/deno run -A --unsafe-proto scripts/bench/redis.ts
// On Node, kvwire is loaded from dist/ (what npm users run: tsx's per-closure naming helper
// would otherwise slow it); on Deno and Bun from src/. Compare ratios within one run.

import process from "node:process";
import { runtimeName } from "../../transports/auto.ts";
import { startRedis } from "../servers.ts";
import {
  compareScenarios,
  concurrentStep,
  cpuPerOp,
  flag,
  measure,
  positional,
  serveWorker,
  startWorker,
  startWorkers,
  type Worker,
} from "./isolate.ts";
import { type CommandShape, redisBenchmarkWorker } from "./redis_benchmark_c.ts";
import {
  BASELINE_DIR,
  connectContender,
  CONTENDERS,
  KVWIRE_FROM,
  type RedisContender,
} from "./redis_contenders.ts";

const SMALL = "bench:value";
const LARGE = "bench:large";
const HASH = "bench:hash";
const LIST = "bench:list";
const SMALL_VALUE = "v".repeat(100);
const LARGE_VALUE = "v".repeat(16 * 1024);
const MGET_KEYS = Array.from({ length: 100 }, (_, i) => `bench:mget:${i}`);
const C_REFERENCE = "redis-benchmark";

/** A scenario: `depth` calls in flight per step (or one whole pipeline), as redis-benchmark. */
interface Scenario extends CommandShape {
  name: string;
  call?: (c: RedisContender) => Promise<unknown>;
  whole?: (c: RedisContender) => Promise<unknown>;
}

const scenarios: Scenario[] = [
  {
    name: "100 concurrent GETs, 100 B",
    depth: 100,
    command: ["GET", SMALL],
    call: (c) => c.get(SMALL),
  },
  {
    name: "100 concurrent SETs, 100 B",
    depth: 100,
    command: ["SET", "bench:set:small", SMALL_VALUE],
    call: (c) => c.set("bench:set:small", SMALL_VALUE),
  },
  {
    name: "100 concurrent GETs, 16 KiB",
    depth: 100,
    command: ["GET", LARGE],
    call: (c) => c.get(LARGE),
  },
  {
    name: "100 concurrent SETs, 16 KiB",
    depth: 100,
    command: ["SET", "bench:set:large", LARGE_VALUE],
    call: (c) => c.set("bench:set:large", LARGE_VALUE),
  },
  {
    name: "10 concurrent HGETALLs, 100 fields",
    depth: 10,
    command: ["HGETALL", HASH],
    call: (c) => c.hgetall(HASH),
  },
  {
    name: "10 concurrent MGETs, 100 keys",
    depth: 10,
    command: ["MGET", ...MGET_KEYS],
    call: (c) => c.mget(MGET_KEYS),
  },
  {
    name: "10 concurrent LRANGE 0 99, 100 elements",
    depth: 10,
    command: ["LRANGE", LIST, "0", "99"],
    call: (c) => c.lrange(LIST, 0, 99),
  },
  {
    name: "pipeline of 1,000 GETs, 100 B",
    depth: 1000,
    command: ["GET", SMALL],
    whole: (c) => c.pipelineGets(SMALL, 1000),
  },
  {
    name: "one GET at a time, 100 B",
    depth: 1,
    command: ["GET", SMALL],
    call: (c) => c.get(SMALL),
  },
];

/** The steps a worker measures: each returns the ops it did. */
function steps(c: RedisContender): (() => Promise<number>)[] {
  return scenarios.map(({ depth, call, whole }) =>
    whole ? async () => (await whole(c), depth) : concurrentStep(depth, () => call!(c))
  );
}

/** Fills the keys the scenarios read. */
async function seed(host: string, port: number): Promise<void> {
  const { RedisClient } = await import("../../src/redis/mod.ts");
  const kv = await RedisClient.connect({ host, port });
  try {
    const p = kv.pipeline().set(SMALL, SMALL_VALUE).set(LARGE, LARGE_VALUE).del(HASH, LIST);
    for (const k of MGET_KEYS) p.set(k, SMALL_VALUE);
    for (let i = 0; i < 100; i++) p.hSet(HASH, { [`field:${i}`]: `value:${i}` });
    p.rPush(LIST, ...Array.from({ length: 100 }, (_, i) => `element:${i}`));
    await p.exec();
  } finally {
    await kv.close();
  }
}

const only = flag("only")?.split(",");
const CPU = process.argv.includes("--cpu");
const UNIT = CPU ? "CPU µs/op" : "ops/s";
const names = [...CONTENDERS, ...(CPU ? [] : [C_REFERENCE])].filter((n) =>
  n === "kvwire" || !only || only.includes(n)
);

async function worker(name: string, address: string): Promise<void> {
  const [host, port] = address.split(":");
  const c = await connectContender(name, host, Number(port));
  await serveWorker(steps(c), () => c.close(), CPU ? cpuPerOp : measure);
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
      names,
      workers,
      (name) =>
        name === C_REFERENCE
          ? redisBenchmarkWorker(host, Number(port), scenarios)
          : startWorker(process.argv[1], [
            `--worker=${name}`,
            `--redis=${address}`,
            ...(BASELINE_DIR ? [`--baseline=${BASELINE_DIR}`] : []),
            ...(CPU ? ["--cpu"] : []),
          ]),
    );
    console.log(
      `Redis benchmark (${UNIT}) on ${runtimeName()} (kvwire from ${KVWIRE_FROM}); each client in a ` +
        `process of its own; median of ${rounds} turns of ${seconds} s, taken in turn; ` +
        `${C_REFERENCE}: same command and depth, -c 1`,
    );
    const titles = scenarios.map((s) => s.name);
    await compareScenarios(workers, running, titles, rounds, seconds * 1000, "kvwire", UNIT);
  } finally {
    await Promise.all([...workers.values()].map((w) => w.close()));
    await server?.stop();
  }
}

const workerName = flag("worker");
if (workerName) await worker(workerName, flag("redis")!);
else await main();
process.exit(0);

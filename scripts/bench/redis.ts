// Redis throughput of kvwire against the peer clients in the same run, same server on
// loopback, 100-byte values; prints ops/s and kvwire's ratio to each peer. Each contender runs
// in a child process of its own (scripts/bench/isolate.ts); they take short turns, many rounds.
// Run: npm run build && node_modules/.bin/tsx scripts/bench/redis.ts [seconds per turn] [rounds]
//      [--only=ioredis,node-redis,Bun.RedisClient] (kvwire always runs)
//      node_modules/.bin/bun scripts/bench/redis.ts (adds Bun's built-in RedisClient)
// On Node, kvwire is loaded from dist/ (what npm users run: tsx's per-closure naming helper
// would otherwise slow it); on Deno and Bun from src/. Compare ratios within one run.

import process from "node:process";
import { Redis as IORedis } from "ioredis";
import { createClient } from "redis";
import type { RedisClient as RedisClientType } from "../../src/redis/mod.ts";
import { runtimeName } from "../../transports/auto.ts";
import { startRedis } from "../servers.ts";
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
  pipelineGets: (key: string, n: number) => Promise<unknown>;
  close: () => Promise<unknown> | void;
}

const onNode = !("Deno" in globalThis) && !("Bun" in globalThis);
const KEY = "bench:value";

const scenarios: { name: string; run: (c: Contender) => () => Promise<number> }[] = [
  {
    name: "100 concurrent GETs (auto-pipelined)",
    run: (c) => async () => {
      const batch = new Array(100);
      for (let i = 0; i < 100; i++) batch[i] = c.get(KEY);
      await Promise.all(batch);
      return 100;
    },
  },
  {
    name: "explicit pipeline of 1,000 GETs",
    run: (c) => async () => {
      await c.pipelineGets(KEY, 1000);
      return 1000;
    },
  },
  {
    name: "one GET at a time",
    run: (c) => async () => {
      await c.get(KEY);
      return 1;
    },
  },
];

interface BunClient {
  connect(): Promise<void>;
  get(key: string): Promise<string | null>;
  close(): void;
}
const BunRedis = (globalThis as { Bun?: { RedisClient?: new (url: string) => BunClient } }).Bun
  ?.RedisClient;
const only = flag("only")?.split(",");
const names = ["kvwire", "ioredis", "node-redis", ...(BunRedis ? ["Bun.RedisClient"] : [])]
  .filter((n) => n === "kvwire" || !only || only.includes(n));

async function contender(name: string, host: string, port: number): Promise<Contender> {
  if (name === "kvwire") {
    const { RedisClient } = (await import(
      onNode ? "../../dist/redis.js" : "../../src/redis/mod.ts"
    )) as { RedisClient: typeof RedisClientType };
    const kv = await RedisClient.connect({ host, port, decode: true });
    return {
      get: (k) => kv.get(k),
      pipelineGets: (k, n) => {
        const p = kv.pipeline();
        for (let i = 0; i < n; i++) p.get(k);
        return p.exec();
      },
      close: () => kv.close(),
    };
  }
  if (name === "ioredis") {
    const io = new IORedis({ host, port, enableAutoPipelining: true, lazyConnect: true });
    await io.connect();
    return {
      get: (k) => io.get(k),
      pipelineGets: (k, n) => {
        const p = io.pipeline();
        for (let i = 0; i < n; i++) p.get(k);
        return p.exec();
      },
      close: () => io.quit(),
    };
  }
  if (name === "node-redis") {
    const nr = createClient({ socket: { host, port } });
    await nr.connect();
    return {
      get: (k) => nr.get(k),
      pipelineGets: (k, n) => {
        const m = nr.multi();
        for (let i = 0; i < n; i++) m.get(k);
        return m.execAsPipeline();
      },
      close: () => nr.quit(),
    };
  }
  const bun = new BunRedis!(`redis://${host}:${port}`);
  await bun.connect();
  return {
    get: (k) => bun.get(k),
    pipelineGets: (k, n) => {
      const batch = new Array(n);
      for (let i = 0; i < n; i++) batch[i] = bun.get(k);
      return Promise.all(batch);
    },
    close: () => bun.close(),
  };
}

/** Worker: one contender, measuring the scenarios the parent asks for. */
async function worker(name: string, address: string): Promise<void> {
  const [host, port] = address.split(":");
  const c = await contender(name, host, Number(port));
  await serveWorker(scenarios.map((s) => s.run(c)), () => c.close());
}

async function main(): Promise<void> {
  const [secondsArg, roundsArg] = positional();
  const seconds = Number(secondsArg ?? 0.5);
  const rounds = Number(roundsArg ?? 11);
  const server = process.env.KVWIRE_REDIS ? undefined : await startRedis();
  const address = process.env.KVWIRE_REDIS ?? `${server!.host}:${server!.port}`;
  const workers = new Map<string, Worker>();
  try {
    const [host, port] = address.split(":");
    const setup = new IORedis({ host, port: Number(port) });
    await setup.set(KEY, "v".repeat(100));
    await setup.quit();
    for (const name of names) {
      workers.set(
        name,
        await startWorker(process.argv[1], [`--worker=${name}`, `--redis=${address}`]),
      );
    }
    const from = onNode ? "dist/" : "src/";
    console.log(
      `Redis benchmark on ${runtimeName()} (kvwire from ${from}), 100-byte values; each client ` +
        `in a process of its own; median of ${rounds} turns of ${seconds} s, taken in turn`,
    );
    for (const [index, scenario] of scenarios.entries()) {
      const results = await medianTurns(workers, names, index, rounds, seconds * 1000);
      printRatios(scenario.name, results, "kvwire");
    }
  } finally {
    await Promise.all([...workers.values()].map((w) => w.close()));
    await server?.stop();
  }
}

const workerName = flag("worker");
if (workerName) await worker(workerName, flag("redis")!);
else await main();
process.exit(0);

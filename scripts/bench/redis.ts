// Redis throughput of kvwire against the peer clients in the same run, same server on
// loopback, 100-byte values; prints ops/s and kvwire's ratio to each peer. Each contender runs
// in a child process of its own (scripts/bench/isolate.ts), taking turns round by round.
// Run: npm run build && node_modules/.bin/tsx scripts/bench/redis.ts [seconds] [rounds]
//      node_modules/.bin/bun scripts/bench/redis.ts (adds Bun's built-in RedisClient)
// On Node, kvwire is loaded from dist/ (what npm users run: tsx's per-closure naming helper
// would otherwise slow it); on Deno and Bun from src/. Compare ratios within one run.

import process from "node:process";
import { Redis as IORedis } from "ioredis";
import { createClient } from "redis";
import type { RedisClient as RedisClientType } from "../../src/redis/mod.ts";
import { runtimeName } from "../../transports/auto.ts";
import { startRedis } from "../servers.ts";
import { flag, measure, median, positional, reportResult, runWorker } from "./isolate.ts";

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
const names = ["kvwire", "ioredis", "node-redis", ...(BunRedis ? ["Bun.RedisClient"] : [])];

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

/** Worker: one contender, every scenario, one turn each. */
async function worker(name: string, address: string, seconds: number): Promise<void> {
  const [host, port] = address.split(":");
  const c = await contender(name, host, Number(port));
  const figures: Record<string, number> = {};
  for (const s of scenarios) figures[s.name] = await measure(s.run(c), seconds * 1000);
  await c.close();
  reportResult(figures);
}

async function main(): Promise<void> {
  const [secondsArg, roundsArg] = positional();
  const seconds = Number(secondsArg ?? 1);
  const rounds = Number(roundsArg ?? 5);
  const server = process.env.KVWIRE_REDIS ? undefined : await startRedis();
  const address = process.env.KVWIRE_REDIS ?? `${server!.host}:${server!.port}`;
  try {
    const [host, port] = address.split(":");
    const setup = new IORedis({ host, port: Number(port) });
    await setup.set(KEY, "v".repeat(100));
    await setup.quit();
    const from = onNode ? "dist/" : "src/";
    console.log(
      `Redis benchmark on ${runtimeName()} (kvwire from ${from}), median of ${rounds} turns ` +
        `of ${seconds} s each, 100-byte values, each client in a process of its own`,
    );
    // Contenders take turns for `rounds` rounds and each keeps its median, so that a burst of
    // load on this shared machine does not land on one client only.
    const samples = new Map<string, Record<string, number>[]>(names.map((n) => [n, []]));
    for (let round = 0; round < rounds; round++) {
      for (const name of names) {
        const args = [`--worker=${name}`, `--redis=${address}`, `--seconds=${seconds}`];
        samples.get(name)!.push(await runWorker(process.argv[1], args));
      }
    }
    for (const scenario of scenarios) {
      const results = new Map(
        names.map((n) => [n, median(samples.get(n)!.map((r) => r[scenario.name]))]),
      );
      const ours = results.get("kvwire")!;
      console.log(`\n${scenario.name}`);
      for (const [name, ops] of results) {
        const ratio = name === "kvwire" ? "" : `   kvwire/${name} = ${(ours / ops).toFixed(2)}x`;
        console.log(
          `  ${name.padEnd(16)} ${
            Math.round(ops).toLocaleString("en-US").padStart(10)
          } ops/s${ratio}`,
        );
      }
    }
  } finally {
    await server?.stop();
  }
}

const workerName = flag("worker");
if (workerName) await worker(workerName, flag("redis")!, Number(flag("seconds") ?? 1));
else await main();
process.exit(0);

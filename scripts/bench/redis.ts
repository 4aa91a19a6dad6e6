// Redis throughput of kvwire against the peer clients in the same run, same process, same
// server on loopback, 100-byte values; prints ops/s and kvwire's ratio to each peer.
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

interface Contender {
  name: string;
  get: (key: string) => Promise<unknown>;
  pipelineGets: (key: string, n: number) => Promise<unknown>;
  close: () => Promise<unknown> | void;
}

const seconds = Number(process.argv[2] ?? 1);
const ROUNDS = Number(process.argv[3] ?? 5);

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
const onNode = !("Deno" in globalThis) && !("Bun" in globalThis);
const { RedisClient } = (await import(
  onNode ? "../../dist/redis.js" : "../../src/redis/mod.ts"
)) as { RedisClient: typeof RedisClientType };
const KEY = "bench:value";

async function measure(run: () => Promise<number>): Promise<number> {
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) await run();
  let ops = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  while (performance.now() < until) ops += await run();
  return ops / ((performance.now() - started) / 1000);
}

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

async function contenders(host: string, port: number): Promise<Contender[]> {
  const kv = await RedisClient.connect({ host, port, decode: true });
  const list: Contender[] = [{
    name: "kvwire",
    get: (k) => kv.get(k),
    pipelineGets: (k, n) => {
      const p = kv.pipeline();
      for (let i = 0; i < n; i++) p.get(k);
      return p.exec();
    },
    close: () => kv.close(),
  }];
  const io = new IORedis({ host, port, enableAutoPipelining: true, lazyConnect: true });
  await io.connect();
  list.push({
    name: "ioredis",
    get: (k) => io.get(k),
    pipelineGets: (k, n) => {
      const p = io.pipeline();
      for (let i = 0; i < n; i++) p.get(k);
      return p.exec();
    },
    close: () => io.quit(),
  });
  const nr = createClient({ socket: { host, port } });
  await nr.connect();
  list.push({
    name: "node-redis",
    get: (k) => nr.get(k),
    pipelineGets: (k, n) => {
      const m = nr.multi();
      for (let i = 0; i < n; i++) m.get(k);
      return m.execAsPipeline();
    },
    close: () => nr.quit(),
  });
  const BunRedis = (globalThis as { Bun?: { RedisClient?: new (url: string) => BunClient } }).Bun
    ?.RedisClient;
  if (BunRedis) {
    const bun = new BunRedis(`redis://${host}:${port}`);
    await bun.connect();
    list.push({
      name: "Bun.RedisClient",
      get: (k) => bun.get(k),
      pipelineGets: (k, n) => {
        const batch = new Array(n);
        for (let i = 0; i < n; i++) batch[i] = bun.get(k);
        return Promise.all(batch);
      },
      close: () => bun.close(),
    });
  }
  return list;
}

interface BunClient {
  connect(): Promise<void>;
  get(key: string): Promise<string | null>;
  close(): void;
}

const server = process.env.KVWIRE_REDIS ? undefined : await startRedis();
const [host, port] = process.env.KVWIRE_REDIS?.split(":") ?? [server!.host, String(server!.port)];
try {
  const setup = await RedisClient.connect({ host, port: Number(port) });
  await setup.set(KEY, "v".repeat(100));
  await setup.close();
  const all = await contenders(host, Number(port));
  const from = onNode ? "dist/" : "src/";
  console.log(
    `Redis benchmark on ${runtimeName()} (kvwire from ${from}), median of ${ROUNDS} turns of ` +
      `${seconds} s each, 100-byte values`,
  );
  for (const scenario of scenarios) {
    // Contenders take turns for ROUNDS rounds and each keeps its median, so that a burst of
    // load on this shared machine does not land on one client only.
    const samples = new Map<string, number[]>(all.map((c) => [c.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of all) samples.get(c.name)!.push(await measure(scenario.run(c)));
    }
    const results = new Map([...samples].map(([name, xs]) => [name, median(xs)]));
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
  await Promise.all(all.map((c) => c.close()));
} finally {
  await server?.stop();
}

// Redis Cluster throughput of kvwire against ioredis 6 `Cluster`, node-redis 6 `createCluster`
// and valkey-glide 2.5 `GlideClusterClient` on a local 6-node cluster (3 masters), keys over
// random slots, 100-byte values; each client in a process of its own taking short turns
// (scripts/bench/isolate.ts); prints ops/s, ratios and a markdown summary table.
// Run: npm run build && node_modules/.bin/tsx scripts/bench/redis_cluster.ts [seconds] [rounds]
//      [--only=ioredis,node-redis,glide] (kvwire always runs)
//      [--baseline=<dir>] (adds kvwire from another checkout: A/B of two versions in one run)
//      [--cpu] (CPU microseconds per op of each client process instead of ops/s, lower is
//      better: steadier than ops/s on a loaded machine)
// Pipelines: kvwire splits a real pipeline per node; glide runs a non-atomic ClusterBatch
// (split per node too); ioredis' and node-redis' cluster pipelines must keep to one node, so
// their "pipeline" turn is 1,000 concurrent auto-pipelined calls.

import process from "node:process";
import type { RedisClusterClient as ClusterType } from "../../src/redis/mod.ts";
import { runtimeName } from "../../transports/auto.ts";
import { startRedisCluster } from "../servers.ts";
import {
  compareScenarios,
  cpuPerOp,
  flag,
  measure,
  positional,
  serveWorker,
  startWorker,
  startWorkers,
  type Worker,
} from "./isolate.ts";
import { BASELINE_DIR } from "./redis_contenders.ts";

interface Contender {
  get: (key: string) => Promise<unknown>;
  set: (key: string, value: string) => Promise<unknown>;
  pipelineGets: (keys: string[]) => Promise<unknown>;
  close: () => Promise<unknown> | void;
}

const onNode = !("Deno" in globalThis) && !("Bun" in globalThis);
const KEYS = Array.from({ length: 10_000 }, (_, i) => `bench:cluster:${i}`);
const VALUE = "v".repeat(100);
const pick = (): string => KEYS[Math.floor(Math.random() * KEYS.length)];

const scenarios: { name: string; run: (c: Contender) => () => Promise<number> }[] = [
  {
    name: "100 concurrent GETs over random slots",
    run: (c) => async () => {
      const batch = new Array(100);
      for (let i = 0; i < 100; i++) batch[i] = c.get(pick());
      await Promise.all(batch);
      return 100;
    },
  },
  {
    name: "100 concurrent SETs over random slots",
    run: (c) => async () => {
      const batch = new Array(100);
      for (let i = 0; i < 100; i++) batch[i] = c.set(pick(), VALUE);
      await Promise.all(batch);
      return 100;
    },
  },
  {
    name: "1,000 GETs over random slots in one pipeline",
    run: (c) => async () => {
      await c.pipelineGets(Array.from({ length: 1000 }, pick));
      return 1000;
    },
  },
];

const only = flag("only")?.split(",");
const CPU = process.argv.includes("--cpu");
const UNIT = CPU ? "CPU µs/op" : "ops/s";
const names = ["kvwire", "ioredis", "node-redis", "glide", ...(BASELINE_DIR ? ["baseline"] : [])]
  .filter((n) => n === "kvwire" || n === "baseline" || !only || only.includes(n));

const concurrently = (get: (k: string) => Promise<unknown>) => (keys: string[]) =>
  Promise.all(keys.map(get));

async function contender(
  name: string,
  seeds: { host: string; port: number }[],
): Promise<Contender> {
  if (name === "kvwire" || name === "baseline") {
    const root = name === "baseline" ? BASELINE_DIR : "../..";
    const { RedisClusterClient } = (await import(
      onNode ? `${root}/dist/redis.js` : `${root}/src/redis/mod.ts`
    )) as { RedisClusterClient: typeof ClusterType };
    const kv = await RedisClusterClient.connect({ nodes: seeds, decode: true });
    return {
      get: (k) => kv.get(k),
      set: (k, v) => kv.set(k, v),
      pipelineGets: (keys) => {
        const p = kv.pipeline();
        for (const k of keys) p.get(k);
        return p.exec();
      },
      close: () => kv.close(),
    };
  }
  if (name === "ioredis") {
    const { Cluster } = await import("ioredis");
    const io = new Cluster(seeds, { enableAutoPipelining: true, lazyConnect: true });
    await io.connect();
    const get = (k: string): Promise<unknown> => io.get(k);
    return {
      get,
      set: (k, v) => io.set(k, v),
      pipelineGets: concurrently(get),
      close: () => io.quit(),
    };
  }
  if (name === "glide") {
    const { ClusterBatch, GlideClusterClient } = await import("@valkey/valkey-glide");
    const gl = await GlideClusterClient.createClient({
      addresses: seeds,
      requestTimeout: 10_000, // its default (250 ms) fails big batches on a loaded machine
    });
    return {
      get: (k) => gl.get(k),
      set: (k, v) => gl.set(k, v),
      pipelineGets: (keys) => {
        const batch = new ClusterBatch(false);
        for (const k of keys) batch.get(k);
        return gl.exec(batch, false);
      },
      close: () => gl.close(),
    };
  }
  const { createCluster } = await import("redis");
  const nr = createCluster({
    rootNodes: seeds.map((s) => ({ url: `redis://${s.host}:${s.port}` })),
  });
  await nr.connect();
  const get = (k: string): Promise<unknown> => nr.get(k);
  return {
    get,
    set: (k, v) => nr.set(k, v),
    pipelineGets: concurrently(get),
    close: () => nr.quit(),
  };
}

async function worker(name: string, seeds: string): Promise<void> {
  const nodes = seeds.split(",").map((s) => {
    const [host, port] = s.split(":");
    return { host, port: Number(port) };
  });
  const c = await contender(name, nodes);
  await serveWorker(scenarios.map((s) => s.run(c)), () => c.close(), CPU ? cpuPerOp : measure);
}

async function main(): Promise<void> {
  const [secondsArg, roundsArg] = positional();
  const seconds = Number(secondsArg ?? 0.5);
  const rounds = Number(roundsArg ?? 7);
  const servers = await startRedisCluster();
  const seeds = servers.endpoints.join(",");
  const workers = new Map<string, Worker>();
  try {
    const setup = await contender(
      "kvwire",
      servers.nodes.map((n) => ({ host: n.host, port: n.port })),
    );
    await Promise.all(KEYS.map((k) => setup.set(k, VALUE)));
    await setup.close();
    const running = await startWorkers(
      names,
      workers,
      (name) =>
        startWorker(process.argv[1], [
          `--worker=${name}`,
          `--seeds=${seeds}`,
          ...(BASELINE_DIR ? [`--baseline=${BASELINE_DIR}`] : []),
          ...(CPU ? ["--cpu"] : []),
        ]),
    );
    console.log(
      `Redis Cluster benchmark (${UNIT}) on ${runtimeName()} ` +
        `(kvwire from ${onNode ? "dist/" : "src/"}), ` +
        `3 masters + 3 replicas on loopback, 10,000 keys, 100-byte values; median of ${rounds} ` +
        `turns of ${seconds} s, each client in its own process`,
    );
    const titles = scenarios.map((s) => s.name);
    await compareScenarios(workers, running, titles, rounds, seconds * 1000, "kvwire", UNIT);
  } finally {
    await Promise.all([...workers.values()].map((w) => w.close()));
    await servers.stop();
  }
}

const workerName = flag("worker");
if (workerName) await worker(workerName, flag("seeds")!);
else await main();
process.exit(0);

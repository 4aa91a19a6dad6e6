// etcd throughput of kvwire on both protocols (native gRPC over HTTP/2, and the v3 JSON gateway
// over HTTP/1.1) against the etcd3 npm client (grpc-js) in the same run, same etcd on loopback;
// prints ratios. Each client runs in a process of its own (scripts/bench/isolate.ts); they
// take short turns for many rounds. Reads also run with `coalesceReads: false`, to show what
// batching reads into txns is worth. Watch replay and the heap of 1,000 watchers are measured
// once per client, each in a process of its own.
// Run: npm run build && node_modules/.bin/tsx scripts/bench/etcd.ts [seconds per turn] [rounds]
// On Node, kvwire is loaded from dist/ when it has the etcd client, else from src/.

import { execFile } from "node:child_process";
import process from "node:process";
import { Etcd3 } from "etcd3";
import type { EtcdClient as EtcdClientType } from "../../src/etcd/mod.ts";
import { startEtcd } from "../servers.ts";
import {
  flag,
  medianTurns,
  positional,
  selfCommand,
  serveWorker,
  startWorker,
  type Worker,
} from "./isolate.ts";

interface Contender {
  name: string;
  get: (key: string) => Promise<unknown>;
  put: (key: string, value: string) => Promise<unknown>;
  /** Watches `prefix` from revision `from`; `wait(n)` resolves after `n` events. */
  watch: (
    prefix: string,
    from: bigint,
  ) => Promise<{ wait: (n: number) => Promise<void>; close: () => Promise<void> }>;
  close: () => Promise<unknown> | void;
}

/** A kvwire contender's settings, from its name (`kvwire grpc, coalesceReads: false`). */
function kvwireSettings(name: string): { protocol: "grpc" | "gateway"; coalesceReads: boolean } {
  return {
    protocol: name.includes("gateway") ? "gateway" : "grpc",
    coalesceReads: !name.includes("coalesceReads: false"),
  };
}

const onNode = !("Deno" in globalThis) && !("Bun" in globalThis);
async function loadClient(): Promise<typeof EtcdClientType> {
  if (onNode) {
    try {
      const dist = await import("../../dist/etcd.js" as string) as {
        EtcdClient?: typeof EtcdClientType;
      };
      if (dist.EtcdClient) return dist.EtcdClient;
    } catch { /* not built: fall back to src */ }
  }
  return (await import("../../src/etcd/mod.ts")).EtcdClient;
}
const EtcdClient = await loadClient();
const VALUE = "x".repeat(100);

const scenarios: {
  name: string;
  /** Also measured with kvwire's `coalesceReads: false`. */
  coalescing?: boolean;
  run: (c: Contender) => () => Promise<number>;
}[] = [
  {
    name: "50 concurrent range reads",
    coalescing: true,
    run: (c) => async () => {
      const batch = new Array(50);
      for (let i = 0; i < 50; i++) batch[i] = c.get(`bench/k${i % 10}`);
      await Promise.all(batch);
      return 50;
    },
  },
  {
    name: "one put at a time",
    run: (c) => async () => {
      await c.put("bench/put", VALUE);
      return 1;
    },
  },
];

/** Events per second a watch delivers when replaying `n` stored revisions from history. */
async function watchRate(c: Contender, n: number, prefix: string, from: bigint): Promise<number> {
  const started = performance.now();
  const w = await c.watch(prefix, from);
  await w.wait(n);
  const rate = n / ((performance.now() - started) / 1000);
  await w.close();
  return rate;
}

/** The contender `name` connected to `endpoint`. */
function contender(name: string, endpoint: string): Contender {
  if (name === "etcd3") {
    const peer = new Etcd3({ hosts: `http://${endpoint}` });
    return {
      name,
      get: (k) => peer.get(k).string(),
      put: (k, v) => peer.put(k).value(v).exec(),
      watch: async (prefix, from) => {
        const w = await peer.watch().prefix(prefix).startRevision(String(from)).create();
        let seen = 0;
        let target = Infinity;
        let done: () => void = () => {};
        w.on("put", () => {
          if (++seen >= target) done();
        });
        return {
          wait: (n) =>
            new Promise<void>((resolve) => {
              target = n;
              done = resolve;
              if (seen >= n) resolve();
            }),
          close: () => w.cancel(),
        };
      },
      close: () => peer.close(),
    };
  }
  const kv = new EtcdClient({ endpoints: [endpoint], ...kvwireSettings(name) });
  return {
    name,
    get: (k) => kv.get(k),
    put: (k, v) => kv.put(k, v),
    watch: async (prefix, from) => {
      const w = kv.watch(prefix, { prefix: true, startRevision: from });
      await w.created; // as etcd3's create() does: the server confirmed it
      return {
        wait: async (n) => {
          let seen = 0;
          for await (const _ of w) if (++seen === n) break;
        },
        close: () => Promise.resolve(w.close()),
      };
    },
    close: () => kv.close(),
  };
}

const KVWIRE = ["kvwire grpc", "kvwire gateway"];
const UNCOALESCED = KVWIRE.map((name) => `${name}, coalesceReads: false`);
const WATCHERS = 1000;

/** Heap bytes held by `WATCHERS` created watches of `c` (after a GC when exposed). */
async function watcherMemory(c: Contender): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const watches = [];
  for (let i = 0; i < WATCHERS; i++) watches.push(await c.watch(`bench/mem/${i}/`, 1n));
  gc?.();
  const held = process.memoryUsage().heapUsed - before;
  await Promise.all(watches.map((w) => w.close()));
  return held;
}

async function main(): Promise<void> {
  const [secondsArg, roundsArg] = positional();
  const seconds = Number(secondsArg ?? 1);
  const rounds = Number(roundsArg ?? 7);
  const server = await startEtcd({ enableV2: false, args: ["--quota-backend-bytes=4294967296"] });
  const endpoint = `${server.host}:${server.port}`;
  const workers = new Map<string, Worker>();
  try {
    const kv = contender("kvwire grpc", endpoint);
    for (let i = 0; i < 10; i++) await kv.put(`bench/k${i}`, VALUE);
    for (const name of [...KVWIRE, ...UNCOALESCED, "etcd3"]) {
      workers.set(
        name,
        await startWorker(process.argv[1], [`--worker=${name}`, `--etcd=${endpoint}`]),
      );
    }
    console.log(
      `etcd 3.4 at ${endpoint}, 100-byte values; each client in a process of its own; ` +
        `median of ${rounds} turns of ${seconds} s, taken in turn`,
    );
    for (const [index, scenario] of scenarios.entries()) {
      const names = [...workers.keys()].filter((n) =>
        !UNCOALESCED.includes(n) || scenario.coalescing
      );
      const results = await medianTurns(workers, names, index, rounds, seconds * 1000);
      const peer = results.get("etcd3")!;
      console.log(`\n${scenario.name}`);
      for (const [name, ops] of results) {
        const ratio = name === "etcd3" ? "" : `   ratio to etcd3 ${(ops / peer).toFixed(2)}x`;
        console.log(`  ${name.padEnd(38)} ${ops.toFixed(0).padStart(7)} ops/s${ratio}`);
      }
    }
    const events = 5000;
    const from = (await kv.put("bench/watch/0", VALUE) as { revision: bigint }).revision;
    for (let i = 1; i < events; i += 100) {
      const batch = [];
      for (let j = i; j < Math.min(events, i + 100); j++) {
        batch.push(kv.put(`bench/watch/${j}`, VALUE));
      }
      await Promise.all(batch);
    }
    await kv.close();
    console.log(`\nwatch replay of ${events} events; heap of ${WATCHERS} watchers`);
    const measured = new Map<string, string>();
    for (const name of [...KVWIRE, "etcd3"]) {
      measured.set(name, await runAlone(name, endpoint, from, events));
    }
    const [peerRate] = measured.get("etcd3")!.split(" ").map(Number);
    for (const [name, line] of measured) {
      const [rate, heap] = line.split(" ").map(Number);
      const ratio = name === "etcd3" ? "" : `   ratio to etcd3 ${(rate / peerRate).toFixed(2)}x`;
      console.log(
        `  ${name.padEnd(38)} ${rate.toFixed(0).padStart(7)} ev/s   ${
          (heap / 1024 / 1024).toFixed(1)
        } MiB${ratio}`,
      );
    }
  } finally {
    await Promise.all([...workers.values()].map((w) => w.close()));
    await server.stop();
  }
}

/** Watch replay rate and watcher heap of `name`, measured in a process of its own. */
async function runAlone(name: string, endpoint: string, from: bigint, events: number) {
  const [cmd, base] = selfCommand(process.argv[1]);
  // Node: expose gc() so that the heap is measured after a collection.
  const args = onNode ? ["--expose-gc", ...base] : base;
  args.push(`--alone=${name}`, `--etcd=${endpoint}`, `--from=${from}`, `--events=${events}`);
  return await new Promise<string>((resolve, reject) =>
    execFile(cmd, args, (error, stdout) => (error ? reject(error) : resolve(stdout.trim())))
  );
}

const alone = flag("alone");
const workerName = flag("worker");
if (alone) {
  const c = contender(alone, flag("etcd")!);
  const [events, from] = [Number(flag("events")), BigInt(flag("from")!)];
  await watchRate(c, events, "bench/watch/", from); // warm-up: a fresh process is cold
  const rate = await watchRate(c, events, "bench/watch/", from);
  const heap = await watcherMemory(c);
  await c.close();
  console.log(`${rate} ${heap}`);
} else if (workerName) {
  const c = contender(workerName, flag("etcd")!);
  await serveWorker(scenarios.map((s) => s.run(c)), () => c.close());
} else await main();
process.exit(0);

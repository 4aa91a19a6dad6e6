// etcd throughput of kvwire on both protocols (native gRPC over HTTP/2, and the v3 JSON gateway
// over HTTP/1.1) against the etcd3 npm client (grpc-js) in the same run, same etcd on loopback;
// prints ratios. Each client runs in a process of its own (scripts/bench/isolate.ts); they
// take short turns for many rounds. Reads also run with `coalesceReads: false`, to show what
// batching reads into txns is worth. Then three watch replays (REPLAYS), each client in fresh
// processes taken in turn (median of 3 replays after 2 warm-ups per process), with the heap of
// 1,000 created watchers: one put per revision is paced by etcd (an unsynced watcher gets at most
// 1,000 revisions per sync pass, watchBatchMaxRevs in mvcc/watcher_group.go), so every client
// shows ~10,000 events/s; txns of 100 puts put 100 events in a revision, and 10 watches
// replaying at once share etcd's read of the history, so the clients' own cost shows.
// Run: npm run build && node_modules/.bin/tsx scripts/bench/etcd.ts [seconds per turn] [rounds]
// (seconds 0: the watch replays only). Measured 2026-12-02 (three runs, load average 0.4-7 on 2
// shared cores, medians over processes): kvwire grpc 1.76-1.88x etcd3 on the txn replay,
// 1.76-2.03x with 10 watches, 0.99-1.01x on one put per revision; the gateway 0.17-0.31x on the
// txn replays (etcd's JSON gateway is the bottleneck); 1,000 gRPC watchers 2.0-2.4 MiB (etcd3
// 3.1-3.5 MiB).
// On Node, kvwire is loaded from dist/ when it has the etcd client, else from src/.

import { execFile } from "node:child_process";
import process from "node:process";
import { Etcd3 } from "etcd3";
import type { EtcdClient as EtcdClientType } from "../../src/etcd/mod.ts";
import { startEtcd } from "../servers.ts";
import {
  flag,
  median,
  medianTurns,
  positional,
  selfCommand,
  serveWorker,
  startWorker,
  turnOrder,
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

/** Events per second delivered by `replay`'s watchers replaying its history from `from`. */
async function watchRate(c: Contender, replay: Replay, from: bigint): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: replay.watchers }, async () => {
    const w = await c.watch(replay.prefix, from);
    await w.wait(replay.events);
    await w.close();
  }));
  return replay.events * replay.watchers / ((performance.now() - started) / 1000);
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

/** A watch replay: a history written under `prefix`, then watched from its first revision. */
interface Replay {
  title: string;
  prefix: string;
  /** Events in the history. */
  events: number;
  /** Watches replaying it at once (on one client). */
  watchers: number;
  /** Writes the history; resolves its first revision. */
  write: (writer: EtcdClientType) => Promise<bigint>;
}

/** Writes `count` txns of `puts` puts each under `prefix`, 50 txns at a time. */
async function writeTxns(
  writer: EtcdClientType,
  prefix: string,
  count: number,
  puts: number,
): Promise<bigint> {
  const txn = (t: number) =>
    writer.txn({
      success: Array.from({ length: puts }, (_, p) => ({
        put: { key: `${prefix}${t}/${p}`, value: VALUE },
      })),
    });
  const from = (await txn(0)).revision;
  for (let t = 1; t < count; t += 50) {
    const batch = [];
    for (let u = t; u < Math.min(count, t + 50); u++) batch.push(txn(u));
    await Promise.all(batch);
  }
  return from;
}

const REPLAYS: Replay[] = [
  {
    title: "watch replay of 5,000 puts, one per revision (etcd-capped: an unsynced watch gets " +
      "1,000 revisions per sync pass)",
    prefix: "bench/watch/",
    events: 5000,
    watchers: 1,
    write: (writer) => writeTxns(writer, "bench/watch/", 5000, 1),
  },
  {
    title: "watch replay of 20,000 puts written as 200 txns of 100 puts (one response of " +
      "2.6 MB; etcd's sync pass takes much of the time)",
    prefix: "bench/txn/",
    events: 20000,
    watchers: 1,
    write: (writer) => writeTxns(writer, "bench/txn/", 200, 100),
  },
  {
    title: "10 watches replaying 10,000 puts written as 100 txns of 100 puts (etcd reads " +
      "the history once for all: the clients' share)",
    prefix: "bench/many/",
    events: 10000,
    watchers: 10,
    write: (writer) => writeTxns(writer, "bench/many/", 100, 100),
  },
];

const KVWIRE = ["kvwire grpc", "kvwire gateway"];
const WATCHING = [...KVWIRE, "etcd3"];
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
  const writer = new EtcdClient({ endpoints: [endpoint] });
  try {
    for (let i = 0; i < 10; i++) await writer.put(`bench/k${i}`, VALUE);
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
    for (const [index, scenario] of seconds > 0 ? scenarios.entries() : []) {
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
    for (const replay of REPLAYS) {
      const from = await replay.write(writer);
      const samples = new Map<string, { rates: number[]; heaps: number[] }>(
        WATCHING.map((n) => [n, { rates: [], heaps: [] }]),
      );
      for (let round = 0; round < rounds; round++) {
        for (const name of turnOrder(WATCHING, round)) {
          const [rate, heap] = await runAlone(name, endpoint, replay, from);
          samples.get(name)!.rates.push(rate);
          samples.get(name)!.heaps.push(heap);
        }
      }
      console.log(`\n${replay.title}; median of ${rounds} processes each (range)`);
      const peerRate = median(samples.get("etcd3")!.rates);
      for (const [name, { rates, heaps }] of samples) {
        const ratio = name === "etcd3"
          ? ""
          : `   ratio to etcd3 ${(median(rates) / peerRate).toFixed(2)}x`;
        const range = `(${Math.min(...rates).toFixed(0)}-${Math.max(...rates).toFixed(0)})`;
        const heap = (median(heaps) / 1024 / 1024).toFixed(1);
        console.log(
          `  ${name.padEnd(16)} ${median(rates).toFixed(0).padStart(7)} ev/s ${range.padEnd(15)}` +
            `  heap of ${WATCHERS} watchers ${heap} MiB${ratio}`,
        );
      }
    }
  } finally {
    await Promise.all([...workers.values()].map((w) => w.close()));
    await writer.close();
    await server.stop();
  }
}

/** Replay rate (events/s) and watcher heap (bytes) of `name`, measured in a process of its own. */
async function runAlone(
  name: string,
  endpoint: string,
  replay: Replay,
  from: bigint,
): Promise<number[]> {
  const [cmd, base] = selfCommand(process.argv[1]);
  // Node: expose gc() so that the heap is measured after a collection.
  const args = onNode ? ["--expose-gc", ...base] : base;
  args.push(`--alone=${name}`, `--etcd=${endpoint}`, `--replay=${REPLAYS.indexOf(replay)}`);
  args.push(`--from=${from}`);
  const line = await new Promise<string>((resolve, reject) =>
    execFile(cmd, args, (error, stdout) => (error ? reject(error) : resolve(stdout.trim())))
  );
  return line.split(" ").map(Number);
}

const alone = flag("alone");
const workerName = flag("worker");
if (alone) {
  const c = contender(alone, flag("etcd")!);
  const replay = REPLAYS[Number(flag("replay"))];
  const from = BigInt(flag("from")!);
  for (let i = 0; i < 2; i++) await watchRate(c, replay, from); // warm-up: a fresh process is cold
  const rates = [];
  for (let i = 0; i < 3; i++) rates.push(await watchRate(c, replay, from));
  const rate = median(rates);
  const heap = await watcherMemory(c);
  await c.close();
  console.log(`${rate} ${heap}`);
} else if (workerName) {
  const c = contender(workerName, flag("etcd")!);
  await serveWorker(scenarios.map((s) => s.run(c)), () => c.close());
} else await main();
process.exit(0);

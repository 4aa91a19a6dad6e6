// etcd throughput of kvwire (v3 JSON gateway over HTTP/1.1) against the etcd3 npm client
// (gRPC over HTTP/2) in the same run, same etcd on loopback; prints ratios. Each client runs in
// a process of its own (scripts/bench/isolate.ts); they take short turns for many rounds.
// Reads also run with `coalesceReads: false`, to show what batching reads into txns is worth.
// Watch replay is measured once per client in this process.
// Run: npm run build && node_modules/.bin/tsx scripts/bench/etcd.ts [seconds per turn] [rounds]
// On Node, kvwire is loaded from dist/ when it has the etcd client, else from src/.

import process from "node:process";
import { Etcd3 } from "etcd3";
import type { EtcdClient as EtcdClientType } from "../../src/etcd/mod.ts";
import { startEtcd } from "../servers.ts";
import { flag, medianTurns, positional, serveWorker, startWorker, type Worker } from "./isolate.ts";

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
  const kv = new EtcdClient({ endpoints: [endpoint], coalesceReads: name === "kvwire" });
  return {
    name,
    get: (k) => kv.get(k),
    put: (k, v) => kv.put(k, v),
    watch: (prefix, from) => {
      const w = kv.watch(prefix, { prefix: true, startRevision: from });
      return Promise.resolve({
        wait: async (n) => {
          let seen = 0;
          for await (const _ of w) if (++seen === n) break;
        },
        close: () => Promise.resolve(w.close()),
      });
    },
    close: () => kv.close(),
  };
}

const UNCOALESCED = "kvwire, coalesceReads: false";

async function main(): Promise<void> {
  const [secondsArg, roundsArg] = positional();
  const seconds = Number(secondsArg ?? 1);
  const rounds = Number(roundsArg ?? 7);
  const server = await startEtcd({ enableV2: false, args: ["--quota-backend-bytes=4294967296"] });
  const endpoint = `${server.host}:${server.port}`;
  const workers = new Map<string, Worker>();
  try {
    const kv = contender("kvwire", endpoint);
    for (let i = 0; i < 10; i++) await kv.put(`bench/k${i}`, VALUE);
    for (const name of ["kvwire", UNCOALESCED, "etcd3"]) {
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
      const names = [...workers.keys()].filter((n) => n !== UNCOALESCED || scenario.coalescing);
      const results = await medianTurns(workers, names, index, rounds, seconds * 1000);
      const peer = results.get("etcd3")!;
      console.log(`\n${scenario.name}`);
      for (const [name, ops] of results) {
        const ratio = name === "etcd3" ? "" : `   ratio to etcd3 ${(ops / peer).toFixed(2)}x`;
        console.log(`  ${name.padEnd(30)} ${ops.toFixed(0).padStart(7)} ops/s${ratio}`);
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
    const peerClient = contender("etcd3", endpoint);
    const rates = [];
    for (const c of [kv, peerClient]) rates.push(await watchRate(c, events, "bench/watch/", from));
    console.log(
      `\nwatch replay of 5,000 events\n  kvwire ${rates[0].toFixed(0)} ev/s   etcd3 ${
        rates[1].toFixed(0)
      } ev/s   ratio ${(rates[0] / rates[1]).toFixed(2)}x`,
    );
    await kv.close();
    await peerClient.close();
  } finally {
    await Promise.all([...workers.values()].map((w) => w.close()));
    await server.stop();
  }
}

const workerName = flag("worker");
if (workerName) {
  const c = contender(workerName, flag("etcd")!);
  await serveWorker(scenarios.map((s) => s.run(c)), () => c.close());
} else await main();
process.exit(0);

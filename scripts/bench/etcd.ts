// etcd throughput of kvwire (v3 JSON gateway over HTTP/1.1) against the etcd3 npm client
// (gRPC over HTTP/2) in the same run, same process, same etcd on loopback; prints ratios.
// Reads also run with `coalesceReads: false`, to show what batching reads into txns is worth.
// Run: npm run build && node_modules/.bin/tsx scripts/bench/etcd.ts [seconds]
// On Node, kvwire is loaded from dist/ when it has the etcd client, else from src/.

import process from "node:process";
import { Etcd3 } from "etcd3";
import type { EtcdClient as EtcdClientType } from "../../src/etcd/mod.ts";
import { startEtcd } from "../servers.ts";

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

const seconds = Number(process.argv[2] ?? 2);
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

async function measure(run: () => Promise<number>): Promise<number> {
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) await run();
  let ops = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  while (performance.now() < until) ops += await run();
  return ops / ((performance.now() - started) / 1000);
}

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

async function main(): Promise<void> {
  const server = await startEtcd({ enableV2: false, args: ["--quota-backend-bytes=4294967296"] });
  const endpoint = `${server.host}:${server.port}`;
  const kv = new EtcdClient({ endpoints: [endpoint] });
  const uncoalesced = new EtcdClient({ endpoints: [endpoint], coalesceReads: false });
  const peer = new Etcd3({ hosts: `http://${endpoint}` });
  const list: Contender[] = [
    {
      name: "kvwire",
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
    },
    {
      name: "etcd3",
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
    },
  ];
  for (let i = 0; i < 10; i++) await kv.put(`bench/k${i}`, VALUE);
  console.log(`etcd 3.4 at ${endpoint}, ${seconds}s per scenario, 100-byte values`);
  const plain: Contender = {
    ...list[0],
    name: "kvwire, coalesceReads: false",
    get: (k) => uncoalesced.get(k),
    close: () => uncoalesced.close(),
  };
  for (const scenario of scenarios) {
    const rates: number[] = [];
    for (const c of list) rates.push(await measure(scenario.run(c)));
    const ratio = rates[0] / rates[1];
    console.log(
      `${scenario.name.padEnd(28)} kvwire ${rates[0].toFixed(0).padStart(7)} ops/s   ` +
        `etcd3 ${rates[1].toFixed(0).padStart(7)} ops/s   ratio ${ratio.toFixed(2)}x`,
    );
    if (scenario.coalescing) {
      const off = await measure(scenario.run(plain));
      console.log(
        `${"  same, coalesceReads: false".padEnd(28)} kvwire ${
          off.toFixed(0).padStart(7)
        } ops/s   ` +
          `etcd3 ${rates[1].toFixed(0).padStart(7)} ops/s   ratio ${(off / rates[1]).toFixed(2)}x`,
      );
    }
  }
  const events = 5000;
  const from = (await kv.put("bench/watch/0", VALUE)).revision;
  for (let i = 1; i < events; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(events, i + 100); j++) {
      batch.push(kv.put(`bench/watch/${j}`, VALUE));
    }
    await Promise.all(batch);
  }
  const rates = [];
  for (const c of list) rates.push(await watchRate(c, events, "bench/watch/", from));
  console.log(
    `${"watch replay of 5,000 events".padEnd(28)} kvwire ${
      rates[0].toFixed(0).padStart(7)
    } ev/s   ` +
      `etcd3 ${rates[1].toFixed(0).padStart(7)} ev/s   ratio ${(rates[0] / rates[1]).toFixed(2)}x`,
  );
  for (const c of [...list, plain]) await c.close();
  await server.stop();
}

await main();
process.exit(0);

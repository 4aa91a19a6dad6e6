// The main job: a guided tour of kvwire on the current runtime against real local servers it
// starts itself (or those KVWIRE_REDIS=host:port... name), and Redis Cluster when
// KVWIRE_REDIS_CLUSTER=host:port,... is set. Run: npm run tour (or deno run -A / bun it).

import process from "node:process";
import { runtimeName } from "../transports/auto.ts";
import { RedisClient } from "../src/redis/mod.ts";
import { PegasusClient } from "../src/pegasus/mod.ts";
import { startPegasusSimulator } from "../test/fixtures/pegasus/simulator.ts";
import { Key, TStorageClient, TStorageDateTime, Utf8PayloadType } from "../src/tstorage/mod.ts";
import { startTStorageSimulator } from "../test/fixtures/tstorage/simulator.ts";
import { type ServerHandle, startEtcd, startMemcached, startRedis } from "./servers.ts";
import { MemcacheClient } from "../src/memcache/mod.ts";
import { EtcdClient, text } from "../src/etcd/mod.ts";
import { clusterTour } from "./tour_cluster.ts";

const started: ServerHandle[] = [];

async function redisAddress(): Promise<{ host: string; port: number }> {
  const given = process.env.KVWIRE_REDIS;
  if (given) {
    const [host, port] = given.split(":");
    return { host, port: Number(port) };
  }
  const server = await startRedis();
  started.push(server);
  console.log(`started redis-server on ${server.host}:${server.port} (temp dir ${server.dir})`);
  return { host: server.host, port: server.port };
}

async function redisTour(): Promise<void> {
  console.log("\n== Redis");
  const address = await redisAddress();
  await using redis = await RedisClient.connect({ ...address, decode: true });
  console.log(`connected with RESP${redis.protocol}`);
  console.log(`PING -> ${await redis.ping()}`);
  console.log(
    `SET tour:greeting hello -> ${await redis.set("tour:greeting", "hello", { ex: 60 })}`,
  );
  console.log(`GET tour:greeting -> ${JSON.stringify(await redis.get("tour:greeting"))}`);
  const started = performance.now();
  const counts = await Promise.all(Array.from({ length: 100 }, () => redis.incr("tour:hits")));
  const ms = (performance.now() - started).toFixed(1);
  console.log(
    `100 concurrent INCRs (auto-pipelined into one write) -> last ${counts.at(-1)} in ${ms} ms`,
  );
  const results = await redis.pipeline()
    .set("tour:n", 41).incr("tour:n").get("tour:n").send("NO-SUCH-COMMAND").exec();
  console.log(
    `pipeline -> ${
      results.map((r) =>
        r instanceof Error ? `error(${r.message.split(",")[0]})` : JSON.stringify(r)
      ).join(", ")
    }`,
  );
  const [a, b] = await redis.multi().incrBy("tour:tx", 10).decr("tour:tx").exec();
  console.log(`MULTI/EXEC -> ${a}, ${b}`);
  const info = await redis.info("server");
  console.log(`server: redis ${info.server.redis_version}`);
  await redis.del("tour:greeting", "tour:hits", "tour:n", "tour:tx");
}

async function pegasusTour(): Promise<void> {
  console.log("\n== Apache Pegasus (against the built-in simulator: 3 meta servers, 3 replicas)");
  const sim = await startPegasusSimulator(); // free loopback ports; table "temp", 8 partitions
  try {
    await using pegasus = await PegasusClient.connect({
      metaServers: sim.metaServers,
      table: "temp",
      decode: true,
    });
    await pegasus.set("user:1", "name", "Ada");
    await pegasus.multiSet("user:1", { email: "ada@example.com", lang: "en" }, { ttl: 3600 });
    console.log(`get user:1/name -> ${JSON.stringify(await pegasus.get("user:1", "name"))}`);
    console.log(`sortKeyCount user:1 -> ${await pegasus.sortKeyCount("user:1")}`);
    for await (const { sortKey, value } of pegasus.getScanner("user:1", "", "")) {
      console.log(`scan user:1 -> ${sortKey} = ${value}`);
    }
  } finally {
    await sim.close();
  }
}

async function tstorageTour(): Promise<void> {
  console.log("\n== TStorage (against the built-in simulator)");
  const sim = await startTStorageSimulator({ port: 0 });
  try {
    await using ts = await TStorageClient.connect({
      port: sim.port,
      payloadType: new Utf8PayloadType(),
    });
    const cap = new TStorageDateTime(BigInt(Date.UTC(2026, 0, 1)) * 1_000_000n).toTStorageNs();
    const put = await ts.put([
      { key: new Key(1, 7n, 0, cap), value: "21.5 °C" },
      { key: new Key(1, 7n, 1, cap), value: "48 %" },
      { key: new Key(-1, 7n, 0, cap), value: "invalid cid" },
    ], { skipInvalid: true });
    console.log(`PUT -> ${put.written} written, ${put.skipped.length} skipped (invalid key)`);
    const { data, acq } = await ts.get(
      new Key(1, 0n, 0, 0n, 0n),
      new Key(2, 100n, 10, cap + 1n, Key.max().acq),
    );
    for (const { key, value } of data) console.log(`GET -> ${key} = ${JSON.stringify(value)}`);
    console.log(`GET_ACQ -> ${await ts.getAcq(Key.min(), Key.max())} (GET's acq ${acq})`);
  } finally {
    await sim.stop();
  }
}

async function memcacheTour(): Promise<void> {
  console.log("\n== memcache (meta protocol)");
  let address = process.env.KVWIRE_MEMCACHED;
  if (!address) {
    const server = await startMemcached();
    started.push(server);
    address = `${server.host}:${server.port}`;
    console.log(`started memcached on ${address} (temp dir ${server.dir})`);
  }
  await using mc = await MemcacheClient.connect([address]);
  const stored = await mc.set("tour:greeting", "hello", { ttl: 60 });
  console.log(`set/get -> ${stored}, ${JSON.stringify(await mc.get("tour:greeting"))}`);
  await mc.set("tour:counter", "20");
  const up = await mc.incr("tour:counter");
  console.log(`incr, decr by 100 -> ${up}, ${await mc.decr("tour:counter", 100)} (floors at 0)`);
  const failed = await mc.setMulti({ k1: 1, k2: 2 }, { keyPrefix: "tour:pfx_" });
  console.log(`setMulti with keyPrefix -> failed keys ${JSON.stringify(failed)}`);
  const found = await mc.getMulti(["k1", "k2", "nonexist"], { keyPrefix: "tour:pfx_" });
  console.log(`getMulti (one pipelined batch) -> ${JSON.stringify(Object.fromEntries(found))}`);
  const lazy = await mc.metaGet("tour:lazy", { vivify: 30 });
  console.log(`meta get, vivify on miss -> win=${lazy?.win}: this caller recomputes, others wait`);
  console.log(`server: memcached ${[...(await mc.version()).values()][0]}`);
  await mc.deleteMulti([
    "tour:greeting",
    "tour:counter",
    "tour:pfx_k1",
    "tour:pfx_k2",
    "tour:lazy",
  ]);
}

async function etcdTour(): Promise<void> {
  console.log("\n== etcd (v3 API over the JSON gateway: plain HTTP/1.1, on every runtime)");
  let endpoint = process.env.KVWIRE_ETCD;
  if (!endpoint) {
    const server = await startEtcd();
    started.push(server);
    endpoint = `${server.host}:${server.port}`;
    console.log(`started etcd on ${endpoint} (temp dir ${server.dir})`);
  }
  await using etcd = new EtcdClient({ endpoints: [endpoint] });
  await using watcher = etcd.watch("tour/", { prefix: true });
  await watcher.created; // the watch is live from here
  await etcd.put("tour/greeting", "hello");
  console.log(`GET tour/greeting -> ${JSON.stringify(await etcd.getString("tour/greeting"))}`);
  for await (const event of watcher) {
    console.log(`watch -> ${event.type} ${text(event.kv.key)} at revision ${event.kv.modRevision}`);
    break;
  }
  await using lease = await etcd.grant(10); // kept alive until disposed
  await etcd.put("tour/ephemeral", "x", { lease: lease.id });
  console.log(`lease ${lease.id} holds tour/ephemeral for ${lease.ttl} s`);
  await etcd.delete("tour/", { prefix: true });
}

console.log(`kvwire tour on ${runtimeName()}`);
try {
  await redisTour();
  const clusterSeeds = process.env.KVWIRE_REDIS_CLUSTER;
  if (clusterSeeds) await clusterTour(clusterSeeds.split(",").map((s) => s.trim()));
  await memcacheTour();
  await etcdTour();
  await tstorageTour();
  await pegasusTour();
  console.log("\ntour finished");
} finally {
  await Promise.all(started.map((s) => s.stop()));
}

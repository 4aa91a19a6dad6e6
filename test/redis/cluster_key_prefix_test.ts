// keyPrefix on RedisClusterClient against a real 3-master cluster: slots (and hash tags) are
// those of the prefixed keys, for commands, pipelines, transactions, blocking commands, scans.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type RedisClusterServers, startRedisCluster } from "../../scripts/servers.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisClusterClient } from "../../src/redis/cluster/client.ts";
import { keySlot } from "../../src/redis/cluster/slot.ts";
import { ownerOf } from "./_cluster.ts";

let servers: RedisClusterServers;
const plain = new Map<string, RedisClient<string>>();
const clients: RedisClusterClient<string>[] = [];

before(async () => {
  servers = await startRedisCluster({ replicas: 0 });
  for (const endpoint of servers.endpoints) {
    const [host, port] = endpoint.split(":");
    plain.set(endpoint, await RedisClient.connect({ host, port: Number(port), decode: true }));
  }
});

after(async () => {
  await Promise.all([...clients, ...plain.values()].map((c) => c.close()));
  await servers?.stop();
});

async function connect(keyPrefix: string): Promise<RedisClusterClient<string>> {
  const client = await RedisClusterClient.connect({
    nodes: servers.endpoints.slice(0, 1),
    decode: true,
    keyPrefix,
  });
  clients.push(client);
  return client;
}

test("redis cluster keyPrefix: each key lives on the master of its prefixed key's slot", async () => {
  const cluster = await connect("app:");
  const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
  await Promise.all(keys.map((k) => cluster.set(k, k)));
  const owners = new Set<string>();
  for (const key of keys) {
    const owner = await ownerOf(plain, keySlot(`app:${key}`));
    owners.add(owner);
    assert.equal(await plain.get(owner)!.get(`app:${key}`), key, `app:${key} on ${owner}`);
  }
  assert.ok(owners.size > 1, "the keys spread over masters");
  assert.deepEqual(await cluster.mGet("k1", "k2", "k3"), ["k1", "k2", "k3"], "split per slot");
  const seen: string[] = [];
  for await (const key of cluster.scanIter({ match: "k1*" })) seen.push(key);
  assert.deepEqual(
    seen.sort(),
    keys.filter((k) => k.startsWith("k1")).map((k) => `app:${k}`).sort(),
  );
});

test("redis cluster keyPrefix: a hash tag in the prefix puts every key in one slot", async () => {
  const cluster = await connect("{tenant7}:");
  const owner = plain.get(await ownerOf(plain, keySlot("tenant7")))!;
  // Keys of different slots unprefixed: one slot with the prefix, so MULTI and MSET accept them.
  assert.notEqual(keySlot("a"), keySlot("b"));
  assert.deepEqual(await cluster.multi().set("a", "1").set("b", "2").exec(), [true, true]);
  assert.deepEqual(await owner.mGet("{tenant7}:a", "{tenant7}:b"), ["1", "2"]);
  const results = await cluster.pipeline({ transaction: true }).incr("n").incr("n").exec();
  assert.deepEqual(results, [1, 2]);
  const script = cluster.registerScript("return redis.call('GET', KEYS[1])");
  assert.equal(await script.run(["a"]), "1");
  await owner.rPush("{tenant7}:q", "job");
  assert.deepEqual(await cluster.blPop("q", 1), ["{tenant7}:q", "job"]);
  const watched = await cluster.transaction(async (conn) => {
    const n = Number(await conn.get("n"));
    return conn.multi().set("n", n * 10);
  }, "n");
  assert.deepEqual(watched, [true]);
  assert.equal(await owner.get("{tenant7}:n"), "20");
});

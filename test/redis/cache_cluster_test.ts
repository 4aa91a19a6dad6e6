// Client-side caching on RedisClusterClient against a real 3-master cluster: one cache fed by
// every node's invalidations, keys on several nodes, a cross-slot MGET, a node's connection
// killed, and the options the cluster refuses.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type RedisClusterServers, startRedisCluster } from "../../scripts/servers.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisClusterClient } from "../../src/redis/cluster/client.ts";
import { keySlot } from "../../src/redis/cluster/slot.ts";
import { ownerOf } from "./_cluster.ts";

let servers: RedisClusterServers;
let reader: RedisClusterClient<string>;
let writer: RedisClusterClient<string>;
const plain = new Map<string, RedisClient<string>>();
const prefix = `cc:${crypto.randomUUID().slice(0, 8)}:`;
const READER = "cache-reader";

before(async () => {
  servers = await startRedisCluster({ replicas: 0 });
  const nodes = servers.endpoints.slice(0, 1);
  reader = await RedisClusterClient.connect({
    nodes,
    decode: true,
    clientName: READER,
    clientSideCache: {},
  });
  writer = await RedisClusterClient.connect({ nodes, decode: true });
  for (const endpoint of servers.endpoints) {
    const [host, port] = endpoint.split(":");
    plain.set(endpoint, await RedisClient.connect({ host, port: Number(port), decode: true }));
  }
});

after(async () => {
  await reader?.close();
  await writer?.close();
  await Promise.all([...plain.values()].map((c) => c.close()));
  await servers?.stop();
});

/** One key on each master. */
async function keysOnEveryMaster(tag: string): Promise<Map<string, string>> {
  const byOwner = new Map<string, string>();
  for (let i = 0; byOwner.size < servers.endpoints.length; i++) {
    const k = `${prefix}${tag}${i}`;
    const owner = await ownerOf(plain, keySlot(k));
    if (!byOwner.has(owner)) byOwner.set(owner, k);
  }
  return byOwner;
}

/** One round trip of the reader to every master. */
async function roundTrip(): Promise<void> {
  await Promise.all(reader.perMaster().map((m) => m.ping()));
}

test("cluster cache: options the cluster cannot honour are refused", () => {
  const nodes = servers.endpoints;
  assert.throws(
    () => new RedisClusterClient({ nodes, protocol: 2, clientSideCache: {} }),
    RangeError,
  );
  assert.throws(
    () => new RedisClusterClient({ nodes, clientSideCache: { mode: "optin" } }),
    RangeError,
  );
});

test("cluster cache: keys on every master are cached and invalidated by their node", async () => {
  const keys = [...(await keysOnEveryMaster("a")).values()];
  for (const k of keys) await writer.set(k, "1");
  const before = reader.cacheStats()!;
  for (const k of keys) assert.equal(await reader.get(k), "1");
  for (const k of keys) assert.equal(await reader.get(k), "1");
  const cached = reader.cacheStats()!;
  assert.equal(cached.hits - before.hits, keys.length);
  assert.equal(cached.misses - before.misses, keys.length);
  for (const k of keys) await writer.set(k, "2");
  await roundTrip();
  for (const k of keys) assert.equal(await reader.get(k), "2");
  assert.ok(reader.cacheStats()!.invalidations - cached.invalidations >= keys.length);
});

test("cluster cache: a cross-slot MGET is one entry, dropped by a write to any of its keys", async () => {
  const keys = [...(await keysOnEveryMaster("m")).values()];
  for (const k of keys) await writer.set(k, "1");
  assert.deepEqual(await reader.mGet(...keys), keys.map(() => "1"));
  const hits = reader.cacheStats()!.hits;
  assert.deepEqual(await reader.mGet(...keys), keys.map(() => "1"));
  assert.equal(reader.cacheStats()!.hits, hits + 1);
  await writer.set(keys[keys.length - 1], "2");
  await roundTrip();
  assert.deepEqual(await reader.mGet(...keys), [...keys.slice(1).map(() => "1"), "2"]);
});

test("cluster cache: a node's connection killed clears the cache; no stale read", async () => {
  const [[owner, k]] = [...(await keysOnEveryMaster("kill")).entries()];
  await writer.set(k, "1");
  await reader.get(k);
  assert.equal(await reader.get(k), "1");
  const node = plain.get(owner)!;
  const ids = String(await node.send("CLIENT", "LIST", "TYPE", "normal"))
    .split("\n").filter((line) => line.includes(` name=${READER} `))
    .map((line) => /id=(\d+)/.exec(line)![1]);
  assert.equal(ids.length, 1, "the reader's one connection to the key's node");
  const lost = new Promise<void>((resolve) => {
    const stop = reader.on("disconnect", () => {
      stop();
      resolve();
    });
  });
  assert.equal(await node.send("CLIENT", "KILL", "ID", ids[0]), 1);
  await writer.set(k, "2"); // the reader lost this node: the invalidation too
  await lost;
  assert.equal(await reader.get(k), "2");
  await writer.set(k, "3");
  await roundTrip();
  assert.equal(await reader.get(k), "3");
});

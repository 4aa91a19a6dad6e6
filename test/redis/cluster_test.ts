// RedisClusterClient against a real 6-node Redis Cluster (3 masters, 3 replicas): routing of
// 1,000 keys, cross-slot refusal and splits, pipelines across nodes, slot-bound transactions,
// scripts, scanIter, blocking commands, and a live slot migration (ASK, then MOVED).
import { after, before, test } from "node:test";
import { spawn } from "node:child_process";
import assert from "node:assert/strict";
import { type RedisClusterServers, startRedisCluster } from "../../scripts/servers.ts";
import { defaultConnect } from "../../src/core/default_connect.ts";
import { ConnectError } from "../../src/core/errors.ts";
import type { Connect } from "../../src/core/transport.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisClusterClient } from "../../src/redis/cluster/client.ts";
import { keySlot } from "../../src/redis/cluster/slot.ts";
import { RedisError } from "../../src/redis/errors.ts";
import type { ResubscribedMessage } from "../../src/redis/pubsub.ts";
import { collectUnhandledRejections } from "../_helpers/hostile_server.ts";
import {
  migrateSlot as moveSlot,
  ownerOf as clusterOwner,
  ownersOf as clusterOwners,
} from "./_cluster.ts";

let servers: RedisClusterServers;
let cluster: RedisClusterClient<string>;
const plain = new Map<string, RedisClient<string>>();
const prefix = `cl:${crypto.randomUUID().slice(0, 8)}:`;

before(async () => {
  servers = await startRedisCluster();
  cluster = await RedisClusterClient.connect({
    nodes: servers.endpoints.slice(0, 2),
    decode: true,
  });
  for (const endpoint of servers.endpoints) {
    const [host, port] = endpoint.split(":");
    plain.set(endpoint, await RedisClient.connect({ host, port: Number(port), decode: true }));
  }
});

after(async () => {
  await cluster?.close();
  await Promise.all([...plain.values()].map((c) => c.close()));
  await servers?.stop();
});

const ownersOf = (slots: Iterable<number>) => clusterOwners(plain, slots);
const ownerOf = (slot: number) => clusterOwner(plain, slot);

test("redis cluster: 1,000 keys over every master, each stored on the owner of its slot", async () => {
  const keys = Array.from({ length: 1000 }, (_, i) => `${prefix}k${i}`);
  await Promise.all(keys.map((k, i) => cluster.set(k, `v${i}`)));
  const values = await Promise.all(keys.map((k) => cluster.get(k)));
  assert.deepEqual(values, keys.map((_, i) => `v${i}`));
  const slots = await Promise.all(keys.map((k) => cluster.send("CLUSTER", "KEYSLOT", k)));
  assert.deepEqual(slots, keys.map((k) => keySlot(k)));
  const owners = await ownersOf(new Set(slots as number[]));
  const perNode = new Map<string, number>();
  await Promise.all(keys.map(async (k) => {
    const owner = owners.get(keySlot(k))!;
    assert.equal(await plain.get(owner)!.exists(k), 1, `${k} on ${owner}`);
    perNode.set(owner, (perNode.get(owner) ?? 0) + 1);
  }));
  assert.equal(perNode.size, 3, "keys landed on all three masters");
});

test("redis cluster: multi-key commands across slots are refused before sending, or split", async () => {
  const [a, b] = [`${prefix}ma`, `${prefix}mb`];
  assert.notEqual(keySlot(a), keySlot(b));
  await assert.rejects(
    cluster.sInter(a, b),
    (e: Error) => e instanceof RangeError && /SINTER/.test(e.message),
  );
  await assert.rejects(cluster.rename(a, b), RangeError);
  await cluster.mSet({ [a]: "1", [b]: "2", [`{${a}}x`]: "3" });
  assert.deepEqual(await cluster.mGet(a, b, `{${a}}x`, `${prefix}missing`), ["1", "2", "3", null]);
  assert.equal(await cluster.exists(a, b, `${prefix}missing`), 2);
  assert.equal(await cluster.del(a, b, `{${a}}x`), 3);
  // Keys sharing a hash tag stay one command on one node.
  await cluster.sAdd(`{${prefix}t}1`, "x", "y");
  await cluster.sAdd(`{${prefix}t}2`, "y", "z");
  assert.deepEqual(await cluster.sInter(`{${prefix}t}1`, `{${prefix}t}2`), ["y"]);
});

test("redis cluster: a pipeline over random slots is split per node and answered in order", async () => {
  const p = cluster.pipeline();
  for (let i = 0; i < 300; i++) p.set(`${prefix}p${i}`, `${i}`).get(`${prefix}p${i}`);
  p.incr(`${prefix}p0`).hGet(`${prefix}p1`, "f"); // an error reply stays a value in place
  const results = await p.exec();
  for (let i = 0; i < 300; i++) {
    assert.equal(results[2 * i], true);
    assert.equal(results[2 * i + 1], `${i}`);
  }
  assert.equal(results[600], 1);
  assert.ok(results[601] instanceof RedisError && results[601].serverCode === "WRONGTYPE");
});

test("redis cluster: MULTI/EXEC and WATCH are bound to one slot", async () => {
  const tag = `{${prefix}tx}`;
  assert.deepEqual(await cluster.multi().incr(`${tag}a`).incr(`${tag}b`).get(`${tag}a`).exec(), [
    1,
    1,
    "1",
  ]);
  await assert.rejects(cluster.multi().incr(`${prefix}x1`).incr(`${prefix}x2`).exec(), RangeError);
  const done = await cluster.transaction(async (conn) => {
    const n = Number(await conn.get(`${tag}a`));
    return conn.multi().set(`${tag}a`, `${n + 10}`);
  }, `${tag}a`);
  assert.deepEqual(done, [true]);
  assert.equal(await cluster.get(`${tag}a`), "11");
  await assert.rejects(
    cluster.transaction((c) => Promise.resolve(c.multi()), `${prefix}w1`, `${prefix}w2`),
    RangeError,
  );
});

test("redis cluster: scripts run on the node of their first key (EVALSHA, EVAL on NOSCRIPT)", async () => {
  const script = cluster.registerScript(`return redis.call('incrby', KEYS[1], ARGV[1])`);
  const keys = Array.from({ length: 30 }, (_, i) => `${prefix}s${i}`);
  assert.deepEqual(await Promise.all(keys.map((k) => script.run([k], [5]))), keys.map(() => 5));
  const p = cluster.pipeline();
  for (const k of keys) script.queue(p, [k], [1]);
  assert.deepEqual(await p.exec(), keys.map(() => 6));
});

test("redis cluster: scanIter sees the keys of every master", async () => {
  const keys = Array.from({ length: 50 }, (_, i) => `${prefix}scan:${i}`);
  await Promise.all(keys.map((k) => cluster.set(k, "1")));
  const seen: string[] = [];
  for await (const k of cluster.scanIter({ match: `${prefix}scan:*`, count: 100 })) seen.push(k);
  assert.deepEqual(seen.sort(), keys.sort());
});

test("redis cluster: blocking commands wait on a dedicated connection of the key's master", async () => {
  const list = `${prefix}jobs`;
  const popped = cluster.blPop(list, 5);
  assert.equal(await cluster.get(`${prefix}p2`), "2", "the shared connection is not held up");
  await cluster.rPush(list, "job1");
  assert.deepEqual(await popped, [list, "job1"]);
});

test("redis cluster: a blocking command on a slot that moved behind the client's back follows MOVED", async () => {
  await using stale = await RedisClusterClient.connect({
    nodes: servers.endpoints.slice(0, 1),
    decode: true,
    refreshInterval: 0,
  });
  const list = `{${prefix}bmove}jobs`;
  const slot = keySlot(list);
  await cluster.rPush(list, "job1");
  const source = await ownerOf(slot);
  const masters = [...new Set(await Promise.all([0, 6000, 12000].map((s) => ownerOf(s))))];
  await migrateSlot(slot, masters.find((m) => m !== source)!);
  assert.deepEqual(await stale.blPop(list, 1), [list, "job1"]);
});

/** `cmdstat_get` calls of every node since its stats were reset. */
async function getCalls(): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const [endpoint, node] of plain) {
    const info = String(await node.send("INFO", "commandstats"));
    calls.set(endpoint, Number(/cmdstat_get:calls=(\d+)/.exec(info)?.[1] ?? 0));
  }
  return calls;
}

test("redis cluster: readFrom replica sends reads to replicas (READONLY), writes to masters", async () => {
  const readers = await RedisClusterClient.connect({
    nodes: servers.endpoints.slice(0, 1),
    decode: true,
    readFrom: "replica",
  });
  const keys = Array.from({ length: 60 }, (_, i) => `${prefix}ro${i}`);
  await Promise.all(keys.map((k) => readers.set(k, k)));
  for (const master of new Set((await ownersOf(keys.map((k) => keySlot(k)))).values())) {
    await plain.get(master)!.send("WAIT", 1, 2000); // the replicas have every write
  }
  await Promise.all([...plain.values()].map((n) => n.send("CONFIG", "RESETSTAT")));
  assert.deepEqual(await Promise.all(keys.map((k) => readers.get(k))), keys);
  const calls = await getCalls();
  const roles = new Map<string, string>();
  for (const [endpoint, node] of plain) {
    roles.set(endpoint, String(((await node.send("ROLE")) as unknown[])[0]));
  }
  let onReplicas = 0;
  for (const [endpoint, n] of calls) {
    if (roles.get(endpoint) === "slave") onReplicas += n;
    else assert.equal(n, 0, `no GET on master ${endpoint}`);
  }
  assert.equal(onReplicas, keys.length);
  await readers.close();
});

const migrateSlot = (
  slot: number,
  target: string,
  midway?: (moved: string[], source: RedisClient<string>) => Promise<void>,
) => moveSlot(plain, slot, target, midway);

test("redis cluster: a slot migrated during reads: ASK then MOVED, no read fails", async () => {
  const tag = `${prefix}mig`;
  const slot = keySlot(tag);
  const keys = Array.from({ length: 120 }, (_, i) => `{${tag}}${i}`);
  await Promise.all(keys.map((k, i) => cluster.set(k, `${i}`)));
  const masters = [...new Set(await Promise.all([0, 6000, 12000].map((s) => ownerOf(s))))];
  const source = await ownerOf(slot);
  const target = masters.find((m) => m !== source)!;
  let failures = 0;
  let reads = 0;
  let stop = false;
  const readAll = async (): Promise<void> => {
    const values = await Promise.allSettled(keys.map((k) => cluster.get(k)));
    for (const [i, v] of values.entries()) {
      reads++;
      if (v.status === "rejected" || v.value !== `${i}`) failures++;
    }
  };
  const leaked = await collectUnhandledRejections(async () => {
    const traffic = (async () => {
      while (!stop) await readAll();
    })();
    // Half way some keys moved and the rest not: the source answers ASK for the moved ones.
    await migrateSlot(slot, target, async (moved, from) => {
      await assert.rejects(from.get(moved[0]), (e: Error) => /^ASK /.test(e.message));
      await readAll();
    });
    await readAll(); // after: MOVED
    stop = true;
    await traffic;
  });
  assert.deepEqual(leaked, []);
  assert.equal(failures, 0, `${failures} of ${reads} reads failed`);
  assert.equal(await ownerOf(slot), target);
  assert.equal(await cluster.get(keys[7]), "7");
  assert.equal(await plain.get(target)!.exists(keys[7]), 1);
});

test("redis cluster: sharded pub/sub on the channel's master; classic pub/sub on one master", async () => {
  const channel = `${prefix}orders`;
  await using sub = cluster.shardPubsub();
  let resolveShard!: (data: string) => void;
  const got = new Promise<string>((resolve) => (resolveShard = resolve));
  await sub.ssubscribe({ [channel]: (m) => resolveShard(String(m.data)) }, `${prefix}other`);
  assert.deepEqual(sub.shardChannels, [channel, `${prefix}other`]);
  assert.notEqual(keySlot(channel), keySlot(`${prefix}other`), "two slots, two SSUBSCRIBEs");
  assert.equal(await cluster.sPublish(channel, "o-1"), 1, "routed to the subscriber's node");
  assert.equal(await got, "o-1");
  await sub.sunsubscribe(channel);
  assert.deepEqual(sub.shardChannels, [`${prefix}other`]);
  assert.equal(await cluster.sPublish(channel, "o-2"), 0, "unsubscribed on its master");
  assert.equal(await cluster.sPublish(`${prefix}other`, "x"), 1);
  await sub.sunsubscribe();
  assert.equal(await cluster.sPublish(`${prefix}other`, "y"), 0, "unsubscribed from all");
  await using classic = cluster.pubsub();
  let resolveNews!: (data: string) => void;
  const news = new Promise<string>((resolve) => (resolveNews = resolve));
  await classic.subscribe({ [`${prefix}news`]: (m) => resolveNews(String(m.data)) });
  await cluster.publish(`${prefix}news`, "n-1"); // any master: the cluster forwards it
  assert.equal(await news, "n-1");
});

test("redis cluster: an SSUBSCRIBE refused with MOVED leaves nothing to resubscribe", async () => {
  const channel = `${prefix}elsewhere`;
  const owner = await ownerOf(keySlot(channel));
  const other = [...plain.keys()].find((e) => e !== owner && servers.endpoints.indexOf(e) < 3)!;
  const [host, port] = other.split(":");
  const client = await RedisClient.connect({ host, port: Number(port), decode: true });
  await using sub = client.pubsub();
  await assert.rejects(sub.ssubscribe(channel), (e: Error) => /^MOVED /.test(e.message));
  assert.deepEqual(sub.shardChannels, [], "the refused channel is not kept");
  await client.close();
});

test("redis cluster: shard subscribers follow their channels' slot to its new master", async () => {
  const tag = `{${prefix}moving}`;
  const [queued, handled] = [`${tag}queued`, `${tag}handled`];
  const slot = keySlot(tag);
  const markers: ResubscribedMessage[] = [];
  await using sub = cluster.shardPubsub({ onResubscribe: (m) => markers.push(m) });
  const handledData: string[] = [];
  let resolveHandled!: () => void;
  const handledAfter = new Promise<void>((resolve) => (resolveHandled = resolve));
  await sub.ssubscribe(queued, {
    [handled]: (m) => {
      handledData.push(String(m.data));
      if (m.data === "after") resolveHandled();
    },
  });
  assert.equal(await cluster.sPublish(queued, "before"), 1);
  const seen: { type: string; channel: string; data: unknown }[] = [];
  const next = async (): Promise<{ type: string; channel: string; data: unknown }> => {
    const m = await sub.getMessage({ timeout: 5000 });
    assert.ok(m, "a message within 5 s");
    seen.push(m);
    return m;
  };
  while ((await next()).type !== "smessage");
  const source = await ownerOf(slot);
  const masters = [...new Set(await Promise.all([0, 6000, 12000].map((s) => ownerOf(s))))];
  const target = masters.find((m) => m !== source)!;
  await migrateSlot(slot, target);
  assert.equal(await ownerOf(slot), target);
  // The marker, then the new master's confirmations: from then on, messages arrive.
  let marker;
  while ((marker = await next()).type !== "resubscribed");
  (marker as ResubscribedMessage).shardChannels.sort(); // in the order the old master dropped them
  assert.deepEqual(marker, {
    type: "resubscribed",
    channel: "",
    reason: "moved",
    data: 2,
    channels: [],
    patterns: [],
    shardChannels: [handled, queued],
  });
  assert.deepEqual(markers, [marker], "onResubscribe got the same marker");
  const confirmed = new Set<string>();
  while (confirmed.size < 2) {
    const m = await next();
    if (m.type === "ssubscribe") confirmed.add(m.channel);
  }
  assert.equal(await cluster.sPublish(queued, "after"), 1, "published on the new master");
  assert.equal(await cluster.sPublish(handled, "after"), 1);
  const after = await next();
  assert.deepEqual([after.type, after.channel, after.data], ["smessage", queued, "after"]);
  await handledAfter;
  assert.deepEqual(handledData, ["after"]);
  assert.deepEqual(sub.shardChannels, [queued, handled]);
  assert.equal(
    seen.filter((m) => m.type === "sunsubscribe").length,
    0,
    "the old master's drop is not passed on as an unsubscribe",
  );
});

test("redis cluster: redis-cli --cluster reshard of 1,000 slots during reads: none fails", async () => {
  const keys = Array.from({ length: 3000 }, (_, i) => `${prefix}rs${i}`);
  await Promise.all(keys.map((k) => cluster.set(k, k)));
  const [from, to] = [...new Set((await ownersOf([0, 16383])).values())];
  const ids = await Promise.all([from, to].map((m) => plain.get(m)!.send("CLUSTER", "MYID")));
  const reshard = new Promise<number | null>((resolve, reject) => {
    const child = spawn("redis-cli", [
      ...["--cluster", "reshard", from, "--cluster-from", String(ids[0])],
      ...["--cluster-to", String(ids[1]), "--cluster-slots", "1000", "--cluster-yes"],
    ], { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", resolve);
  });
  let done = false;
  void reshard.finally(() => (done = true));
  let reads = 0;
  const failures: string[] = [];
  const leaked = await collectUnhandledRejections(async () => {
    while (!done) {
      const batch = keys.slice(reads % 2000, (reads % 2000) + 1000);
      const values = await Promise.allSettled(batch.map((k) => cluster.get(k)));
      values.forEach((v, i) => {
        if (v.status === "rejected") failures.push(String(v.reason));
        else if (v.value !== batch[i]) failures.push(`${batch[i]}: ${v.value}`);
      });
      reads += batch.length;
    }
  });
  assert.equal(await reshard, 0, "redis-cli reshard succeeded");
  console.log(`# reshard of 1,000 slots: ${reads} reads during it, ${failures.length} failed`);
  assert.deepEqual(leaked, []);
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${reads} reads failed`);
  assert.equal((await ownersOf([0])).get(0), to, "slot 0 moved");
  assert.deepEqual(await cluster.mGet(...keys.slice(0, 50)), keys.slice(0, 50));
});

test("redis cluster: the user's connector opens every node connection", async () => {
  const reached = new Set<string>();
  const counting: Connect = (address, options) => {
    if ("host" in address) reached.add(`${address.host}:${address.port}`);
    return defaultConnect(address, options);
  };
  const own = await RedisClusterClient.connect({
    nodes: servers.endpoints.slice(0, 1),
    connect: counting,
  });
  await Promise.all(Array.from({ length: 100 }, (_, i) => own.set(`${prefix}c${i}`, "1")));
  const masters = new Set((await ownersOf([0, 6000, 12000])).values());
  for (const master of masters) assert.ok(reached.has(master), `${master} through the connector`);
  await own.close();
});

test("redis cluster: perMaster views reach each master; FLUSHALL empties every master", async () => {
  const views = cluster.perMaster();
  assert.equal(views.length, 3);
  const sizes = await Promise.all(views.map((m) => m.dbSize()));
  assert.ok(sizes.every((n) => n > 0), `every master holds keys: ${sizes}`);
  assert.equal(await cluster.flushAll(), true);
  assert.deepEqual(await Promise.all(views.map((m) => m.dbSize())), [0, 0, 0]);
});

test("redis cluster: a classic subscriber whose node became unreachable resubscribes on another master", async () => {
  const blocked = new Set<string>();
  const connect: Connect = (address, options) =>
    "host" in address && blocked.has(`${address.host}:${address.port}`)
      ? Promise.reject(new ConnectError(`${address.host}:${address.port} is blocked`))
      : defaultConnect(address, options);
  await using own = await RedisClusterClient.connect({
    nodes: servers.endpoints.slice(0, 1),
    decode: true,
    connect,
  });
  await using sub = own.pubsub();
  const channel = `${prefix}classic`;
  await sub.subscribe(channel);
  const holders = async (): Promise<string[]> => {
    const found: string[] = [];
    for (const [endpoint, node] of plain) {
      const [, n] = (await node.send("PUBSUB", "NUMSUB", channel)) as [string, number];
      if (n > 0) found.push(endpoint); // PUBSUB NUMSUB counts this node's subscribers only
    }
    return found;
  };
  const [holder] = await holders();
  assert.ok(holder, "subscribed on some node");
  blocked.add(holder);
  await plain.get(holder)!.send("CLIENT", "KILL", "TYPE", "pubsub");
  const next = async (type: string) => {
    for (;;) {
      // Reconnecting backs off, then needs a fresh map to pick another master: a loaded
      // machine can take several seconds.
      const m = await sub.getMessage({ timeout: 15_000 });
      assert.ok(m, `a ${type} message within 15 s`);
      if (m.type === type) return m;
    }
  };
  assert.deepEqual((await next("resubscribed") as ResubscribedMessage).channels, [channel]);
  await next("subscribe"); // on the new connection
  const [moved] = await holders();
  assert.notEqual(moved, holder, "on another master");
  await own.publish(channel, "after");
  assert.equal((await next("message")).data, "after");
});

// Last: it kills a replica.
test("redis cluster: preferReplica reads from a replica, and from the master once it is lost", async () => {
  const replicas: [string, string][] = []; // [replica, its master]
  for (const endpoint of servers.endpoints) {
    const role = (await plain.get(endpoint)!.send("ROLE")) as unknown[];
    if (role[0] === "slave") replicas.push([endpoint, `${role[1]}:${role[2]}`]);
  }
  const [replica, master] = replicas[0];
  const keys = Array.from({ length: 100 }, (_, i) => `${prefix}pr${i}`);
  const owners = await ownersOf(keys.map((k) => keySlot(k)));
  const onMaster = keys.find((k) => owners.get(keySlot(k)) === master)!;
  await using readers = await RedisClusterClient.connect({
    nodes: [master],
    decode: true,
    readFrom: "preferReplica",
  });
  await readers.set(onMaster, "v");
  await plain.get(master)!.send("WAIT", 1, 2000);
  await plain.get(replica)!.send("CONFIG", "RESETSTAT");
  assert.equal(await readers.get(onMaster), "v");
  const replicaInfo = String(await plain.get(replica)!.send("INFO", "commandstats"));
  assert.match(replicaInfo, /cmdstat_get:calls=1,/, "the read went to the replica");
  await servers.nodes[servers.endpoints.indexOf(replica)].stop(); // SIGKILL
  assert.equal(await readers.get(onMaster), "v", "answered by the master");
});

test("redis cluster: a transaction on a slot that moved behind the client's back follows MOVED and runs once", async () => {
  const key = `${prefix}{multi-moved}`;
  await cluster.set(key, "0");
  const slot = keySlot(key);
  const source = await ownerOf(slot);
  const masters = new Set((await ownersOf([0, 6000, 12000])).values());
  const target = [...masters].find((m) => m !== source)!;
  await moveSlot(plain, slot, target); // the client still maps the slot to `source`
  const results = await cluster.multi().incr(key).incr(key).exec();
  assert.deepEqual(results, [1, 2]);
  assert.equal(await plain.get(target)!.get(key), "2", "it ran once, on the new owner");
  assert.equal(await ownerOf(slot), target);
});

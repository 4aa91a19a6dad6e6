// The cluster client's dedicated connections while slots move, against a real 3-master Redis
// Cluster: WATCH transactions follow MOVED (on WATCH, or EXECABORT after a queued MOVED) and run
// once; blocking commands follow ASK; a node that left the slot map has its dedicated
// connections closed (idle ones at once, a busy one when its call settled) and its classic
// subscriber moved to another master. The master a slot resolves to follows a MOVED, a
// replaced connection and a reloaded map.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type RedisClusterServers, startRedisCluster } from "../../scripts/servers.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisClusterClient } from "../../src/redis/cluster/client.ts";
import { keySlot } from "../../src/redis/cluster/slot.ts";
import { ClusterTopology } from "../../src/redis/cluster/topology.ts";
import type { RedisClusterEvents } from "../../src/redis/observe.ts";
import type { PubSub, PubSubMessage, ResubscribedMessage } from "../../src/redis/pubsub.ts";
import { collectUnhandledRejections } from "../_helpers/hostile_server.ts";
import { until } from "../_helpers/observe_recorder.ts";
import { migrateSlot, ownerOf, ownersOf } from "./_cluster.ts";

let servers: RedisClusterServers;
const plain = new Map<string, RedisClient<string>>();
const prefix = `mv:${crypto.randomUUID().slice(0, 8)}:`;

before(async () => {
  servers = await startRedisCluster({ replicas: 0 });
  for (const endpoint of servers.endpoints) {
    const [host, port] = endpoint.split(":");
    plain.set(endpoint, await RedisClient.connect({ host, port: Number(port), decode: true }));
  }
});

after(async () => {
  await Promise.all([...plain.values()].map((c) => c.close()));
  await servers?.stop();
});

/** A client whose map goes stale: no periodic refresh. */
function staleClient(): Promise<RedisClusterClient<string>> {
  return RedisClusterClient.connect({
    nodes: servers.endpoints.slice(0, 1),
    decode: true,
    refreshInterval: 0,
  });
}

/** Another master than the one serving `key`'s slot. */
async function otherMaster(key: string): Promise<string> {
  const source = await ownerOf(plain, keySlot(key));
  return servers.endpoints.find((e) => e !== source)!;
}

test("redis cluster moves: a WATCH transaction on a slot that moved follows MOVED and runs once", async () => {
  await using cluster = await staleClient();
  const key = `${prefix}{watch-moved}`;
  await cluster.set(key, "1");
  const target = await otherMaster(key);
  await migrateSlot(plain, keySlot(key), target); // the client still maps the slot to the source
  let calls = 0;
  const done = await cluster.transaction(async (conn) => {
    calls++;
    const n = Number(await conn.get(key));
    return conn.multi().set(key, `${n + 10}`);
  }, key);
  assert.deepEqual(done, [true]);
  assert.equal(calls, 1, "WATCH was refused with MOVED: fn ran only at the new owner");
  assert.equal(await plain.get(target)!.get(key), "11");
});

test("redis cluster moves: a slot moved between WATCH and EXEC aborts (MOVED) and runs again at the new owner", async () => {
  await using cluster = await staleClient();
  const key = `${prefix}{exec-moved}`;
  await cluster.set(key, "5");
  const target = await otherMaster(key);
  const redirects: RedisClusterEvents["redirect"][] = [];
  cluster.on("redirect", (e) => redirects.push(e));
  let calls = 0;
  const done = await cluster.transaction(async (conn) => {
    calls++;
    const n = Number(await conn.get(key));
    if (calls === 1) await migrateSlot(plain, keySlot(key), target); // after WATCH, before EXEC
    return conn.multi().set(key, `${n + 1}`);
  }, key);
  assert.deepEqual(done, [true]);
  assert.equal(calls, 2, "EXECABORT after MOVED: nothing ran, fn ran again");
  assert.equal(await plain.get(target)!.get(key), "6", "the increment happened once");
  assert.deepEqual(redirects.map((r) => [r.kind, r.to]), [["MOVED", target]]);
});

test("redis cluster moves: a blocking command on a slot being migrated follows ASK", async () => {
  await using cluster = await staleClient();
  const list = `{${prefix}bask}jobs`;
  await cluster.rPush(list, "job1");
  const target = await otherMaster(list);
  const redirects: RedisClusterEvents["redirect"][] = [];
  cluster.on("redirect", (e) => redirects.push(e));
  await migrateSlot(plain, keySlot(list), target, async (moved, from) => {
    // Half way: the source still serves the slot but answers ASK for the moved key.
    assert.deepEqual(moved, [list]);
    await assert.rejects(from.lPop(list), (e: Error) => /^ASK /.test(e.message));
    assert.deepEqual(await cluster.blPop(list, 1), [list, "job1"]);
    await cluster.rPush(list, "job2"); // ASK again (a plain command), ASKING then RPUSH
    assert.deepEqual(await cluster.brPop(list, 1), [list, "job2"]);
  });
  assert.deepEqual(redirects.map((r) => r.kind), ["ASK", "ASK", "ASK"]);
  assert.equal(await plain.get(target)!.exists(list), 0);
});

/** The members of the cluster client's stats at `address` that are not closed. */
function openAt(cluster: RedisClusterClient<string>, address: string): number {
  return cluster.stats().members.filter((m) => m.address === address && m.state !== "closed")
    .length;
}

/** The node holding the one subscriber of `channel` (PUBSUB NUMSUB counts a node's own). */
async function holderOf(channel: string): Promise<string | undefined> {
  for (const [endpoint, node] of plain) {
    const [, n] = (await node.send("PUBSUB", "NUMSUB", channel)) as [string, number];
    if (n > 0) return endpoint;
  }
  return undefined;
}

test("redis cluster moves: connections to a node that left the map close (dedicated: idle at once, busy when settled; a classic subscriber moves)", async () => {
  await using cluster = await staleClient();
  const seed = servers.endpoints[0];
  // A classic subscriber lands on a random master: the node that leaves is the first not the seed.
  const tried: PubSub<string>[] = [];
  let leaving: string | undefined;
  for (let n = 0; n < 40 && (leaving === undefined || leaving === seed); n++) {
    const sub = cluster.pubsub();
    tried.push(sub);
    await sub.subscribe(`${prefix}classic${tried.length}`);
    leaving = await holderOf(`${prefix}classic${tried.length}`);
  }
  assert.ok(leaving !== undefined && leaving !== seed, "a subscriber on another master");
  await using sub = tried.pop()!;
  const channel = `${prefix}classic${tried.length + 1}`;
  await Promise.all(tried.map((t) => t.close()));
  const next = async (type: string): Promise<PubSubMessage<string>> => {
    for (;;) {
      const m = await sub.getMessage({ timeout: 5000 });
      assert.ok(m, `a ${type} message within 5 s`);
      if (m.type === type) return m;
    }
  };
  await next("subscribe");
  const owners = await ownersOf(plain, Array.from({ length: 16384 }, (_, s) => s));
  const slots = [...owners].filter(([, owner]) => owner === leaving).map(([slot]) => slot);
  const inSlot = (n: number): string => {
    for (let i = 0;; i++) {
      const key = `${prefix}leave${n}:${i}`;
      if (owners.get(keySlot(key)) === leaving) return key;
    }
  };
  const [idleKey, busyKey] = [inSlot(0), inSlot(1)];
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const leaked = await collectUnhandledRejections(async () => {
    let held = 0;
    const busy = cluster.transaction(async (conn) => {
      held++;
      await conn.get(busyKey);
      await gate;
      return conn.multi().set(busyKey, "done");
    }, busyKey);
    await until(() => held > 0); // the transaction holds a dedicated connection of `leaving`
    await cluster.rPush(idleKey, "x");
    assert.deepEqual(await cluster.blPop(idleKey, 1), [idleKey, "x"]); // a second one, now idle
    const before = openAt(cluster, leaving);

    // Every slot of `leaving` goes to the seed, it resets, and the others forget it (it runs on).
    const ids = new Map<string, string>();
    for (const [e, c] of plain) ids.set(e, (await c.send("CLUSTER", "MYID")) as string);
    const node = (e: string): RedisClient<string> => plain.get(e)!;
    await node(leaving).send("FLUSHALL");
    const others = servers.endpoints.filter((e) => e !== seed && e !== leaving);
    for (const e of [leaving, seed, ...others]) { // it turns a replica of the seed at the last
      await Promise.all(
        slots.map((s) => node(e).send("CLUSTER", "SETSLOT", s, "NODE", ids.get(seed)!)),
      );
    }
    await node(leaving).send("CLUSTER", "RESET", "SOFT");
    for (const e of [seed, ...others]) await node(e).send("CLUSTER", "FORGET", ids.get(leaving)!);
    await cluster.refreshSlots();
    assert.deepEqual(cluster.masters.map((m) => `${m.host}:${m.port}`).includes(leaving), false);
    assert.deepEqual((await next("resubscribed") as ResubscribedMessage).channels, [channel]);
    await next("subscribe"); // on the new connection
    assert.notEqual(await holderOf(channel), leaving, "the subscriber moved to another master");
    await cluster.publish(channel, "after");
    assert.equal((await next("message")).data, "after");
    assert.equal(openAt(cluster, leaving), 1, `of ${before}: the busy one stays, the rest closed`);

    open();
    assert.deepEqual(await busy, [true], "it ran at the slot's new owner");
    assert.equal(openAt(cluster, leaving), 0, "the busy one closed once its call settled");
    assert.equal(await node(seed).get(busyKey), "done");
    assert.equal(held, 2, "EXECABORT after MOVED: run again at the new owner");
  });
  assert.deepEqual(leaked, []);
});

test("redis cluster moves: the master of a slot follows a MOVED, a closed connection and a reloaded map", async () => {
  const topology = new ClusterTopology({
    nodes: servers.endpoints.slice(0, 1),
    refreshInterval: 0,
  });
  try {
    await topology.refresh();
    const slot = keySlot(`${prefix}{owner}`);
    const owner = await ownerOf(plain, slot);
    const first = topology.masterOf(slot)!;
    assert.equal(first.key, owner);
    assert.equal(topology.masterOf(slot), first, "the same node while its connection is open");
    first.conn.destroy();
    const second = topology.masterOf(slot)!;
    assert.notEqual(second, first, "a closed connection is replaced");
    assert.equal(second.key, owner);
    assert.equal(second.conn.isClosed, false);
    assert.equal(await second.conn.request(["PING"]), "PONG");
    const other = servers.endpoints.find((e) => e !== owner)!;
    topology.moved(slot, other); // the slot points at `other` until the refresh it starts
    assert.equal(topology.masterOf(slot)?.key, other);
    await topology.refresh(); // the real map: the slot is still `owner`'s
    assert.equal(topology.masterOf(slot)?.key, owner);
  } finally {
    topology.destroy();
  }
});

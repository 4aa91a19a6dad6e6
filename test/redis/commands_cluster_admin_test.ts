// Tests of the CLUSTER commands (src/redis/commands/cluster_admin.ts) on a cluster this file
// builds with them: masters A and B (slots by ADDSLOTSRANGE and ADDSLOTS, joined by MEET), C a
// replica of A (REPLICATE), and D a lone node for the commands that reset or forget.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type RedisServer, startRedis } from "../../scripts/servers.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisClusterClient } from "../../src/redis/cluster/client.ts";
import { keySlot } from "../../src/redis/cluster/slot.ts";
import { RedisError } from "../../src/redis/errors.ts";
import { eventually } from "../_helpers/process_state.ts";
import { eq } from "../_helpers/redis_modes.ts";

const HOST = "127.0.0.1";
let servers: RedisServer[];
/** Decoding RESP2 clients of A, B, C, D. */
let a: RedisClient<string>, b: RedisClient<string>, c: RedisClient<string>, d: RedisClient<string>;
const ids: Record<"a" | "b" | "c", string> = { a: "", b: "", c: "" };

/** A fresh key of a slot A serves (0..8191). */
function keyOnA(): string {
  for (;;) {
    const key = `kvwire:${crypto.randomUUID()}`;
    if (keySlot(key) <= 8191) return key;
  }
}

async function busPort(client: RedisClient<string>): Promise<number> {
  return Number((await client.configGet("cluster-port")).get("cluster-port"));
}

/**
 * Resolves once A, B and C agree the cluster is whole and C replicates A: C says so, and every
 * node's view (learnt by gossip, so B may learn it last) lists C as A's replica.
 */
async function healthy(): Promise<void> {
  await eventually("the cluster to be ok", async () => {
    const infos = await Promise.all([a, b, c].map((n) => n.clusterInfo()));
    const views = await Promise.all([a, b, c].map((n) => n.clusterNodes()));
    const role = await c.role();
    return infos.every((i) => i.cluster_state === "ok" && i.cluster_known_nodes === 3) &&
      views.every((nodes) => nodes.some((x) => x.id === ids.c && x.masterId === ids.a)) &&
      role.role === "slave" && role.state === "connected";
  });
}

before(async () => {
  servers = await Promise.all(Array.from({ length: 4 }, () => startRedis({ clusterBus: true })));
  [a, b, c, d] = await Promise.all(
    servers.map((s) => RedisClient.connect({ port: s.port, decode: true })),
  );
  ids.a = await a.clusterMyId();
  ids.b = await b.clusterMyId();
  ids.c = await c.clusterMyId();
  assert.equal(await a.clusterAddSlotsRange([0, 8000]), true);
  const rest = Array.from({ length: 191 }, (_, i) => 8001 + i);
  assert.equal(await a.clusterAddSlots(...rest), true);
  assert.equal(await b.clusterAddSlotsRange([8192, 12000], [12001, 16383]), true);
  assert.equal(await a.clusterMeet(HOST, servers[1].port, await busPort(b)), true);
  assert.equal(await a.clusterMeet(HOST, servers[2].port, await busPort(c)), true);
  await eventually(
    "C to know A",
    async () =>
      (await c.clusterNodes()).some((n) => n.id === ids.a && !n.flags.includes("handshake")),
  );
  assert.equal(await c.clusterReplicate(ids.a), true);
  await healthy();
});

after(async () => {
  await Promise.all([a, b, c, d].map((n) => n?.close()));
  await Promise.all(servers.map((s) => s.stop()));
});

const MODES = [[2, false], [3, false], [2, true], [3, true]] as const;

/** Runs `body` with fresh clients of A, B and C in each protocol, bytes and decoded. */
async function inEveryMode(
  body: (
    nodes: { a: RedisClient<unknown>; b: RedisClient<unknown>; c: RedisClient<unknown> },
    v: (text: string) => unknown,
    mode: string,
  ) => Promise<void>,
): Promise<void> {
  for (const [protocol, decode] of MODES) {
    const [na, nb, nc] = await Promise.all(
      servers.slice(0, 3).map((s) => RedisClient.connect({ port: s.port, protocol, decode })),
    );
    const v = (text: string): unknown => decode ? text : new TextEncoder().encode(text);
    try {
      await body(
        {
          a: na as RedisClient<unknown>,
          b: nb as RedisClient<unknown>,
          c: nc as RedisClient<unknown>,
        },
        v,
        `RESP${protocol} ${decode ? "text" : "bytes"}`,
      );
    } finally {
      await Promise.all([na, nb, nc].map((n) => n.close()));
    }
  }
}

test("redis cluster admin: clusterInfo, clusterNodes, clusterReplicas, clusterSlaves", async () => {
  await inEveryMode(async (n, _v, mode) => {
    const info = await n.a.clusterInfo();
    assert.equal(info.cluster_state, "ok", mode);
    assert.equal(info.cluster_slots_assigned, 16384);
    assert.equal(info.cluster_known_nodes, 3);
    assert.equal(info.cluster_size, 2);
    const nodes = await n.a.clusterNodes();
    assert.deepStrictEqual(nodes.map((x) => x.id).sort(), Object.values(ids).sort());
    const me = nodes.find((x) => x.flags.includes("myself"))!;
    assert.equal(me.id, ids.a);
    assert.deepStrictEqual(me.flags, ["myself", "master"]);
    assert.equal(me.masterId, null);
    assert.equal(me.host, HOST);
    assert.equal(me.port, servers[0].port);
    assert.equal(me.busPort, await busPort(a));
    assert.equal(me.linkState, "connected");
    assert.deepStrictEqual(me.slots, [[0, 8191]], "adjacent ranges are reported as one");
    assert.deepStrictEqual(me.migrations, []);
    const bEntry = nodes.find((x) => x.id === ids.b)!;
    assert.deepStrictEqual(bEntry.slots, [[8192, 16383]]);
    assert.ok(bEntry.pongReceived > 0 && bEntry.configEpoch >= 0);
    const [replica] = await n.b.clusterReplicas(ids.a);
    assert.equal(replica.id, ids.c);
    assert.equal(replica.masterId, ids.a);
    assert.ok(replica.flags.includes("slave"));
    assert.deepStrictEqual(await n.b.clusterSlaves(ids.a), [replica]);
    assert.deepStrictEqual(await n.a.clusterReplicas(ids.b), []);
    await assert.rejects(n.a.clusterReplicas("0".repeat(40)), RedisError);
  });
});

test("redis cluster admin: clusterSlots, clusterShards, clusterLinks", async () => {
  await inEveryMode(async (n, _v, mode) => {
    await n.a.set(keyOnA(), "a write for C to replicate");
    assert.ok((await n.a.wait(1, 5000)) >= 1);
    const slots = await n.c.clusterSlots();
    const sorted = [...slots].sort((x, y) => x.start - y.start);
    assert.deepStrictEqual(sorted.map((r) => [r.start, r.end]), [[0, 8191], [8192, 16383]], mode);
    assert.deepStrictEqual(sorted[0].master, {
      host: HOST,
      port: servers[0].port,
      id: ids.a,
      metadata: {},
    });
    assert.deepStrictEqual(sorted[0].replicas.map((r) => r.id), [ids.c]);
    assert.deepStrictEqual(sorted[1].replicas, []);
    const shards = await n.a.clusterShards();
    const shardOfA = shards.find((s) => s.nodes.some((x) => x.id === ids.a))!;
    assert.deepStrictEqual(shardOfA.slots, [[0, 8191]]);
    const roles = Object.fromEntries(shardOfA.nodes.map((x) => [x.id, x.role]));
    assert.deepStrictEqual(roles, { [ids.a]: "master", [ids.c]: "replica" });
    const master = shardOfA.nodes.find((x) => x.id === ids.a)!;
    assert.equal(master.port, servers[0].port);
    assert.equal(master.health, "online");
    assert.equal(typeof master["replication-offset"], "number");
    const links = await n.a.clusterLinks();
    assert.ok(links.length >= 2, "a link to and from each peer");
    for (const link of links) {
      assert.ok(link.direction === "to" || link.direction === "from");
      assert.ok([ids.b, ids.c].includes(link.node as string));
      assert.equal(typeof link["create-time"], "number");
    }
  });
});

test("redis cluster admin: clusterKeySlot, clusterCountKeysInSlot, clusterGetKeysInSlot", async () => {
  await inEveryMode(async (n, v, mode) => {
    assert.equal(await n.a.clusterKeySlot("foo"), 12182, mode);
    const key = `{kvwire}${crypto.randomUUID()}`;
    const slot = await n.a.clusterKeySlot(key);
    const owner = slot <= 8191 ? n.a : n.b;
    assert.equal(await owner.clusterCountKeysInSlot(slot), 0);
    await owner.set(key, "1");
    assert.equal(await owner.clusterCountKeysInSlot(slot), 1);
    eq(await owner.clusterGetKeysInSlot(slot, 10), [v(key)]);
    await owner.del(key);
    assert.throws(() => owner.clusterCountKeysInSlot(16384), RangeError);
    assert.throws(() => owner.clusterGetKeysInSlot(-1, 1), RangeError);
    assert.throws(() => owner.clusterAddSlots(), RangeError);
    assert.throws(() => owner.clusterDelSlotsRange([10, 9]), RangeError);
  });
});

test("redis cluster admin: clusterSetSlot, clusterDelSlots(Range), clusterAddSlots(Range)", async () => {
  await inEveryMode(async (n, _v, mode) => {
    const slot = 8191;
    assert.equal(await n.a.clusterSetSlot(slot, { migrating: ids.b }), true, mode);
    assert.equal(await n.b.clusterSetSlot(slot, { importing: ids.a }), true);
    const mine = (await n.a.clusterNodes()).find((x) => x.id === ids.a)!;
    assert.deepStrictEqual(mine.migrations, [{ slot, nodeId: ids.b, direction: ">" }]);
    const theirs = (await n.b.clusterNodes()).find((x) => x.id === ids.b)!;
    assert.deepStrictEqual(theirs.migrations, [{ slot, nodeId: ids.a, direction: "<" }]);
    assert.equal(await n.a.clusterSetSlot(slot, "STABLE"), true);
    assert.equal(await n.b.clusterSetSlot(slot, "STABLE"), true);
    assert.equal(await n.a.clusterSetSlot(slot, { node: ids.a }), true);
    assert.equal(await n.a.clusterDelSlots(slot), true);
    const without = (await n.a.clusterNodes()).find((x) => x.id === ids.a)!;
    assert.deepStrictEqual(without.slots, [[0, 8190]]);
    assert.equal(await n.a.clusterAddSlots(slot), true);
    assert.equal(await n.a.clusterDelSlotsRange([8100, 8191]), true);
    assert.equal((await n.a.clusterInfo()).cluster_slots_assigned, 16384 - 92);
    assert.equal(await n.a.clusterAddSlotsRange([8100, 8191]), true);
    await assert.rejects(n.a.clusterAddSlots(0), /already busy/);
    await healthy();
  });
});

test("redis cluster admin: countFailureReports, bumpEpoch, saveConfig", async () => {
  await inEveryMode(async (n, _v, mode) => {
    assert.equal(await n.a.clusterCountFailureReports(ids.b), 0, mode);
    const bumped = await n.a.clusterBumpEpoch();
    assert.equal(typeof bumped.bumped, "boolean");
    assert.ok(bumped.epoch >= 1);
    const again = await n.a.clusterBumpEpoch();
    assert.equal(again.bumped, false, "already the greatest epoch");
    assert.equal(again.epoch, bumped.epoch);
    assert.equal(await n.a.clusterSaveConfig(), true);
  });
});

test("redis cluster admin: readOnly, readWrite and asking on a replica's connection", async () => {
  await inEveryMode(async (n, v, mode) => {
    const key = keyOnA();
    await n.a.set(key, "x");
    assert.ok((await n.a.wait(1, 5000)) >= 1, "C has the write");
    await assert.rejects(n.c.get(key), (e) => e instanceof RedisError && e.serverCode === "MOVED");
    assert.equal(await n.c.readOnly(), true, mode);
    eq(await n.c.get(key), v("x"));
    assert.equal(await n.c.readWrite(), true);
    await assert.rejects(n.c.get(key), (e) => e instanceof RedisError && e.serverCode === "MOVED");
    assert.equal(await n.c.asking(), true);
    await n.a.del(key);
  });
});

test("redis cluster admin: clusterFailover promotes the replica, and back", async () => {
  const replica = await RedisClient.connect({ port: servers[2].port, protocol: 3 });
  try {
    assert.equal(await replica.clusterFailover(), true);
    await eventually("C to be master", async () => (await c.role()).role === "master");
    await eventually("A to follow C", async () => (await a.role()).role === "slave");
    assert.equal(await a.clusterFailover("TAKEOVER"), true);
    await eventually("A to be master again", async () => (await a.role()).role === "master");
    await healthy();
  } finally {
    await replica.close();
  }
});

test("redis cluster admin: a lone node: setConfigEpoch, flushSlots, meet, forget, reset", async () => {
  for (const [protocol, decode] of MODES) {
    const lone = await RedisClient.connect({ port: servers[3].port, protocol, decode });
    try {
      assert.equal(await lone.clusterSetConfigEpoch(7), true);
      assert.equal((await lone.clusterNodes())[0].configEpoch, 7);
      assert.equal(await lone.clusterAddSlotsRange([0, 99]), true);
      assert.deepStrictEqual((await lone.clusterNodes())[0].slots, [[0, 99]]);
      assert.equal(await lone.clusterFlushSlots(), true);
      assert.deepStrictEqual((await lone.clusterNodes())[0].slots, []);
      await assert.rejects(lone.clusterForget("0".repeat(40)), /Unknown node/);
      assert.equal(await lone.clusterReset("HARD"), true);
      assert.equal((await lone.clusterNodes())[0].configEpoch, 0, "HARD zeroes the epoch");
      assert.equal(await lone.clusterReset(), true);
    } finally {
      await lone.close();
    }
  }
  // D meets B and learns A and C from it, then forgets all three: only itself is left.
  assert.equal(await d.clusterMeet(HOST, servers[1].port, await busPort(b)), true);
  await eventually("D to know A, B and C", async () => {
    const known = (await d.clusterNodes()).filter((x) => !x.flags.includes("handshake"));
    return Object.values(ids).every((id) => known.some((x) => x.id === id));
  });
  const dId = await d.clusterMyId();
  for (const id of Object.values(ids)) assert.equal(await d.clusterForget(id), true);
  assert.deepStrictEqual((await d.clusterNodes()).map((x) => x.id), [dId]);
  for (const node of [a, b, c]) {
    await eventually(
      "every node to know D",
      async () => (await node.clusterNodes()).some((x) => x.id === dId),
    );
  }
  assert.equal(await d.clusterReset("HARD"), true);
  for (const node of [a, b, c]) assert.equal(await node.clusterForget(dId), true);
  await healthy();
});

test("redis cluster admin: the cluster client has the methods too", async () => {
  const cluster = await RedisClusterClient.connect({
    nodes: [`${HOST}:${servers[0].port}`],
    decode: true,
  });
  try {
    assert.equal(await cluster.clusterKeySlot("foo"), 12182);
    assert.ok([ids.a, ids.b].includes(await cluster.clusterMyId()));
    assert.equal((await cluster.clusterInfo()).cluster_state, "ok");
  } finally {
    await cluster.close();
  }
});

// Observability of RedisClusterClient against a real 6-node Redis Cluster: the first map and a
// moved slot as `topology` events, MOVED and ASK as `redirect` events and counted redirections,
// TRYAGAIN counted as retries, a killed master as `failover`, node connections in stats().
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type RedisClusterServers, startRedisCluster } from "../../scripts/servers.ts";
import type { Operation } from "../../src/core/instrument.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisClusterClient } from "../../src/redis/cluster/client.ts";
import { keySlot } from "../../src/redis/cluster/slot.ts";
import type { RedisClusterEvents } from "../../src/redis/observe.ts";
import { within } from "./_sentinel.ts";

let servers: RedisClusterServers;
const plain = new Map<string, RedisClient<string>>();
const ops: Operation[] = [];
const seen: [string, unknown][] = [];
let cluster: RedisClusterClient<string>;
const prefix = `obs:${crypto.randomUUID().slice(0, 8)}:`;

before(async () => {
  servers = await startRedisCluster();
  for (const endpoint of servers.endpoints) {
    const [host, port] = endpoint.split(":");
    plain.set(endpoint, await RedisClient.connect({ host, port: Number(port), decode: true }));
  }
  cluster = new RedisClusterClient({
    nodes: servers.endpoints.slice(0, 1),
    decode: true,
    refreshInterval: 200,
    instrumentation: { onEnd: (op) => ops.push(op) },
  });
  const names: (keyof RedisClusterEvents)[] = ["topology", "redirect", "failover", "disconnect"];
  for (const name of names) cluster.on(name, (e) => seen.push([name, e]));
});

after(async () => {
  await cluster?.close();
  await Promise.all([...plain.values()].map((c) => c.close()));
  await servers?.stop();
});

/** The next `name` event of the cluster client. */
function next<N extends keyof RedisClusterEvents & string>(
  name: N,
  accept: (e: RedisClusterEvents[N]) => boolean = () => true,
): Promise<RedisClusterEvents[N]> {
  return new Promise((resolve) => {
    const stop = cluster.on(name, (e) => {
      if (!accept(e)) return;
      stop();
      resolve(e);
    });
  });
}

/** The master endpoint serving `slot` now, from a plain connection's CLUSTER SLOTS. */
async function ownerOf(slot: number): Promise<string> {
  const any = plain.get(servers.endpoints[1])!;
  const ranges = (await any.send("CLUSTER", "SLOTS")) as [number, number, [string, number]][];
  const range = ranges.find(([first, last]) => slot >= first && slot <= last)!;
  return `${range[2][0]}:${range[2][1]}`;
}

async function idOf(endpoint: string): Promise<string> {
  return (await plain.get(endpoint)!.send("CLUSTER", "MYID")) as string;
}

/** The masters of the cluster now. */
async function masters(): Promise<string[]> {
  return [...new Set(await Promise.all([0, 6000, 12000].map(ownerOf)))];
}

test("redis observe cluster: the first map is a topology event; commands name their node", async () => {
  const first = next("topology");
  const key = `${prefix}a`;
  await cluster.set(key, "1");
  const event = await first;
  assert.equal(event.reason, "connect");
  assert.deepEqual([...event.nodes].sort(), [...(await masters())].sort());
  const op = ops.findLast((o) => o.operation === "SET")!;
  assert.equal(`${op.serverAddress}:${op.serverPort}`, await ownerOf(keySlot(key)));
  assert.equal(op.namespace, "0");
  assert.equal(op.redirections, 0);
  const members = cluster.stats().members.map((m) => m.address);
  assert.ok(members.includes(await ownerOf(keySlot(key))), members.join());
});

test("redis observe cluster: a moved slot is a MOVED redirect, then a topology event", async () => {
  const key = `${prefix}moved`;
  const slot = keySlot(key);
  await cluster.get(key); // the map knows the slot's owner
  const source = await ownerOf(slot);
  const victim = `${servers.nodes[0].host}:${servers.nodes[0].port}`; // the failover test's
  const target = (await masters()).find((m) => m !== source && m !== victim)!;
  const targetId = await idOf(target);
  for (const endpoint of await masters()) {
    await plain.get(endpoint)!.send("CLUSTER", "SETSLOT", slot, "NODE", targetId);
  }
  // Without a higher config epoch the target's claim may lose to the source's through gossip
  // still in flight (the slot then bounces back); with it, the move sticks.
  await plain.get(target)!.send("CLUSTER", "BUMPEPOCH");
  const redirect = next("redirect");
  const topology = next("topology", (e) => e.reason === "moved");
  assert.equal(await cluster.get(key), null);
  assert.deepEqual(await redirect, { kind: "MOVED", slot, from: source, to: target });
  await within(topology, 5000, "the topology event after MOVED");
  const op = ops.findLast((o) => o.operation === "GET")!;
  assert.equal(op.redirections, 1);
  assert.equal(`${op.serverAddress}:${op.serverPort}`, target);
});

test("redis observe cluster: ASK during a migration; TRYAGAIN counted as retries", async () => {
  const tag = `{${prefix}ask}`;
  const slot = keySlot(tag);
  await cluster.set(`${tag}here`, "1");
  const source = await ownerOf(slot);
  const target = (await masters()).find((m) => m !== source)!;
  const [sourceId, targetId] = [await idOf(source), await idOf(target)];
  await plain.get(target)!.send("CLUSTER", "SETSLOT", slot, "IMPORTING", sourceId);
  await plain.get(source)!.send("CLUSTER", "SETSLOT", slot, "MIGRATING", targetId);
  try {
    // A key the source lacks is asked of the target.
    const redirect = next("redirect");
    assert.equal(await cluster.get(`${tag}elsewhere`), null);
    assert.deepEqual(await redirect, { kind: "ASK", slot, from: source, to: target });
    assert.equal(ops.findLast((o) => o.operation === "GET")!.redirections, 1);
    // A multi-key command over a present and an absent key: TRYAGAIN until the deadline.
    await assert.rejects(cluster.with({ timeout: 150 }).mGet(`${tag}here`, `${tag}gone`));
    const mget = ops.findLast((o) => o.operation === "MGET")!;
    assert.ok(mget.retries >= 1, `${mget.retries} retries`);
    // It ends with the last TRYAGAIN when no retry fits in the deadline, or with the deadline
    // when a retry is still out (on a loaded machine a retry's reply can take that long).
    assert.ok(["SERVER", "TIMEOUT"].includes(mget.errorCode!), `ended with ${mget.errorCode}`);
  } finally {
    for (const endpoint of [source, target]) {
      await plain.get(endpoint)!.send("CLUSTER", "SETSLOT", slot, "STABLE");
    }
  }
});

test("redis observe cluster: a killed master is a failover event naming its replica", async () => {
  const victim = servers.nodes[0];
  const address = `${victim.host}:${victim.port}`;
  assert.ok((await masters()).includes(address), "nodes[0] is a master");
  const replicas = (await plain.get(address)!.send(
    "CLUSTER",
    "REPLICAS",
    await idOf(address),
  )) as string[];
  const replica = /\s(\S+?):(\d+)@/.exec(replicas[0])!.slice(1, 3).join(":");
  const failover = next("failover", (e) => e.from === address);
  await cluster.get(`${prefix}x`); // connections to every master the map names
  plain.get(address)!.destroy();
  await victim.stop(); // SIGKILL
  const event = await within(failover, 20_000, "the failover event");
  assert.equal(event.to, replica);
  assert.ok(event.slots > 0);
  const lost = seen.find(([name, e]) =>
    name === "disconnect" && (e as RedisClusterEvents["disconnect"]).address === address
  );
  assert.ok(lost, "the victim's connection was reported lost");
});

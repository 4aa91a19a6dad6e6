// RedisClusterClient while masters are SIGKILLed: under 100 writers every call settles within its
// deadline, `sent: false` writes never ran, writes the replica confirmed (WAIT) before the kill
// survive, later ones may be lost to async replication (counted); a shard subscriber follows its
// slot to the promoted replica.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type RedisClusterServers, startRedisCluster } from "../../scripts/servers.ts";
import { KvError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisClusterClient } from "../../src/redis/cluster/client.ts";
import { keySlot } from "../../src/redis/cluster/slot.ts";
import type { ResubscribedMessage } from "../../src/redis/pubsub.ts";
import { collectUnhandledRejections } from "../_helpers/hostile_server.ts";

let servers: RedisClusterServers;
before(async () => {
  servers = await startRedisCluster();
});
after(async () => {
  await servers?.stop();
});

const DEADLINE_MS = 6000;

test("redis cluster failover: SIGKILL of a master during 100-caller writes", async () => {
  const cluster = await RedisClusterClient.connect({
    nodes: servers.endpoints,
    decode: true,
    commandTimeout: DEADLINE_MS,
  });
  const victim = servers.nodes[0];
  const victimAddress = `${victim.host}:${victim.port}`;
  const [host, port] = victimAddress.split(":");
  const probe = await RedisClient.connect({ host, port: Number(port), decode: true });
  const ranges = (await probe.send("CLUSTER", "SLOTS")) as [number, number, [string, number]][];
  const victimSlots = ranges.filter((r) => `${r[2][0]}:${r[2][1]}` === victimAddress);
  assert.ok(victimSlots.length > 0, "nodes[0] is a master");
  const onVictim = (key: string): boolean =>
    victimSlots.some(([first, last]) => keySlot(key) >= first && keySlot(key) <= last);
  const probeKey = Array.from({ length: 1000 }, (_, i) => `fo:probe:${i}`).find(onVictim)!;

  const acknowledged: string[] = [];
  const notSent: string[] = [];
  const unknown: string[] = [];
  let slowest = 0;
  let killedAt = 0;
  let recoveredAt = 0;
  let stop = false;
  let confirmed = 0;
  let replicasAcked = 0;
  const caller = async (id: number): Promise<void> => {
    for (let n = 0; !stop; n++) {
      const key = `fo:${id}:${n}`;
      const started = performance.now();
      try {
        await cluster.set(key, "1");
        acknowledged.push(key);
        if (killedAt && !recoveredAt && onVictim(key)) recoveredAt = performance.now();
      } catch (error) {
        assert.ok(error instanceof KvError, String(error));
        (error.sent ? unknown : notSent).push(key);
      }
      slowest = Math.max(slowest, performance.now() - started);
    }
  };
  const leaked = await collectUnhandledRejections(async () => {
    const callers = Array.from({ length: 100 }, (_, i) => caller(i));
    while (acknowledged.length < 2000) await new Promise((resolve) => setTimeout(resolve, 10));
    // Every write acknowledged so far ran on the victim before the probe's SET; once WAIT says
    // its replica has the probe's write, it has all of those too (one ordered stream).
    confirmed = acknowledged.length;
    await probe.set(probeKey, "1");
    replicasAcked = (await probe.send("WAIT", 1, 5000)) as number;
    probe.destroy();
    await victim.stop(); // SIGKILL
    killedAt = performance.now();
    const giveUp = killedAt + 20_000;
    while ((!recoveredAt || performance.now() < recoveredAt + 300) && performance.now() < giveUp) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    stop = true;
    await Promise.all(callers);
  });
  assert.deepEqual(leaked, []);
  assert.ok(recoveredAt > 0, "writes to the dead master's slots resumed after the failover");
  assert.ok(
    slowest <= DEADLINE_MS + 1000,
    `every call settled within its deadline (${slowest} ms)`,
  );

  const present = await cluster.mGet(...acknowledged);
  const lost = acknowledged.filter((_, i) => present[i] === null);
  const lostConfirmed = acknowledged.slice(0, confirmed).filter((_, i) => present[i] === null);
  const ranAnyway = notSent.length
    ? (await cluster.mGet(...notSent)).filter((v) => v !== null)
    : [];
  console.log(
    `# failover: ${acknowledged.length} acknowledged (${confirmed} confirmed on the replica), ` +
      `${lost.length} lost to async replication, ` +
      `${notSent.length} failed unsent, ${unknown.length} failed with sent: true; ` +
      `writes resumed ${Math.round(recoveredAt - killedAt)} ms after SIGKILL; slowest call ${
        Math.round(slowest)
      } ms`,
  );
  assert.deepEqual(ranAnyway, [], "a write that failed with sent: false never ran");
  assert.ok(lost.every(onVictim), "only the dead master's writes can be lost");
  assert.ok(unknown.every(onVictim), "only writes in flight to the dead master are in doubt");
  assert.equal(replicasAcked, 1, "the victim's replica confirmed the writes before the kill");
  assert.deepEqual(lostConfirmed, [], "no write the replica had confirmed was lost");
  await cluster.close();
});

test("redis cluster failover: a shard subscriber on a SIGKILLed master follows its slot to the new master", async () => {
  const victim = servers.nodes[1];
  const victimAddress = `${victim.host}:${victim.port}`;
  const probe = await RedisClient.connect({ host: victim.host, port: victim.port, decode: true });
  assert.equal(((await probe.send("ROLE")) as unknown[])[0], "master", "nodes[1] is a master");
  const ranges = (await probe.send("CLUSTER", "SLOTS")) as [number, number, [string, number]][];
  await probe.close();
  const channel = Array.from({ length: 1000 }, (_, i) => `fo:ch${i}`).find((c) =>
    ranges.some(([lo, hi, [h, p]]) =>
      `${h}:${p}` === victimAddress && keySlot(c) >= lo && keySlot(c) <= hi
    )
  )!;
  assert.ok(channel !== undefined, "a channel in the victim's slots");
  await using cluster = await RedisClusterClient.connect({
    nodes: servers.endpoints.slice(1),
    decode: true,
  });
  const markers: ResubscribedMessage[] = [];
  await using sub = cluster.shardPubsub({ onResubscribe: (m) => markers.push(m) });
  await sub.ssubscribe(channel);
  const next = async (type: string, timeout = 20_000) => {
    for (;;) {
      const m = await sub.getMessage({ timeout });
      assert.ok(m, `a ${type} message within ${timeout} ms`);
      if (m.type === type) return m;
    }
  };
  assert.equal(await cluster.sPublish(channel, "before"), 1);
  assert.equal((await next("smessage")).data, "before");
  await victim.stop(); // SIGKILL
  const marker = await next("resubscribed");
  assert.deepEqual(marker, {
    type: "resubscribed",
    channel: "",
    reason: "reconnect",
    data: 1,
    channels: [],
    patterns: [],
    shardChannels: [channel],
  });
  assert.deepEqual(markers, [marker]);
  await next("ssubscribe"); // on the promoted replica, once the cluster failed over
  assert.equal(await cluster.sPublish(channel, "after"), 1, "the new master has the subscriber");
  assert.equal((await next("smessage")).data, "after");
});

// RedisClusterClient while a master is SIGKILLed under 100 concurrent writers: every call settles
// within its deadline, a write that failed with `sent: false` never ran, and after the failover
// every acknowledged write is readable except what asynchronous replication lost (counted).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type RedisClusterServers, startRedisCluster } from "../../scripts/servers.ts";
import { KvError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisClusterClient } from "../../src/redis/cluster/client.ts";
import { keySlot } from "../../src/redis/cluster/slot.ts";
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
  await probe.close();
  const victimSlots = ranges.filter((r) => `${r[2][0]}:${r[2][1]}` === victimAddress);
  assert.ok(victimSlots.length > 0, "nodes[0] is a master");
  const onVictim = (key: string): boolean =>
    victimSlots.some(([first, last]) => keySlot(key) >= first && keySlot(key) <= last);

  const acknowledged: string[] = [];
  const notSent: string[] = [];
  const unknown: string[] = [];
  let slowest = 0;
  let killedAt = 0;
  let recoveredAt = 0;
  let stop = false;
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
  const ranAnyway = notSent.length
    ? (await cluster.mGet(...notSent)).filter((v) => v !== null)
    : [];
  console.log(
    `# failover: ${acknowledged.length} acknowledged, ${lost.length} lost to async replication, ` +
      `${notSent.length} failed unsent, ${unknown.length} failed with sent: true; ` +
      `writes resumed ${Math.round(recoveredAt - killedAt)} ms after SIGKILL; slowest call ${
        Math.round(slowest)
      } ms`,
  );
  assert.deepEqual(ranAnyway, [], "a write that failed with sent: false never ran");
  assert.ok(lost.every(onVictim), "only the dead master's writes can be lost");
  assert.ok(unknown.every(onVictim), "only writes in flight to the dead master are in doubt");
  assert.ok(lost.length <= acknowledged.length * 0.05, `lost ${lost.length} acknowledged writes`);
  await cluster.close();
});

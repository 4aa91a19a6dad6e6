// Observability of a Sentinel-backed RedisClient against a real Sentinel set: the sentinel
// subscription is a stats() member, SENTINEL FAILOVER is one switchMaster event, operations
// name the master they reached, and the sentinel password shows nowhere.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Operation } from "../../src/core/instrument.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisError } from "../../src/redis/errors.ts";
import type { RedisEvents } from "../../src/redis/observe.ts";
import { type SentinelSet, startSentinelSet } from "../../scripts/servers.ts";
import { within } from "./_sentinel.ts";

const SECRET = `sentinel-${crypto.randomUUID()}`;
const NAME = "obsmaster";
let set: SentinelSet;

before(async () => {
  set = await startSentinelSet({
    masterName: NAME,
    replicas: 1,
    sentinels: 1,
    quorum: 1,
    sentinelPassword: SECRET,
  });
});
after(async () => {
  await set.stop();
});

/** Asks the sentinel to fail over, retrying while it is not ready to. */
async function forceFailover(): Promise<void> {
  await using admin = await RedisClient.connect({ port: set.sentinels[0].port, password: SECRET });
  for (const giveUp = Date.now() + 10_000;;) {
    try {
      assert.equal(String(await admin.send("SENTINEL", "FAILOVER", NAME)), "OK");
      return;
    } catch (error) {
      const busy = error instanceof RedisError && /INPROG|NOGOODSLAVE/.test(error.message);
      if (!busy || Date.now() > giveUp) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200)); // the sentinel's next round
    }
  }
}

test("redis observe sentinel: switchMaster on failover, sentinel member, operations follow", async () => {
  const ops: Operation[] = [];
  const started: Operation[] = [];
  const lines: unknown[] = [];
  const log = (message: string, fields?: Record<string, unknown>): void => {
    lines.push([message, fields]);
  };
  const redis = new RedisClient({
    sentinels: set.sentinelAddresses,
    masterName: NAME,
    sentinelPassword: SECRET,
    decode: true,
    reconnect: { initialDelay: 10, maxDelay: 100 },
    instrumentation: { onStart: (op) => started.push(op), onEnd: (op) => ops.push(op) },
    logger: { debug: log, info: log, warn: log, error: log },
  });
  const seen: [string, unknown][] = [];
  const names: (keyof RedisEvents)[] = ["connect", "ready", "disconnect", "error", "switchMaster"];
  for (const name of names) redis.on(name, (e) => seen.push([name, e]));
  const sentinel = set.sentinelAddresses[0];
  const subscribed = new Promise<void>((resolve) =>
    redis.on("ready", (e) => e.address === sentinel && resolve())
  );
  const switched = new Promise<RedisEvents["switchMaster"]>((resolve) =>
    redis.on("switchMaster", resolve)
  );
  try {
    await redis.set("obs:k", "v");
    await within(subscribed, 10_000, "the +switch-master subscription");
    const oldMaster = `127.0.0.1:${set.master.port}`;
    const members = redis.stats().members.map((m) => m.address);
    assert.deepEqual(members, [oldMaster, sentinel]);
    assert.equal(ops.at(-1)!.serverPort, set.master.port);
    const stream = started.find((op) => op.operation === "SUBSCRIBE")!;
    assert.equal(`${stream.serverAddress}:${stream.serverPort}`, sentinel);
    assert.equal(stream.kind, "stream");

    await forceFailover();
    const event = await within(switched, 20_000, "switchMaster");
    const newMaster = `127.0.0.1:${set.replicas[0].port}`;
    assert.deepEqual(event, { masterName: NAME, from: oldMaster, to: newMaster });
    // The next write reaches the new master (after the client re-asks the sentinel).
    for (const giveUp = Date.now() + 20_000;;) {
      const ok = await redis.set("obs:k", "after").then(() => true, () => false);
      if (ok && ops.at(-1)!.serverPort === set.replicas[0].port) break;
      assert.ok(Date.now() < giveUp, "no write reached the new master in 20 s");
    }
    assert.equal(redis.stats().members[0].address, newMaster);
    assert.equal(seen.filter(([name]) => name === "switchMaster").length, 1);
    for (const text of [JSON.stringify(seen), JSON.stringify(ops), JSON.stringify(lines)]) {
      assert.ok(!text.includes(SECRET), text);
    }
  } finally {
    await redis.close();
  }
});

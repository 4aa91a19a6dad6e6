// Redis under faults, through the TCP chaos proxy to a real redis-server: connections cut at
// random byte offsets in a 10,000-command pipeline, fragmented replies, stalls, resets,
// re-subscription after reconnect, the bounded offline queue.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { ConnectionClosedError, QueueFullError, TimeoutError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { type ChaosProxy, startChaosProxy } from "../_helpers/chaos_proxy.ts";
import { redisAddress } from "../_helpers/servers.ts";

const addr = await redisAddress();
const prefix = `faults:${crypto.randomUUID()}:`;
const proxies: ChaosProxy[] = [];
const clients: RedisClient<unknown>[] = [];
after(async () => {
  for (const c of clients) c.destroy();
  await Promise.all(proxies.map((p) => p.stop()));
});

async function throughProxy(protocol: 2 | 3): Promise<[RedisClient<string>, ChaosProxy]> {
  const proxy = await startChaosProxy(addr);
  proxies.push(proxy);
  const redis = await RedisClient.connect({
    host: proxy.host,
    port: proxy.port,
    protocol,
    decode: true,
    reconnect: { initialDelay: 5, maxDelay: 50 },
  });
  clients.push(redis as RedisClient<unknown>);
  return [redis, proxy];
}

/** Runs until `check` holds, yielding to I/O between tries; fails after `ms`. */
async function eventually(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const giveUp = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > giveUp) throw new Error("Condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const direct = await RedisClient.connect({ ...addr, decode: true });
clients.push(direct as RedisClient<unknown>);

for (const protocol of [2, 3] as const) {
  test(`redis faults RESP${protocol}: cuts at random offsets in a 10,000-command pipeline settle everything and run nothing twice`, async () => {
    const [redis, proxy] = await throughProxy(protocol);
    for (let round = 0; round < 3; round++) {
      const keys = Array.from({ length: 10_000 }, (_, i) => `${prefix}${protocol}:${round}:${i}`);
      const offset = 1 + Math.floor(Math.random() * 150_000);
      const direction = round % 2 === 0 ? "toClient" : "toServer";
      proxy.dropAfter(offset, direction);
      const settled = await Promise.allSettled(keys.map((k) => redis.incr(k)));
      proxy.pass();
      for (const s of settled) {
        if (s.status === "fulfilled") assert.equal(s.value, 1);
        else {
          assert.ok(s.reason instanceof ConnectionClosedError, String(s.reason));
          assert.equal(s.reason.sent, true, "everything had been written in one go");
        }
      }
      const values = await direct.send("MGET", ...keys) as (string | null)[];
      values.forEach((v, i) => {
        assert.ok(v === null || v === "1", `key ${i} ran at most once (got ${v})`);
        if (settled[i].status === "fulfilled") assert.equal(v, "1");
      });
      assert.equal(await redis.ping(), "PONG", `reconnected after a cut at ${offset} ${direction}`);
      await direct.send("DEL", ...keys);
    }
  });

  test(`redis faults RESP${protocol}: replies fragmented to single bytes decode correctly`, async () => {
    const [redis, proxy] = await throughProxy(protocol);
    proxy.fragment();
    const k = `${prefix}frag${protocol}`;
    const results = await redis.pipeline().set(k, "x".repeat(300)).get(k).incr(`${k}:n`).info(
      "server",
    ).exec();
    assert.deepEqual(results.slice(0, 3), [true, "x".repeat(300), 1]);
    assert.equal(
      typeof (results[3] as { server: { redis_version: string } }).server.redis_version,
      "string",
    );
  });

  test(`redis faults RESP${protocol}: a stalled server times commands out; they never run twice`, async () => {
    const [redis, proxy] = await throughProxy(protocol);
    const k = `${prefix}stall${protocol}`;
    proxy.stall();
    await assert.rejects(redis.with({ timeout: 100 }).incr(k), (e: unknown) => {
      return e instanceof TimeoutError && e.sent === true;
    });
    proxy.pass();
    assert.equal(
      await redis.incr(k),
      2,
      "the timed-out INCR ran exactly once when the stall ended",
    );
  });

  test(`redis faults RESP${protocol}: subscriptions come back after the connection is reset`, async () => {
    const [redis] = await throughProxy(protocol);
    const proxy = proxies.at(-1)!;
    const pubsub = redis.pubsub({ ignoreSubscribeMessages: true });
    const channel = `${prefix}news${protocol}`;
    await pubsub.subscribe(channel);
    proxy.resetAll();
    await eventually(async () => {
      const counts = await direct.pubsubNumSub(channel);
      return counts.get(channel) === 1 && proxy.connections >= 1;
    });
    await direct.publish(channel, "after reset");
    const marker = await pubsub.getMessage({ timeout: 2000 });
    assert.equal(marker?.type, "resubscribed", "the gap is visible before the new messages");
    const message = await pubsub.getMessage({ timeout: 2000 });
    assert.equal(message?.data, "after reset");
    await pubsub.close();
  });
}

test("redis faults: commands wait in the offline queue and run once after reconnecting", async () => {
  const [redis, proxy] = await throughProxy(3);
  const k = `${prefix}offline`;
  proxy.dropAfter(0);
  await eventually(() => redis.protocol === undefined);
  const pending = [redis.incr(k), redis.incr(k), redis.get(k)];
  proxy.pass();
  assert.deepEqual(await Promise.all(pending), [1, 2, "2"]);
});

test("redis faults: a full offline queue rejects at once with QueueFullError", async () => {
  const proxy = await startChaosProxy(addr);
  proxies.push(proxy);
  const redis = await RedisClient.connect({
    host: proxy.host,
    port: proxy.port,
    offlineQueueSize: 2,
    reconnect: { initialDelay: 5, maxDelay: 20 },
  });
  clients.push(redis as RedisClient<unknown>);
  proxy.dropAfter(0);
  await eventually(() => redis.protocol === undefined);
  const queued = [redis.ping(), redis.ping()];
  await assert.rejects(redis.ping(), QueueFullError);
  proxy.pass();
  assert.deepEqual(await Promise.all(queued), ["PONG", "PONG"]);
});

test("redis faults: a command issued while handshakes keep failing runs once when one succeeds", async () => {
  const proxy = await startChaosProxy(addr);
  proxies.push(proxy);
  const redis = await RedisClient.connect({
    host: proxy.host,
    port: proxy.port,
    decode: true,
    reconnect: { initialDelay: 5, maxDelay: 20 },
  });
  clients.push(redis as RedisClient<unknown>);
  const k = `${prefix}held`;
  // Cut every new connection after it has sent 10 bytes: the next HELLO never completes.
  proxy.dropAfter(10, "toServer");
  proxy.resetAll();
  await eventually(() => redis.protocol === undefined); // the client saw the connection go
  const accepted = proxy.accepted;
  const pending = redis.incr(k); // queued, or held behind a handshake: never written
  await eventually(() => proxy.accepted >= accepted + 3); // failed handshakes went by
  proxy.pass();
  assert.equal(await pending, 1, "the INCR ran exactly once after the connection came back");
});

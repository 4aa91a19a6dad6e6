// The redis-py 3.0 seed examples and the client's higher-level features against a real
// redis-server in RESP2 and RESP3: pub/sub, Lua scripts, scan iterators, locks, the pool.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { RedisClient } from "../../src/redis/client.ts";
import { LockError } from "../../src/redis/lock.ts";
import type { PubSubMessage } from "../../src/redis/pubsub.ts";
import { redisAddress } from "../_helpers/servers.ts";

const addr = await redisAddress();
const prefix = `features:${crypto.randomUUID()}:`;
const clients: RedisClient<unknown>[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

async function open(protocol: 2 | 3): Promise<RedisClient<string>> {
  const client = await RedisClient.connect({ ...addr, protocol, decode: true });
  clients.push(client as RedisClient<unknown>);
  return client;
}

for (const protocol of [2, 3] as const) {
  const p = `${prefix}${protocol}:`;

  test(`redis features RESP${protocol}: pub/sub messages as an async iterable (seed)`, async () => {
    const redis = await open(protocol);
    await using pubsub = redis.pubsub();
    await pubsub.subscribe(`${p}my-first-channel`, `${p}my-second-channel`);
    await pubsub.psubscribe(`${p}my-*`);
    assert.deepEqual(pubsub.channels, [`${p}my-first-channel`, `${p}my-second-channel`]);
    assert.equal(await redis.publish(`${p}my-first-channel`, "some data"), 2);
    const seen: PubSubMessage<string>[] = [];
    for await (const message of pubsub) {
      seen.push(message);
      if (seen.length === 5) break;
    }
    assert.deepEqual(seen.map((m) => [m.type, m.data]), [
      ["subscribe", 1],
      ["subscribe", 2],
      ["psubscribe", 3],
      ["message", "some data"],
      ["pmessage", "some data"],
    ]);
    assert.equal(seen[4].pattern, `${p}my-*`);
    assert.equal(seen[4].channel, `${p}my-first-channel`);
  });

  test(`redis features RESP${protocol}: handlers, getMessage and ignoreSubscribeMessages (seed)`, async () => {
    const redis = await open(protocol);
    await using pubsub = redis.pubsub({ ignoreSubscribeMessages: true });
    const handled: string[] = [];
    await pubsub.subscribe({ [`${p}handled`]: (m) => handled.push(String(m.data)) }, `${p}plain`);
    assert.equal(await pubsub.getMessage(), null, "confirmations are not delivered");
    await redis.publish(`${p}handled`, "to the handler");
    await redis.publish(`${p}plain`, "to the queue");
    const message = await pubsub.getMessage({ timeout: 2000 });
    assert.equal(message?.data, "to the queue");
    assert.deepEqual(handled, ["to the handler"], "handled before the later queued message");
    const channels = await redis.pubsubChannels(`${p}*`);
    assert.deepEqual([...channels].sort(), [`${p}handled`, `${p}plain`]);
    assert.deepEqual(await redis.pubsubNumSub(`${p}plain`), new Map([[`${p}plain`, 1]]));
    await pubsub.unsubscribe(`${p}plain`);
    assert.deepEqual(pubsub.channels, [`${p}handled`]);
    assert.equal(await redis.publish(`${p}plain`, "nobody"), 0);
    await pubsub.unsubscribe();
    assert.deepEqual(pubsub.channels, []);
  });

  test(`redis features RESP${protocol}: Lua multiply script, also inside a pipeline (seed)`, async () => {
    const redis = await open(protocol);
    const multiply = redis.registerScript(
      "local value = redis.call('GET', KEYS[1])\nvalue = tonumber(value)\nreturn value * ARGV[1]",
    );
    assert.equal(multiply.sha1.length, 40);
    await redis.set(`${p}foo`, 2);
    await redis.scriptFlush();
    assert.equal(await multiply.run([`${p}foo`], [5]), 10, "EVAL after NOSCRIPT");
    assert.deepEqual(await redis.scriptExists(multiply.sha1), [true]);
    await redis.scriptFlush();
    const pipe = redis.pipeline().set(`${p}foo`, 5);
    multiply.queue(pipe, [`${p}foo`], [5]);
    assert.deepEqual(await pipe.exec(), [true, 25], "the pipeline loads the script first");
  });

  test(`redis features RESP${protocol}: scanIter walks every matching key once (seed)`, async () => {
    const redis = await open(protocol);
    const keys = Array.from({ length: 250 }, (_, i) => `${p}scan:${i}`);
    await redis.mSet(Object.fromEntries(keys.map((k) => [k, "x"])));
    const seen = new Set<string>();
    for await (const key of redis.scanIter({ match: `${p}scan:*`, count: 20 })) seen.add(key);
    assert.deepEqual([...seen].sort(), [...keys].sort());
  });

  test(`redis features RESP${protocol}: Lock acquire, contention, extend and release (seed)`, async () => {
    const redis = await open(protocol);
    const name = `${p}lock`;
    const lock = redis.lock(name, { timeout: 10 });
    assert.equal(await lock.acquire(), true);
    assert.equal(await lock.owned(), true);
    const rival = redis.lock(name, { timeout: 10, sleep: 0.01 });
    assert.equal(await rival.acquire({ blocking: false }), false);
    const started = performance.now();
    assert.equal(await rival.acquire({ blockingTimeout: 0.05 }), false);
    assert.ok(performance.now() - started >= 40, "waited for the blocking timeout");
    await assert.rejects(rival.acquireOrThrow({ blockingTimeout: 0.02 }), LockError);
    await lock.extend(20);
    assert.ok(await redis.pTtl(name) > 25_000);
    await lock.release();
    assert.equal(await redis.exists(name), 0);
    await assert.rejects(lock.release(), LockError, "releasing twice is an error");
    {
      await using held = await rival.acquireOrThrow();
      assert.equal(await held.locked(), true);
    }
    assert.equal(await redis.exists(name), 0, "await using released it");
  });

  test(`redis features RESP${protocol}: a lock that expired is not released by its old owner`, async () => {
    const redis = await open(protocol);
    const name = `${p}expiring`;
    const lock = redis.lock(name, { timeout: 0.05 });
    assert.equal(await lock.acquire(), true);
    await redis.pExpire(name, 1);
    const other = redis.lock(name, { timeout: 10, sleep: 0.005 });
    assert.equal(await other.acquire({ blockingTimeout: 1 }), true);
    await assert.rejects(lock.release(), /was lost/);
    assert.equal(await other.owned(), true, "the new owner keeps it");
    await other.release();
  });
}

test("redis features: the pool never opens more than maxSize connections", async () => {
  const redis = await RedisClient.connect({ ...addr, poolSize: 2 });
  clients.push(redis as RedisClient<unknown>);
  let active = 0;
  let peak = 0;
  await Promise.all(Array.from({ length: 6 }, () =>
    redis.pool.use(async (conn) => {
      active++;
      peak = Math.max(peak, active);
      await conn.ping();
      active--;
    })));
  assert.equal(peak, 2);
  assert.equal(redis.pool.size, 2);
  assert.equal(redis.pool.idleCount, 2);
});

test("redis features: a blocking pop runs on a pooled connection and never stalls others", async () => {
  const redis = await open(3);
  const list = `${prefix}jobs`;
  const popped = redis.blPop(list, 5);
  assert.equal(await redis.ping(), "PONG", "the shared connection is free while BLPOP waits");
  await redis.rPush(list, "job-1");
  assert.deepEqual(await popped, [list, "job-1"]);
  assert.equal(await redis.blPop(list, 0.05), null, "a server timeout resolves null");
});

test("redis features: an aborted blocking pop drops its connection, so no element is lost", async () => {
  const redis = await open(3);
  const list = `${prefix}abort`;
  const controller = new AbortController();
  const popped = redis.with({ signal: controller.signal }).blPop(list, 10);
  // Wait (by round trips) until the server shows the BLPOP blocked, so the abort hits it there.
  while (!String(await redis.send("CLIENT", "LIST")).includes("cmd=blpop")) continue;
  controller.abort();
  await assert.rejects(popped, (e: unknown) => (e as { code?: string }).code === "ABORTED");
  await redis.rPush(list, "kept");
  assert.deepEqual(await redis.lRange(list, 0, -1), ["kept"], "nobody popped it");
});

test("redis features: hscanIter, sscanIter and zscanIter", async () => {
  const redis = await open(2);
  const h = `${prefix}h`;
  const s = `${prefix}s`;
  const z = `${prefix}z`;
  await redis.hSet(h, { a: "1", b: "2" });
  await redis.sAdd(s, "x", "y");
  await redis.zAdd(z, { m: 1.5, n: 2 });
  const pairs: [string, string][] = [];
  for await (const pair of redis.hscanIter(h)) pairs.push(pair);
  assert.deepEqual(pairs.sort(), [["a", "1"], ["b", "2"]]);
  const members: string[] = [];
  for await (const m of redis.sscanIter(s)) members.push(m);
  assert.deepEqual(members.sort(), ["x", "y"]);
  const scored: [string, number][] = [];
  for await (const m of redis.zscanIter(z)) scored.push(m);
  assert.deepEqual(scored.sort(), [["m", 1.5], ["n", 2]]);
});

// RedisClient against a real redis-server, in RESP2 and RESP3: connection options, decoding,
// auto-pipelining, pipelines, transactions, deadlines, connection errors.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { ConnectError, ConnectionClosedError, TimeoutError } from "../../src/core/errors.ts";
import { RedisClient } from "../../src/redis/client.ts";
import { RedisError } from "../../src/redis/errors.ts";
import { WatchError } from "../../src/redis/pipeline.ts";
import { startRedis } from "../../scripts/servers.ts";
import { redisAddress } from "../_helpers/servers.ts";

const addr = await redisAddress();
const prefix = `client:${crypto.randomUUID()}:`;
const key = (name: string): string => prefix + name;
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
  test(`redis client RESP${protocol}: connects with the asked protocol and round-trips values`, async () => {
    const redis = await open(protocol);
    assert.equal(redis.protocol, protocol);
    assert.equal(await redis.ping(), "PONG");
    assert.equal(await redis.set(key(`a${protocol}`), "héllo"), true);
    assert.equal(await redis.get(key(`a${protocol}`)), "héllo");
    assert.equal(await redis.get(key("missing")), null);
    assert.equal(await redis.set(key(`a${protocol}`), "x", { nx: true }), false);
  });

  test(`redis client RESP${protocol}: binary values stay bytes without decode`, async () => {
    const raw = await RedisClient.connect({ ...addr, protocol });
    clients.push(raw as RedisClient<unknown>);
    const value = new Uint8Array([0, 255, 13, 10, 128]);
    await raw.set(key(`bin${protocol}`), value);
    assert.deepEqual(await raw.get(key(`bin${protocol}`)), value);
  });

  test(`redis client RESP${protocol}: concurrent calls are pipelined and resolve in order`, async () => {
    const redis = await open(protocol);
    const counter = key(`n${protocol}`);
    const results = await Promise.all(Array.from({ length: 500 }, () => redis.incr(counter)));
    assert.deepEqual(results, Array.from({ length: 500 }, (_, i) => i + 1));
  });

  test(`redis client RESP${protocol}: pipeline results in order with errors as values`, async () => {
    const redis = await open(protocol);
    const k = key(`p${protocol}`);
    const results = await redis.pipeline().set(k, 5).incrBy(k, 2).get(k).send("NOPE").lPush(k, "x")
      .exec();
    assert.deepEqual(results.slice(0, 3), [true, 7, "7"]);
    assert.ok(results[3] instanceof RedisError);
    assert.match((results[3] as RedisError).message, /unknown command/);
    assert.equal((results[4] as RedisError).serverCode, "WRONGTYPE");
  });

  test(`redis client RESP${protocol}: MULTI/EXEC runs atomically; EXECABORT is reported`, async () => {
    const redis = await open(protocol);
    const k = key(`m${protocol}`);
    assert.deepEqual(await redis.multi().incr(k).incr(k).get(k).exec(), [1, 2, "2"]);
    await assert.rejects(
      redis.multi().incr(k).send("NOPE").exec(),
      (e: unknown) =>
        e instanceof RedisError && /EXECABORT/.test(e.message) && /unknown command/.test(e.message),
    );
    assert.equal(await redis.get(k), "2", "nothing of the aborted transaction ran");
  });

  test(`redis client RESP${protocol}: WATCH transaction retries when the key changes (redis-py seed)`, async () => {
    const redis = await open(protocol);
    const other = await open(protocol);
    const k = key(`w${protocol}`);
    await redis.set(k, 10);
    let attempts = 0;
    const results = await redis.transaction(async (conn) => {
      attempts++;
      const current = Number(await conn.get(k));
      if (attempts === 1) await other.set(k, 100); // someone else writes in between
      return conn.multi().set(k, current + 1);
    }, k);
    assert.equal(attempts, 2);
    assert.deepEqual(results, [true]);
    assert.equal(await redis.get(k), "101");
  });

  test(`redis client RESP${protocol}: a command deadline gives TimeoutError and the connection goes on`, async () => {
    const redis = await open(protocol);
    await assert.rejects(redis.with({ timeout: 50 }).wait(1, 300), (e: unknown) => {
      assert.ok(e instanceof TimeoutError);
      assert.equal(e.sent, true);
      assert.match(e.message, /WAIT to redis 127\.0\.0\.1:\d+ timed out/);
      return true;
    });
    assert.equal(await redis.echo("still here"), "still here", "the late WAIT reply was skipped");
  });

  test(`redis client RESP${protocol}: an aborted command rejects and others are unaffected`, async () => {
    const redis = await open(protocol);
    const controller = new AbortController();
    const blocked = redis.with({ signal: controller.signal }).wait(1, 200);
    const echo = redis.echo("after");
    controller.abort();
    await assert.rejects(blocked, (e: unknown) => (e as { code?: string }).code === "ABORTED");
    assert.equal(await echo, "after");
  });
}

test("redis client: URL with database, client name and protocol", async () => {
  const url = `redis://${addr.host}:${addr.port}/3?name=kvwire-test&protocol=2`;
  const redis = await RedisClient.connect(url, { decode: true });
  clients.push(redis as RedisClient<unknown>);
  assert.equal(redis.protocol, 2);
  assert.equal(await redis.clientGetName(), "kvwire-test");
  await redis.set(key("db3"), "in three");
  const db0 = await open(3);
  assert.equal(await db0.get(key("db3")), null, "the key lives in database 3");
});

test("redis client: password, wrong password and Unix socket on a dedicated server", async () => {
  const server = await startRedis({ password: "s3cret pass", unixSocket: true });
  try {
    const ok = await RedisClient.connect({ port: server.port, password: "s3cret pass" });
    assert.equal(await ok.ping(), "PONG");
    await ok.close();
    const url = `redis://:${encodeURIComponent("s3cret pass")}@127.0.0.1:${server.port}`;
    const viaUrl = await RedisClient.connect(url);
    assert.equal(await viaUrl.ping(), "PONG");
    await viaUrl.close();
    const unix = await RedisClient.connect({ path: server.socketPath!, password: "s3cret pass" });
    assert.equal(await unix.ping(), "PONG");
    await unix.close();
    await assert.rejects(
      RedisClient.connect({ port: server.port, password: "wrong-one" }),
      (e: unknown) => {
        assert.ok(e instanceof RedisError);
        assert.match(e.message, /WRONGPASS/);
        assert.ok(!e.message.includes("wrong-one"), "no password in messages");
        return true;
      },
    );
  } finally {
    await server.stop();
  }
});

test("redis client: a closed port gives ConnectError naming the address", async () => {
  const server = await startRedis();
  const port = server.port;
  await server.stop();
  await assert.rejects(
    RedisClient.connect({ port, connectTimeout: 2000 }),
    (e: unknown) => e instanceof ConnectError && e.message.includes(`127.0.0.1:${port}`),
  );
});

test("redis client: commands after close fail with ConnectionClosedError", async () => {
  const redis = await RedisClient.connect(addr);
  await redis.close();
  await assert.rejects(redis.ping(), ConnectionClosedError);
});

test("redis client: bad arguments are TypeErrors before anything is sent", async () => {
  const redis = await open(3);
  await assert.rejects(
    redis.set(key("bad"), { an: "object" } as unknown as string),
    (e: unknown) =>
      e instanceof TypeError && /Argument 2 of SET is object/.test((e as Error).message),
  );
  assert.throws(() => redis.pipeline().set(key("bad"), null as unknown as string), TypeError);
  assert.equal(await redis.get(key("bad")), null);
});

test("redis client: WatchError after too many conflicts is a typed error", () => {
  assert.equal(new WatchError().code, "SERVER");
});

test("redis client: DBSIZE, FLUSHDB and INFO keyspace on a dedicated server", async () => {
  const server = await startRedis();
  try {
    const redis = await RedisClient.connect({ port: server.port, decode: true });
    assert.equal(await redis.dbSize(), 0);
    await redis.mSet({ a: 1, b: 2, c: 3 });
    await redis.expire("a", 100);
    assert.equal(await redis.dbSize(), 3);
    const db0 = (await redis.info("keyspace")).keyspace.db0 as Record<string, number>;
    assert.equal(db0.keys, 3);
    assert.equal(db0.expires, 1);
    assert.ok(db0.avg_ttl >= 0 && db0.avg_ttl <= 100_000, `avg_ttl ${db0.avg_ttl}`); // sampled lazily
    assert.equal(await redis.flushDb(), true);
    assert.equal(await redis.dbSize(), 0);
    const about = (await redis.info("server")).server;
    assert.match(String(about.redis_version), /^\d+\.\d+\.\d+$/);
    assert.equal(typeof about.uptime_in_seconds, "number");
    await redis.close();
  } finally {
    await server.stop();
  }
});

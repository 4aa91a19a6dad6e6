// The redis-py seed leftovers against a real server in RESP2 and RESP3: Script.run on another
// client or a pipeline, one pool of dedicated connections shared by clients, and
// pipeline({ transaction: true }).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { RedisClient } from "../../src/redis/client.ts";
import { Pool } from "../../src/redis/pool.ts";
import { type Address, redisAddress } from "../_helpers/servers.ts";

let addr: Address;
const clients: RedisClient<unknown>[] = [];
const p = `seed:${crypto.randomUUID().slice(0, 8)}:`;
before(async () => {
  addr = await redisAddress();
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

async function open(
  options: Parameters<typeof RedisClient.connect>[0],
): Promise<RedisClient<string>> {
  const client = await RedisClient.connect({ ...addr, decode: true, ...options as object });
  clients.push(client as RedisClient<unknown>);
  return client;
}

for (const protocol of [2, 3] as const) {
  const k = `${p}${protocol}:`;

  test(`redis seed RESP${protocol}: Script.run on another client (its db) and on a pipeline`, async () => {
    const redis = await open({ protocol });
    const other = await open({ protocol, db: 3 });
    const script = redis.registerScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    await redis.scriptFlush();
    assert.equal(await script.run([`${k}n`], [2], other), 2, "EVAL after NOSCRIPT, in db 3");
    assert.equal(await script.run([`${k}n`], [3], other), 5, "EVALSHA");
    assert.equal(await redis.get(`${k}n`), null, "db 0 untouched");
    assert.equal(await other.get(`${k}n`), "5");
    await redis.scriptFlush();
    const pipe = other.pipeline().set(`${k}m`, 1);
    assert.equal(script.run([`${k}m`], [9], pipe), pipe, "queued: the pipeline comes back");
    assert.deepEqual(await pipe.exec(), [true, 10], "the pipeline loaded the script first");
    const tx = script.run([`${k}m`], [1], other.pipeline({ transaction: true }));
    assert.deepEqual(await tx.exec(), [11]);
  });

  test(`redis seed RESP${protocol}: pipeline({ transaction: true }) is MULTI/EXEC`, async () => {
    const redis = await open({ protocol });
    const watcher = await open({ protocol });
    const tx = redis.pipeline({ transaction: true }).incr(`${k}t`).incr(`${k}t`);
    assert.deepEqual(await tx.exec(), [1, 2]);
    // Both INCRs land at once: a WATCH on another connection sees one change, and the retry
    // reads the value after both.
    const reads: (string | null)[] = [];
    await watcher.transaction(async (conn) => {
      reads.push(await conn.get(`${k}t`));
      if (reads.length === 1) {
        await redis.pipeline({ transaction: true }).incr(`${k}t`).incr(`${k}t`).exec();
      }
      return conn.multi().set(`${k}seen`, "x");
    }, `${k}t`);
    assert.deepEqual(reads, ["2", "4"], "one retry, after the whole transaction");
    const plain = redis.pipeline({ transaction: false }).incr(`${k}t`);
    assert.deepEqual(await plain.exec(), [5]);
  });
}

test("redis seed: clients sharing one pool draw dedicated connections from it", async () => {
  const first = await open({ poolSize: 2 });
  const second = await open({ pool: first.pool, decode: false });
  const list = `${p}shared`;
  const pops = [first.blPop(list, 5), second.blPop(list, 5)];
  // Both pops are blocked on the server, on the pool's two connections.
  while ((await first.send("CLIENT", "LIST") as string).split("cmd=blpop").length < 3) continue;
  assert.equal(first.pool.size, 2);
  assert.equal(second.pool, first.pool, "one pool");
  await first.rPush(list, "a", "b");
  const popped = await Promise.all(pops);
  const [text, bytes] = popped as [[string, string], [Uint8Array, Uint8Array]];
  assert.equal(text[0], list, "text for the text client");
  assert.deepEqual(bytes[0], new TextEncoder().encode(list), "bytes for the bytes client");
  assert.deepEqual([text[1], new TextDecoder().decode(bytes[1])].sort(), ["a", "b"]);
  const counted = await second.transaction(async (conn) => {
    assert.deepEqual(await conn.get(`${p}missing`), null);
    return conn.multi().set(`${p}x`, "1").get(`${p}x`);
  }, `${p}x`);
  assert.deepEqual(counted, [true, new TextEncoder().encode("1")], "shaped by the client using it");
  assert.equal(first.pool.size, 2, "no new connection");
  await second.close();
  assert.equal(await first.pool.use((c) => c.ping()), "PONG", "closing a borrower keeps the pool");
});

test("redis seed: a Pool made by hand is shared, and closed by its owner only", async () => {
  const pool = new Pool(() => RedisClient.connect({ ...addr, reconnect: { enabled: false } }), {
    maxSize: 1,
  });
  const a = await open({ pool: pool });
  const b = await open({ pool: pool });
  const list = `${p}hand`;
  await a.rPush(list, "1", "2");
  assert.deepEqual(await Promise.all([a.blPop(list, 1), b.blPop(list, 1)]), [[list, "1"], [
    list,
    "2",
  ]]);
  assert.equal(pool.size, 1, "maxSize holds across both clients");
  await a.close();
  await b.close();
  assert.equal(pool.idleCount, 1, "the clients left the pool open");
  await pool.close();
  assert.equal(pool.idleCount, 0);
});

// The keyPrefix option of RedisClient against a real server, in RESP2 and RESP3, with bytes and
// decoded values: typed commands, send(), pipelines, transactions, scripts, scans, blocking
// commands and WATCH; channels, ARGV and replies are left alone.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { RedisClient } from "../../src/redis/client.ts";
import { type Address, redisAddress } from "../_helpers/servers.ts";

let addr: Address;
let raw: RedisClient<string>;
const opened: RedisClient<unknown>[] = [];
before(async () => {
  addr = await redisAddress();
  raw = await RedisClient.connect({ ...addr, decode: true });
});
after(async () => {
  await Promise.all([raw.close(), ...opened.map((c) => c.close())]);
});

const te = new TextEncoder();

interface Mode<V> {
  redis: RedisClient<V>;
  /** The prefix of this test's keys. */
  p: string;
  v: (text: string) => V;
}

function each(title: string, body: <V>(m: Mode<V>) => Promise<void>): void {
  for (const protocol of [2, 3] as const) {
    for (const decode of [false, true]) {
      test(`redis keyPrefix [RESP${protocol} ${decode ? "text" : "bytes"}]: ${title}`, async () => {
        const p = `kp:${crypto.randomUUID().slice(0, 8)}:`;
        const redis = await RedisClient.connect({ ...addr, protocol, decode, keyPrefix: p });
        opened.push(redis as RedisClient<unknown>);
        const v = decode ? (s: string) => s : (s: string) => te.encode(s);
        await body({ redis: redis as RedisClient<unknown>, p, v } as Mode<unknown>);
      });
    }
  }
}

each("single-key and multi-key commands store and read prefixed keys", async ({ redis, p, v }) => {
  await redis.set("a", "1");
  assert.equal(await raw.get(`${p}a`), "1");
  assert.deepEqual(await redis.get("a"), v("1"));
  await redis.mSet({ b: "2", c: "3" });
  assert.deepEqual(await raw.mGet(`${p}b`, `${p}c`), ["2", "3"]);
  assert.deepEqual(await redis.mGet("a", "b", "c", "missing"), [v("1"), v("2"), v("3"), null]);
  assert.deepEqual(await redis.send("OBJECT", "ENCODING", "a"), v("int"));
  await redis.zAdd("z1", { m: 1 });
  await redis.zAdd("z2", { m: 2 });
  assert.equal(await redis.zUnionStore("zu", ["z1", "z2"]), 1);
  assert.equal(await raw.zScore(`${p}zu`, "m"), 3);
  assert.equal(await redis.del("a", "b"), 2);
  assert.equal(await raw.exists(`${p}a`, `${p}b`, `${p}c`), 1);
});

each("streams, sort patterns and GEORADIUS STORE find their keys", async ({ redis, p, v }) => {
  const id = await redis.xAdd("s", { f: "x" });
  assert.notEqual(await redis.send("XREAD", "STREAMS", "s", "0"), null, "XREAD read p:s");
  assert.equal(await raw.send("XREAD", "STREAMS", "s", "0"), null, "there is no unprefixed s");
  assert.equal(await raw.xLen(`${p}s`), 1);
  assert.ok(id);
  await redis.rPush("ids", "1", "2");
  await redis.mSet({ w_1: "20", w_2: "10", o_1: "one", o_2: "two" });
  assert.deepEqual(await redis.sort("ids", { by: "w_*", get: ["o_*", "#"] }), [
    v("two"),
    v("2"),
    v("one"),
    v("1"),
  ]);
  assert.equal(await redis.sortStore("ids", "sorted", { by: "w_*" }), 2);
  assert.deepEqual(await raw.lRange(`${p}sorted`, 0, -1), ["2", "1"]);
  await redis.geoAdd("g", [{ longitude: 13.36, latitude: 38.11, member: "pa" }]);
  assert.equal(await redis.send("GEORADIUS", "g", 13.36, 38.11, 10, "km", "STORE", "gd"), 1);
  assert.equal(await raw.zCard(`${p}gd`), 1);
});

each(
  "send() is prefixed by key positions; an unknown command is refused before sending",
  async ({ redis, p }) => {
    assert.equal(await redis.send("SET", "k", "raw"), "OK");
    assert.equal(await raw.get(`${p}k`), "raw");
    await assert.rejects(redis.send("JSON.SET", "k", "$", "1"), (e: Error) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /keyPrefix: .*JSON\.SET/);
      return true;
    });
    assert.equal(await raw.get(`${p}k`), "raw", "nothing was sent");
    assert.equal(await redis.ping(), "PONG", "the connection is fine");
  },
);

each("pipelines and transactions queue prefixed commands", async ({ redis, p, v }) => {
  const results = await redis.pipeline().set("x", "1").incr("x").get("x").exec();
  assert.deepEqual(results, [true, 2, v("2")]);
  assert.equal(await raw.get(`${p}x`), "2");
  assert.deepEqual(await redis.multi().incr("x").incr("y").exec(), [3, 1]);
  assert.deepEqual(await redis.pipeline({ transaction: true }).incr("y").exec(), [2]);
  assert.deepEqual(await raw.mGet(`${p}x`, `${p}y`), ["3", "2"]);
  assert.throws(() => redis.pipeline().send("JSON.GET", "x"), TypeError, "refused as queued");
});

each("scripts prefix KEYS, never ARGV; also run on a pipeline", async ({ redis, p, v }) => {
  const script = redis.registerScript("redis.call('SET', KEYS[1], ARGV[1]) return KEYS[1]");
  assert.deepEqual(await script.run(["sk"], ["sk"]), v(`${p}sk`));
  assert.equal(await raw.get(`${p}sk`), "sk", "ARGV kept as given");
  const pipe = script.run(["pk"], ["v"], redis.pipeline());
  assert.deepEqual(await pipe.exec(), [v(`${p}pk`)]);
});

each(
  "scanIter matches within the prefix and yields keys as stored (prefixed)",
  async ({ redis, p, v }) => {
    await raw.set(`${p.slice(0, -1)}-outside`, "x");
    await redis.mSet({ "u:1": "a", "u:2": "b", "o:1": "c" });
    const all = [];
    for await (const key of redis.scanIter({ count: 2 })) all.push(key);
    assert.deepEqual(
      all.map(String).sort(),
      [`${p}o:1`, `${p}u:1`, `${p}u:2`].map((k) => String(v(k))).sort(),
    );
    const users = [];
    for await (const key of redis.scanIter({ match: "u:*" })) users.push(key);
    assert.deepEqual(users.map(String).sort(), [`${p}u:1`, `${p}u:2`].map((k) => String(v(k))));
    assert.deepEqual((await redis.keys("u:*")).map(String).sort(), users.map(String).sort());
  },
);

each(
  "blocking commands and WATCH transactions on dedicated connections",
  async ({ redis, p, v }) => {
    await raw.rPush(`${p}jobs`, "j1");
    assert.deepEqual(await redis.blPop("jobs", 1), [v(`${p}jobs`), v("j1")]);
    const results = await redis.transaction(async (conn) => {
      const n = Number(await conn.get("counter") ?? 0);
      return conn.multi().set("counter", n + 5);
    }, "counter");
    assert.deepEqual(results, [true]);
    assert.equal(await raw.get(`${p}counter`), "5");
  },
);

each(
  "locks and HSCAN: the key is prefixed, HSCAN's MATCH (fields) is not",
  async ({ redis, p, v }) => {
    {
      await using _lock = await redis.lock("job").acquireOrThrow();
      assert.equal(await raw.exists(`${p}job`), 1, "the lock's key");
    }
    assert.equal(await raw.exists(`${p}job`), 0, "released through the prefixed key");
    await redis.hSet("h", { f1: "a", g1: "b" });
    const pairs = [];
    for await (const pair of redis.hscanIter("h", { match: "f*" })) pairs.push(pair);
    assert.deepEqual(pairs, [[v("f1"), v("a")]]);
  },
);

each("channels are not keys: publish reaches the unprefixed channel", async ({ redis, p }) => {
  await using sub = raw.pubsub();
  await sub.subscribe(`${p}news`);
  assert.equal(await redis.publish(`${p}news`, "hi"), 1);
});

test("redis keyPrefix: byte keys and a byte prefix", async () => {
  const prefix = new Uint8Array([0xff, 0x3a]);
  const redis = await RedisClient.connect({ ...addr, keyPrefix: prefix });
  opened.push(redis as RedisClient<unknown>);
  const key = new Uint8Array([0x00, 0xfe]);
  await redis.set(key, "b");
  const bytesRaw = await RedisClient.connect({ ...addr });
  opened.push(bytesRaw as RedisClient<unknown>);
  assert.deepEqual(await bytesRaw.get(new Uint8Array([0xff, 0x3a, 0x00, 0xfe])), te.encode("b"));
  assert.deepEqual(await redis.get(key), te.encode("b"));
  await bytesRaw.del(new Uint8Array([0xff, 0x3a, 0x00, 0xfe]));
});
